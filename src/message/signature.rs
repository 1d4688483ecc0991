//! The signature of signed suites (0x0214 with P-256; 0x0346, 0x0378 and 0x0578 with P-384):
//! a fresh ECDSA key per message whose public half travels in the encryption context, and a
//! footer that signs the whole header and body.
//!
//! ```text
//! context: aws-crypto-public-key = base64(compressed SEC1 point)
//! footer:  signature length (u16) · DER ECDSA-Sig-Value over SHA-256 (P-256) or SHA-384 (P-384)
//! ```

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::{AlgorithmSuite, FormatError};
use crate::context::EncryptionContext;
use crate::crypto::{self, EcdsaSigningKey, SignatureCurve};

/// The context key that carries the base64 SEC1 public key of signed messages.
pub const PUBLIC_KEY_CONTEXT_KEY: &str = "aws-crypto-public-key";
/// The longest footer signature accepted (DER P-384 signatures are at most 104 bytes).
pub const MAX_SIGNATURE_LEN: u16 = 256;

/// The running digest of everything a signed message holds before its footer.
pub struct Digest {
    curve: SignatureCurve,
    context: ring::digest::Context,
}

impl Digest {
    /// An empty digest with the hash of `curve`.
    pub fn new(curve: SignatureCurve) -> Self {
        Self { curve, context: ring::digest::Context::new(curve.digest_algorithm()) }
    }

    /// Adds bytes of the message.
    pub fn update(&mut self, bytes: &[u8]) {
        self.context.update(bytes);
    }
}

/// The message's public verification key and curve: present for signed suites, absent
/// otherwise. A signed message without the key, or an unsigned one with it, is refused.
pub fn public_key(
    suite: AlgorithmSuite,
    context: &EncryptionContext,
) -> Result<Option<(SignatureCurve, Vec<u8>)>, FormatError> {
    match (suite.signature(), context.get(PUBLIC_KEY_CONTEXT_KEY)) {
        (Some(curve), Some(encoded)) => B64
            .decode(encoded)
            .map(|key| Some((curve, key)))
            .map_err(|_| FormatError::PublicKey("the aws-crypto-public-key context value is not base64")),
        (Some(_), None) => {
            Err(FormatError::PublicKey("a signed message lacks the aws-crypto-public-key context entry"))
        }
        (None, Some(_)) => Err(FormatError::PublicKey("an unsigned message carries an aws-crypto-public-key")),
        (None, None) => Ok(None),
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

/// Verifies the footer signature over the digest of header and body.
pub fn verify(public_key: &[u8], digest: Digest, signature: &[u8]) -> Result<(), FormatError> {
    let hash = digest.context.finish();
    crypto::ecdsa_verify_prehash(digest.curve, public_key, hash.as_ref(), signature)
        .map_err(|_| FormatError::SignatureInvalid)
}

/// The signing half of a signed message: the key pair and the running digest.
pub struct Signer {
    key: EcdsaSigningKey,
    digest: Digest,
}

impl Signer {
    /// A fresh key pair for a message sealed with `suite`, and `context` with its public key
    /// added; `None` for unsigned suites.
    pub fn for_suite(
        suite: AlgorithmSuite,
        context: &EncryptionContext,
    ) -> Result<Option<(Self, EncryptionContext)>, FormatError> {
        let Some(curve) = suite.signature() else {
            return Ok(None);
        };
        let key = EcdsaSigningKey::generate(curve);
        let mut signed_context = context.clone();
        signed_context.insert(PUBLIC_KEY_CONTEXT_KEY, B64.encode(key.public_key_compressed()))?;
        Ok(Some((Self { key, digest: Digest::new(curve) }, signed_context)))
    }

    /// Adds bytes of the message.
    pub fn update(&mut self, bytes: &[u8]) {
        self.digest.update(bytes);
    }

    /// The footer: the signature over everything added, with its length prefix.
    pub fn footer(self) -> Vec<u8> {
        let hash = self.digest.context.finish();
        let signature = self.key.sign_prehash(hash.as_ref());
        let len = u16::try_from(signature.len()).expect("a DER ECDSA signature is under 256 bytes");
        [&len.to_be_bytes()[..], &signature].concat()
    }
}
