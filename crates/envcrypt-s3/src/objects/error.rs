//! What can go wrong with an S3 object, always naming the object.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use envcrypt::kms::KmsError;

use super::location::ObjectUrl;

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
        reason: String,
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
    /// An S3 Encryption Client object is malformed or fails authentication.
    #[error("{url}: {reason}")]
    S3ec {
        /// The object.
        url: ObjectUrl,
        /// What is wrong.
        reason: String,
    },
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
    /// The configuration or the request cannot work.
    #[error("{0}")]
    Invalid(String),
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
