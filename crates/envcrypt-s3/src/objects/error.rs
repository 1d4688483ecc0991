//! What can go wrong with an S3 object, always naming the object.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use envcrypt::kms::KmsError;
use envcrypt::message::FormatError;

use super::location::ObjectUrl;
use crate::s3ec::S3ecError;

/// Why an S3 object could not be sealed, opened, inspected or re-wrapped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum S3Error {
    /// The bucket does not exist.
    #[error("the bucket {bucket} does not exist (for {url})")]
    NoSuchBucket {
        /// The bucket.
        bucket: String,
        /// The object asked for.
        url: ObjectUrl,
    },
    /// The object does not exist.
    #[error("{url} does not exist")]
    NoSuchKey {
        /// The object.
        url: ObjectUrl,
    },
    /// S3 refused the credentials' access.
    #[error("access denied to {url} ({operation}): {message}")]
    AccessDenied {
        /// The object.
        url: ObjectUrl,
        /// The S3 operation refused.
        operation: &'static str,
        /// S3's message.
        message: String,
    },
    /// The object is neither a sealed message nor an S3 Encryption Client object.
    #[error("{url} is not a sealed object: {reason}")]
    NotSealed {
        /// The object.
        url: ObjectUrl,
        /// What was found instead.
        reason: NotSealedReason,
    },
    /// The object was replaced while it was being read.
    #[error("{url} changed while it was being read; try again")]
    Changed {
        /// The object.
        url: ObjectUrl,
    },
    /// Any other answer of S3.
    #[error("S3 {operation} on {url} failed: {name}: {message}")]
    Service {
        /// The object.
        url: ObjectUrl,
        /// The S3 operation.
        operation: &'static str,
        /// S3's error code.
        name: String,
        /// S3's message.
        message: String,
    },
    /// S3 could not be reached, or the connection failed.
    #[error("S3 {operation} on {url} failed: {detail}")]
    Transport {
        /// The object.
        url: ObjectUrl,
        /// The S3 operation.
        operation: &'static str,
        /// The error chain, flattened.
        detail: String,
    },
    /// The upload was stopped (by a signal or a failed input) and its multipart upload aborted,
    /// so no object and no parts are left behind.
    #[error("the upload to {url} was interrupted: {reason}; the multipart upload was aborted and nothing was stored")]
    Interrupted {
        /// The object.
        url: ObjectUrl,
        /// Why.
        reason: String,
    },
    /// The message in the object is malformed, fails authentication, or no key opens it.
    #[error("{url}: {source}")]
    Message {
        /// The object.
        url: ObjectUrl,
        /// The message layer's error.
        source: Box<envcrypt::stream::Error>,
    },
    /// An S3 Encryption Client object is malformed or fails authentication, or one cannot be
    /// written with the context given.
    #[error("{url}: {source}")]
    S3ec {
        /// The object.
        url: ObjectUrl,
        /// What is wrong.
        source: S3ecError,
    },
    /// An S3 Encryption Client object authenticates only at its end, so output that cannot be
    /// discarded (stdout) is held in memory until then; this one is larger than the limit.
    #[error(
        "{url} is an S3 Encryption Client object of {size} bytes, which authenticates only at its end, and is \
         larger than the {limit} bytes envcrypt holds back when its output cannot be discarded"
    )]
    TooLargeToHoldBack {
        /// The object.
        url: ObjectUrl,
        /// Its size.
        size: u64,
        /// The most envcrypt holds back.
        limit: u64,
    },
    /// An S3 Encryption Client object holds exactly one wrapped data key, so a re-wrap adds
    /// exactly one key (which replaces it).
    #[error("{url} is an S3 Encryption Client object, which holds exactly one wrapped data key; {given} keys were given to wrap it")]
    S3ecKeyCount {
        /// The object.
        url: ObjectUrl,
        /// How many keys the request adds.
        given: usize,
    },
    /// An S3 Encryption Client object's one key is replaced, never removed.
    #[error("{url} is an S3 Encryption Client object: its one key is replaced by the new key, not removed")]
    S3ecRemove {
        /// The object.
        url: ObjectUrl,
    },
    /// The upload would need more parts than S3 allows.
    #[error("{url} needs more than {max} parts of {part_size} bytes")]
    TooManyParts {
        /// The object.
        url: ObjectUrl,
        /// S3's limit.
        max: i32,
        /// The part size in use.
        part_size: usize,
    },
    /// A re-written head would be a first part below S3's minimum part size.
    #[error("a replaced head of {bytes} bytes of {url} is below S3's 5 MiB part minimum")]
    PartTooSmall {
        /// The object.
        url: ObjectUrl,
        /// The head's size.
        bytes: usize,
    },
    /// The part size is outside S3's limits.
    #[error("the part size must be between 5 MiB and 5 GiB, not {0} bytes")]
    PartSize(usize),
    /// The number of parts in flight is outside 1 to 64.
    #[error("parts in flight must be between 1 and 64, not {0}")]
    PartsInFlight(usize),
    /// The AWS configuration could not be loaded.
    #[error(transparent)]
    Config(#[from] envcrypt_aws::ConfigError),
    /// A key service call failed.
    #[error("{url}: {source}")]
    KeyService {
        /// The object.
        url: ObjectUrl,
        /// The key service's error.
        source: Box<KmsError>,
    },
    /// Reading the local input failed.
    #[error("reading the input: {0}")]
    Input(std::io::Error),
    /// Writing the local output failed.
    #[error("writing the output: {0}")]
    Output(std::io::Error),
}

/// What an object that is not sealed turned out to be.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotSealedReason {
    /// It has no bytes.
    #[error("the object is empty")]
    Empty,
    /// Nothing marks it as sealed, and its body is not a message.
    #[error(
        "it has neither envcrypt nor S3 Encryption Client metadata, and its body is not an Encryption SDK message"
    )]
    Unrecognized,
    /// Nothing marks it as sealed, and its body does not parse as a message.
    #[error("its body is not an Encryption SDK message ({0})")]
    NotAMessage(FormatError),
}

impl S3Error {
    /// Maps an SDK failure of `operation` on `url`.
    pub(crate) fn from_sdk<E, R>(operation: &'static str, url: &ObjectUrl, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let url = url.clone();
        let Some(service) = error.as_service_error() else {
            return Self::Transport { url, operation, detail: envcrypt_aws::error_chain(&error) };
        };
        let name = service.code().unwrap_or("UnnamedError").to_owned();
        let message = service.message().unwrap_or("no message").to_owned();
        match name.as_str() {
            "NoSuchBucket" => Self::NoSuchBucket { bucket: url.bucket.clone(), url },
            "NoSuchKey" | "NotFound" => Self::NoSuchKey { url },
            "AccessDenied" | "Forbidden" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" => {
                Self::AccessDenied { url, operation, message: format!("{name}: {message}") }
            }
            "PreconditionFailed" => Self::Changed { url },
            _ => Self::Service { url, operation, name, message },
        }
    }

    /// Wraps this error for a `std::io` trait method; [`S3Error::from_io`] takes it back out.
    pub(crate) fn into_io(self) -> std::io::Error {
        std::io::Error::other(Carried(self))
    }

    /// The `S3Error` inside an `io::Error` made by [`S3Error::into_io`], else `error` as it was.
    pub(crate) fn from_io(error: std::io::Error) -> Result<Self, std::io::Error> {
        if !error.get_ref().is_some_and(|e| e.is::<Carried>()) {
            return Err(error);
        }
        let inner = error.into_inner().expect("checked above").downcast::<Carried>().expect("checked above");
        Ok(inner.0)
    }
}

/// An [`S3Error`] travelling through `std::io` (the stream layer writes into an upload).
#[derive(Debug)]
struct Carried(S3Error);

impl std::fmt::Display for Carried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Carried {}
