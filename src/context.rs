//! The encryption context: a non-secret string map bound to ciphertext as additional
//! authenticated data.
//!
//! KMS takes the context as a JSON map; the AWS Encryption SDK stores it in the message
//! header in a canonical binary form (sorted by key bytes). Both views live here so that the
//! key services and the message format agree on one type.

use std::collections::BTreeMap;
use std::fmt;

/// Prefix of context keys the AWS Encryption SDK reserves for itself.
pub const RESERVED_PREFIX: &str = "aws-crypto-";

/// Largest serialized context the message format can carry.
pub const MAX_SERIALIZED_LEN: usize = u16::MAX as usize;

/// An ordered string→string map, as KMS takes it.
///
/// Ordering is by the keys' UTF-8 bytes, which is also the order the message format
/// serializes in, so iteration order is canonical.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct EncryptionContext(BTreeMap<String, String>);

/// Why a context could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// A `k=v` pair was not in that form.
    #[error("context pair {0:?} is not of the form key=value")]
    NotAPair(String),
    /// The same key was given twice.
    #[error("context key {0:?} is given more than once")]
    DuplicateKey(String),
    /// The serialized form would exceed what the header can hold.
    #[error("the encryption context serializes to more than {MAX_SERIALIZED_LEN} bytes")]
    TooLarge,
    /// An empty key.
    #[error("context keys must not be empty")]
    EmptyKey,
    /// Serialized bytes were malformed.
    #[error("malformed serialized encryption context: {0}")]
    Malformed(&'static str),
}

impl EncryptionContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pair, refusing a key that is already present.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Result<(), ContextError> {
        let key = key.into();
        if key.is_empty() {
            return Err(ContextError::EmptyKey);
        }
        if self.0.contains_key(&key) {
            return Err(ContextError::DuplicateKey(key));
        }
        self.0.insert(key, value.into());
        Ok(())
    }

    /// Parses `key=value` (the value may itself contain `=`).
    pub fn insert_pair(&mut self, pair: &str) -> Result<(), ContextError> {
        let (k, v) = pair.split_once('=').ok_or_else(|| ContextError::NotAPair(pair.to_owned()))?;
        self.insert(k, v)
    }

    /// Looks up a value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Pairs in canonical order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Keys that use the reserved `aws-crypto-` prefix.
    pub fn reserved_keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str).filter(|k| k.starts_with(RESERVED_PREFIX))
    }

    /// The first pair of `required` that this context lacks or holds with another value.
    pub fn first_missing<'a>(&self, required: &'a EncryptionContext) -> Option<(&'a str, &'a str)> {
        required.iter().find(|(k, v)| self.get(k) != Some(v))
    }

    /// The message-format serialization: empty → no bytes; else a u16 count and, per pair in
    /// key order, u16-length-prefixed key and value.
    pub fn serialize(&self) -> Result<Vec<u8>, ContextError> {
        if self.0.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let count = u16::try_from(self.0.len()).map_err(|_| ContextError::TooLarge)?;
        out.extend_from_slice(&count.to_be_bytes());
        for (k, v) in self.iter() {
            for field in [k, v] {
                let len = u16::try_from(field.len()).map_err(|_| ContextError::TooLarge)?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(field.as_bytes());
            }
        }
        if out.len() > MAX_SERIALIZED_LEN {
            return Err(ContextError::TooLarge);
        }
        Ok(out)
    }

    /// Parses the message-format serialization, requiring canonical order and no duplicates,
    /// so that one context has exactly one encoding.
    pub fn deserialize(bytes: &[u8]) -> Result<Self, ContextError> {
        let mut ctx = Self::new();
        if bytes.is_empty() {
            return Ok(ctx);
        }
        let mut rest = bytes;
        let count = take_u16(&mut rest)?;
        if count == 0 {
            return Err(ContextError::Malformed("a non-empty context must have at least one pair"));
        }
        let mut previous: Option<String> = None;
        for _ in 0..count {
            let key = take_str(&mut rest)?;
            let value = take_str(&mut rest)?;
            if let Some(prev) = &previous {
                match prev.as_bytes().cmp(key.as_bytes()) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => return Err(ContextError::DuplicateKey(key)),
                    std::cmp::Ordering::Greater => return Err(ContextError::Malformed("pairs are not sorted by key")),
                }
            }
            previous = Some(key.clone());
            ctx.insert(key, value)?;
        }
        if !rest.is_empty() {
            return Err(ContextError::Malformed("trailing bytes after the last pair"));
        }
        Ok(ctx)
    }
}

fn take_u16(rest: &mut &[u8]) -> Result<u16, ContextError> {
    let (head, tail) = rest.split_first_chunk::<2>().ok_or(ContextError::Malformed("truncated"))?;
    *rest = tail;
    Ok(u16::from_be_bytes(*head))
}

fn take_str(rest: &mut &[u8]) -> Result<String, ContextError> {
    let len = usize::from(take_u16(rest)?);
    if rest.len() < len {
        return Err(ContextError::Malformed("truncated"));
    }
    let (field, tail) = rest.split_at(len);
    *rest = tail;
    String::from_utf8(field.to_vec()).map_err(|_| ContextError::Malformed("a key or value is not UTF-8"))
}

impl fmt::Debug for EncryptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl FromIterator<(String, String)> for EncryptionContext {
    /// Later duplicates replace earlier ones, as in a JSON object.
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a EncryptionContext {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl serde::Serialize for EncryptionContext {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for EncryptionContext {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(d).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn empty_context_serializes_to_nothing() {
        assert_eq!(EncryptionContext::new().serialize().unwrap(), Vec::<u8>::new());
        assert!(EncryptionContext::deserialize(&[]).unwrap().is_empty());
    }

    #[test]
    fn serialization_sorts_by_key_bytes() {
        let c = ctx(&[("b", "2"), ("a", "1")]);
        let bytes = c.serialize().unwrap();
        assert_eq!(hex::encode(&bytes), "0002000161000131000162000132");
        assert_eq!(EncryptionContext::deserialize(&bytes).unwrap(), c);
    }

    #[test]
    fn unsorted_duplicate_and_trailing_input_is_refused() {
        let unsorted = hex::decode("0002000162000132000161000131").unwrap();
        assert!(matches!(EncryptionContext::deserialize(&unsorted), Err(ContextError::Malformed(_))));
        let dup = hex::decode("0002000161000131000161000132").unwrap();
        assert!(matches!(EncryptionContext::deserialize(&dup), Err(ContextError::DuplicateKey(_))));
        let trailing = hex::decode("000100016100013100").unwrap();
        assert!(EncryptionContext::deserialize(&trailing).is_err());
        let truncated = hex::decode("00010001610001").unwrap();
        assert!(EncryptionContext::deserialize(&truncated).is_err());
    }

    #[test]
    fn pairs_parse_and_duplicates_are_refused() {
        let mut c = EncryptionContext::new();
        c.insert_pair("purpose=backup=daily").unwrap();
        assert_eq!(c.get("purpose"), Some("backup=daily"));
        assert_eq!(c.insert_pair("purpose=x"), Err(ContextError::DuplicateKey("purpose".into())));
        assert!(matches!(c.insert_pair("novalue"), Err(ContextError::NotAPair(_))));
    }

    #[test]
    fn first_missing_names_the_pair() {
        let message = ctx(&[("a", "1"), ("b", "2")]);
        assert_eq!(message.first_missing(&ctx(&[("a", "1")])), None);
        assert_eq!(message.first_missing(&ctx(&[("b", "3")])), Some(("b", "3")));
    }
}
