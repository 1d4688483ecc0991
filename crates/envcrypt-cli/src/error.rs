//! One error line and one exit code per failure.
//!
//! The libraries' errors are typed and name no flag or command; the hints that tell a user
//! what to type next (`envcrypt key enable ...`, `-o FILE`, `ENVCRYPT_PASSPHRASE`) are added
//! here, from the error's type.

use std::process::ExitCode;

use envcrypt::keyring::KeyringError;
use envcrypt::kms::local::StoreError;
use envcrypt::kms::KmsError;
use envcrypt::stream::{self, RewrapError};
use envcrypt_s3::{S3Error, S3ecError};

use crate::prompts::PASSPHRASE_VAR;

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
        Self::new(exit_for_kms(error), format!("{what}: {error}{}", kms_hint(error)))
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
            stream::Error::Rewrap(e @ RewrapError::Signed { .. }) => {
                Self::usage(format!("{what}: {e} (open it and seal it again with the new keys)"))
            }
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
                let hints: String =
                    attempts.iter().map(|a| kms_hint(&a.error)).find(|h| !h.is_empty()).unwrap_or_default();
                Self::new(exit, format!("{what}: {e}{hints}"))
            }
            stream::Error::Keyring(e) => Self::new(Exit::Key, format!("{what}: {e}")),
            other => Self::new(Exit::Io, format!("{what}: {other}")),
        }
    }

    /// An S3 object failure while doing `what`; the error names the object.
    pub fn s3(what: impl std::fmt::Display, error: S3Error) -> Self {
        let with = |exit, hint: &str| Self::new(exit, format!("{what}: {error}{hint}"));
        match &error {
            S3Error::AccessDenied { .. } => {
                with(Exit::Io, " (check that the credentials may use the bucket and object)")
            }
            S3Error::NoSuchBucket { .. } => with(Exit::Io, " (check the name, the region and --endpoint-url)"),
            S3Error::TooLargeToHoldBack { .. } => with(Exit::Usage, ": open it to a file with -o FILE"),
            S3Error::S3ecKeyCount { .. } => with(Exit::Usage, " (give one --to KEY)"),
            S3Error::S3ecRemove { .. } => with(Exit::Usage, " (leave --remove out)"),
            S3Error::TooManyParts { .. } => with(Exit::Usage, " (choose a larger --part-size)"),
            S3Error::PartSize(_) => with(Exit::Usage, " (--part-size)"),
            S3Error::PartsInFlight(_) => with(Exit::Usage, " (--parts-in-flight)"),
            S3Error::Config(envcrypt_aws::ConfigError::NoRegion) => with(Exit::Io, REGION_HINT),
            S3Error::S3ec { source: S3ecError::ReservedContextKey, .. } => with(Exit::Usage, ""),
            S3Error::NotSealed { .. } | S3Error::S3ec { .. } => with(Exit::Data, ""),
            _ => match error {
                S3Error::Message { url, source } => Self::stream(format!("{what}: {url}"), *source),
                S3Error::KeyService { url, source } => Self::kms(format!("{what}: {url}"), &source),
                error => Self::new(Exit::Io, format!("{what}: {error}")),
            },
        }
    }

    /// A PKCS#11 configuration that cannot be resolved.
    pub fn pkcs11_config(error: envcrypt_pkcs11::ConfigError) -> Self {
        use envcrypt_pkcs11::ConfigError;
        let hint = match error {
            ConfigError::NoModule => ": give --pkcs11-module, ENVCRYPT_PKCS11_MODULE or --pkcs11-config",
            ConfigError::NoTokens => ": give --pkcs11-token LABEL (repeatable) or ENVCRYPT_PKCS11_TOKENS",
            _ => "",
        };
        Self::usage(format!("{error}{hint}"))
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit as u8)
    }
}

const REGION_HINT: &str = " (set AWS_REGION or pass --region)";

/// What to do about a key service error, where the CLI knows a command for it.
fn kms_hint(error: &KmsError) -> String {
    match error {
        // EnableKey takes a key id or ARN, not an alias.
        KmsError::Disabled { key } if key.starts_with("alias/") => {
            format!(" (enable the key {key} names with `envcrypt key enable KEY_ID`)")
        }
        KmsError::Disabled { key } => format!(" (enable it with `envcrypt key enable {key}`)"),
        KmsError::InvalidState { state, .. } if state == "PendingDeletion" => {
            " (cancel the deletion with `envcrypt key cancel-deletion`, then enable the key)".to_owned()
        }
        KmsError::Store(StoreError::AuditLogDamaged { .. }) => {
            " (see where with `envcrypt audit verify`; after review, record the loss with `envcrypt audit acknowledge`)"
                .to_owned()
        }
        KmsError::Store(StoreError::PassphraseRequired { .. }) => {
            format!(" (set {PASSPHRASE_VAR} or run on a terminal)")
        }
        KmsError::Service { name, .. } if name == envcrypt_pkcs11::NOT_INITIALIZED => {
            " (the security officer runs `envcrypt hsm init-cluster` once)".to_owned()
        }
        KmsError::AccessDenied(_) => " (a key administrator can show the key's policy with `envcrypt key get-policy` \
                                      and its grants with `envcrypt key grant list`)"
            .to_owned(),
        KmsError::Transport { source, .. }
            if matches!(source.downcast_ref(), Some(envcrypt_aws::ConfigError::NoRegion)) =>
        {
            REGION_HINT.to_owned()
        }
        _ => String::new(),
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
