//! The signature of signed suites (0x0578): an ECDSA P-384 key whose public half travels in
//! the encryption context, and a footer that signs the whole header and body.
//!
//! ```text
//! footer: signature length (u16) · DER ECDSA-Sig-Value (P-384, SHA-384)
//! ```

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::{AlgorithmSuite, FormatError};
use crate::context::EncryptionContext;

/// The context key that carries the base64 SEC1 public key of signed messages.
pub const PUBLIC_KEY_CONTEXT_KEY: &str = "aws-crypto-public-key";
/// The longest footer signature accepted (DER P-384 signatures are at most 104 bytes).
pub const MAX_SIGNATURE_LEN: u16 = 256;

/// The message's public verification key: present for signed suites, absent otherwise.
pub fn public_key(suite: AlgorithmSuite, context: &EncryptionContext) -> Result<Option<Vec<u8>>, FormatError> {
    match (suite.is_signed(), context.get(PUBLIC_KEY_CONTEXT_KEY)) {
        (true, Some(encoded)) => B64
            .decode(encoded)
            .map(Some)
            .map_err(|_| FormatError::PublicKey("the aws-crypto-public-key context value is not base64")),
        (true, None) => Err(FormatError::PublicKey("a signed message lacks the aws-crypto-public-key context entry")),
        (false, Some(_)) => Err(FormatError::PublicKey("an unsigned message carries an aws-crypto-public-key")),
        (false, None) => Ok(None),
    }
}

/// Parses the footer's length prefix from `prefix`, refusing lengths no signature has.
pub fn footer_len(prefix: [u8; 2]) -> Result<usize, FormatError> {
    let len = u16::from_be_bytes(prefix);
    if len == 0 || len > MAX_SIGNATURE_LEN {
        return Err(FormatError::SignatureTooLong(len));
    }
    Ok(usize::from(len))
}

/// Verifies the footer signature over the SHA-384 digest of header and body.
pub fn verify(public_key: &[u8], digest: &[u8], signature: &[u8]) -> Result<(), FormatError> {
    crate::crypto::ecdsa_p384_verify_prehash(public_key, digest, signature).map_err(|_| FormatError::SignatureInvalid)
}
