//! What key management answers: key states, key metadata, aliases, rotation schedules.

use std::fmt;

use super::KmsError;

/// The state of a CMK, named as in KMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum KeyState {
    /// Usable.
    Enabled,
    /// Refuses cryptographic operations until enabled.
    Disabled,
    /// Refuses cryptographic operations; deleted at the deletion date unless cancelled.
    PendingDeletion,
    /// Being created (AWS KMS only).
    Creating,
    /// Waiting for imported key material (AWS KMS only).
    PendingImport,
    /// A multi-Region replica being deleted (AWS KMS only).
    PendingReplicaDeletion,
    /// The key's custom key store is disconnected, or the state is one envcrypt does not know.
    Unavailable,
    /// Being updated (AWS KMS only).
    Updating,
}

impl KeyState {
    const ALL: [KeyState; 8] = [
        Self::Enabled,
        Self::Disabled,
        Self::PendingDeletion,
        Self::Creating,
        Self::PendingImport,
        Self::PendingReplicaDeletion,
        Self::Unavailable,
        Self::Updating,
    ];

    /// The KMS name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "Enabled",
            Self::Disabled => "Disabled",
            Self::PendingDeletion => "PendingDeletion",
            Self::Creating => "Creating",
            Self::PendingImport => "PendingImport",
            Self::PendingReplicaDeletion => "PendingReplicaDeletion",
            Self::Unavailable => "Unavailable",
            Self::Updating => "Updating",
        }
    }

    /// The state with this KMS name; unknown names read as [`KeyState::Unavailable`].
    pub fn from_name(name: &str) -> Self {
        Self::ALL.into_iter().find(|s| s.as_str() == name).unwrap_or(Self::Unavailable)
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

kms_names! {
    /// What kind of key a CMK is (`KeySpec`).
    KeySpec {
        /// A 256-bit AES-GCM key.
        SymmetricDefault => "SYMMETRIC_DEFAULT",
        /// An RSA key pair with a 2048-bit modulus.
        Rsa2048 => "RSA_2048",
        /// An RSA key pair with a 3072-bit modulus.
        Rsa3072 => "RSA_3072",
        /// An RSA key pair with a 4096-bit modulus.
        Rsa4096 => "RSA_4096",
        /// An ECDSA key pair on NIST P-256 (secp256r1).
        EccNistP256 => "ECC_NIST_P256",
        /// An ECDSA key pair on NIST P-384 (secp384r1).
        EccNistP384 => "ECC_NIST_P384",
        /// An ECDSA key pair on NIST P-521 (secp521r1).
        EccNistP521 => "ECC_NIST_P521",
        /// An ECDSA key pair on secp256k1.
        EccSecgP256k1 => "ECC_SECG_P256K1",
        /// A 224-bit HMAC key.
        Hmac224 => "HMAC_224",
        /// A 256-bit HMAC key.
        Hmac256 => "HMAC_256",
        /// A 384-bit HMAC key.
        Hmac384 => "HMAC_384",
        /// A 512-bit HMAC key.
        Hmac512 => "HMAC_512",
    }
}

kms_names! {
    /// What a CMK is for (`KeyUsage`).
    KeyUsage {
        /// Encrypt, Decrypt, ReEncrypt, GenerateDataKey (symmetric keys); Encrypt and Decrypt
        /// with RSAES-OAEP (RSA keys).
        EncryptDecrypt => "ENCRYPT_DECRYPT",
        /// Sign, Verify, GetPublicKey.
        SignVerify => "SIGN_VERIFY",
        /// GenerateMac, VerifyMac.
        GenerateVerifyMac => "GENERATE_VERIFY_MAC",
    }
}

kms_names! {
    /// Where a CMK's key material comes from (`Origin`).
    Origin {
        /// Made by the key service.
        AwsKms => "AWS_KMS",
        /// Imported by its owner (ImportKeyMaterial).
        External => "EXTERNAL",
        /// Made in an HSM cluster (a KMS custom key store).
        AwsCloudHsm => "AWS_CLOUDHSM",
    }
}

kms_names! {
    /// Who manages a CMK (`KeyManager`).
    KeyManager {
        /// The account's owner.
        Customer => "CUSTOMER",
        /// AWS, for a service.
        Aws => "AWS",
    }
}

kms_names! {
    /// Whether imported key material expires (`ExpirationModel`).
    ExpirationModel {
        /// It is deleted at its `ValidTo` date.
        KeyMaterialExpires => "KEY_MATERIAL_EXPIRES",
        /// It stays until deleted.
        KeyMaterialDoesNotExpire => "KEY_MATERIAL_DOES_NOT_EXPIRE",
    }
}

impl KeySpec {
    /// The encryption algorithms a key of this spec and `usage` supports
    /// (`EncryptionAlgorithms`).
    pub fn encryption_algorithms(self, usage: KeyUsage) -> &'static [&'static str] {
        match (self, usage) {
            (Self::SymmetricDefault, _) => &["SYMMETRIC_DEFAULT"],
            (Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096, KeyUsage::EncryptDecrypt) => {
                &["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
            }
            _ => &[],
        }
    }
}

/// What DescribeKey returns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyMetadata {
    /// The key id (UUID).
    pub key_id: String,
    /// The key ARN.
    pub arn: String,
    /// The description given at creation.
    pub description: String,
    /// The key state.
    pub state: KeyState,
    /// Creation time, seconds since the Unix epoch.
    pub creation_date: u64,
    /// When a key pending deletion will be deleted, seconds since the Unix epoch.
    pub deletion_date: Option<u64>,
    /// The waiting period of a key pending deletion, in days.
    pub pending_deletion_window_days: Option<u32>,
    /// The kind of key.
    pub key_spec: KeySpec,
    /// What the key is for.
    pub key_usage: KeyUsage,
    /// Where its key material comes from.
    pub origin: Origin,
    /// Who manages it.
    pub key_manager: KeyManager,
    /// For imported key material: whether it expires.
    pub expiration_model: Option<ExpirationModel>,
    /// For imported key material that expires: when, seconds since the Unix epoch.
    pub valid_to: Option<u64>,
    /// How many backing keys the CMK has (1 + the number of rotations), where the backend says.
    pub backing_keys: Option<u32>,
    /// The aliases that point at the key.
    pub aliases: Vec<String>,
}

impl KeyMetadata {
    /// Whether the key is enabled (`Enabled` in KMS's metadata).
    pub fn enabled(&self) -> bool {
        self.state == KeyState::Enabled
    }

    /// The encryption algorithms the key supports (`EncryptionAlgorithms`).
    pub fn encryption_algorithms(&self) -> &'static [&'static str] {
        self.key_spec.encryption_algorithms(self.key_usage)
    }
}

/// An alias and the key it points at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AliasEntry {
    /// `alias/...`.
    pub alias_name: String,
    /// The target key id.
    pub target_key_id: String,
}

/// The KMS limits on a deletion waiting period, in days.
pub const DELETION_WINDOW_DAYS: std::ops::RangeInclusive<u32> = 7..=30;

/// The KMS limits on an automatic rotation period, in days (`RotationPeriodInDays`).
pub const ROTATION_PERIOD_DAYS: std::ops::RangeInclusive<u32> = 90..=2560;
/// The rotation period when EnableKeyRotation names none, and the period of managed keys.
pub const DEFAULT_ROTATION_PERIOD_DAYS: u32 = 365;
/// How many on-demand rotations KMS allows one key (`LimitExceededException` after that).
pub const MAX_ON_DEMAND_ROTATIONS: usize = 10;

/// What started a rotation of key material, named as in ListKeyRotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RotationType {
    /// The rotation schedule (EnableKeyRotation, or a managed key's yearly rotation).
    Automatic,
    /// RotateKeyOnDemand.
    OnDemand,
}

impl RotationType {
    /// The KMS name: `AUTOMATIC` or `ON_DEMAND`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Automatic => "AUTOMATIC",
            Self::OnDemand => "ON_DEMAND",
        }
    }
}

/// What GetKeyRotationStatus answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RotationStatus {
    /// The key ARN.
    pub key_arn: String,
    /// Whether automatic rotation is on (always false for a key pending deletion, as in KMS).
    pub enabled: bool,
    /// The rotation period, while automatic rotation is on.
    pub period_days: Option<u32>,
    /// When the key next rotates, seconds since the Unix epoch, while automatic rotation is on.
    pub next_rotation_date: Option<u64>,
    /// When an on-demand rotation still in progress started (never, where rotation is
    /// immediate).
    pub on_demand_rotation_start_date: Option<u64>,
}

/// One completed rotation, as ListKeyRotations lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RotationEntry {
    /// The key id.
    pub key_id: String,
    /// When the new key material came into use, seconds since the Unix epoch.
    pub rotation_date: u64,
    /// What started it.
    pub rotation_type: RotationType,
}

/// A tag on a key: a key and a value, as TagResource sets it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Tag {
    /// 1 to 128 characters, not starting with `aws:`.
    pub key: String,
    /// 0 to 256 characters.
    pub value: String,
}

impl Tag {
    /// A tag.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self { key: key.into(), value: value.into() }
    }
}

/// The most tags one key may have.
pub const MAX_TAGS_PER_KEY: usize = 50;
const MAX_TAG_KEY_CHARS: usize = 128;
const MAX_TAG_VALUE_CHARS: usize = 256;
const RESERVED_TAG_PREFIX: &str = "aws:";

/// Refuses a tag key KMS refuses: empty or over 128 characters (`ValidationException`, as its
/// API model's constraints), or reserved (`TagException`).
pub fn validate_tag_key(key: &str) -> Result<(), KmsError> {
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_TAG_KEY_CHARS {
        return Err(KmsError::Validation(format!("the tag key {key:?} has {chars} characters; it must have 1 to 128")));
    }
    if key
        .as_bytes()
        .get(..RESERVED_TAG_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(RESERVED_TAG_PREFIX.as_bytes()))
    {
        return Err(KmsError::Tag(format!(
            "the tag key {key:?} starts with {RESERVED_TAG_PREFIX}, which AWS reserves"
        )));
    }
    Ok(())
}

/// Adds `tags` to a key's `existing` ones (a tag with an existing key replaces its value),
/// with KMS's rules: keys and values within their lengths (`ValidationException`), no reserved
/// key and at most [`MAX_TAGS_PER_KEY`] in all (`TagException`).
pub fn merge_tags(existing: &mut std::collections::BTreeMap<String, String>, tags: &[Tag]) -> Result<(), KmsError> {
    let mut merged = existing.clone();
    for tag in tags {
        validate_tag_key(&tag.key)?;
        let chars = tag.value.chars().count();
        if chars > MAX_TAG_VALUE_CHARS {
            return Err(KmsError::Validation(format!(
                "the value of tag {:?} has {chars} characters; the limit is {MAX_TAG_VALUE_CHARS}",
                tag.key
            )));
        }
        merged.insert(tag.key.clone(), tag.value.clone());
    }
    if merged.len() > MAX_TAGS_PER_KEY {
        return Err(KmsError::Tag(format!(
            "a key may have at most {MAX_TAGS_PER_KEY} tags; these would make {}",
            merged.len()
        )));
    }
    *existing = merged;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found in review: a key starting with three ASCII bytes and a multi-byte character was
    /// sliced inside the character and panicked.
    #[test]
    fn tag_keys_are_checked_without_slicing_inside_a_character() {
        assert!(validate_tag_key("awsé").is_ok());
        assert!(validate_tag_key("é").is_ok());
        assert_eq!(validate_tag_key("AWS:owner").unwrap_err().kms_name(), "TagException");
        assert_eq!(validate_tag_key("").unwrap_err().kms_name(), "ValidationException");
        assert_eq!(validate_tag_key(&"é".repeat(129)).unwrap_err().kms_name(), "ValidationException");
        assert!(validate_tag_key(&"é".repeat(128)).is_ok());
    }
}
