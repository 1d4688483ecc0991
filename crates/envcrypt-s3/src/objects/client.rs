//! The S3 connection and the transfer settings shared by uploads and downloads.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;

use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use envcrypt_aws::AwsOptions;

use super::error::S3Error;
use super::location::ObjectUrl;

/// The smallest part S3 accepts in a multipart upload, but for the last.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// The largest part S3 accepts.
pub const MAX_PART_SIZE: usize = 5 * 1024 * 1024 * 1024;
/// The most parts one multipart upload may have.
pub const MAX_PARTS: i32 = 10_000;

/// How objects move: part size and parallelism. Memory use is about
/// `part_size × (parts_in_flight + 1)` whatever the object's size.
#[derive(Debug, Clone, Copy)]
pub struct TransferOptions {
    /// Bytes per multipart part (≥ [`MIN_PART_SIZE`]); objects smaller than one part are sent
    /// with one PutObject.
    pub part_size: usize,
    /// Parts uploading at once.
    pub parts_in_flight: usize,
}

impl Default for TransferOptions {
    fn default() -> Self {
        Self { part_size: 8 * 1024 * 1024, parts_in_flight: 4 }
    }
}

impl TransferOptions {
    /// Checks the limits S3 sets.
    pub fn validate(&self) -> Result<(), S3Error> {
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&self.part_size) {
            return Err(S3Error::PartSize(self.part_size));
        }
        if self.parts_in_flight == 0 || self.parts_in_flight > 64 {
            return Err(S3Error::PartsInFlight(self.parts_in_flight));
        }
        Ok(())
    }
}

/// An S3 client on its own small runtime, usable from plain threads.
#[derive(Clone)]
pub struct S3Client {
    sdk: aws_sdk_s3::Client,
    runtime: Arc<tokio::runtime::Runtime>,
    transfer: TransferOptions,
}

impl std::fmt::Debug for S3Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Client").field("region", &self.sdk.config().region()).finish_non_exhaustive()
    }
}

impl S3Client {
    /// Loads the AWS configuration as for KMS (region, profile, credentials, endpoint) and
    /// builds a client. An endpoint other than AWS's is addressed path-style
    /// (`http://host/bucket/key`), which local stand-ins need.
    pub fn connect(options: &AwsOptions, transfer: TransferOptions) -> Result<Self, S3Error> {
        transfer.validate()?;
        let runtime = envcrypt_aws::client_runtime("envcrypt-s3")?;
        let config = envcrypt_aws::load_config(options, &runtime)?;
        let custom_endpoint = options.endpoint_url.is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        // Parts are large and may be slow to send; a stalled connection is caught by the read
        // timeout instead of a limit on the whole call.
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(Duration::from_secs(60))
            .build();
        // Uploads carry CRC32 checksums that S3 verifies. Downloads are authenticated by the
        // formats themselves (GCM tags, frame by frame for sealed objects), which a checksum
        // adds nothing to; and stand-ins such as moto answer multipart objects with a
        // whole-object checksum that does not match, which would fail good downloads.
        let config = aws_sdk_s3::config::Builder::from(&config)
            .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired)
            .force_path_style(custom_endpoint)
            .timeout_config(timeouts)
            .build();
        Ok(Self { sdk: aws_sdk_s3::Client::from_conf(config), runtime: Arc::new(runtime), transfer })
    }

    /// The transfer settings.
    pub fn transfer(&self) -> TransferOptions {
        self.transfer
    }

    pub(crate) fn sdk(&self) -> &aws_sdk_s3::Client {
        &self.sdk
    }

    /// Runs `work` to completion on the client's runtime; never call it from async code.
    pub(crate) fn block_on<F: Future>(&self, work: F) -> F::Output {
        self.runtime.block_on(work)
    }

    /// CreateMultipartUpload with `metadata`; returns the upload id. Parts are sent with CRC32
    /// checksums, which S3 verifies on receipt.
    pub(crate) fn create_multipart(
        &self,
        url: &ObjectUrl,
        metadata: HashMap<String, String>,
    ) -> Result<String, S3Error> {
        let request = self
            .sdk
            .create_multipart_upload()
            .bucket(&url.bucket)
            .key(&url.key)
            .content_type("application/octet-stream")
            .set_metadata(Some(metadata))
            .checksum_algorithm(ChecksumAlgorithm::Crc32);
        let out = self.block_on(request.send()).map_err(|e| S3Error::from_sdk("CreateMultipartUpload", url, e))?;
        out.upload_id.ok_or_else(|| S3Error::Service {
            url: url.clone(),
            operation: "CreateMultipartUpload",
            name: "InvalidResponse".into(),
            message: "the answer has no upload id".into(),
        })
    }

    /// CompleteMultipartUpload of `parts` (in part-number order); returns the object's ETag.
    pub(crate) fn complete_multipart(
        &self,
        url: &ObjectUrl,
        upload_id: &str,
        parts: Vec<CompletedPart>,
    ) -> Result<Option<String>, S3Error> {
        let request = self
            .sdk
            .complete_multipart_upload()
            .bucket(&url.bucket)
            .key(&url.key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build());
        let out = self.block_on(request.send()).map_err(|e| S3Error::from_sdk("CompleteMultipartUpload", url, e))?;
        Ok(out.e_tag)
    }

    /// AbortMultipartUpload, best effort: S3 then discards the parts. If the abort itself
    /// fails, the bucket's lifecycle rule for incomplete uploads is the only cleanup left, and
    /// the caller already holds the error that made it abort.
    pub(crate) fn abort_multipart(&self, url: &ObjectUrl, upload_id: &str) {
        let request = self.sdk.abort_multipart_upload().bucket(&url.bucket).key(&url.key).upload_id(upload_id);
        let _ = self.block_on(request.send());
    }

    pub(crate) fn spawn<F>(&self, work: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.spawn(work)
    }
}
