//! The PKCS#11 key service for envcrypt: the CloudHSM model.
//!
//! [`Pkcs11KeyService`] keeps CMKs as AES-256 key objects generated inside PKCS#11 tokens and
//! implements the envcrypt [`KeyService`](envcrypt::kms::KeyService) and
//! [`KeyAdmin`](envcrypt::kms::KeyAdmin) traits with them: GenerateDataKey takes the data key
//! from the token's RNG and encrypts it inside the token with AES-GCM (the encryption context
//! in the AAD); Decrypt and Encrypt run inside the token; ReEncrypt decrypts and encrypts
//! inside the tokens, the plaintext passing through this process in a zeroized buffer.
//!
//! Several tokens make a cluster, as HSMs in several availability zones do: keys are copied to
//! every token wrapped under a shared cluster key ([`cluster`](crate::cluster) explains how
//! that key is shared without leaving a token), operations go round-robin over the healthy
//! tokens, a token that fails is marked down and skipped, retried after a back-off, and
//! re-synced with the keys created meanwhile when it answers again.
//!
//! The vendor-dependent mechanism choices are in [`Mechanisms`]. SoftHSM2 is what the tests
//! run; the CloudHSM variant is modeled, not tested (no CloudHSM here).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod blob;
mod cluster;
#[cfg(fuzzing)]
pub mod fuzzing;
mod mechanisms;
mod service;
mod token;

use std::path::PathBuf;
use std::time::Duration;

use zeroize::Zeroizing;

pub use mechanisms::{IvSource, Mechanisms, WrapMechanism};
pub use service::{Pkcs11KeyService, TokenStatus};

/// The provider id envcrypt writes into encrypted data keys wrapped by PKCS#11 CMKs.
pub const PROVIDER_ID: &str = "envcrypt-pkcs11";

/// How to reach a cluster of PKCS#11 tokens.
#[derive(Clone)]
pub struct Pkcs11Options {
    /// The PKCS#11 module (e.g. `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// The labels of the cluster's tokens, one or more.
    pub tokens: Vec<String>,
    /// The user PIN (from `ENVCRYPT_PKCS11_PIN` or a prompt; never a command-line argument).
    pub pin: Zeroizing<String>,
    /// The vendor's mechanism choices.
    pub mechanisms: Mechanisms,
    /// How long a failed token is skipped before it is tried again.
    pub retry_after: Duration,
}

impl std::fmt::Debug for Pkcs11Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Options")
            .field("module", &self.module)
            .field("tokens", &self.tokens)
            .field("mechanisms", &self.mechanisms)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Options {
    /// Options for `module` and `tokens` with the SoftHSM2 mechanisms and a 5-second back-off.
    pub fn new(module: impl Into<PathBuf>, tokens: Vec<String>, pin: Zeroizing<String>) -> Self {
        Self {
            module: module.into(),
            tokens,
            pin,
            mechanisms: Mechanisms::softhsm(),
            retry_after: Duration::from_secs(5),
        }
    }
}
