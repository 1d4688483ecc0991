//! Why a message could not be sealed, opened or re-wrapped: the stream layer's one error type.

use crate::context::ContextError;
use crate::keyring::KeyringError;
use crate::kms::KeyRefError;
use crate::message::FormatError;

/// Why a message could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the underlying stream failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Reading the input of [`seal`](super::seal) or [`open`](super::open) failed.
    #[error("reading the input: {0}")]
    Input(std::io::Error),
    /// Writing the output of [`seal`](super::seal) or [`open`](super::open) failed.
    #[error("writing the output: {0}")]
    Output(std::io::Error),
    /// The message is malformed or failed authentication.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// A key could not wrap or unwrap the data key.
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// The encryption context is invalid.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// A re-wrap request cannot be carried out.
    #[error(transparent)]
    Rewrap(#[from] RewrapError),
    /// The message lacks a context pair the caller requires.
    #[error("the message's encryption context does not contain {key}={value}")]
    ContextMismatch {
        /// The required key.
        key: String,
        /// The required value.
        value: String,
    },
}

impl Error {
    /// Recovers a [`FormatError`] that travelled inside an `io::Error` from [`Decryptor`](super::Decryptor)'s `Read`.
    pub fn from_io(error: std::io::Error) -> Self {
        match error.get_ref().and_then(|e| e.downcast_ref::<FormatError>()) {
            Some(format) => Self::Format(format.clone()),
            None => Self::Io(error),
        }
    }
}

/// Carries a [`FormatError`] through `std::io` (for `Read`/`Write` adapters); [`Error::from_io`]
/// takes it back out.
pub(super) fn format_to_io(error: FormatError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, error)
}

/// Why a re-wrap request cannot be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RewrapError {
    /// The footer signature covers the header, so a new header would orphan it, and the
    /// signing key is gone: only the sealer could sign again.
    #[error(
        "signed messages (suite 0x{suite:04x}) cannot be re-wrapped, since the signature covers the header; \
         they have to be opened and sealed again"
    )]
    Signed {
        /// The message's algorithm suite.
        suite: u16,
    },
    /// A key to remove wraps no encrypted data key of the message.
    #[error("{arn} does not wrap this message's data key")]
    NotWrapping {
        /// The key ARN asked for.
        arn: String,
    },
    /// Every encrypted data key would be removed.
    #[error("removing every key would leave the message impossible to open")]
    NoKeyLeft,
    /// The key service answered with a key ARN that does not parse.
    #[error("the key service named the key that opened the message {arn:?}, which is not a key ARN: {source}")]
    SourceKeyArn {
        /// What the service answered.
        arn: String,
        /// Why it does not parse.
        source: KeyRefError,
    },
}
