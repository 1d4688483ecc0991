//! Imported key material (Origin EXTERNAL): the wrapping keys and algorithms of
//! GetParametersForImport, what it answers, and what ImportKeyMaterial takes.

use super::KeyRef;

kms_names! {
    /// The RSA key that wraps material for import (`WrappingKeySpec`).
    WrappingKeySpec {
        /// RSA, 2048 bits.
        Rsa2048 => "RSA_2048",
        /// RSA, 3072 bits.
        Rsa3072 => "RSA_3072",
        /// RSA, 4096 bits.
        Rsa4096 => "RSA_4096",
    }
}

impl WrappingKeySpec {
    /// The modulus size in bits.
    pub fn bits(self) -> usize {
        match self {
            Self::Rsa2048 => 2048,
            Self::Rsa3072 => 3072,
            Self::Rsa4096 => 4096,
        }
    }
}

kms_names! {
    /// How material is wrapped for import (`WrappingAlgorithm`).
    WrappingAlgorithm {
        /// RSA-OAEP with SHA-1 (MGF1 with SHA-1) over the material itself.
        RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
        /// RSA-OAEP with SHA-256 (MGF1 with SHA-256) over the material itself.
        RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
        /// A fresh AES-256 key wrapped with RSA-OAEP SHA-1, followed by the material wrapped
        /// under it with AES key wrap with padding (RFC 5649).
        RsaAesKeyWrapSha1 => "RSA_AES_KEY_WRAP_SHA_1",
        /// The same, with RSA-OAEP SHA-256.
        RsaAesKeyWrapSha256 => "RSA_AES_KEY_WRAP_SHA_256",
    }
}

/// How long the parameters of GetParametersForImport are valid, in seconds (24 hours).
pub const IMPORT_PARAMETERS_VALID_SECS: u64 = 24 * 3600;

/// What GetParametersForImport answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportParameters {
    /// The key ARN.
    pub key_arn: String,
    /// The wrapping key: a DER SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
    /// The import token, for ImportKeyMaterial with material wrapped by this key.
    pub import_token: Vec<u8>,
    /// When the wrapping key and token stop working, seconds since the Unix epoch.
    pub parameters_valid_to: u64,
}

/// When imported material expires (`ExpirationModel` and `ValidTo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaterialExpiry {
    /// At this time, seconds since the Unix epoch: the key then waits for the same material
    /// again.
    At(u64),
    /// Never.
    Never,
}

/// The arguments of ImportKeyMaterial.
#[derive(Debug, Clone, Copy)]
pub struct ImportRequest<'a> {
    /// The key (id or ARN).
    pub key: &'a KeyRef,
    /// The material, wrapped under the public key of GetParametersForImport.
    pub encrypted_key_material: &'a [u8],
    /// The token of the same GetParametersForImport answer.
    pub import_token: &'a [u8],
    /// When the material expires.
    pub expiry: MaterialExpiry,
}
