//! Uploads as a `Write`: multipart, several parts in flight, aborted unless finished.
//!
//! Bytes are gathered into parts of [`TransferOptions::part_size`]; each full part is sent
//! on the client's runtime while the writer fills the next, with at most
//! [`TransferOptions::parts_in_flight`] parts outstanding (the writer waits for the oldest).
//! An object smaller than one part is sent with a single PutObject when the writer finishes.
//! A multipart upload is created only once the first part is full, and it is aborted on any
//! failure and when the writer is dropped without [`ObjectWriter::finish`], so an interrupted
//! upload leaves neither an object nor orphaned parts.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedPart};
use tokio::task::JoinHandle;

use super::client::{S3Client, MAX_PARTS};
use super::error::S3Error;
use super::location::ObjectUrl;

/// The object's metadata, computed from its first bytes (a sealed message's header) when the
/// upload starts.
pub(crate) type MetadataFn = Box<dyn FnOnce(&[u8]) -> Result<HashMap<String, String>, S3Error> + Send>;

/// What an upload stored.
#[derive(Debug, Clone)]
pub struct Uploaded {
    /// Bytes sent as object data.
    pub bytes: u64,
    /// Parts (1 for a single PutObject).
    pub parts: usize,
    /// The object's ETag.
    pub etag: Option<String>,
    /// The metadata stored with it.
    pub metadata: HashMap<String, String>,
}

struct Multipart {
    id: String,
    in_flight: VecDeque<JoinHandle<Result<CompletedPart, S3Error>>>,
    done: Vec<CompletedPart>,
}

/// A new object, written as a stream.
pub struct ObjectWriter {
    client: S3Client,
    url: ObjectUrl,
    metadata: Option<MetadataFn>,
    stored_metadata: HashMap<String, String>,
    buffer: Vec<u8>,
    upload: Option<Multipart>,
    bytes: u64,
    stop: Option<Arc<AtomicBool>>,
}

impl ObjectWriter {
    pub(crate) fn new(client: S3Client, url: ObjectUrl, metadata: MetadataFn) -> Self {
        let part_size = client.transfer().part_size;
        Self {
            client,
            url,
            metadata: Some(metadata),
            stored_metadata: HashMap::new(),
            buffer: Vec::with_capacity(part_size),
            upload: None,
            bytes: 0,
            stop: None,
        }
    }

    /// Stops the upload at the next write once `stop` is set (a signal handler's flag).
    pub(crate) fn stop_on(&mut self, stop: Option<Arc<AtomicBool>>) {
        self.stop = stop;
    }

    /// Sends what is left, waits for every part and completes the upload.
    pub fn finish(mut self) -> Result<Uploaded, S3Error> {
        let result = self.finish_inner();
        if result.is_err() {
            self.abort();
        }
        result
    }

    fn finish_inner(&mut self) -> Result<Uploaded, S3Error> {
        self.check_stop()?;
        if self.upload.is_none() {
            return self.put_whole();
        }
        if !self.buffer.is_empty() {
            self.send_part()?;
        }
        let mut upload = self.upload.take().expect("a multipart upload is under way");
        let result = self.complete(&mut upload);
        if result.is_err() {
            self.upload = Some(upload);
        }
        result
    }

    fn complete(&self, upload: &mut Multipart) -> Result<Uploaded, S3Error> {
        while let Some(task) = upload.in_flight.pop_front() {
            upload.done.push(self.join(task)?);
        }
        upload.done.sort_by_key(|p| p.part_number());
        let parts = upload.done.len();
        let etag = self.client.complete_multipart(&self.url, &upload.id, upload.done.clone())?;
        Ok(Uploaded { bytes: self.bytes, parts, etag, metadata: self.stored_metadata.clone() })
    }

    fn put_whole(&mut self) -> Result<Uploaded, S3Error> {
        let metadata = self.take_metadata()?;
        let body = std::mem::take(&mut self.buffer);
        let url = &self.url;
        let out = self
            .client
            .block_on(
                self.client
                    .sdk()
                    .put_object()
                    .bucket(&url.bucket)
                    .key(&url.key)
                    .content_type("application/octet-stream")
                    .set_metadata(Some(metadata))
                    .checksum_algorithm(ChecksumAlgorithm::Crc32)
                    .body(ByteStream::from(body))
                    .send(),
            )
            .map_err(|e| S3Error::from_sdk("PutObject", url, e))?;
        Ok(Uploaded { bytes: self.bytes, parts: 1, etag: out.e_tag, metadata: self.stored_metadata.clone() })
    }

    fn take_metadata(&mut self) -> Result<HashMap<String, String>, S3Error> {
        if let Some(compute) = self.metadata.take() {
            self.stored_metadata = compute(&self.buffer)?;
        }
        Ok(self.stored_metadata.clone())
    }

    fn start(&mut self) -> Result<(), S3Error> {
        let metadata = self.take_metadata()?;
        let id = self.client.create_multipart(&self.url, metadata)?;
        self.upload = Some(Multipart { id, in_flight: VecDeque::new(), done: Vec::new() });
        Ok(())
    }

    /// Sends the buffer as the next part, first waiting for a slot.
    fn send_part(&mut self) -> Result<(), S3Error> {
        if self.upload.is_none() {
            self.start()?;
        }
        let limit = self.client.transfer().parts_in_flight;
        while self.upload.as_ref().is_some_and(|u| u.in_flight.len() >= limit) {
            let task = self.upload.as_mut().and_then(|u| u.in_flight.pop_front()).expect("the queue is not empty");
            let part = self.join(task)?;
            self.upload.as_mut().expect("started above").done.push(part);
        }
        let upload = self.upload.as_mut().expect("started above");
        let number = i32::try_from(upload.done.len() + upload.in_flight.len() + 1).unwrap_or(i32::MAX);
        if number > MAX_PARTS {
            return Err(S3Error::TooManyParts {
                url: self.url.clone(),
                max: MAX_PARTS,
                part_size: self.client.transfer().part_size,
            });
        }
        let part_size = self.client.transfer().part_size;
        let body = std::mem::replace(&mut self.buffer, Vec::with_capacity(part_size));
        let request = self
            .client
            .sdk()
            .upload_part()
            .bucket(&self.url.bucket)
            .key(&self.url.key)
            .upload_id(&upload.id)
            .part_number(number)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(body));
        let url = self.url.clone();
        upload.in_flight.push_back(self.client.spawn(async move {
            let out = request.send().await.map_err(|e| S3Error::from_sdk("UploadPart", &url, e))?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag)
                .set_checksum_crc32(out.checksum_crc32)
                .build())
        }));
        Ok(())
    }

    fn join(&self, task: JoinHandle<Result<CompletedPart, S3Error>>) -> Result<CompletedPart, S3Error> {
        self.client.block_on(task).unwrap_or_else(|e| {
            Err(S3Error::Transport {
                url: self.url.clone(),
                operation: "UploadPart",
                detail: format!("the part's task failed: {e}"),
            })
        })
    }

    fn check_stop(&self) -> Result<(), S3Error> {
        match &self.stop {
            Some(stop) if stop.load(Ordering::Relaxed) => {
                Err(S3Error::Interrupted { url: self.url.clone(), reason: "stopped by a signal".into() })
            }
            _ => Ok(()),
        }
    }

    /// Aborts a multipart upload under way.
    fn abort(&mut self) {
        let Some(upload) = self.upload.take() else { return };
        for task in upload.in_flight {
            task.abort();
        }
        self.client.abort_multipart(&self.url, &upload.id);
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.check_stop().map_err(S3Error::into_io)?;
        let part_size = self.client.transfer().part_size;
        let room = part_size - self.buffer.len();
        let taken = room.min(data.len());
        self.buffer.extend_from_slice(&data[..taken]);
        self.bytes += taken as u64;
        if self.buffer.len() == part_size {
            self.send_part().map_err(S3Error::into_io)?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        self.abort();
    }
}
