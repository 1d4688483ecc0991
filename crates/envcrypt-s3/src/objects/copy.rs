//! Rewriting an object in place from a server-side copy of itself: new metadata, and
//! optionally a new first part, while the rest of the body never leaves S3.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedPart, CopyPartResult, MetadataDirective};

use super::client::{S3Client, MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE};
use super::error::S3Error;
use super::location::ObjectUrl;

/// The largest object CopyObject copies in one call.
const MAX_SINGLE_COPY: u64 = 5 * 1024 * 1024 * 1024;
/// Bytes per UploadPartCopy.
const COPY_PART: u64 = 1024 * 1024 * 1024;

/// The version of the object being rewritten, and its new metadata.
pub(crate) struct InPlace<'a> {
    pub url: &'a ObjectUrl,
    /// The ETag read before: every copy is conditional on it, so a concurrent replacement
    /// of the object fails the rewrite instead of mixing two versions.
    pub etag: &'a str,
    pub object_size: u64,
    pub metadata: HashMap<String, String>,
    /// Set by a signal handler: the copy stops between parts and its upload is aborted.
    pub stop: Option<&'a AtomicBool>,
}

/// Replaces the object's metadata, body untouched.
pub(crate) fn replace_metadata(client: &S3Client, target: InPlace<'_>) -> Result<u64, S3Error> {
    if target.object_size <= MAX_SINGLE_COPY {
        let url = target.url;
        client
            .block_on(
                client
                    .sdk()
                    .copy_object()
                    .bucket(&url.bucket)
                    .key(&url.key)
                    .copy_source(copy_source(url))
                    .copy_source_if_match(target.etag)
                    .metadata_directive(MetadataDirective::Replace)
                    .set_metadata(Some(target.metadata))
                    .content_type("application/octet-stream")
                    .send(),
            )
            .map_err(|e| S3Error::from_sdk("CopyObject", url, e))?;
        return Ok(0);
    }
    rewrite_multipart(client, target, None)
}

/// Replaces the object's first `old_len` bytes with `new_head` and its metadata; the rest
/// is copied server-side. `new_head` must be at least 5 MiB unless it is the whole object.
/// Returns the bytes uploaded.
pub(crate) fn replace_head(
    client: &S3Client,
    target: InPlace<'_>,
    old_len: u64,
    new_head: Vec<u8>,
) -> Result<u64, S3Error> {
    if old_len >= target.object_size {
        let url = target.url;
        let uploaded = new_head.len() as u64;
        client
            .block_on(
                client
                    .sdk()
                    .put_object()
                    .bucket(&url.bucket)
                    .key(&url.key)
                    .set_metadata(Some(target.metadata))
                    .content_type("application/octet-stream")
                    .body(ByteStream::from(new_head))
                    .send(),
            )
            .map_err(|e| S3Error::from_sdk("PutObject", url, e))?;
        return Ok(uploaded);
    }
    if new_head.len() < MIN_PART_SIZE {
        return Err(S3Error::PartTooSmall { url: target.url.clone(), bytes: new_head.len() });
    }
    rewrite_multipart(client, target, Some((old_len, new_head)))
}

fn rewrite_multipart(client: &S3Client, target: InPlace<'_>, head: Option<(u64, Vec<u8>)>) -> Result<u64, S3Error> {
    let url = target.url;
    let id = client.create_multipart(url, target.metadata.clone())?;
    let result = copy_parts(client, &target, &id, head);
    if result.is_err() {
        client.abort_multipart(url, &id);
    }
    result
}

fn copy_parts(client: &S3Client, target: &InPlace<'_>, id: &str, head: Option<(u64, Vec<u8>)>) -> Result<u64, S3Error> {
    let url = target.url;
    let mut parts = Vec::new();
    let mut uploaded = 0;
    let mut offset = 0;
    if let Some((old_len, bytes)) = head {
        uploaded = bytes.len() as u64;
        let out = client
            .block_on(
                client
                    .sdk()
                    .upload_part()
                    .bucket(&url.bucket)
                    .key(&url.key)
                    .upload_id(id)
                    .part_number(1)
                    .checksum_algorithm(ChecksumAlgorithm::Crc32)
                    .body(ByteStream::from(bytes))
                    .send(),
            )
            .map_err(|e| S3Error::from_sdk("UploadPart", url, e))?;
        let part = CompletedPart::builder().part_number(1).set_e_tag(out.e_tag).set_checksum_crc32(out.checksum_crc32);
        parts.push(part.build());
        offset = old_len;
    }
    let remaining = target.object_size - offset;
    let chunk = COPY_PART.max(remaining.div_ceil(u64::try_from(MAX_PARTS - 1).unwrap_or(1))).min(MAX_PART_SIZE as u64);
    while offset < target.object_size {
        if target.stop.is_some_and(|stop| stop.load(Ordering::Relaxed)) {
            return Err(S3Error::Interrupted { url: url.clone(), reason: "stopped by a signal".into() });
        }
        let end = (offset + chunk).min(target.object_size);
        let number = i32::try_from(parts.len() + 1).unwrap_or(MAX_PARTS);
        let out = client
            .block_on(
                client
                    .sdk()
                    .upload_part_copy()
                    .bucket(&url.bucket)
                    .key(&url.key)
                    .upload_id(id)
                    .part_number(number)
                    .copy_source(copy_source(url))
                    .copy_source_if_match(target.etag)
                    .copy_source_range(format!("bytes={offset}-{}", end - 1))
                    .send(),
            )
            .map_err(|e| S3Error::from_sdk("UploadPartCopy", url, e))?;
        let result = out.copy_part_result.unwrap_or_else(|| CopyPartResult::builder().build());
        let part = CompletedPart::builder()
            .part_number(number)
            .set_e_tag(result.e_tag)
            .set_checksum_crc32(result.checksum_crc32);
        parts.push(part.build());
        offset = end;
    }
    client.complete_multipart(url, id, parts)?;
    Ok(uploaded)
}

/// `bucket/key` with the key percent-encoded, as the x-amz-copy-source header wants it.
fn copy_source(url: &ObjectUrl) -> String {
    let mut out = format!("{}/", url.bucket);
    for b in url.key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_sources_encode_the_key() {
        let url = ObjectUrl::parse("s3://bkt/a dir/ü+x.enc").unwrap();
        assert_eq!(copy_source(&url), "bkt/a%20dir/%C3%BC%2Bx.enc");
    }
}
