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

#[macro_use]
mod names;

mod asymmetric;
mod bound_context;
mod data_key;
mod error;
mod future;
mod grant;
mod import;
mod key_id;
mod key_ref;
mod lazy;
mod lifecycle;
pub mod local;
mod metadata;
mod service;

pub use crate::context::EncryptionContext;
pub use asymmetric::{
    validate_key_pair_spec, validate_mac, validate_mac_message, validate_message, validate_signature, DataKeyPair,
    KeyProfile, Mac, MacAlgorithm, MacRequest, MessageType, PublicKey, RsaEncryptionAlgorithm, RsaEncryptionRequest,
    SignRequest, Signature, SigningAlgorithm, VerifyRequest, MAX_MAC, MAX_SIGNATURE, MAX_SIGN_MESSAGE,
};
pub use bound_context::{BoundContext, MAX_CONTEXT_BYTES};
pub use data_key::{DataKey, DataKeySpec, SecretBytes};
pub use error::KmsError;
pub use future::KmsFuture;
pub use grant::{
    CreateGrantRequest, CreatedGrant, GrantConstraints, GrantDryRun, GrantEntry, GrantOperation, GrantTarget,
};
pub use import::{
    ImportParameters, ImportRequest, MaterialExpiry, WrappingAlgorithm, WrappingKeySpec, IMPORT_PARAMETERS_VALID_SECS,
};
pub use key_id::{ArnPrefix, KeyId};
pub use key_ref::{validate_alias_name, Arn, KeyRef, KeyRefError};
pub use lazy::LazyService;
pub(crate) use lifecycle::SECONDS_PER_DAY;
pub use lifecycle::{validate_description, Lifecycle, MAX_DESCRIPTION_CHARS};
pub use metadata::{
    merge_tags, validate_tag_key, AliasEntry, ExpirationModel, KeyManager, KeyMetadata, KeySpec, KeyState, KeyUsage,
    Origin, RotationEntry, RotationStatus, RotationType, Tag, DEFAULT_ROTATION_PERIOD_DAYS, DELETION_WINDOW_DAYS,
    MAX_ON_DEMAND_ROTATIONS, MAX_TAGS_PER_KEY, ROTATION_PERIOD_DAYS,
};
pub use service::{
    validate_random_len, Ciphertext, CreateKeyRequest, DataKeyPairs, Decrypted, DryRun, KeyAdmin, KeyGovernance,
    KeyImport, KeyMacs, KeyRotation, KeyService, KeySigning, KeyTagging, ReEncryptRequest, ReEncrypted, RsaEncryption,
    Sealing, MAX_ENCRYPT_PLAINTEXT, MAX_RANDOM_BYTES,
};
