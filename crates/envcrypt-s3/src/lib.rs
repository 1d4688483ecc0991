//! Client-side envelope encryption of S3 objects.
//!
//! [`seal_object`] streams any `Read` into a sealed object: a multipart upload whose parts are
//! sealed as the input is read, with several parts in flight and memory bounded by the part
//! size, not the object's size. [`open_object`] downloads and opens as it goes; a sealed
//! object releases each frame only after it authenticates. [`inspect_object`] reads a header
//! with one ranged read, and [`rewrap_object`] re-wraps data keys in place with server-side
//! copies, so the body never crosses the network.
//!
//! Two formats ([`Wrapping`]):
//! - **sealed** (the default): the object's body is an AWS Encryption SDK message (format v2),
//!   exactly as sealed files are, with the encrypted data keys in its header. Its
//!   metadata (`x-amz-meta-envcrypt-format`, `-keys`, `-key-count`, `-plaintext-length`) lets
//!   listing tools show what it is without reading it.
//! - **S3 Encryption Client** V3 (key-committing; what the current official clients write and
//!   read by default) and V2: AES-GCM content with the data key wrapped by KMS
//!   (`kms+context`) in the object's metadata, readable by the AWS SDKs' encryption clients.
//!
//! [`open_object`] tells the formats apart from the metadata.
//!
//! ```no_run
//! use envcrypt::keyring::{Keyring, OpenPolicy};
//! use envcrypt::kms::{KeyRef, KeyService};
//! use envcrypt::stream::SealOptions;
//! use envcrypt_aws::{AwsKmsService, AwsOptions};
//! use envcrypt_s3::{open_object, seal_object, ObjectUrl, OpenObjectOptions, S3Client, SealObjectOptions, TransferOptions, Wrapping};
//! use std::sync::Arc;
//!
//! let aws = AwsOptions::default();
//! let kms: Arc<dyn KeyService> = Arc::new(AwsKmsService::connect(&aws)?);
//! let s3 = S3Client::connect(&aws, TransferOptions::default())?;
//! let url = ObjectUrl::parse("s3://my-bucket/backups/db.dump")?;
//! let keyring = Keyring::new().with_key(kms.clone(), KeyRef::parse("alias/backup")?);
//!
//! let mut input = std::fs::File::open("db.dump")?;
//! let wrapping = Wrapping::Sealed { keyring: &keyring, options: &SealOptions::default() };
//! seal_object(&s3, &mut input, &url, wrapping, &SealObjectOptions::default())?;
//!
//! let mut restored = Vec::new();
//! let policy = OpenPolicy::discovery(vec![kms]);
//! open_object(&s3, &url, &mut restored, &policy, &OpenObjectOptions::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(fuzzing)]
pub mod fuzzing;
#[cfg(feature = "client")]
mod objects;
// Without the client, only the fuzz targets use the format.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
mod s3ec;

#[cfg(feature = "client")]
pub use objects::*;
pub use s3ec::{S3ecError, S3ecVersion, CEK_ALG_CONTEXT_KEY};
