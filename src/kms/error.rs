//! [`KmsError`]: every key service failure, with the exception name AWS KMS gives it.

use std::sync::Arc;

use super::local::StoreError;

/// A key service failure, named as AWS KMS names it.
///
/// Every variant says which key and what was wrong; [`KmsError::kms_name`] gives the KMS
/// exception name so that callers (and the conformance harness) can compare backends.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum KmsError {
    /// The key, alias or resource does not exist.
    #[error("NotFoundException: {0}")]
    NotFound(String),
    /// The key exists but is disabled.
    #[error("DisabledException: key {key} is disabled")]
    Disabled {
        /// The key's ARN.
        key: String,
    },
    /// The key's state does not allow the operation (for example, pending deletion).
    #[error("KMSInvalidStateException: key {key} is {state}, which does not allow {operation}")]
    InvalidState {
        /// The key's ARN.
        key: String,
        /// The KMS key state name, e.g. `PendingDeletion`.
        state: String,
        /// The KMS operation name.
        operation: &'static str,
    },
    /// The ciphertext is malformed, tampered with, or the context does not match.
    #[error("InvalidCiphertextException: {0}")]
    InvalidCiphertext(String),
    /// The ciphertext was encrypted under another key than the one the caller expected.
    #[error("IncorrectKeyException: the ciphertext is under key {actual}, not the expected key {expected}")]
    IncorrectKey {
        /// The key the caller named.
        expected: String,
        /// The key the ciphertext names.
        actual: String,
    },
    /// A parameter is out of range or malformed.
    #[error("ValidationException: {0}")]
    Validation(String),
    /// The caller may not perform the operation.
    #[error("AccessDeniedException: {0}")]
    AccessDenied(String),
    /// An alias (or other named resource) already exists.
    #[error("AlreadyExistsException: {0}")]
    AlreadyExists(String),
    /// An alias name breaks the naming rules.
    #[error("InvalidAliasNameException: {0}")]
    InvalidAliasName(String),
    /// The name is reserved for the service (`alias/aws/`).
    #[error("NotAuthorizedException: {0}")]
    NotAuthorized(String),
    /// A key policy is malformed, uses what the backend cannot evaluate, or would lock the
    /// caller out.
    #[error("MalformedPolicyDocumentException: {0}")]
    MalformedPolicyDocument(String),
    /// A grant id does not name a grant of the key.
    #[error("InvalidGrantIdException: {0}")]
    InvalidGrantId(String),
    /// A grant token is malformed or names no grant.
    #[error("InvalidGrantTokenException: {0}")]
    InvalidGrantToken(String),
    /// The backend does not offer this operation.
    #[error("UnsupportedOperationException: {0}")]
    UnsupportedOperation(String),
    /// A per-key limit is reached (on-demand rotations).
    #[error("LimitExceededException: {0}")]
    LimitExceeded(String),
    /// An import token is not one of this key's.
    #[error("InvalidImportTokenException: {0}")]
    InvalidImportToken(String),
    /// An import token is past its 24 hours.
    #[error("ExpiredImportTokenException: {0}")]
    ExpiredImportToken(String),
    /// A DryRun request would have succeeded (recorded as such; [`KeyService::dry_run`]
    /// answers `Ok`).
    ///
    /// [`KeyService::dry_run`]: crate::kms::KeyService::dry_run
    #[error("DryRunOperationException: {0}")]
    DryRunOperation(String),
    /// A tag breaks KMS's rules (length, count, reserved prefix).
    #[error("TagException: {0}")]
    Tag(String),
    /// Imported material is not the key's material.
    #[error("IncorrectKeyMaterialException: {0}")]
    IncorrectKeyMaterial(String),
    /// The key's usage or spec does not allow the operation or algorithm.
    #[error("InvalidKeyUsageException: {0}")]
    InvalidKeyUsage(String),
    /// Verify: the signature is not valid for the message and key.
    #[error("KMSInvalidSignatureException: {0}")]
    InvalidSignature(String),
    /// VerifyMac: the MAC is not valid for the message and key.
    #[error("KMSInvalidMacException: {0}")]
    InvalidMac(String),
    /// The local store could not be read or written.
    #[error("KMSInternalException: {0}")]
    Store(#[from] StoreError),
    /// Another service error, carried with its KMS name.
    #[error("{name}: {message}")]
    Service {
        /// The exception name the service returned.
        name: String,
        /// Its message.
        message: String,
    },
    /// A transport or SDK failure below the service (network, credentials, timeouts).
    #[error("{context}: {source}")]
    Transport {
        /// What was being attempted.
        context: String,
        /// The underlying error, kept opaque so backend types stay out of the public API.
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
}

impl KmsError {
    /// The AWS KMS exception name for this error.
    pub fn kms_name(&self) -> &str {
        match self {
            Self::NotFound(_) => "NotFoundException",
            Self::Disabled { .. } => "DisabledException",
            Self::InvalidState { .. } => "KMSInvalidStateException",
            Self::InvalidCiphertext(_) => "InvalidCiphertextException",
            Self::IncorrectKey { .. } => "IncorrectKeyException",
            Self::Validation(_) => "ValidationException",
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::AlreadyExists(_) => "AlreadyExistsException",
            Self::InvalidAliasName(_) => "InvalidAliasNameException",
            Self::NotAuthorized(_) => "NotAuthorizedException",
            Self::MalformedPolicyDocument(_) => "MalformedPolicyDocumentException",
            Self::InvalidGrantId(_) => "InvalidGrantIdException",
            Self::InvalidGrantToken(_) => "InvalidGrantTokenException",
            Self::UnsupportedOperation(_) => "UnsupportedOperationException",
            Self::LimitExceeded(_) => "LimitExceededException",
            Self::InvalidImportToken(_) => "InvalidImportTokenException",
            Self::ExpiredImportToken(_) => "ExpiredImportTokenException",
            Self::IncorrectKeyMaterial(_) => "IncorrectKeyMaterialException",
            Self::Tag(_) => "TagException",
            Self::DryRunOperation(_) => "DryRunOperationException",
            Self::InvalidKeyUsage(_) => "InvalidKeyUsageException",
            Self::InvalidSignature(_) => "KMSInvalidSignatureException",
            Self::InvalidMac(_) => "KMSInvalidMacException",
            Self::Store(_) => "KMSInternalException",
            Self::Service { name, .. } => name,
            Self::Transport { .. } => "TransportError",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_kms_and_messages_name_the_key() {
        let e = KmsError::Disabled { key: "arn:envcrypt:kms:local:000000000000:key/k".into() };
        assert_eq!(e.kms_name(), "DisabledException");
        assert!(e.to_string().contains("key/k"));
        let e = KmsError::InvalidState { key: "k".into(), state: "PendingDeletion".into(), operation: "Decrypt" };
        assert_eq!(e.kms_name(), "KMSInvalidStateException");
        assert!(e.to_string().contains("PendingDeletion") && e.to_string().contains("Decrypt"));
        let e = KmsError::Service { name: "LimitExceededException".into(), message: "slow down".into() };
        assert_eq!(e.kms_name(), "LimitExceededException");
    }
}
