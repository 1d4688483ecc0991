//! The per-message keys: the content key, derived from the data key as the suite says
//! (unchanged; HKDF-SHA-256 or -384 with info = suite id ‖ message id; or HKDF-SHA-512 with the
//! message id as salt), and for committing suites the key commitment.

use super::{AlgorithmSuite, FormatError, KeyDerivation};
use crate::crypto::{self, ContentCipher, HkdfHash};

/// Length of the key commitment stored in a v2 header.
pub const COMMITMENT_LEN: usize = 32;

/// The keys of one message.
pub struct MessageKeys {
    content: ContentCipher,
    commitment: Option<[u8; COMMITMENT_LEN]>,
}

impl MessageKeys {
    /// Derives the keys of a message sealed with `suite` under `message_id` (16 bytes in
    /// format 1, 32 in format 2); refuses a data key of the wrong length.
    pub fn derive(suite: AlgorithmSuite, data_key: &[u8], message_id: &[u8]) -> Result<Self, FormatError> {
        if data_key.len() != suite.data_key_len() {
            return Err(FormatError::DataKeyLength { found: data_key.len(), expected: suite.data_key_len() });
        }
        let mut content = zeroize::Zeroizing::new(vec![0u8; suite.data_key_len()]);
        let suite_id = suite.id().to_be_bytes();
        let mut commitment = None;
        match suite.key_derivation() {
            KeyDerivation::Identity => content.copy_from_slice(data_key),
            KeyDerivation::HkdfSha256 => {
                crypto::hkdf(HkdfHash::Sha256, data_key, &[], &[&suite_id, message_id], &mut content)
            }
            KeyDerivation::HkdfSha384 => {
                crypto::hkdf(HkdfHash::Sha384, data_key, &[], &[&suite_id, message_id], &mut content)
            }
            KeyDerivation::HkdfSha512Committing => {
                crypto::hkdf_sha512(data_key, message_id, &[&suite_id, b"DERIVEKEY"], &mut content);
                let mut key = [0u8; COMMITMENT_LEN];
                crypto::hkdf_sha512(data_key, message_id, &[b"COMMITKEY"], &mut key);
                commitment = Some(key);
            }
        }
        let content = ContentCipher::new(&content).expect("every suite's key is 16, 24 or 32 bytes");
        Ok(Self { content, commitment })
    }

    /// The key commitment, for the header of a committing suite.
    pub fn commitment(&self) -> Option<&[u8; COMMITMENT_LEN]> {
        self.commitment.as_ref()
    }

    /// Checks the header's commitment in constant time; a suite without commitment has
    /// nothing to check against, which is an error too.
    pub fn verify_commitment(&self, header_commitment: &[u8; COMMITMENT_LEN]) -> Result<(), FormatError> {
        match &self.commitment {
            Some(commitment) if crypto::constant_time_eq(commitment, header_commitment) => Ok(()),
            _ => Err(FormatError::CommitmentMismatch),
        }
    }

    pub(super) fn content(&self) -> &ContentCipher {
        &self.content
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each suite's content key seals with the key length and derivation it names: a frame
    /// sealed under one suite's keys opens only under the same suite's keys.
    #[test]
    fn every_suite_derives_its_own_content_key() {
        let message_id = [7u8; 16];
        let mut sealed = Vec::new();
        for suite in AlgorithmSuite::ALL {
            let data_key = vec![3u8; suite.data_key_len()];
            let keys = MessageKeys::derive(suite, &data_key, &message_id).unwrap();
            assert_eq!(keys.commitment().is_some(), suite.is_committing(), "{suite:?}");
            let mut frame = *b"sixteen bytes!!!";
            let tag = keys.content().seal_detached([1; 12], b"aad", &mut frame);
            sealed.push((suite, frame, tag));
            assert!(MessageKeys::derive(suite, &data_key[1..], &message_id).is_err(), "{suite:?}");
        }
        for (suite, frame, tag) in &sealed {
            for other in AlgorithmSuite::ALL {
                let keys = MessageKeys::derive(other, &vec![3u8; other.data_key_len()], &message_id).unwrap();
                let mut copy = *frame;
                let opened = keys.content().open_detached([1; 12], b"aad", &mut copy, tag);
                assert_eq!(opened.is_ok(), other == *suite, "{suite:?} opened under {other:?}");
                if opened.is_ok() {
                    assert_eq!(&copy, b"sixteen bytes!!!");
                }
            }
        }
        // The identity suites use the data key itself.
        let keys = MessageKeys::derive(AlgorithmSuite::AesGcm128, &[3u8; 16], &message_id).unwrap();
        let direct = ContentCipher::new(&[3u8; 16]).unwrap();
        let mut a = *b"same plaintext!!";
        let mut b = a;
        assert_eq!(keys.content().seal_detached([2; 12], b"", &mut a), direct.seal_detached([2; 12], b"", &mut b));
    }

    /// The content key of every suite is the one the official Python SDK derives
    /// (`vectors/suite-keys.json`, made by `vectors/suite_keys.py` with the SDK's own derivation).
    #[test]
    fn every_suite_derives_the_content_key_the_official_sdk_derives() {
        let vectors: serde_json::Value = serde_json::from_str(include_str!("../../vectors/suite-keys.json")).unwrap();
        let hex = |case: &serde_json::Value, field: &str| hex::decode(case[field].as_str().unwrap()).unwrap();
        let cases = vectors["cases"].as_array().unwrap();
        assert_eq!(cases.len(), AlgorithmSuite::ALL.len());
        for case in cases {
            let id = u16::from_str_radix(case["suite"].as_str().unwrap(), 16).unwrap();
            let suite = AlgorithmSuite::from_id(id).unwrap();
            let keys = MessageKeys::derive(suite, &hex(case, "data_key"), &hex(case, "message_id")).unwrap();
            let mut buffer = hex(case, "plaintext");
            let iv: [u8; 12] = hex(case, "iv").try_into().unwrap();
            let tag = keys.content().seal_detached(iv, &hex(case, "aad"), &mut buffer);
            assert_eq!(buffer, hex(case, "ciphertext"), "{suite:?}: ciphertext");
            assert_eq!(tag.to_vec(), hex(case, "tag"), "{suite:?}: tag");
        }
    }
}
