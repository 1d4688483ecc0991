use std::path::PathBuf;
use std::sync::Arc;

/// A local store failure that is not a KMS-level refusal: the disk, the root key, permissions.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file or directory could not be read or written.
    #[error("local key store: cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "write", "lock", ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: Arc<std::io::Error>,
    },
    /// A store file is not what envcrypt wrote.
    #[error("local key store: {} is corrupt ({reason}); restore it from a backup", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The passphrase does not unlock the store.
    #[error("local key store {}: wrong passphrase", dir.display())]
    WrongPassphrase {
        /// The store directory.
        dir: PathBuf,
    },
    /// The store is passphrase-protected and no passphrase was available.
    #[error("local key store {} is protected by a passphrase, and none was given", dir.display())]
    PassphraseRequired {
        /// The store directory.
        dir: PathBuf,
    },
    /// The audit log lost events, or its end is damaged: every call is refused (no key is used
    /// without a record) until an operator reviews the log and acknowledges the loss.
    #[error("local key store: audit log {}: {problem}; every call is refused until the loss is reviewed and acknowledged", path.display())]
    AuditLogDamaged {
        /// The log file.
        path: PathBuf,
        /// What is wrong with its end.
        problem: super::audit::AuditDamage,
    },
    /// Others could read the store.
    #[error("local key store: {} has mode {mode:o}, which lets other users read it; run `chmod {expected:o} {}`", path.display(), path.display())]
    InsecurePermissions {
        /// The directory or file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
        /// The mode it should have.
        expected: u32,
    },
}

impl StoreError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { action, path, source: Arc::new(source) }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Self::Corrupt { path: path.into(), reason: reason.to_string() }
    }
}
