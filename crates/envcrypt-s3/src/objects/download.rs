//! Downloads as a `Read`, whole or by byte range, pinned to one version of the object.

use std::collections::HashMap;
use std::io::{self, Read};

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use super::client::S3Client;
use super::error::S3Error;
use super::location::ObjectUrl;

/// An object's body as it arrives, with what GetObject said about the object.
pub struct ObjectReader {
    client: S3Client,
    url: ObjectUrl,
    body: ByteStream,
    chunk: Bytes,
    bytes: u64,
    /// The object's user metadata (`x-amz-meta-*`, without the prefix).
    pub metadata: HashMap<String, String>,
    /// The size of the whole object, not only of the range asked for.
    pub object_size: u64,
    /// The object's ETag, to pin later reads to this version.
    pub etag: Option<String>,
}

impl std::fmt::Debug for ObjectReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectReader").field("url", &self.url).field("bytes", &self.bytes).finish_non_exhaustive()
    }
}

/// Which bytes to get.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Span {
    Whole,
    /// `[start, end)`, clipped by S3 to the object's size.
    Range(u64, u64),
}

impl ObjectReader {
    /// Starts a GetObject of `span`; with `if_match`, S3 refuses if the object has changed.
    pub(crate) fn get(client: &S3Client, url: &ObjectUrl, span: Span, if_match: Option<&str>) -> Result<Self, S3Error> {
        let mut request =
            client.sdk().get_object().bucket(&url.bucket).key(&url.key).set_if_match(if_match.map(str::to_owned));
        if let Span::Range(start, end) = span {
            request = request.range(format!("bytes={start}-{}", end.saturating_sub(1)));
        }
        let out = client.block_on(request.send()).map_err(|e| S3Error::from_sdk("GetObject", url, e))?;
        let length = out.content_length.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
        // "bytes START-END/SIZE" on a ranged answer; the length of a whole one.
        let object_size = out
            .content_range
            .as_deref()
            .and_then(|r| r.rsplit_once('/'))
            .and_then(|(_, size)| size.parse().ok())
            .unwrap_or(length);
        Ok(Self {
            client: client.clone(),
            url: url.clone(),
            body: out.body,
            chunk: Bytes::new(),
            bytes: 0,
            metadata: out.metadata.unwrap_or_default(),
            object_size,
            etag: out.e_tag,
        })
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Reads everything left into memory (for ranges known to be small).
    pub(crate) fn read_all(mut self) -> Result<Vec<u8>, S3Error> {
        let mut out = Vec::new();
        self.read_to_end(&mut out).map_err(|e| S3Error::from_io(e).unwrap_or_else(S3Error::Input))?;
        Ok(out)
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.client.block_on(self.body.next()) {
                None => return Ok(0),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => {
                    return Err(S3Error::Transport {
                        url: self.url.clone(),
                        operation: "GetObject",
                        detail: format!("the download broke off after {} bytes: {e}", self.bytes),
                    }
                    .into_io())
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        self.bytes += n as u64;
        Ok(n)
    }
}

/// What HeadObject says about an object.
#[derive(Debug)]
pub(crate) struct Head {
    pub metadata: HashMap<String, String>,
    pub object_size: u64,
    pub etag: String,
}

/// HeadObject; a 404 is told apart as a missing bucket or a missing object.
pub(crate) fn head(client: &S3Client, url: &ObjectUrl) -> Result<Head, S3Error> {
    let answer = client.block_on(client.sdk().head_object().bucket(&url.bucket).key(&url.key).send());
    let out = match answer.map_err(|e| S3Error::from_sdk("HeadObject", url, e)) {
        Err(S3Error::NoSuchKey { .. }) => {
            // HEAD answers carry no error code, so ask about the bucket.
            let bucket = client.block_on(client.sdk().head_bucket().bucket(&url.bucket).send());
            return Err(match bucket.map_err(|e| S3Error::from_sdk("HeadBucket", url, e)) {
                Err(S3Error::NoSuchKey { .. }) => {
                    S3Error::NoSuchBucket { bucket: url.bucket.clone(), url: url.clone() }
                }
                Err(other) => other,
                Ok(_) => S3Error::NoSuchKey { url: url.clone() },
            });
        }
        other => other?,
    };
    Ok(Head {
        metadata: out.metadata.unwrap_or_default(),
        object_size: out.content_length.and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
        etag: out.e_tag.unwrap_or_default(),
    })
}
