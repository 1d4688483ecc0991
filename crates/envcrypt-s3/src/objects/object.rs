//! Sealing, opening and inspecting objects.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::kms::{DataKeySpec, EncryptionContext, KeyRef, KeyService};
use envcrypt::message::{FormatError, Header};
use envcrypt::secret_buffer::SecretBuffer;
use envcrypt::stream::{self, OpenOptions, SealOptions};

use super::client::S3Client;
use super::download::{ObjectReader, Span};
use super::error::{NotSealedReason, S3Error};
use super::location::ObjectUrl;
use super::metadata::{self, HEADER_LIMITS};
use super::upload::{ObjectWriter, Uploaded};
use crate::s3ec::{self, ContentError, ContentWriter, Envelope, S3ecVersion};

/// How a new object's data key is wrapped, and so which format it is in.
pub enum Wrapping<'a> {
    /// The default: the body is a sealed message (AWS Encryption SDK message format v2),
    /// with every key of `keyring` wrapping the data key in its header.
    Sealed {
        /// The keys.
        keyring: &'a Keyring,
        /// Frame size and threads.
        options: &'a SealOptions,
    },
    /// The Amazon S3 Encryption Client's format: one key wraps the data key, in the metadata.
    S3ec {
        /// V3 (what current official clients write and read by default) or V2.
        version: S3ecVersion,
        /// The key service of `key`.
        service: Arc<dyn KeyService>,
        /// The key.
        key: &'a KeyRef,
    },
}

/// What to seal besides the bytes.
#[derive(Debug, Default, Clone)]
pub struct SealObjectOptions {
    /// The encryption context.
    pub context: EncryptionContext,
    /// The plaintext's length when known up front (a file). Otherwise it is recorded in the
    /// metadata after the upload, by a server-side copy.
    pub plaintext_length: Option<u64>,
    /// Set by a signal handler to stop the upload; it is then aborted.
    pub stop: Option<Arc<AtomicBool>>,
}

/// What [`seal_object`] stored.
#[derive(Debug)]
pub struct SealedObject {
    /// `aws-encryption-sdk-v2`, `s3ec-v3` or `s3ec-v2`.
    pub format: &'static str,
    /// Plaintext bytes read.
    pub plaintext_bytes: u64,
    /// The upload.
    pub uploaded: Uploaded,
    /// The metadata stored with the object.
    pub metadata: HashMap<String, String>,
}

/// Reads `input` to its end and stores it sealed as `url`, streaming: a multipart upload whose
/// parts are sealed as they come, in memory bounded by the client's [`crate::TransferOptions`].
/// On any failure the upload is aborted and nothing is stored.
pub fn seal_object<R: Read + Send>(
    client: &S3Client,
    input: &mut R,
    url: &ObjectUrl,
    wrapping: Wrapping<'_>,
    options: &SealObjectOptions,
) -> Result<SealedObject, S3Error> {
    // Filled in when the input ends, for objects sent in one piece at the end.
    let final_length = Arc::new(AtomicU64::new(u64::MAX));
    let length_now = {
        let final_length = final_length.clone();
        let known = options.plaintext_length;
        move || known.or_else(|| Some(final_length.load(Ordering::Relaxed)).filter(|n| *n != u64::MAX))
    };
    let interrupted =
        |e: io::Error| S3Error::Interrupted { url: url.clone(), reason: format!("reading the input failed: {e}") };
    let (format, plaintext_bytes, mut uploaded) = match wrapping {
        Wrapping::Sealed { keyring, options: seal_options } => {
            let object = url.clone();
            let mut writer = ObjectWriter::new(
                client.clone(),
                url.clone(),
                Box::new(move |head: &[u8]| {
                    let header = stream::read_header(&mut &head[..], &HEADER_LIMITS)
                        .map_err(|source| S3Error::Message { url: object, source: Box::new(source) })?;
                    Ok(metadata::sealed(&header, length_now()))
                }),
            );
            writer.stop_on(options.stop.clone());
            let sealed =
                stream::seal(input, &mut writer, keyring, &options.context, seal_options).map_err(|e| match e {
                    stream::Error::Input(e) => interrupted(e),
                    stream::Error::Output(e) => S3Error::from_io(e).unwrap_or_else(S3Error::Output),
                    source => S3Error::Message { url: url.clone(), source: Box::new(source) },
                })?;
            final_length.store(sealed.plaintext_bytes, Ordering::Relaxed);
            (metadata::SEALED_FORMAT, sealed.plaintext_bytes, writer.finish()?)
        }
        Wrapping::S3ec { version, service, key } => {
            let s3ec_error = |source| S3Error::S3ec { url: url.clone(), source };
            let kms_context = s3ec::kms_context(version, &options.context).map_err(s3ec_error)?;
            let data_key = service
                .generate_data_key(key, DataKeySpec::Aes256, &kms_context)
                .wait()
                .map_err(|source| S3Error::KeyService { url: url.clone(), source: Box::new(source) })?;
            let (envelope, content_key) = Envelope::new(
                version,
                data_key.plaintext.expose_secret(),
                data_key.ciphertext_blob,
                kms_context,
                options.plaintext_length,
            )
            .map_err(s3ec_error)?;
            let key_arn = data_key.key_arn;
            let mut writer = ObjectWriter::new(
                client.clone(),
                url.clone(),
                Box::new(move |_: &[u8]| {
                    let envelope = Envelope { plaintext_length: length_now(), ..envelope };
                    Ok(s3ec_metadata(&envelope, &key_arn))
                }),
            );
            writer.stop_on(options.stop.clone());
            let mut content = ContentWriter::new(writer, &content_key).map_err(S3Error::Output)?;
            copy(input, &mut content).map_err(|e| match e {
                Copy::Read(e) => interrupted(e),
                Copy::Write(e) => S3Error::from_io(e).unwrap_or_else(S3Error::Output),
            })?;
            let (writer, n) = content.finish().map_err(|e| S3Error::from_io(e).unwrap_or_else(S3Error::Output))?;
            final_length.store(n, Ordering::Relaxed);
            (version.name(), n, writer.finish()?)
        }
    };
    if uploaded.parts > 1 && options.plaintext_length.is_none() {
        let etag = uploaded.etag.clone().unwrap_or_default();
        uploaded.metadata.insert(metadata::PLAINTEXT_LENGTH.to_owned(), plaintext_bytes.to_string());
        if format != metadata::SEALED_FORMAT {
            uploaded.metadata.insert(s3ec::UNENCRYPTED_LENGTH.to_owned(), plaintext_bytes.to_string());
        }
        let object_size = uploaded.bytes;
        let target = super::copy::InPlace {
            url,
            etag: &etag,
            object_size,
            metadata: uploaded.metadata.clone(),
            stop: options.stop.as_deref(),
        };
        super::copy::replace_metadata(client, target)?;
    }
    let metadata = std::mem::take(&mut uploaded.metadata);
    Ok(SealedObject { format, plaintext_bytes, uploaded, metadata })
}

/// The metadata of an S3 Encryption Client object: the client's own, and envcrypt's listing keys.
pub(crate) fn s3ec_metadata(envelope: &Envelope, key_arn: &str) -> HashMap<String, String> {
    let mut map = envelope.to_metadata();
    map.insert(metadata::FORMAT.to_owned(), envelope.version.name().to_owned());
    map.insert(metadata::KEYS.to_owned(), key_arn.to_owned());
    map.insert(metadata::KEY_COUNT.to_owned(), "1".to_owned());
    if let Some(length) = envelope.plaintext_length {
        map.insert(metadata::PLAINTEXT_LENGTH.to_owned(), length.to_string());
    }
    map
}

enum Copy {
    Read(io::Error),
    Write(io::Error),
}

fn copy(input: &mut impl Read, output: &mut impl Write) -> Result<(), Copy> {
    // Plaintext passes through: wiped when done, as every plaintext buffer is.
    let mut buf = zeroize::Zeroizing::new(vec![0u8; 1 << 20]);
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Copy::Read(e)),
        };
        output.write_all(&buf[..n]).map_err(Copy::Write)?;
    }
}

/// How to open an object.
#[derive(Debug, Clone)]
pub struct OpenObjectOptions {
    /// Limits, required context and threads, as for files.
    pub open: OpenOptions,
    /// Whether the output is a staging area that the caller discards on error (a temporary
    /// file renamed into place only on success). S3 Encryption Client objects authenticate only
    /// at their very end, so into any other output (stdout) they are released only after the
    /// tag verifies, from memory, up to `memory_limit` bytes. Sealed objects authenticate
    /// frame by frame and always stream.
    pub staged_output: bool,
    /// The most plaintext of an S3 Encryption Client object held in memory.
    pub memory_limit: u64,
}

impl Default for OpenObjectOptions {
    fn default() -> Self {
        Self { open: OpenOptions::default(), staged_output: false, memory_limit: 64 * 1024 * 1024 }
    }
}

/// What [`open_object`] found.
#[derive(Debug)]
pub struct OpenedObject {
    /// `aws-encryption-sdk-v2`, `s3ec-v3` or `s3ec-v2`.
    pub format: &'static str,
    /// Plaintext bytes written.
    pub plaintext_bytes: u64,
    /// The key that opened the data key.
    pub key_arn: String,
    /// The encryption context (without the S3 Encryption Client's reserved key).
    pub context: EncryptionContext,
    /// Bytes downloaded.
    pub downloaded: u64,
}

/// Downloads `url`, detects its format from its metadata, and writes the plaintext to `output`
/// as it verifies.
pub fn open_object<W: Write + Send>(
    client: &S3Client,
    url: &ObjectUrl,
    output: &mut W,
    policy: &OpenPolicy,
    options: &OpenObjectOptions,
) -> Result<OpenedObject, S3Error> {
    let mut reader = ObjectReader::get(client, url, Span::Whole, None)?;
    match Envelope::from_metadata(&reader.metadata) {
        Some(Ok(envelope)) => open_s3ec(url, reader, envelope, output, policy, options),
        Some(Err(source)) => Err(S3Error::S3ec { url: url.clone(), source }),
        None => {
            let declared = reader.metadata.contains_key(metadata::FORMAT);
            let mut first = [0u8; 1];
            let n = read_full(&mut reader, &mut first).map_err(|e| read_error(url, e))?;
            if !declared && (n == 0 || !matches!(first[0], 0x01 | 0x02)) {
                return Err(S3Error::NotSealed { url: url.clone(), reason: not_sealed_reason(n as u64) });
            }
            let input = io::Cursor::new(first[..n].to_vec()).chain(&mut reader);
            let opened = stream::open(input, output, policy, &options.open).map_err(|e| match e {
                stream::Error::Input(e) => read_error(url, e),
                stream::Error::Output(e) => S3Error::Output(e),
                source => S3Error::Message { url: url.clone(), source: Box::new(source) },
            })?;
            Ok(OpenedObject {
                format: metadata::SEALED_FORMAT,
                plaintext_bytes: opened.plaintext_bytes,
                key_arn: opened.key_arn,
                context: opened.header.body().context.clone(),
                downloaded: reader.bytes_read(),
            })
        }
    }
}

fn not_sealed_reason(bytes: u64) -> NotSealedReason {
    if bytes == 0 {
        NotSealedReason::Empty
    } else {
        NotSealedReason::Unrecognized
    }
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(m) => n += m,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn read_error(url: &ObjectUrl, error: io::Error) -> S3Error {
    S3Error::from_io(error).unwrap_or_else(|e| S3Error::Transport {
        url: url.clone(),
        operation: "GetObject",
        detail: e.to_string(),
    })
}

fn open_s3ec<W: Write>(
    url: &ObjectUrl,
    mut reader: ObjectReader,
    envelope: Envelope,
    output: &mut W,
    policy: &OpenPolicy,
    options: &OpenObjectOptions,
) -> Result<OpenedObject, S3Error> {
    let corrupt = |source| S3Error::S3ec { url: url.clone(), source };
    envelope.check_reserved_context().map_err(corrupt)?;
    let context = s3ec::user_context(&envelope.kms_context);
    if let Some((key, value)) = context.first_missing(&options.open.required_context) {
        return Err(S3Error::Message {
            url: url.clone(),
            source: Box::new(stream::Error::ContextMismatch { key: key.to_owned(), value: value.to_owned() }),
        });
    }
    let body_length = reader.object_size;
    if !options.staged_output && body_length > options.memory_limit {
        // Not a fault of the object: the output chosen cannot be protected.
        return Err(S3Error::TooLargeToHoldBack { url: url.clone(), size: body_length, limit: options.memory_limit });
    }
    let unwrapped = policy
        .unwrap_unnamed(&envelope.wrapped_key, &envelope.kms_context)
        .map_err(|e| S3Error::Message { url: url.clone(), source: Box::new(e.into()) })?;
    let content_key = envelope.content_key(unwrapped.data_key.expose_secret()).map_err(corrupt)?;
    let content_error = |e: ContentError| match e {
        ContentError::Read(e) => read_error(url, e),
        ContentError::Write(e) => S3Error::Output(e),
        ContentError::Corrupt(reason) => corrupt(reason),
    };
    let plaintext_bytes = if options.staged_output {
        s3ec::decrypt_content(&mut reader, body_length, &content_key, output).map_err(content_error)?
    } else {
        // Sized once: plaintext held back must not be left behind in a block a growth freed.
        let mut held = SecretBuffer::with_capacity(usize::try_from(body_length).unwrap_or(0));
        let n = s3ec::decrypt_content(&mut reader, body_length, &content_key, &mut held).map_err(content_error)?;
        output.write_all(&held).map_err(S3Error::Output)?;
        n
    };
    Ok(OpenedObject {
        format: envelope.version.name(),
        plaintext_bytes,
        key_arn: unwrapped.key_arn,
        context,
        downloaded: reader.bytes_read(),
    })
}

/// What an object is, read from its metadata and the start of its body.
#[derive(Debug)]
pub struct Inspected {
    /// The object's size in bytes.
    pub object_size: u64,
    /// Its user metadata.
    pub metadata: HashMap<String, String>,
    /// Its format and header.
    pub kind: InspectedKind,
    /// Bytes downloaded to find out.
    pub downloaded: u64,
}

/// The format of an inspected object.
#[derive(Debug)]
pub enum InspectedKind {
    /// A sealed message, with its header.
    Sealed(Box<Header>),
    /// An S3 Encryption Client object.
    S3ec {
        /// V2 or V3.
        version: S3ecVersion,
        /// The encryption context (without the reserved key).
        context: EncryptionContext,
        /// The plaintext length, if recorded.
        plaintext_length: Option<u64>,
    },
}

/// Reads an object's header with a ranged read (64 KiB, more only for a larger header); the
/// body is never downloaded.
pub fn inspect_object(client: &S3Client, url: &ObjectUrl) -> Result<Inspected, S3Error> {
    const FIRST_WINDOW: u64 = 64 * 1024;
    const MAX_WINDOW: u64 = 16 * 1024 * 1024;
    let mut window = FIRST_WINDOW;
    let mut etag = None;
    let mut downloaded = 0;
    loop {
        let reader = match ObjectReader::get(client, url, Span::Range(0, window), etag.as_deref()) {
            Err(S3Error::Service { name, .. }) if name == "InvalidRange" => {
                return Err(S3Error::NotSealed { url: url.clone(), reason: NotSealedReason::Empty })
            }
            other => other?,
        };
        let (object_size, metadata) = (reader.object_size, reader.metadata.clone());
        etag.clone_from(&reader.etag);
        if let Some(envelope) = Envelope::from_metadata(&metadata) {
            let envelope = envelope.map_err(|source| S3Error::S3ec { url: url.clone(), source })?;
            let context = s3ec::user_context(&envelope.kms_context);
            let kind =
                InspectedKind::S3ec { version: envelope.version, context, plaintext_length: envelope.plaintext_length };
            return Ok(Inspected { object_size, metadata, kind, downloaded });
        }
        let head = reader.read_all()?;
        downloaded += head.len() as u64;
        match stream::read_header(&mut &head[..], &HEADER_LIMITS) {
            Ok(header) => {
                return Ok(Inspected {
                    object_size,
                    metadata,
                    kind: InspectedKind::Sealed(Box::new(header)),
                    downloaded,
                })
            }
            // Only a header cut off by the window is worth a larger read; anything else is
            // decided by what was read.
            Err(stream::Error::Format(FormatError::Truncated(_)))
                if (head.len() as u64) < object_size && window < MAX_WINDOW =>
            {
                window *= 4
            }
            Err(source) if metadata.contains_key(metadata::FORMAT) => {
                return Err(S3Error::Message { url: url.clone(), source: Box::new(source) })
            }
            Err(_) => {
                return Err(S3Error::NotSealed { url: url.clone(), reason: not_sealed_reason(head.len() as u64) });
            }
        }
    }
}
