//! The PKCS#11 key service for envcrypt: the CloudHSM model.
//!
//! [`Pkcs11KeyService`] keeps CMKs as key objects generated inside PKCS#11 tokens (AES-256 for
//! symmetric keys; RSA, elliptic-curve and HMAC keys as KMS has them) and implements the
//! envcrypt [`KeyService`](envcrypt::kms::KeyService) and [`KeyAdmin`](envcrypt::kms::KeyAdmin)
//! traits with them, and the signing, MAC, RSA encryption and data key pair traits:
//! GenerateDataKey takes the data key from the token's RNG and encrypts it inside the token
//! with AES-GCM (the encryption context in the AAD); Decrypt, Encrypt, Sign and the MACs run
//! inside the token; ReEncrypt decrypts and encrypts inside the tokens, the plaintext passing
//! through this process in a zeroized buffer.
//!
//! Several tokens make a cluster, as HSMs in several availability zones do: keys are copied to
//! every token wrapped under a trusted cluster key (one per kind of key) that the security
//! officer sets up once ([`init_cluster`]; `replication.rs` explains why no user-PIN holder can
//! export a key), operations go round-robin over the healthy tokens, a token that fails is
//! marked down and skipped, retried after a back-off, and re-synced with the keys created
//! meanwhile when it answers again.
//!
//! The vendor-dependent mechanism choices are in [`Mechanisms`]. SoftHSM2 is what the tests
//! run; the CloudHSM variant is modeled, not tested (no CloudHSM here).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod blob;
mod cluster;
mod config;
#[cfg(fuzzing)]
pub mod fuzzing;
mod key_kind;
mod mechanisms;
mod module;
mod records;
mod replication;
mod service;
mod template;
mod token;

pub use cluster::{TokenStatus, NOT_INITIALIZED};
pub use config::{ClusterConfig, ConfigError, ConfigSources, Pkcs11Options};
pub use mechanisms::{IvSource, Mechanisms, WrapMechanism};
pub use replication::{init_cluster, ClusterKeyStatus};
pub use service::Pkcs11KeyService;
pub use token::LOGIN_REFUSED;

/// The provider id envcrypt writes into encrypted data keys wrapped by PKCS#11 CMKs.
pub const PROVIDER_ID: &str = "envcrypt-pkcs11";
