//! An encryption context checked against a key service's limits, and the bytes that bind it.
//!
//! Every key service that binds a context to ciphertext (as AAD) must check the context first
//! and bind exactly the bytes it checked: a context too large to serialize must be refused,
//! never bound as something else. [`BoundContext`] can only be made by that check, so a
//! ciphertext format that takes one cannot fall back to another encoding.

use super::KmsError;
use crate::context::EncryptionContext;

/// The largest encryption context a key service here accepts, in bytes of its canonical
/// serialization (the message format's: a count, then each key and value with a length).
///
/// AWS KMS bounds the context of a request without publishing the figure; the Encryption SDK's
/// header holds up to 65,535 bytes. 8 KiB keeps every request, and the audit event that records
/// it, small, and is far above what a context needs (it names data; it does not carry it).
pub const MAX_CONTEXT_BYTES: usize = 8 * 1024;

/// A context within [`MAX_CONTEXT_BYTES`], with its canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundContext(Vec<u8>);

impl BoundContext {
    /// Checks `context` and serializes it; `ValidationException` if it is too large.
    pub fn new(context: &EncryptionContext) -> Result<Self, KmsError> {
        let too_large = || {
            KmsError::Validation(format!(
                "the encryption context is larger than {MAX_CONTEXT_BYTES} bytes (serialized); \
                 keep it to a few short pairs that name the data"
            ))
        };
        let bytes = context.serialize().map_err(|_| too_large())?;
        if bytes.len() > MAX_CONTEXT_BYTES {
            return Err(too_large());
        }
        Ok(Self(bytes))
    }

    /// Checks a context given to open existing ciphertext: any context the message format can
    /// serialize (up to 65,535 bytes), since ciphertext made before the limit may carry one.
    /// The binding is as exact as ever: the bytes checked are the bytes bound.
    pub fn existing(context: &EncryptionContext) -> Result<Self, KmsError> {
        context.serialize().map(Self).map_err(|e| KmsError::Validation(format!("the encryption context: {e}")))
    }

    /// The canonical serialization, to bind as AAD.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_over_the_limit_are_refused_never_bound_as_something_else() {
        let mut small = EncryptionContext::new();
        small.insert("purpose", "test").unwrap();
        assert_eq!(BoundContext::new(&small).unwrap().as_bytes(), small.serialize().unwrap());
        assert!(BoundContext::new(&EncryptionContext::new()).unwrap().as_bytes().is_empty());
        let mut large = EncryptionContext::new();
        large.insert("pad", "x".repeat(MAX_CONTEXT_BYTES)).unwrap();
        assert_eq!(BoundContext::new(&large).unwrap_err().kms_name(), "ValidationException");
        assert_eq!(BoundContext::existing(&large).unwrap().as_bytes(), large.serialize().unwrap());
        let mut unserializable = EncryptionContext::new();
        unserializable.insert("pad", "x".repeat(70_000)).unwrap();
        assert_eq!(BoundContext::new(&unserializable).unwrap_err().kms_name(), "ValidationException");
        assert_eq!(BoundContext::existing(&unserializable).unwrap_err().kms_name(), "ValidationException");
    }
}
