//! What an operation runs against ([`Context`]): the key service as the caller, and the served
//! ARNs; and how a key service error becomes a response.

use envcrypt::kms::{
    ArnPrefix, DataKeyPairs, KeyAdmin, KeyGovernance, KeyImport, KeyMacs, KeyRotation, KeyService, KeySigning,
    KeyTagging, KmsError, RsaEncryption,
};

use crate::protocol::Failure;

/// What an operation runs against.
pub struct Context<'a> {
    /// The key service, as the caller.
    pub service: &'a dyn KeyService,
    /// The served ARNs' partition, region and account.
    pub identity: &'a ArnPrefix,
}

impl Context<'_> {
    pub(super) fn admin(&self, operation: &str) -> Result<&dyn KeyAdmin, Failure> {
        self.service.admin().ok_or_else(|| unsupported(operation))
    }

    pub(super) fn governance(&self, operation: &str) -> Result<&dyn KeyGovernance, Failure> {
        self.service.governance().ok_or_else(|| unsupported(operation))
    }

    /// Scheduled rotation; keys in an HSM cluster have none, as keys in a KMS custom key
    /// store have none.
    pub(super) fn rotation(&self, operation: &str) -> Result<&dyn KeyRotation, Failure> {
        self.service.rotation().ok_or_else(|| {
            Failure::client(
                "UnsupportedOperationException",
                format!("{operation} is not supported by this key store: its keys do not rotate on a schedule"),
            )
        })
    }

    /// Imported key material; keys in an HSM cluster take none, as keys in a KMS custom key
    /// store take none.
    pub(super) fn import(&self, operation: &str) -> Result<&dyn KeyImport, Failure> {
        self.service.import().ok_or_else(|| {
            Failure::client(
                "UnsupportedOperationException",
                format!("{operation} is not supported by this key store: its keys take no imported key material"),
            )
        })
    }

    /// Tags.
    pub(super) fn tagging(&self, operation: &str) -> Result<&dyn KeyTagging, Failure> {
        self.service.tagging().ok_or_else(|| unsupported(operation))
    }

    /// Signing keys; an HSM cluster has none yet.
    pub(super) fn signing(&self, operation: &str) -> Result<&dyn KeySigning, Failure> {
        self.service.signing().ok_or_else(|| unsupported(operation))
    }

    /// Encryption with RSA keys; an HSM cluster has none yet.
    pub(super) fn rsa_encryption(&self, operation: &str) -> Result<&dyn RsaEncryption, Failure> {
        self.service.rsa_encryption().ok_or_else(|| unsupported(operation))
    }

    /// Data key pairs; an HSM cluster makes none yet.
    pub(super) fn data_key_pairs(&self, operation: &str) -> Result<&dyn DataKeyPairs, Failure> {
        self.service.data_key_pairs().ok_or_else(|| unsupported(operation))
    }

    /// HMAC keys; an HSM cluster has none yet.
    pub(super) fn macs(&self, operation: &str) -> Result<&dyn KeyMacs, Failure> {
        self.service.macs().ok_or_else(|| unsupported(operation))
    }

    /// The ARN of alias `alias_name` (`alias/NAME`).
    pub(super) fn alias_arn(&self, alias_name: &str) -> String {
        format!("arn:{}:kms:{}:{}:{alias_name}", self.identity.partition, self.identity.region, self.identity.account)
    }
}

fn unsupported(operation: &str) -> Failure {
    Failure::client(
        "UnsupportedOperationException",
        format!("{operation} is not supported by this key store: its access is governed by its own users"),
    )
}

/// Runs `work`, which may take a core for seconds (making an RSA key), so that the runtime's
/// other requests go on meanwhile: off the runtime's worker where the runtime has several.
pub(super) fn slow<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// A key service error as a response.
pub(super) fn kms(error: KmsError) -> Failure {
    Failure::from_kms(&error)
}
