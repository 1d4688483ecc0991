//! What GenerateDataKey returns: the data key in plaintext ([`SecretBytes`], zeroized on drop)
//! and wrapped, and the key specs KMS accepts ([`DataKeySpec`]).

use std::fmt;

use zeroize::Zeroizing;

/// Secret bytes returned by a key service (a plaintext data key, or what Decrypt recovered).
///
/// Zeroized on drop; `Debug` shows only the length.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of secret bytes.
    pub fn new(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(bytes)
    }

    /// Copies a slice into a new secret.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(bytes.to_vec()))
    }

    /// The secret itself. The name is a reminder to keep it out of logs and output.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(** redacted **, {} bytes)", self.0.len())
    }
}

/// The result of GenerateDataKey: a fresh data key in plaintext and wrapped under a CMK.
#[derive(Debug, Clone)]
pub struct DataKey {
    /// The plaintext data key; zeroized on drop, redacted in `Debug`.
    pub plaintext: SecretBytes,
    /// The data key encrypted under the CMK (the KMS `CiphertextBlob`).
    pub ciphertext_blob: Vec<u8>,
    /// The ARN of the CMK that wrapped it.
    pub key_arn: String,
}

/// What the data key is to be: the KMS `KeySpec` or `NumberOfBytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKeySpec {
    /// 32 bytes (`AES_256`).
    Aes256,
    /// 16 bytes (`AES_128`).
    Aes128,
    /// `NumberOfBytes`, which KMS allows from 1 to 1024.
    Bytes(u16),
}

impl DataKeySpec {
    /// The largest `NumberOfBytes` KMS accepts.
    pub const MAX_BYTES: u16 = 1024;

    /// The key length, or a validation message for an out-of-range `NumberOfBytes`.
    pub fn key_len(self) -> Result<usize, String> {
        match self {
            Self::Aes256 => Ok(32),
            Self::Aes128 => Ok(16),
            Self::Bytes(n) if (1..=Self::MAX_BYTES).contains(&n) => Ok(usize::from(n)),
            Self::Bytes(n) => Err(format!("NumberOfBytes is {n}; it must be between 1 and {}", Self::MAX_BYTES)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let key = DataKey {
            plaintext: SecretBytes::from_slice(&[0xAB; 32]),
            ciphertext_blob: vec![1, 2, 3],
            key_arn: "arn".into(),
        };
        let shown = format!("{key:?}");
        assert!(shown.contains("redacted"));
        assert!(!shown.to_lowercase().contains("ab, ") && !shown.contains("171"));
    }

    #[test]
    fn number_of_bytes_bounds() {
        assert_eq!(DataKeySpec::Bytes(1).key_len(), Ok(1));
        assert_eq!(DataKeySpec::Bytes(1024).key_len(), Ok(1024));
        assert!(DataKeySpec::Bytes(0).key_len().is_err());
        assert!(DataKeySpec::Bytes(1025).key_len().is_err());
    }
}
