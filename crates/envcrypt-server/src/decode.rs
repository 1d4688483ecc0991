//! Reading a request body: each member by its name, with the checks and error wording of the
//! KMS API.
//!
//! A body that is not a JSON object, or a member of the wrong JSON type or bad base64, is a
//! `SerializationException`; a missing required member or a value outside the model's bounds
//! is a `ValidationException` worded as AWS words it (`1 validation error detected: Value null
//! at 'keyId' failed to satisfy constraint: Member must not be null`). `null` counts as absent,
//! and members the operation does not know are ignored, as KMS does.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use envcrypt::kms::EncryptionContext;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::protocol::Failure;

/// A request body.
#[derive(Debug)]
pub struct Input {
    members: Map<String, Value>,
}

/// `keyId` for `KeyId`: the member path AWS names in validation messages.
fn path(member: &str) -> String {
    let mut chars = member.chars();
    chars.next().map_or_else(String::new, |first| first.to_ascii_lowercase().to_string() + chars.as_str())
}

fn one_error(detail: String) -> Failure {
    Failure::validation(format!("1 validation error detected: {detail}"))
}

fn null_error(member: &str) -> Failure {
    one_error(format!("Value null at '{}' failed to satisfy constraint: Member must not be null", path(member)))
}

fn type_error(member: &str, expected: &str) -> Failure {
    Failure::serialization(format!("the member {member} is not {expected}"))
}

impl Input {
    /// Parses a body: a JSON object, or nothing (`{}`).
    pub fn parse(body: &[u8]) -> Result<Self, Failure> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self { members: Map::new() });
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(members)) => Ok(Self { members }),
            Ok(_) => Err(Failure::serialization("the request body is not a JSON object")),
            Err(e) => Err(Failure::serialization(format!("the request body is not JSON: {e}"))),
        }
    }

    fn get(&self, member: &str) -> Option<&Value> {
        self.members.get(member).filter(|v| !v.is_null())
    }

    /// A string member.
    pub fn string(&self, member: &'static str) -> Result<Option<&str>, Failure> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(type_error(member, "a string")),
        }
    }

    /// A required string member of `min..=max` characters.
    pub fn required_string(&self, member: &'static str, min: usize, max: usize) -> Result<&str, Failure> {
        let value = self.string(member)?.ok_or_else(|| null_error(member))?;
        check_length(member, value, min, max)?;
        Ok(value)
    }

    /// An optional string member of `min..=max` characters.
    pub fn optional_string(&self, member: &'static str, min: usize, max: usize) -> Result<Option<&str>, Failure> {
        let value = self.string(member)?;
        if let Some(value) = value {
            check_length(member, value, min, max)?;
        }
        Ok(value)
    }

    /// An optional string member that must be one of `allowed`.
    pub fn enumerated(&self, member: &'static str, allowed: &[&str]) -> Result<Option<&str>, Failure> {
        let value = self.string(member)?;
        match value {
            Some(v) if !allowed.contains(&v) => Err(one_error(format!(
                "Value '{v}' at '{}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                path(member),
                allowed.join(", ")
            ))),
            other => Ok(other),
        }
    }

    /// A required string member that must be one of `allowed`.
    pub fn required_enumerated(&self, member: &'static str, allowed: &[&str]) -> Result<&str, Failure> {
        self.enumerated(member, allowed)?.ok_or_else(|| null_error(member))
    }

    /// A blob member (standard base64), of `min..=max` bytes once decoded; `secret` keeps its
    /// value out of validation messages, as AWS does for plaintexts.
    pub fn blob(&self, member: &'static str, min: usize, max: usize) -> Result<Option<Zeroizing<Vec<u8>>>, Failure> {
        let Some(text) = self.string(member)? else { return Ok(None) };
        let bytes = Zeroizing::new(B64.decode(text).map_err(|_| type_error(member, "valid base64"))?);
        if bytes.len() < min {
            return Err(one_error(format!(
                "Value at '{}' failed to satisfy constraint: Member must have length greater than or equal to {min}",
                path(member)
            )));
        }
        if bytes.len() > max {
            return Err(one_error(format!(
                "Value at '{}' failed to satisfy constraint: Member must have length less than or equal to {max}",
                path(member)
            )));
        }
        Ok(Some(bytes))
    }

    /// A required blob member.
    pub fn required_blob(&self, member: &'static str, min: usize, max: usize) -> Result<Zeroizing<Vec<u8>>, Failure> {
        self.blob(member, min, max)?.ok_or_else(|| null_error(member))
    }

    /// An optional integer member in `min..=max`.
    pub fn integer(&self, member: &'static str, min: i64, max: i64) -> Result<Option<i64>, Failure> {
        let Some(value) = self.get(member) else { return Ok(None) };
        let number = value.as_i64().ok_or_else(|| type_error(member, "an integer"))?;
        if number < min {
            return Err(one_error(format!(
                "Value '{number}' at '{}' failed to satisfy constraint: Member must have value greater than or equal to {min}",
                path(member)
            )));
        }
        if number > max {
            return Err(one_error(format!(
                "Value '{number}' at '{}' failed to satisfy constraint: Member must have value less than or equal to {max}",
                path(member)
            )));
        }
        Ok(Some(number))
    }

    /// An optional timestamp member (epoch seconds, as the JSON protocol sends them; a
    /// fraction is dropped).
    pub fn timestamp(&self, member: &'static str) -> Result<Option<u64>, Failure> {
        let Some(value) = self.get(member) else { return Ok(None) };
        let seconds =
            value.as_f64().filter(|s| s.is_finite() && *s >= 0.0).ok_or_else(|| type_error(member, "a timestamp"))?;
        // Saturating: a date past u64 seconds is far beyond any limit it is checked against.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(Some(seconds as u64))
    }

    /// An optional boolean member.
    pub fn boolean(&self, member: &'static str) -> Result<Option<bool>, Failure> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(type_error(member, "a boolean")),
        }
    }

    /// An optional map of strings (an encryption context).
    pub fn context(&self, member: &'static str) -> Result<EncryptionContext, Failure> {
        let Some(value) = self.get(member) else { return Ok(EncryptionContext::new()) };
        let map = value.as_object().ok_or_else(|| type_error(member, "a map of strings"))?;
        map.iter()
            .map(|(k, v)| {
                v.as_str().map(|v| (k.clone(), v.to_owned())).ok_or_else(|| type_error(member, "a map of strings"))
            })
            .collect()
    }

    /// An optional list member of at most `max_items` items, each read by `item` (`what` names
    /// the list's type in errors).
    fn list<T>(
        &self,
        member: &'static str,
        max_items: usize,
        what: &str,
        item: impl Fn(&Value) -> Option<T>,
    ) -> Result<Vec<T>, Failure> {
        let Some(value) = self.get(member) else { return Ok(Vec::new()) };
        let items = value.as_array().ok_or_else(|| type_error(member, what))?;
        if items.len() > max_items {
            return Err(one_error(format!(
                "Value at '{}' failed to satisfy constraint: Member must have length less than or equal to {max_items}",
                path(member)
            )));
        }
        items.iter().map(|v| item(v).ok_or_else(|| type_error(member, what))).collect()
    }

    /// An optional list of strings, of at most `max_items` items.
    pub fn string_list(&self, member: &'static str, max_items: usize) -> Result<Vec<String>, Failure> {
        self.list(member, max_items, "a list of strings", |v| v.as_str().map(str::to_owned))
    }

    /// An optional list of structures, of at most `max_items` items.
    pub fn structure_list(&self, member: &'static str, max_items: usize) -> Result<Vec<Input>, Failure> {
        self.list(member, max_items, "a list of structures", |v| {
            v.as_object().map(|members| Input { members: members.clone() })
        })
    }

    /// An optional structure member.
    pub fn structure(&self, member: &'static str) -> Result<Option<Input>, Failure> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Object(members)) => Ok(Some(Input { members: members.clone() })),
            Some(_) => Err(type_error(member, "a structure")),
        }
    }
}

fn check_length(member: &str, value: &str, min: usize, max: usize) -> Result<(), Failure> {
    let chars = value.chars().count();
    if chars < min {
        return Err(one_error(format!(
            "Value '{value}' at '{}' failed to satisfy constraint: Member must have length greater than or equal to {min}",
            path(member)
        )));
    }
    if chars > max {
        // The value itself may be huge: the message names the member and the limit only.
        return Err(one_error(format!(
            "Value at '{}' failed to satisfy constraint: Member must have length less than or equal to {max}",
            path(member)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> Input {
        Input::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn members_are_checked_as_kms_checks_them() {
        let empty = Input::parse(b"").unwrap();
        let missing = empty.required_string("KeyId", 1, 2048).unwrap_err();
        assert_eq!(
            missing.message.as_deref(),
            Some("1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
        );
        assert_eq!(input(r#"{"KeyId": null}"#).string("KeyId").unwrap(), None);
        assert_eq!(input(r#"{"KeyId": 7}"#).string("KeyId").unwrap_err().name, "SerializationException");
        let big = input(r#"{"NumberOfBytes": 1025}"#).integer("NumberOfBytes", 1, 1024).unwrap_err();
        assert!(big.message.unwrap().ends_with("Member must have value less than or equal to 1024"));
        assert_eq!(
            input(r#"{"Plaintext": "!!"}"#).blob("Plaintext", 1, 4096).unwrap_err().name,
            "SerializationException"
        );
        let long = input(&format!(r#"{{"Plaintext": "{}"}}"#, B64.encode([0u8; 4097])));
        let message = long.blob("Plaintext", 1, 4096).unwrap_err().message.unwrap();
        assert_eq!(message, "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096");
        for bad in ["[]", "7", "\"x\"", "{", "nul"] {
            assert_eq!(Input::parse(bad.as_bytes()).unwrap_err().name, "SerializationException", "{bad}");
        }
        let spec = input(r#"{"KeySpec": "AES_512"}"#).enumerated("KeySpec", &["AES_256", "AES_128"]).unwrap_err();
        assert!(spec.message.unwrap().contains("Member must satisfy enum value set: [AES_256, AES_128]"));
    }
}
