//! S3 objects: the client, streaming uploads and downloads, server-side copies, and the
//! operations built on them. The formats themselves live outside, in `s3ec` and the
//! `envcrypt` message layer.

mod client;
mod copy;
mod download;
mod error;
mod location;
mod metadata;
mod object;
mod rewrap;
mod upload;

pub use client::{S3Client, TransferOptions, MAX_PART_SIZE, MIN_PART_SIZE};
pub use download::ObjectReader;
pub use error::{NotSealedReason, S3Error};
pub use location::{InvalidObjectUrl, ObjectUrl};
pub use metadata::{FORMAT, KEYS, KEY_COUNT, PLAINTEXT_LENGTH, SEALED_FORMAT};
pub use object::{
    inspect_object, open_object, seal_object, Inspected, InspectedKind, OpenObjectOptions, OpenedObject,
    SealObjectOptions, SealedObject, Wrapping,
};
pub use rewrap::{rewrap_object, RewrappedObject};
pub use upload::{ObjectWriter, Uploaded};
