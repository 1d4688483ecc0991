//! One error line and one exit code per failure.

use std::process::ExitCode;

use envcrypt::keyring::KeyringError;
use envcrypt::kms::local::StoreError;
use envcrypt::kms::KmsError;
use envcrypt::stream;
use envcrypt_s3::S3Error;

/// The exit code families documented in `envcrypt --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Io = 1,
    Usage = 2,
    Key = 3,
    Data = 4,
    Conformance = 5,
}

/// A failure to report: one line naming what failed, and an exit code.
#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
}

impl CliError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self { exit, message: message.into() }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    pub fn io(what: impl std::fmt::Display, error: &std::io::Error) -> Self {
        Self::new(Exit::Io, format!("{what}: {error}"))
    }

    /// A key service error while doing `what`.
    pub fn kms(what: impl std::fmt::Display, error: &KmsError) -> Self {
        let hint = match error {
            KmsError::Disabled { key } => format!(" (enable it with `envcrypt key enable {key}`)"),
            KmsError::InvalidState { state, .. } if state == "PendingDeletion" => {
                " (cancel the deletion with `envcrypt key cancel-deletion`, then enable the key)".to_owned()
            }
            KmsError::Store(StoreError::AuditLogDamaged { .. }) => {
                " (see where with `envcrypt audit verify`; after review, record the loss with `envcrypt audit acknowledge`)"
                    .to_owned()
            }
            KmsError::UnsupportedOperation(message) if message.contains("security officer must initialize") => {
                " (the security officer runs `envcrypt hsm init-cluster` once)".to_owned()
            }
            KmsError::AccessDenied(message) if message.contains("is not authorized to perform") => {
                " (a key administrator can show the key's policy with `envcrypt key get-policy` and its grants \
                 with `envcrypt key grant list`)"
                    .to_owned()
            }
            _ => String::new(),
        };
        Self::new(exit_for_kms(error), format!("{what}: {error}{hint}"))
    }

    /// A seal/open failure on `what` (a file name or stream).
    pub fn stream(what: impl std::fmt::Display, error: stream::Error) -> Self {
        match error {
            stream::Error::Io(e) => match stream::Error::from_io(e) {
                stream::Error::Format(f) => Self::new(Exit::Data, format!("{what}: {f}")),
                other => Self::new(Exit::Io, format!("{what}: {other}")),
            },
            stream::Error::Format(e) => Self::new(Exit::Data, format!("{what}: {e}")),
            stream::Error::Context(e) => Self::usage(format!("{what}: {e}")),
            stream::Error::Rewrap(e) => Self::usage(format!("{what}: {e}")),
            stream::Error::ContextMismatch { .. } => Self::new(Exit::Data, format!("{what}: {error}")),
            stream::Error::Keyring(KeyringError::Wrap { key, source }) => {
                Self::kms(format!("{what}: key {key}"), &source)
            }
            stream::Error::Keyring(ref e @ KeyringError::NoKeyOpened { ref attempts, .. }) => {
                // A key store that cannot be opened is an environment problem, whatever else failed.
                let exits: Vec<Exit> = attempts.iter().map(|a| exit_for_kms(&a.error)).collect();
                let exit = if exits.contains(&Exit::Io) {
                    Exit::Io
                } else if !exits.is_empty() && exits.iter().all(|e| *e == Exit::Data) {
                    Exit::Data
                } else {
                    Exit::Key
                };
                Self::new(exit, format!("{what}: {e}"))
            }
            stream::Error::Keyring(e) => Self::new(Exit::Key, format!("{what}: {e}")),
            other => Self::new(Exit::Io, format!("{what}: {other}")),
        }
    }

    /// An S3 object failure while doing `what`; the error names the object.
    pub fn s3(what: impl std::fmt::Display, error: S3Error) -> Self {
        match error {
            S3Error::Message { url, source } => Self::stream(format!("{what}: {url}"), *source),
            S3Error::KeyService { url, source } => Self::kms(format!("{what}: {url}"), &source),
            S3Error::AccessDenied { .. } => Self::new(
                Exit::Io,
                format!("{what}: {error} (check that the credentials may use the bucket and object)"),
            ),
            S3Error::NoSuchBucket { .. } => {
                Self::new(Exit::Io, format!("{what}: {error} (check the name, the region and --endpoint-url)"))
            }
            S3Error::NotSealed { .. } | S3Error::S3ec { .. } => Self::new(Exit::Data, format!("{what}: {error}")),
            S3Error::Invalid(_) => Self::usage(format!("{what}: {error}")),
            _ => Self::new(Exit::Io, format!("{what}: {error}")),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit as u8)
    }
}

fn exit_for_kms(error: &KmsError) -> Exit {
    match error {
        KmsError::InvalidCiphertext(_) => Exit::Data,
        KmsError::Validation(_) | KmsError::InvalidAliasName(_) => Exit::Usage,
        KmsError::Store(_) | KmsError::Transport { .. } => Exit::Io,
        _ => Exit::Key,
    }
}
