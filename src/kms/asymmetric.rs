//! Asymmetric and HMAC keys as KMS has them: the signing and MAC algorithms, the message types
//! of Sign and Verify, and the requests and answers of Sign, Verify, GetPublicKey, GenerateMac
//! and VerifyMac. Which key spec allows which usage and algorithm is on [`KeySpec`].

use super::{KeyMetadata, KeyRef, KeySpec, KeyUsage, KmsError, SecretBytes};

kms_names! {
    /// A signing algorithm (`SigningAlgorithm`).
    SigningAlgorithm {
        /// RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a 32-byte salt.
        RsassaPssSha256 => "RSASSA_PSS_SHA_256",
        /// RSASSA-PSS with SHA-384, MGF1 with SHA-384 and a 48-byte salt.
        RsassaPssSha384 => "RSASSA_PSS_SHA_384",
        /// RSASSA-PSS with SHA-512, MGF1 with SHA-512 and a 64-byte salt.
        RsassaPssSha512 => "RSASSA_PSS_SHA_512",
        /// RSASSA-PKCS1-v1_5 with SHA-256.
        RsassaPkcs1V15Sha256 => "RSASSA_PKCS1_V1_5_SHA_256",
        /// RSASSA-PKCS1-v1_5 with SHA-384.
        RsassaPkcs1V15Sha384 => "RSASSA_PKCS1_V1_5_SHA_384",
        /// RSASSA-PKCS1-v1_5 with SHA-512.
        RsassaPkcs1V15Sha512 => "RSASSA_PKCS1_V1_5_SHA_512",
        /// ECDSA with SHA-256, the signature DER-encoded.
        EcdsaSha256 => "ECDSA_SHA_256",
        /// ECDSA with SHA-384, the signature DER-encoded.
        EcdsaSha384 => "ECDSA_SHA_384",
        /// ECDSA with SHA-512, the signature DER-encoded.
        EcdsaSha512 => "ECDSA_SHA_512",
    }
}

kms_names! {
    /// What Sign and Verify are given (`MessageType`).
    MessageType {
        /// The message itself (at most [`MAX_SIGN_MESSAGE`] bytes), hashed by the key service.
        Raw => "RAW",
        /// The message's digest, as long as the algorithm's hash.
        Digest => "DIGEST",
    }
}

kms_names! {
    /// A MAC algorithm (`MacAlgorithm`).
    MacAlgorithm {
        /// HMAC with SHA-224.
        HmacSha224 => "HMAC_SHA_224",
        /// HMAC with SHA-256.
        HmacSha256 => "HMAC_SHA_256",
        /// HMAC with SHA-384.
        HmacSha384 => "HMAC_SHA_384",
        /// HMAC with SHA-512.
        HmacSha512 => "HMAC_SHA_512",
    }
}

kms_names! {
    /// An encryption algorithm of an RSA ENCRYPT_DECRYPT key (`EncryptionAlgorithm`).
    RsaEncryptionAlgorithm {
        /// RSAES-OAEP with SHA-1 and MGF1 with SHA-1.
        RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
        /// RSAES-OAEP with SHA-256 and MGF1 with SHA-256.
        RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
    }
}

impl RsaEncryptionAlgorithm {
    /// The hash's output length, which bounds the plaintext: a key of `k` bytes encrypts at
    /// most `k - 2 * hash length - 2` (190 bytes for RSA_2048 with SHA-256).
    pub fn hash_len(self) -> usize {
        match self {
            Self::RsaesOaepSha1 => 20,
            Self::RsaesOaepSha256 => 32,
        }
    }
}

/// The arguments of Encrypt or Decrypt with an RSA key.
#[derive(Debug, Clone, Copy)]
pub struct RsaEncryptionRequest<'a> {
    /// The key (RSA, ENCRYPT_DECRYPT); Decrypt needs it too, as KMS does.
    pub key: &'a KeyRef,
    /// The plaintext (Encrypt) or ciphertext (Decrypt).
    pub data: &'a [u8],
    /// The algorithm.
    pub algorithm: RsaEncryptionAlgorithm,
}

/// The longest RAW message Sign and Verify take, and the longest message GenerateMac and
/// VerifyMac take, in bytes.
pub const MAX_SIGN_MESSAGE: usize = 4096;

/// The longest signature Verify takes, in bytes.
pub const MAX_SIGNATURE: usize = 6144;

/// The longest MAC VerifyMac takes, in bytes (HMAC-SHA-512's).
pub const MAX_MAC: usize = 64;

impl SigningAlgorithm {
    /// The length of the algorithm's hash, which a DIGEST message must have.
    pub fn digest_len(self) -> usize {
        match self {
            Self::RsassaPssSha256 | Self::RsassaPkcs1V15Sha256 | Self::EcdsaSha256 => 32,
            Self::RsassaPssSha384 | Self::RsassaPkcs1V15Sha384 | Self::EcdsaSha384 => 48,
            Self::RsassaPssSha512 | Self::RsassaPkcs1V15Sha512 | Self::EcdsaSha512 => 64,
        }
    }
}

impl KeySpec {
    /// Whether the spec names an asymmetric key pair (RSA or elliptic curve).
    pub fn is_key_pair(self) -> bool {
        !self.signing_algorithms().is_empty()
    }

    /// The usages a key of this spec may have, as CreateKey allows them.
    pub fn usages(self) -> &'static [KeyUsage] {
        match self {
            Self::SymmetricDefault => &[KeyUsage::EncryptDecrypt],
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => &[KeyUsage::EncryptDecrypt, KeyUsage::SignVerify],
            Self::EccNistP256 | Self::EccNistP384 | Self::EccNistP521 | Self::EccSecgP256k1 => &[KeyUsage::SignVerify],
            Self::Hmac224 | Self::Hmac256 | Self::Hmac384 | Self::Hmac512 => &[KeyUsage::GenerateVerifyMac],
        }
    }

    /// The signing algorithms of a key pair of this spec (none for other keys).
    pub fn signing_algorithms(self) -> &'static [SigningAlgorithm] {
        use SigningAlgorithm::*;
        match self {
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => &[
                RsassaPssSha256,
                RsassaPssSha384,
                RsassaPssSha512,
                RsassaPkcs1V15Sha256,
                RsassaPkcs1V15Sha384,
                RsassaPkcs1V15Sha512,
            ],
            Self::EccNistP256 | Self::EccSecgP256k1 => &[EcdsaSha256],
            Self::EccNistP384 => &[EcdsaSha384],
            Self::EccNistP521 => &[EcdsaSha512],
            Self::SymmetricDefault | Self::Hmac224 | Self::Hmac256 | Self::Hmac384 | Self::Hmac512 => &[],
        }
    }

    /// The MAC algorithm of an HMAC key of this spec.
    pub fn mac_algorithm(self) -> Option<MacAlgorithm> {
        match self {
            Self::Hmac224 => Some(MacAlgorithm::HmacSha224),
            Self::Hmac256 => Some(MacAlgorithm::HmacSha256),
            Self::Hmac384 => Some(MacAlgorithm::HmacSha384),
            Self::Hmac512 => Some(MacAlgorithm::HmacSha512),
            _ => None,
        }
    }

    /// Checks a CreateKey's spec and usage against each other, as KMS does; the usage
    /// defaults to ENCRYPT_DECRYPT, which only symmetric and RSA keys may have.
    pub fn check_usage(self, usage: KeyUsage) -> Result<(), KmsError> {
        if self.usages().contains(&usage) {
            return Ok(());
        }
        Err(KmsError::Validation(format!(
            "KeyUsage {usage} is not compatible with KeySpec {self}; a {self} key may be {}",
            self.usages().iter().map(|u| u.as_str()).collect::<Vec<_>>().join(" or ")
        )))
    }
}

impl KeyMetadata {
    /// The signing algorithms the key supports (`SigningAlgorithms`, for SIGN_VERIFY keys).
    pub fn signing_algorithms(&self) -> &'static [SigningAlgorithm] {
        match self.key_usage {
            KeyUsage::SignVerify => self.key_spec.signing_algorithms(),
            _ => &[],
        }
    }

    /// The MAC algorithms the key supports (`MacAlgorithms`, for HMAC keys).
    pub fn mac_algorithms(&self) -> Vec<MacAlgorithm> {
        self.key_spec.mac_algorithm().into_iter().collect()
    }
}

/// The arguments of Sign.
#[derive(Debug, Clone, Copy)]
pub struct SignRequest<'a> {
    /// The key (SIGN_VERIFY).
    pub key: &'a KeyRef,
    /// The message, or its digest.
    pub message: &'a [u8],
    /// Which of the two `message` is.
    pub message_type: MessageType,
    /// The signing algorithm.
    pub algorithm: SigningAlgorithm,
}

/// What Sign returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The ARN of the key that signed.
    pub key_arn: String,
    /// The signature (DER for ECDSA).
    pub signature: Vec<u8>,
    /// The algorithm.
    pub algorithm: SigningAlgorithm,
}

/// The arguments of Verify: a Sign request and the signature to check against it.
#[derive(Debug, Clone, Copy)]
pub struct VerifyRequest<'a> {
    /// What was signed, how, and under which key.
    pub signed: SignRequest<'a>,
    /// The signature.
    pub signature: &'a [u8],
}

/// What GetPublicKey returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// The key's ARN.
    pub key_arn: String,
    /// The public key, a DER-encoded X.509 SubjectPublicKeyInfo.
    pub der: Vec<u8>,
    /// The key spec.
    pub key_spec: KeySpec,
    /// The key usage.
    pub key_usage: KeyUsage,
}

impl PublicKey {
    /// The signing algorithms the key supports (for a SIGN_VERIFY key).
    pub fn signing_algorithms(&self) -> &'static [SigningAlgorithm] {
        match self.key_usage {
            KeyUsage::SignVerify => self.key_spec.signing_algorithms(),
            _ => &[],
        }
    }

    /// The encryption algorithms the key supports (for an ENCRYPT_DECRYPT key).
    pub fn encryption_algorithms(&self) -> &'static [&'static str] {
        self.key_spec.encryption_algorithms(self.key_usage)
    }
}

/// What GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext return.
#[derive(Debug)]
pub struct DataKeyPair {
    /// The ARN of the symmetric key that encrypted the private key.
    pub key_arn: String,
    /// The kind of key pair.
    pub key_pair_spec: KeySpec,
    /// The public key, a DER-encoded X.509 SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
    /// The private key, PKCS#8 DER (GenerateDataKeyPair only); zeroized on drop.
    pub private_key_plaintext: Option<SecretBytes>,
    /// The private key encrypted under the symmetric key, with the encryption context: what
    /// Decrypt takes back.
    pub private_key_ciphertext_blob: Vec<u8>,
}

/// The arguments of GenerateMac, and with a MAC those of VerifyMac.
#[derive(Debug, Clone, Copy)]
pub struct MacRequest<'a> {
    /// The key (GENERATE_VERIFY_MAC).
    pub key: &'a KeyRef,
    /// The message (1 to [`MAX_SIGN_MESSAGE`] bytes).
    pub message: &'a [u8],
    /// The MAC algorithm, which must be the key's.
    pub algorithm: MacAlgorithm,
}

/// What GenerateMac returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mac {
    /// The ARN of the key.
    pub key_arn: String,
    /// The MAC.
    pub mac: Vec<u8>,
    /// The algorithm.
    pub algorithm: MacAlgorithm,
}

/// Checks a message's length as Sign, Verify, GenerateMac and VerifyMac do.
pub fn validate_message(
    message: &[u8],
    message_type: MessageType,
    algorithm_digest_len: usize,
) -> Result<(), KmsError> {
    match message_type {
        MessageType::Raw if message.is_empty() || message.len() > MAX_SIGN_MESSAGE => Err(KmsError::Validation(
            format!("the message has {} bytes; it must have 1 to {MAX_SIGN_MESSAGE}", message.len()),
        )),
        MessageType::Digest if message.len() != algorithm_digest_len => Err(KmsError::Validation(format!(
            "the digest has {} bytes; the signing algorithm's hash has {algorithm_digest_len}",
            message.len()
        ))),
        _ => Ok(()),
    }
}

/// Checks GenerateDataKeyPair's `KeyPairSpec`: an RSA or elliptic-curve key pair.
pub fn validate_key_pair_spec(spec: KeySpec) -> Result<(), KmsError> {
    if spec.is_key_pair() {
        return Ok(());
    }
    Err(KmsError::Validation(format!(
        "KeyPairSpec {spec} is not a key pair: give RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, \
         ECC_NIST_P521 or ECC_SECG_P256K1"
    )))
}

/// Checks a signature's length as Verify does.
pub fn validate_signature(signature: &[u8]) -> Result<(), KmsError> {
    if signature.is_empty() || signature.len() > MAX_SIGNATURE {
        return Err(KmsError::Validation(format!(
            "the signature has {} bytes; it must have 1 to {MAX_SIGNATURE}",
            signature.len()
        )));
    }
    Ok(())
}

/// Checks a message's length as GenerateMac and VerifyMac do.
pub fn validate_mac_message(message: &[u8]) -> Result<(), KmsError> {
    validate_message(message, MessageType::Raw, 0)
}

/// Checks a MAC's length as VerifyMac does.
pub fn validate_mac(mac: &[u8]) -> Result<(), KmsError> {
    if mac.is_empty() || mac.len() > MAX_MAC {
        return Err(KmsError::Validation(format!("the MAC has {} bytes; it must have 1 to {MAX_MAC}", mac.len())));
    }
    Ok(())
}

/// A key as the checks of an operation see it: what it is called, its spec and its usage.
/// Every backend refuses a key of the wrong kind with the same errors, as KMS does.
#[derive(Debug, Clone, Copy)]
pub struct KeyProfile<'a> {
    /// The key's ARN, for the error messages.
    pub arn: &'a str,
    /// The key spec.
    pub spec: KeySpec,
    /// The key usage.
    pub usage: KeyUsage,
}

impl KeyProfile<'_> {
    /// `InvalidKeyUsageException` unless the key is a symmetric encryption key, which
    /// `operation` needs.
    pub fn check_symmetric(&self, operation: &str) -> Result<(), KmsError> {
        if self.spec == KeySpec::SymmetricDefault {
            return Ok(());
        }
        Err(KmsError::InvalidKeyUsage(format!(
            "key {} is a {} key for {}; {operation} needs a symmetric encryption key",
            self.arn, self.spec, self.usage
        )))
    }

    /// `InvalidKeyUsageException` unless the key is an asymmetric or HMAC key of one of
    /// `usages`, which `operation` needs.
    pub fn check_usage(&self, operation: &str, usages: &[KeyUsage]) -> Result<(), KmsError> {
        if self.spec != KeySpec::SymmetricDefault && usages.contains(&self.usage) {
            return Ok(());
        }
        Err(KmsError::InvalidKeyUsage(format!(
            "key {} is a {} key for {}; {operation} here needs an asymmetric or HMAC key for {}",
            self.arn,
            self.spec,
            self.usage,
            usages.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(" or ")
        )))
    }

    /// `UnsupportedOperationException` for a key that does not rotate: only symmetric
    /// encryption keys do.
    pub fn check_rotates(&self, operation: &str) -> Result<(), KmsError> {
        if self.spec == KeySpec::SymmetricDefault {
            return Ok(());
        }
        Err(KmsError::UnsupportedOperation(format!(
            "key {} is a {} key, which does not rotate: {operation} is valid only for symmetric encryption keys",
            self.arn, self.spec
        )))
    }

    /// `InvalidKeyUsageException` unless `algorithm` is one of the key's signing algorithms.
    pub fn check_signing_algorithm(&self, algorithm: SigningAlgorithm) -> Result<(), KmsError> {
        if self.spec.signing_algorithms().contains(&algorithm) {
            return Ok(());
        }
        Err(KmsError::InvalidKeyUsage(format!(
            "{algorithm} is not a signing algorithm of key {}, a {} key; it has {}",
            self.arn,
            self.spec,
            self.spec.signing_algorithms().iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
        )))
    }

    /// `InvalidKeyUsageException` unless `algorithm` is the key's MAC algorithm.
    pub fn check_mac_algorithm(&self, algorithm: MacAlgorithm) -> Result<(), KmsError> {
        if self.spec.mac_algorithm() == Some(algorithm) {
            return Ok(());
        }
        Err(KmsError::InvalidKeyUsage(format!(
            "{algorithm} is not the MAC algorithm of key {}, a {} key",
            self.arn, self.spec
        )))
    }

    /// `InvalidSignatureException` (KMSInvalidSignatureException) for a signature that does
    /// not verify.
    pub fn invalid_signature(&self, algorithm: SigningAlgorithm) -> KmsError {
        KmsError::InvalidSignature(format!(
            "the signature is not a valid {algorithm} signature of the message under key {}",
            self.arn
        ))
    }

    /// `KMSInvalidMacException` for a MAC that does not verify.
    pub fn invalid_mac(&self, algorithm: MacAlgorithm) -> KmsError {
        KmsError::InvalidMac(format!("the MAC is not the {algorithm} of the message under key {}", self.arn))
    }

    /// `ValidationException` for a plaintext longer than RSAES-OAEP takes with this key.
    pub fn plaintext_too_long(&self, algorithm: RsaEncryptionAlgorithm, len: usize) -> KmsError {
        KmsError::Validation(format!(
            "the plaintext has {len} bytes, more than a {} key takes with {algorithm}",
            self.spec
        ))
    }

    /// `InvalidCiphertextException` for an RSAES-OAEP ciphertext that does not decrypt.
    pub fn undecryptable(&self, algorithm: RsaEncryptionAlgorithm) -> KmsError {
        KmsError::InvalidCiphertext(format!("the ciphertext does not decrypt with {algorithm} under key {}", self.arn))
    }
}
