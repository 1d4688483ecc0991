//! Re-wrapping objects in place, without moving their bodies.
//!
//! A sealed object's header is rewritten and sent as the first part of a multipart copy whose
//! other parts S3 copies from the object itself (UploadPartCopy): about 6 MiB cross the network
//! whatever the object's size. An S3 Encryption Client object keeps its data key in its
//! metadata, so it is re-wrapped by a metadata-only copy. Every copy is conditional on the
//! ETag read first, so a concurrent replacement fails the re-wrap instead of mixing versions.

use std::sync::atomic::AtomicBool;

use envcrypt::kms::{KeyRef, KeyService, KmsError, ReEncryptRequest};
use envcrypt::stream::{self, RewrapRequest};

use super::client::{S3Client, MIN_PART_SIZE};
use super::copy::{self, InPlace};
use super::download::{head, ObjectReader, Span};
use super::error::{NotSealedReason, S3Error};
use super::location::ObjectUrl;
use super::metadata;
use super::object::s3ec_metadata;
use crate::s3ec::Envelope;

/// The first bytes of a sealed object read for a re-wrap: the header, and enough of the body
/// to make the rewritten first part at least S3's 5 MiB part minimum.
const HEAD_WINDOW: u64 = MIN_PART_SIZE as u64 + 1024 * 1024;

/// What [`rewrap_object`] changed.
#[derive(Debug)]
pub struct RewrappedObject {
    /// The object's format.
    pub format: &'static str,
    /// Key ARNs added.
    pub added: Vec<String>,
    /// Key ARNs removed.
    pub removed: Vec<String>,
    /// Bytes downloaded.
    pub downloaded: u64,
    /// Bytes uploaded.
    pub uploaded: u64,
}

/// Re-wraps the data key of the object at `url` as `request` says, in place. Once `stop` is
/// set (by a signal handler), the copy stops and its multipart upload is aborted.
pub fn rewrap_object(
    client: &S3Client,
    url: &ObjectUrl,
    request: &RewrapRequest<'_>,
    stop: Option<&AtomicBool>,
) -> Result<RewrappedObject, S3Error> {
    let found = head(client, url)?;
    if let Some(envelope) = Envelope::from_metadata(&found.metadata) {
        let envelope = envelope.map_err(|source| S3Error::S3ec { url: url.clone(), source })?;
        return rewrap_s3ec(client, url, found, envelope, request, stop);
    }
    let reader = ObjectReader::get(client, url, Span::Range(0, HEAD_WINDOW), Some(&found.etag))?;
    let head = reader.read_all()?;
    let mut downloaded = head.len() as u64;
    let rewrapped = stream::rewrap_header(&mut &head[..], request).map_err(|source| match source {
        stream::Error::Format(format) if !found.metadata.contains_key(metadata::FORMAT) => {
            S3Error::NotSealed { url: url.clone(), reason: NotSealedReason::NotAMessage(format) }
        }
        source => S3Error::Message { url: url.clone(), source: Box::new(source) },
    })?;
    let body_offset = usize::try_from(rewrapped.body_offset).unwrap_or(usize::MAX).min(head.len());
    let mut new_head = rewrapped.header.to_bytes();
    new_head.extend_from_slice(&head[body_offset..]);
    if new_head.len() < MIN_PART_SIZE && downloaded < found.object_size {
        // The header shrank by more than the spare megabyte (many keys removed): take more of
        // the body into the first part, which S3 wants at least 5 MiB long.
        let end = (downloaded + (MIN_PART_SIZE - new_head.len()) as u64).min(found.object_size);
        let more = ObjectReader::get(client, url, Span::Range(downloaded, end), Some(&found.etag))?.read_all()?;
        downloaded += more.len() as u64;
        new_head.extend_from_slice(&more);
    }
    let plaintext_length = found.metadata.get(metadata::PLAINTEXT_LENGTH).and_then(|v| v.parse().ok());
    let mut new_metadata = found.metadata.clone();
    new_metadata.extend(metadata::sealed(&rewrapped.header, plaintext_length));
    let target = InPlace { url, etag: &found.etag, object_size: found.object_size, metadata: new_metadata, stop };
    let uploaded = copy::replace_head(client, target, downloaded, new_head)?;
    Ok(RewrappedObject {
        format: metadata::SEALED_FORMAT,
        added: rewrapped.added,
        removed: rewrapped.removed,
        downloaded,
        uploaded,
    })
}

/// Whether `key` (an ARN, key id or alias) names the key `arn`; aliases are asked of the service.
fn names_key(service: &dyn KeyService, key: &KeyRef, arn: &str) -> Result<bool, KmsError> {
    match key {
        KeyRef::KeyArn(named) => Ok(named.to_string() == arn),
        KeyRef::KeyId(id) => Ok(arn.rsplit_once("key/").is_some_and(|(_, tail)| tail == id)),
        KeyRef::AliasName(_) | KeyRef::AliasArn(_) => match service.admin() {
            Some(admin) => Ok(admin.describe_key(key).wait()?.arn == arn),
            None => Err(KmsError::UnsupportedOperation(format!("cannot tell which key the alias {key} names"))),
        },
    }
}

fn rewrap_s3ec(
    client: &S3Client,
    url: &ObjectUrl,
    found: super::download::Head,
    envelope: Envelope,
    request: &RewrapRequest<'_>,
    stop: Option<&AtomicBool>,
) -> Result<RewrappedObject, S3Error> {
    let [(service, key)] = request.add else {
        return Err(S3Error::S3ecKeyCount { url: url.clone(), given: request.add.len() });
    };
    if !request.remove.is_empty() {
        return Err(S3Error::S3ecRemove { url: url.clone() });
    }
    let kms = |source| S3Error::KeyService { url: url.clone(), source: Box::new(source) };
    let context = &envelope.kms_context;
    // With source keys (`--from`), the data key must be under one of them, as ReEncrypt checks.
    let sources: Vec<Option<&KeyRef>> = match request.open.strict_keys() {
        None => vec![None],
        Some(keys) => keys.iter().map(Some).collect(),
    };
    let mut moved = Err(KmsError::Validation("no source key to re-encrypt from".into()));
    for source_key in sources {
        moved = service
            .re_encrypt(ReEncryptRequest {
                blob: &envelope.wrapped_key,
                source_context: context,
                source_key,
                destination_key: key,
                destination_context: context,
            })
            .wait()
            // The service is asked to check the source key, and its answer is checked too: a
            // stand-in may ignore the question.
            .and_then(|moved| match source_key {
                Some(expected) if !names_key(service.as_ref(), expected, &moved.source_key_arn)? => {
                    Err(KmsError::IncorrectKey { expected: expected.to_string(), actual: moved.source_key_arn })
                }
                _ => Ok(moved),
            });
        if !matches!(moved, Err(KmsError::IncorrectKey { .. })) {
            break;
        }
    }
    // ReEncrypt keeps the data key inside the key service; across services (a local key to an
    // AWS one) the data key is opened here and wrapped again.
    let (blob, key_arn, source_arn) = match moved {
        Ok(moved) => (moved.blob, moved.key_arn, moved.source_key_arn),
        Err(KmsError::InvalidCiphertext(_) | KmsError::NotFound(_)) => {
            let unwrapped = request
                .open
                .unwrap_unnamed(&envelope.wrapped_key, context)
                .map_err(|e| S3Error::Message { url: url.clone(), source: Box::new(e.into()) })?;
            let wrapped = service.encrypt(key, unwrapped.data_key.expose_secret(), context).wait().map_err(kms)?;
            (wrapped.blob, wrapped.key_arn, unwrapped.key_arn)
        }
        Err(e) => return Err(kms(e)),
    };
    let version = envelope.version;
    let envelope = Envelope { wrapped_key: blob, ..envelope };
    let mut new_metadata = found.metadata.clone();
    new_metadata.extend(s3ec_metadata(&envelope, &key_arn));
    let target = InPlace { url, etag: &found.etag, object_size: found.object_size, metadata: new_metadata, stop };
    copy::replace_metadata(client, target)?;
    let removed = if source_arn == key_arn { Vec::new() } else { vec![source_arn] };
    Ok(RewrappedObject { format: version.name(), added: vec![key_arn], removed, downloaded: 0, uploaded: 0 })
}
