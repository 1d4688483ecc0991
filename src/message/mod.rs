//! The AWS Encryption SDK message format, versions 1 and 2: bytes only, no I/O.
//!
//! A message is a [`Header`] (suite, message id, encryption context, encrypted data keys,
//! frame length, key commitment in format 2, authentication tag) followed by a framed or
//! non-framed body ([`frame`]) and, for signed suites, a footer ([`signature`]). This module parses and serializes those structures and derives the per-message
//! keys ([`MessageKeys`]); reading and writing streams is [`crate::stream`]'s job, and
//! choosing keys is [`crate::keyring`]'s.
//!
//! Parsing is sans-I/O: [`Header::parse`] and [`frame::parse_prefix`] work on byte slices
//! and answer [`FormatError::Incomplete`] when they need more, so the same code serves files,
//! pipes, async streams and the fuzzers.

mod error;
pub mod frame;
mod header;
mod keys;
pub mod signature;
mod suite;

pub use crate::crypto::SignatureCurve;
pub use error::FormatError;
pub use header::{
    EncryptedDataKey, Header, HeaderBody, MessageId, ParseLimits, AWS_KMS_PROVIDER_PREFIX, MESSAGE_ID_V1_LEN,
    MESSAGE_ID_V2_LEN,
};
pub use keys::{MessageKeys, COMMITMENT_LEN};
pub use suite::{AlgorithmSuite, CommitmentPolicy, KeyDerivation};

/// Checks that a frame length is one envcrypt (and the official SDKs) will write: a
/// non-zero multiple of 16, at most 2^31 − 1.
pub fn check_frame_length(frame_length: u32) -> Result<(), FormatError> {
    if frame_length == 0 || !frame_length.is_multiple_of(16) || frame_length > i32::MAX as u32 {
        return Err(FormatError::InvalidFrameLength(frame_length));
    }
    Ok(())
}
