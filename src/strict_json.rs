//! JSON that means one thing: objects whose members are unique at every depth.
//!
//! RFC 8259 leaves a repeated member name's meaning to the reader, and readers differ:
//! `serde_json` keeps the last value, others the first. A key policy with `"Effect"` twice
//! would then read as a Deny to one reader and an Allow to another. Documents that decide who
//! may do what (key policies, requests to a KMS endpoint) are parsed here, and a repeated
//! member is an error naming it.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `text` as JSON, refusing any object that names a member twice.
pub fn from_str(text: &str) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = deserializer.deserialize_any(UniqueMembers)?;
    deserializer.end()?;
    Ok(value)
}

/// Builds a [`Value`], failing on a repeated member.
struct UniqueMembers;

impl<'de> de::DeserializeSeed<'de> for UniqueMembers {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueMembers {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(UniqueMembers)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if members.contains_key(&name) {
                return Err(de::Error::custom(format_args!("the member {name:?} appears twice in one object")));
            }
            let value = map.next_value_seed(UniqueMembers)?;
            members.insert(name, value);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_members_are_refused_at_any_depth() {
        assert_eq!(
            from_str(r#"{"a":[1,{"b":null}],"c":"d"}"#).unwrap(),
            serde_json::json!({"a":[1,{"b":null}],"c":"d"})
        );
        for text in [
            r#"{"a":1,"a":2}"#,
            r#"{"x":{"Effect":"Deny","Effect":"Allow"}}"#,
            r#"[{"Statement":[{"Action":"kms:*","Action":"kms:Decrypt"}]}]"#,
        ] {
            let err = from_str(text).unwrap_err().to_string();
            assert!(err.contains("appears twice"), "{text}: {err}");
        }
        assert!(from_str(r#"{"a":1} trailing"#).is_err());
        assert!(from_str(r#"{"a":1.5e3,"b":-2,"c":true}"#).is_ok());
    }
}
