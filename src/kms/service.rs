//! The contract every key service keeps: the cryptographic operations ([`KeyService`]), key
//! management ([`KeyAdmin`]) and, where a backend has them, key policies and grants
//! ([`KeyGovernance`]), scheduled rotation ([`KeyRotation`]), imported material ([`KeyImport`]),
//! tags ([`KeyTagging`]), signing keys ([`KeySigning`]) and HMAC keys ([`KeyMacs`]).

use super::{
    AliasEntry, Arn, CreateGrantRequest, CreatedGrant, DataKey, DataKeyPair, DataKeySpec, EncryptionContext,
    GrantDryRun, GrantEntry, GrantTarget, ImportParameters, ImportRequest, KeyMetadata, KeyRef, KeySpec, KeyUsage,
    KmsError, KmsFuture, Mac, MacRequest, Origin, PublicKey, RotationEntry, RotationStatus, RsaEncryptionRequest,
    SecretBytes, SignRequest, Signature, Tag, VerifyRequest, WrappingAlgorithm, WrappingKeySpec,
};
#[cfg(doc)]
use super::{DEFAULT_ROTATION_PERIOD_DAYS, DELETION_WINDOW_DAYS, MAX_ON_DEMAND_ROTATIONS, ROTATION_PERIOD_DAYS};

/// The largest plaintext KMS `Encrypt` accepts.
pub const MAX_ENCRYPT_PLAINTEXT: usize = 4096;

/// Ciphertext produced by a key service, with the key that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ciphertext {
    /// The KMS `CiphertextBlob`.
    pub blob: Vec<u8>,
    /// The ARN of the CMK that encrypted it.
    pub key_arn: String,
}

/// What Decrypt recovered.
#[derive(Debug, Clone)]
pub struct Decrypted {
    /// The plaintext; zeroized on drop.
    pub plaintext: SecretBytes,
    /// The ARN of the CMK that decrypted it.
    pub key_arn: String,
}

/// What ReEncrypt produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReEncrypted {
    /// The new ciphertext, under the destination key and context.
    pub blob: Vec<u8>,
    /// The ARN of the destination key.
    pub key_arn: String,
    /// The ARN of the key that held the source ciphertext.
    pub source_key_arn: String,
}

/// The arguments of ReEncrypt.
#[derive(Debug, Clone, Copy)]
pub struct ReEncryptRequest<'a> {
    /// The ciphertext to move.
    pub blob: &'a [u8],
    /// The context it was encrypted with.
    pub source_context: &'a EncryptionContext,
    /// If set, the source ciphertext must be under this key (`IncorrectKeyException` otherwise).
    pub source_key: Option<&'a KeyRef>,
    /// The key to encrypt under.
    pub destination_key: &'a KeyRef,
    /// The context to bind the new ciphertext to.
    pub destination_context: &'a EncryptionContext,
}

/// An operation that makes ciphertext under a named key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealing {
    /// Encrypt.
    Encrypt,
    /// GenerateDataKey.
    GenerateDataKey,
    /// GenerateDataKeyWithoutPlaintext.
    GenerateDataKeyWithoutPlaintext,
}

impl Sealing {
    /// The KMS operation name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Encrypt => "Encrypt",
            Self::GenerateDataKey => "GenerateDataKey",
            Self::GenerateDataKeyWithoutPlaintext => "GenerateDataKeyWithoutPlaintext",
        }
    }
}

/// A request to check but not carry out (KMS's `DryRun`).
#[derive(Debug, Clone, Copy)]
pub enum DryRun<'a> {
    /// Encrypt, GenerateDataKey or GenerateDataKeyWithoutPlaintext under `key`.
    Seal {
        /// Which operation.
        operation: Sealing,
        /// The key.
        key: &'a KeyRef,
        /// The encryption context.
        context: &'a EncryptionContext,
    },
    /// Decrypt of `blob`, under `expected_key` if given.
    Decrypt {
        /// The ciphertext blob (only the key it names is looked at).
        blob: &'a [u8],
        /// The encryption context.
        context: &'a EncryptionContext,
        /// The key the blob must be under.
        expected_key: Option<&'a KeyRef>,
    },
    /// ReEncrypt.
    ReEncrypt(ReEncryptRequest<'a>),
    /// Sign (nothing is signed).
    Sign(SignRequest<'a>),
    /// Verify (the signature is not checked, only its length).
    Verify(VerifyRequest<'a>),
    /// GenerateMac.
    GenerateMac(MacRequest<'a>),
    /// VerifyMac (the MAC is not checked, only its length).
    VerifyMac(MacRequest<'a>, &'a [u8]),
    /// GenerateDataKeyPair, or GenerateDataKeyPairWithoutPlaintext (`plaintext` false).
    DataKeyPair {
        /// Whether the private key would come back in plaintext too.
        plaintext: bool,
        /// The symmetric key.
        key: &'a KeyRef,
        /// The key pair spec.
        spec: KeySpec,
        /// The encryption context.
        context: &'a EncryptionContext,
    },
    /// Encrypt with an RSA key.
    RsaEncrypt(RsaEncryptionRequest<'a>),
    /// Decrypt with an RSA key (the ciphertext is not decrypted).
    RsaDecrypt(RsaEncryptionRequest<'a>),
}

impl DryRun<'_> {
    /// The KMS operation name.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::Seal { operation, .. } => operation.as_str(),
            Self::Decrypt { .. } | Self::RsaDecrypt(_) => "Decrypt",
            Self::ReEncrypt(_) => "ReEncrypt",
            Self::Sign(_) => "Sign",
            Self::Verify(_) => "Verify",
            Self::GenerateMac(_) => "GenerateMac",
            Self::VerifyMac(..) => "VerifyMac",
            Self::DataKeyPair { plaintext: true, .. } => "GenerateDataKeyPair",
            Self::DataKeyPair { plaintext: false, .. } => "GenerateDataKeyPairWithoutPlaintext",
            Self::RsaEncrypt(_) => "Encrypt",
        }
    }
}

/// The cryptographic operations of a key service (GenerateDataKey, Encrypt, Decrypt, ReEncrypt).
pub trait KeyService: Send + Sync + std::fmt::Debug {
    /// The provider id this service writes into encrypted data keys of sealed messages.
    fn provider_id(&self) -> &str;

    /// Whether an encrypted data key with this provider id and provider info is one this
    /// service can try to decrypt.
    fn can_decrypt(&self, provider_id: &str, provider_info: &[u8]) -> bool {
        let _ = provider_info;
        provider_id == self.provider_id()
    }

    /// GenerateDataKey: a fresh data key, in plaintext and wrapped under `key`.
    fn generate_data_key<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKey>;

    /// GenerateDataKeyWithoutPlaintext: only the wrapped data key.
    fn generate_data_key_without_plaintext<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext>;

    /// Encrypt: wraps up to [`MAX_ENCRYPT_PLAINTEXT`] bytes under `key`.
    fn encrypt<'a>(
        &'a self,
        key: &'a KeyRef,
        plaintext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext>;

    /// Decrypt: the blob names its key; if `expected_key` is given, the blob must be under it.
    fn decrypt<'a>(
        &'a self,
        blob: &'a [u8],
        context: &'a EncryptionContext,
        expected_key: Option<&'a KeyRef>,
    ) -> KmsFuture<'a, Decrypted>;

    /// ReEncrypt: moves a ciphertext to another key or context without releasing the plaintext.
    fn re_encrypt<'a>(&'a self, request: ReEncryptRequest<'a>) -> KmsFuture<'a, ReEncrypted>;

    /// GenerateRandom: `number_of_bytes` (1 to 1024, `ValidationException` otherwise) from the
    /// key service's random source.
    fn generate_random(&self, number_of_bytes: usize) -> KmsFuture<'_, SecretBytes>;

    /// DryRun: whether `request` would be allowed now (the caller's rights, the key's state),
    /// without carrying it out: `Ok` if it would, else the error it would fail with.
    fn dry_run<'a>(&'a self, request: DryRun<'a>) -> KmsFuture<'a, ()>;

    /// Whether the key ARN `arn` names one of this service's keys (so a caller with several
    /// services knows where to send it).
    fn owns(&self, arn: &Arn) -> bool;

    /// Key management, on backends that offer it.
    fn admin(&self) -> Option<&dyn KeyAdmin> {
        None
    }

    /// Key policies and grants, on backends that govern access to their keys.
    fn governance(&self) -> Option<&dyn KeyGovernance> {
        None
    }

    /// Scheduled rotation, on backends whose keys rotate on a schedule.
    fn rotation(&self) -> Option<&dyn KeyRotation> {
        None
    }

    /// Imported key material, on backends that take it.
    fn import(&self) -> Option<&dyn KeyImport> {
        None
    }

    /// Tags, on backends that keep them.
    fn tagging(&self) -> Option<&dyn KeyTagging> {
        None
    }

    /// Signing keys, on backends that hold key pairs.
    fn signing(&self) -> Option<&dyn KeySigning> {
        None
    }

    /// HMAC keys, on backends that hold them.
    fn macs(&self) -> Option<&dyn KeyMacs> {
        None
    }

    /// Encryption with RSA keys, on backends that hold them.
    fn rsa_encryption(&self) -> Option<&dyn RsaEncryption> {
        None
    }

    /// Data key pairs, on backends that make them.
    fn data_key_pairs(&self) -> Option<&dyn DataKeyPairs> {
        None
    }
}

/// The arguments of CreateKey.
#[derive(Debug, Clone, Copy)]
pub struct CreateKeyRequest<'a> {
    /// A description kept with the key.
    pub description: &'a str,
    /// Where the key material comes from: `None` for the backend's own; [`Origin::External`]
    /// for a key whose material its owner imports (on backends that implement [`KeyImport`]).
    pub origin: Option<Origin>,
    /// The key policy, on backends that govern access; `None` for the backend's default.
    pub policy: Option<&'a str>,
    /// Lets a policy lock its caller out (KMS's `BypassPolicyLockoutSafetyCheck`): unless set,
    /// the policy must let the caller change it later (`MalformedPolicyDocumentException`).
    pub bypass_policy_lockout_safety_check: bool,
    /// Tags, on backends that implement [`KeyTagging`].
    pub tags: &'a [Tag],
    /// The kind of key; `None` for [`KeySpec::SymmetricDefault`].
    pub key_spec: Option<KeySpec>,
    /// What the key is for; `None` for ENCRYPT_DECRYPT, which symmetric and RSA keys may have
    /// ([`KeySpec::check_usage`]).
    pub key_usage: Option<KeyUsage>,
}

impl<'a> CreateKeyRequest<'a> {
    /// A key made by the backend, with its default policy.
    pub fn new(description: &'a str) -> Self {
        Self {
            description,
            origin: None,
            policy: None,
            bypass_policy_lockout_safety_check: false,
            tags: &[],
            key_spec: None,
            key_usage: None,
        }
    }

    /// An asymmetric or HMAC key: `spec` for `usage` (checked with [`KeySpec::check_usage`]).
    pub fn kind(mut self, spec: KeySpec, usage: Option<KeyUsage>) -> Self {
        self.key_spec = Some(spec);
        self.key_usage = usage;
        self
    }

    /// The key spec and usage asked for, checked against each other as KMS checks them.
    pub fn checked_kind(&self) -> Result<(KeySpec, KeyUsage), KmsError> {
        let spec = self.key_spec.unwrap_or(KeySpec::SymmetricDefault);
        let usage = self.key_usage.unwrap_or(KeyUsage::EncryptDecrypt);
        spec.check_usage(usage)?;
        Ok((spec, usage))
    }

    /// With tags.
    pub fn tags(mut self, tags: &'a [Tag]) -> Self {
        self.tags = tags;
        self
    }

    /// With material from `origin`.
    pub fn origin(mut self, origin: Origin) -> Self {
        self.origin = Some(origin);
        self
    }

    /// With a key policy.
    pub fn policy(mut self, policy: &'a str, bypass_lockout_check: bool) -> Self {
        self.policy = Some(policy);
        self.bypass_policy_lockout_safety_check = bypass_lockout_check;
        self
    }
}

/// Key management: create, describe, list, aliases, enable/disable, rotation, deletion.
pub trait KeyAdmin: Send + Sync {
    /// CreateKey.
    fn create_key_with<'a>(&'a self, request: CreateKeyRequest<'a>) -> KmsFuture<'a, KeyMetadata>;
    /// CreateKey with a description only: a symmetric key made by the backend, with its
    /// default key policy where it governs access.
    fn create_key<'a>(&'a self, description: &'a str) -> KmsFuture<'a, KeyMetadata> {
        self.create_key_with(CreateKeyRequest::new(description))
    }
    /// DescribeKey.
    fn describe_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata>;
    /// ListKeys, with each key's metadata.
    fn list_keys(&self) -> KmsFuture<'_, Vec<KeyMetadata>>;
    /// ListAliases.
    fn list_aliases(&self) -> KmsFuture<'_, Vec<AliasEntry>>;
    /// CreateAlias.
    fn create_alias<'a>(&'a self, alias: &'a str, target: &'a KeyRef) -> KmsFuture<'a, ()>;
    /// UpdateAlias: points an existing alias at another key.
    fn update_alias<'a>(&'a self, alias: &'a str, target: &'a KeyRef) -> KmsFuture<'a, ()>;
    /// DeleteAlias.
    fn delete_alias<'a>(&'a self, alias: &'a str) -> KmsFuture<'a, ()>;
    /// EnableKey.
    fn enable_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()>;
    /// DisableKey.
    fn disable_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()>;
    /// RotateKeyOnDemand: adds a backing key; older ones still decrypt. A key rotates on demand
    /// at most [`MAX_ON_DEMAND_ROTATIONS`] times, where the backend keeps KMS's limit.
    fn rotate_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata>;
    /// UpdateKeyDescription.
    fn update_key_description<'a>(&'a self, key: &'a KeyRef, description: &'a str) -> KmsFuture<'a, ()>;
    /// ScheduleKeyDeletion, with a waiting period in [`DELETION_WINDOW_DAYS`].
    fn schedule_key_deletion<'a>(&'a self, key: &'a KeyRef, pending_window_days: u32) -> KmsFuture<'a, KeyMetadata>;
    /// CancelKeyDeletion: the key returns in the `Disabled` state, as in KMS.
    fn cancel_key_deletion<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata>;
}

/// Key policies and grants, on backends that govern who may use a key (the local store, AWS
/// KMS). A backend whose access control is elsewhere (an HSM's users) does not implement it.
pub trait KeyGovernance: Send + Sync {
    /// GetKeyPolicy: the key policy's text.
    fn get_key_policy<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, String>;
    /// PutKeyPolicy, with the same lockout check as CreateKey
    /// ([`CreateKeyRequest::bypass_policy_lockout_safety_check`]).
    fn put_key_policy<'a>(&'a self, key: &'a KeyRef, policy: &'a str, bypass_lockout_check: bool) -> KmsFuture<'a, ()>;
    /// CreateGrant.
    fn create_grant<'a>(&'a self, request: CreateGrantRequest<'a>) -> KmsFuture<'a, CreatedGrant>;
    /// ListGrants of one key.
    fn list_grants<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, Vec<GrantEntry>>;
    /// RetireGrant: by the grant's retiring principal, its grantee (if the grant allows
    /// RetireGrant) or the account root.
    fn retire_grant<'a>(&'a self, target: GrantTarget<'a>) -> KmsFuture<'a, ()>;
    /// RevokeGrant: by a principal the key policy allows `kms:RevokeGrant`.
    fn revoke_grant<'a>(&'a self, key: &'a KeyRef, grant_id: &'a str) -> KmsFuture<'a, ()>;
    /// DryRun of a grant operation: whether it would be allowed now (the caller's rights, the
    /// key's state, the grant's existence), without carrying it out: `Ok` if it would, else
    /// the error it would fail with.
    fn dry_run_grant<'a>(&'a self, request: GrantDryRun<'a>) -> KmsFuture<'a, ()>;
}

/// Asymmetric keys that sign (Sign, Verify, GetPublicKey): the local store, AWS KMS.
pub trait KeySigning: Send + Sync {
    /// Sign: a SIGN_VERIFY key signs a message or its digest (`InvalidKeyUsageException` for
    /// another key or an algorithm its spec lacks; `ValidationException` for a RAW message over
    /// [`MAX_SIGN_MESSAGE`](super::MAX_SIGN_MESSAGE) bytes or a DIGEST of the wrong length).
    fn sign<'a>(&'a self, request: SignRequest<'a>) -> KmsFuture<'a, Signature>;
    /// Verify: the key's ARN if the signature is valid, `KMSInvalidSignatureException` if not.
    fn verify<'a>(&'a self, request: VerifyRequest<'a>) -> KmsFuture<'a, String>;
    /// GetPublicKey: the public half of an RSA or ECC key (`UnsupportedOperationException`
    /// for a symmetric or HMAC key).
    fn get_public_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, PublicKey>;
}

/// Encrypt and Decrypt with RSA ENCRYPT_DECRYPT keys, RSAES-OAEP (the local store, AWS KMS).
/// These take no encryption context: KMS's asymmetric algorithms have none.
pub trait RsaEncryption: Send + Sync {
    /// Encrypt under the key's public key (`ValidationException` for a plaintext longer than
    /// the key and algorithm allow).
    fn encrypt_rsa<'a>(&'a self, request: RsaEncryptionRequest<'a>) -> KmsFuture<'a, Ciphertext>;
    /// Decrypt with the key's private key (`InvalidCiphertextException` if it does not).
    fn decrypt_rsa<'a>(&'a self, request: RsaEncryptionRequest<'a>) -> KmsFuture<'a, Decrypted>;
}

/// Data key pairs: a fresh RSA or elliptic-curve key pair whose private key comes back
/// encrypted under a symmetric key with an encryption context, as Encrypt would encrypt it
/// (the local store, AWS KMS).
pub trait DataKeyPairs: Send + Sync {
    /// GenerateDataKeyPair: the pair of `spec` (a key-pair spec, `ValidationException`
    /// otherwise), with the private key in plaintext and encrypted under `key`.
    fn generate_data_key_pair<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: KeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKeyPair>;
    /// GenerateDataKeyPairWithoutPlaintext: the same, with the private key only encrypted.
    fn generate_data_key_pair_without_plaintext<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: KeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKeyPair>;
}

/// HMAC keys (GenerateMac, VerifyMac): the local store, AWS KMS.
pub trait KeyMacs: Send + Sync {
    /// GenerateMac: a GENERATE_VERIFY_MAC key's MAC of a message of 1 to 4096 bytes, with the
    /// key's own algorithm (`InvalidKeyUsageException` otherwise).
    fn generate_mac<'a>(&'a self, request: MacRequest<'a>) -> KmsFuture<'a, Mac>;
    /// VerifyMac: the key's ARN if `mac` is the message's MAC, `KMSInvalidMacException` if
    /// not.
    fn verify_mac<'a>(&'a self, request: MacRequest<'a>, mac: &'a [u8]) -> KmsFuture<'a, String>;
}

/// Scheduled rotation of key material (the local store, AWS KMS). Keys in an HSM cluster have
/// none, as keys in a KMS custom key store have none.
pub trait KeyRotation: Send + Sync {
    /// EnableKeyRotation: the key rotates every `period_days` (in [`ROTATION_PERIOD_DAYS`],
    /// default [`DEFAULT_ROTATION_PERIOD_DAYS`]) from now; on a key that already rotates, this
    /// changes the period and keeps the date it counts from.
    fn enable_key_rotation<'a>(&'a self, key: &'a KeyRef, period_days: Option<u32>) -> KmsFuture<'a, ()>;
    /// DisableKeyRotation.
    fn disable_key_rotation<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()>;
    /// GetKeyRotationStatus.
    fn get_key_rotation_status<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, RotationStatus>;
    /// ListKeyRotations: every completed rotation, oldest first.
    fn list_key_rotations<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, Vec<RotationEntry>>;
}

/// Imported key material: keys created with [`Origin::External`] get their material from
/// their owner (the local store, AWS KMS). An HSM cluster takes none, as a KMS custom key
/// store takes none.
pub trait KeyImport: Send + Sync {
    /// GetParametersForImport: a fresh RSA wrapping key of `spec` and an import token, valid
    /// for 24 hours.
    fn get_parameters_for_import<'a>(
        &'a self,
        key: &'a KeyRef,
        algorithm: WrappingAlgorithm,
        spec: WrappingKeySpec,
    ) -> KmsFuture<'a, ImportParameters>;
    /// ImportKeyMaterial: a key pending import becomes enabled. Once a key has had material,
    /// only the same material is taken again (`IncorrectKeyMaterialException`).
    fn import_key_material<'a>(&'a self, request: ImportRequest<'a>) -> KmsFuture<'a, ()>;
    /// DeleteImportedKeyMaterial: the key waits for the same material again; what it
    /// encrypted cannot be decrypted until then.
    fn delete_imported_key_material<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()>;
}

/// Tags on keys (the local store, AWS KMS), with KMS's rules: keys of 1 to 128 characters and
/// values of up to 256 (`ValidationException`), keys not starting with `aws:` and at most 50 per
/// key (`TagException`); a key pending deletion keeps its tags and takes no changes.
pub trait KeyTagging: Send + Sync {
    /// TagResource: adds tags, replacing the value of a key already there.
    fn tag_resource<'a>(&'a self, key: &'a KeyRef, tags: &'a [Tag]) -> KmsFuture<'a, ()>;
    /// UntagResource: removes the tags with these keys (absent ones are ignored).
    fn untag_resource<'a>(&'a self, key: &'a KeyRef, tag_keys: &'a [String]) -> KmsFuture<'a, ()>;
    /// ListResourceTags, sorted by key.
    fn list_resource_tags<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, Vec<Tag>>;
}

/// The most bytes GenerateRandom returns.
pub const MAX_RANDOM_BYTES: usize = 1024;

/// Refuses a GenerateRandom length outside 1 to 1024 (`ValidationException`).
pub fn validate_random_len(number_of_bytes: usize) -> Result<(), KmsError> {
    if (1..=MAX_RANDOM_BYTES).contains(&number_of_bytes) {
        return Ok(());
    }
    Err(KmsError::Validation(format!(
        "NumberOfBytes is {number_of_bytes}; it must be between 1 and {MAX_RANDOM_BYTES}"
    )))
}
