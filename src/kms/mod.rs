//! The key service contract: one trait over the local store, AWS KMS and PKCS#11 HSMs.
//!
//! A key service holds master keys (CMKs) that never leave it. Callers name a key with a
//! [`KeyRef`], bind ciphertext to an [`EncryptionContext`], and get data keys back as
//! [`DataKey`]s whose plaintext is zeroized on drop.
//!
//! # Dispatch
//!
//! Backends differ in how they wait: the local store answers from the file system at once,
//! the AWS SDK is async on tokio, and PKCS#11 calls block. The trait is object-safe so a
//! message can be sealed under several backends at once (`Vec<Arc<dyn KeyService>>`), and each
//! operation returns a [`KmsFuture`]: a named future that is either already complete (no
//! allocation, for the local store) or a boxed future (for network backends). Async callers
//! `.await` it; sync callers call [`KmsFuture::wait`], the blocking facade. `async fn` in
//! traits would give neither object safety nor the allocation-free ready path, and a
//! blocking-only trait would force async callers onto a thread pool.
//!
//! Errors are [`KmsError`], whose variants carry the KMS exception names.

mod bound_context;
mod data_key;
mod error;
mod future;
mod grant;
mod key_ref;
mod lifecycle;
pub mod local;

pub use crate::context::EncryptionContext;
pub use bound_context::{BoundContext, MAX_CONTEXT_BYTES};
pub use data_key::{DataKey, DataKeySpec, SecretBytes};
pub use error::KmsError;
pub use future::KmsFuture;
pub use grant::{CreateGrantRequest, CreatedGrant, GrantConstraints, GrantEntry, GrantOperation, GrantTarget};
pub use key_ref::{validate_alias_name, Arn, KeyRef, KeyRefError};
pub use lifecycle::Lifecycle;

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

    /// Key management, on backends that offer it.
    fn admin(&self) -> Option<&dyn KeyAdmin> {
        None
    }
}

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

impl std::fmt::Display for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
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
    /// How many backing keys the CMK has (1 + the number of rotations), where the backend says.
    pub backing_keys: Option<u32>,
    /// The aliases that point at the key.
    pub aliases: Vec<String>,
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

/// Key management: create, describe, list, aliases, enable/disable, rotation, deletion, key
/// policies and grants.
pub trait KeyAdmin: Send + Sync {
    /// CreateKey: a new symmetric CMK with the backend's default key policy.
    fn create_key<'a>(&'a self, description: &'a str) -> KmsFuture<'a, KeyMetadata>;
    /// CreateKey with a key policy. Unless `bypass_lockout_check`, the policy must let the
    /// caller change it later (`MalformedPolicyDocumentException` otherwise), as in KMS.
    fn create_key_with_policy<'a>(
        &'a self,
        description: &'a str,
        policy: &'a str,
        bypass_lockout_check: bool,
    ) -> KmsFuture<'a, KeyMetadata>;
    /// GetKeyPolicy: the key policy's text.
    fn get_key_policy<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, String>;
    /// PutKeyPolicy, with the same lockout check as [`KeyAdmin::create_key_with_policy`].
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
    /// RotateKeyOnDemand: adds a backing key; older ones still decrypt.
    fn rotate_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata>;
    /// ScheduleKeyDeletion, with a waiting period in [`DELETION_WINDOW_DAYS`].
    fn schedule_key_deletion<'a>(&'a self, key: &'a KeyRef, pending_window_days: u32) -> KmsFuture<'a, KeyMetadata>;
    /// CancelKeyDeletion: the key returns in the `Disabled` state, as in KMS.
    fn cancel_key_deletion<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata>;
}
