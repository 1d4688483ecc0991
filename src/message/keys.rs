//! The per-message keys: the content key and the key commitment, derived from the data key
//! with HKDF-SHA-512 and the message id as salt.

use super::{AlgorithmSuite, FormatError};
use crate::crypto::{self, Aes256Gcm};

/// Length of a v2 message id: the salt the message's keys are derived with.
pub const MESSAGE_ID_LEN: usize = 32;

/// Length of the key commitment stored in the header.
pub const COMMITMENT_LEN: usize = 32;

/// The keys of one message, derived from its plaintext data key with HKDF-SHA-512
/// (salt = message id): the content key (info = suite id ‖ "DERIVEKEY") and the commitment
/// (info = "COMMITKEY").
pub struct MessageKeys {
    content: Aes256Gcm,
    commitment: [u8; COMMITMENT_LEN],
}

impl MessageKeys {
    /// Derives the keys; refuses a data key of the wrong length.
    pub fn derive(
        suite: AlgorithmSuite,
        data_key: &[u8],
        message_id: &[u8; MESSAGE_ID_LEN],
    ) -> Result<Self, FormatError> {
        if data_key.len() != suite.data_key_len() {
            return Err(FormatError::DataKeyLength(data_key.len()));
        }
        let mut content = zeroize::Zeroizing::new([0u8; crypto::KEY_LEN]);
        crypto::hkdf_sha512(data_key, message_id, &[&suite.id().to_be_bytes(), b"DERIVEKEY"], &mut content[..]);
        let mut commitment = [0u8; COMMITMENT_LEN];
        crypto::hkdf_sha512(data_key, message_id, &[b"COMMITKEY"], &mut commitment);
        Ok(Self { content: Aes256Gcm::new(&content), commitment })
    }

    /// The key commitment, for the header.
    pub fn commitment(&self) -> &[u8; COMMITMENT_LEN] {
        &self.commitment
    }

    /// Checks the header's commitment in constant time.
    pub fn verify_commitment(&self, header_commitment: &[u8; COMMITMENT_LEN]) -> Result<(), FormatError> {
        if crypto::constant_time_eq(&self.commitment, header_commitment) {
            Ok(())
        } else {
            Err(FormatError::CommitmentMismatch)
        }
    }

    pub(super) fn content(&self) -> &Aes256Gcm {
        &self.content
    }
}
