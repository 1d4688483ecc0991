//! Errors of the local store that are not KMS refusals: the disk, the root key, permissions,
//! and a damaged audit log.

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
        problem: AuditDamage,
    },
    /// The store has other ARNs than the ones asked for.
    #[error("local key store {}: its ARNs are {store}, not {requested} (a store's ARNs never change)", dir.display())]
    IdentityMismatch {
        /// The store directory.
        dir: PathBuf,
        /// The store's partition, region and account.
        store: String,
        /// What was asked for.
        requested: String,
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

/// The audit log's head file: the last event's sequence number and MAC.
pub(super) const AUDIT_HEAD_FILE: &str = "audit.head";

/// What went wrong at the end of an audit log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditDamage {
    /// The log ends at another event than its head records.
    #[error("it ends at event {log_events} but {AUDIT_HEAD_FILE} records event {head_events}: events were removed or the log was rolled back")]
    Diverged {
        /// The last event in the log.
        log_events: u64,
        /// The last event the head records.
        head_events: u64,
    },
    /// The last line has no end (a crash or a full disk while it was written).
    #[error("its last event is incomplete (a crash or a full disk while it was written)")]
    IncompleteLastEvent,
    /// The last line is not an event.
    #[error("its last line is not an audit event ({0})")]
    UnreadableLastEvent(String),
    /// The head file is not what envcrypt writes.
    #[error("{AUDIT_HEAD_FILE} is not a sequence number and MAC")]
    UnreadableHead,
}
