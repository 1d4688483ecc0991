use std::io::{self, Read, Write};

use zeroize::Zeroizing;

use super::{format_to_io, Error};
use crate::context::EncryptionContext;
use crate::crypto::{self, TAG_LEN};
use crate::keyring::Keyring;
use crate::message::frame::{self, FrameKind, FINAL_PREFIX_LEN};
use crate::message::{self, AlgorithmSuite, FormatError, Header, HeaderBody, MessageKeys, MESSAGE_ID_LEN};

/// The default plaintext bytes per frame (see the README's performance section for the
/// measurement behind it).
pub const DEFAULT_FRAME_LENGTH: u32 = 256 * 1024;

/// How to seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealOptions {
    /// Plaintext bytes per frame: a non-zero multiple of 16.
    pub frame_length: u32,
    /// The algorithm suite (only unsigned 0x0478 is written today).
    pub suite: AlgorithmSuite,
}

impl Default for SealOptions {
    fn default() -> Self {
        Self { frame_length: DEFAULT_FRAME_LENGTH, suite: AlgorithmSuite::AesGcm256HkdfSha512Committing }
    }
}

/// Which side of [`Encryptor::copy_from`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Reading the plaintext.
    #[error("reading the input: {0}")]
    Read(io::Error),
    /// Writing the sealed message.
    #[error("writing the output: {0}")]
    Write(io::Error),
}

/// Seals everything written to it into one message on `W`.
pub struct Encryptor<W: Write> {
    inner: W,
    keys: MessageKeys,
    message_id: [u8; MESSAGE_ID_LEN],
    frame_length: usize,
    /// `[prefix space | plaintext | tag space]`; plaintext is filled at `FINAL_PREFIX_LEN..`.
    frame: Zeroizing<Vec<u8>>,
    filled: usize,
    next_sequence: u32,
}

impl<W: Write> Encryptor<W> {
    /// Generates a data key with `keyring`, writes the header to `inner`, and returns a writer
    /// for the plaintext.
    pub fn new(inner: W, keyring: &Keyring, context: &EncryptionContext, options: &SealOptions) -> Result<Self, Error> {
        if let Some(key) = context.reserved_keys().next() {
            return Err(FormatError::ReservedContextKey(key.to_owned()).into());
        }
        if options.suite.is_signed() {
            return Err(FormatError::UnsupportedSuite(options.suite.id()).into());
        }
        message::check_frame_length(options.frame_length)?;
        context.serialize()?;
        let (data_key, encrypted_data_keys) = keyring.wrap_new_data_key(context)?;
        let message_id: [u8; MESSAGE_ID_LEN] = crypto::random_array();
        let keys = MessageKeys::derive(options.suite, data_key.expose_secret(), &message_id)?;
        let body = HeaderBody {
            suite: options.suite,
            message_id,
            context: context.clone(),
            encrypted_data_keys,
            frame_length: options.frame_length,
            commitment: *keys.commitment(),
        };
        let header = Header::seal(body, &keys)?;
        Self::with_header(inner, &header, keys)
    }

    /// Writes a prepared header and returns a writer for the body.
    ///
    /// The header's message id must be fresh and random: it is the only thing that makes
    /// the frame IVs unique under the data key. [`Encryptor::new`] guarantees that; this
    /// lower-level entry exists for known-answer tests and re-implementations.
    pub fn with_header(mut inner: W, header: &Header, keys: MessageKeys) -> Result<Self, Error> {
        let body = header.body();
        header.verify(&keys)?;
        inner.write_all(&header.to_bytes())?;
        let frame_length = usize::try_from(body.frame_length).expect("u32 fits in usize");
        Ok(Self {
            inner,
            keys,
            message_id: body.message_id,
            frame_length,
            frame: Zeroizing::new(vec![0u8; FINAL_PREFIX_LEN + frame_length + TAG_LEN]),
            filled: 0,
            next_sequence: 1,
        })
    }

    /// Encrypts the buffered plaintext as one frame and writes it.
    fn emit(&mut self, kind: FrameKind) -> io::Result<()> {
        let sequence = self.next_sequence;
        if kind == FrameKind::Regular && sequence == u32::MAX - 1 {
            return Err(format_to_io(FormatError::TooManyFrames));
        }
        let len = self.filled;
        let body = FINAL_PREFIX_LEN..FINAL_PREFIX_LEN + len;
        let tag = frame::seal_frame(&self.keys, &self.message_id, kind, sequence, &mut self.frame[body.clone()]);
        self.frame[body.end..body.end + TAG_LEN].copy_from_slice(&tag);
        let mut prefix = Vec::with_capacity(FINAL_PREFIX_LEN);
        frame::encode_prefix(kind, sequence, u32::try_from(len).expect("frame length fits u32"), &mut prefix);
        let start = FINAL_PREFIX_LEN - prefix.len();
        self.frame[start..FINAL_PREFIX_LEN].copy_from_slice(&prefix);
        self.inner.write_all(&self.frame[start..body.end + TAG_LEN])?;
        self.next_sequence += 1;
        self.filled = 0;
        Ok(())
    }

    /// Seals everything `reader` yields, reading straight into the frame buffer: one memory
    /// copy fewer than `io::copy` into [`Write`]. Returns the plaintext bytes read.
    pub fn copy_from(&mut self, reader: &mut impl Read) -> Result<u64, CopyError> {
        let mut total = 0u64;
        loop {
            let free = FINAL_PREFIX_LEN + self.filled..FINAL_PREFIX_LEN + self.frame_length;
            let n = match reader.read(&mut self.frame[free]) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CopyError::Read(e)),
            };
            self.filled += n;
            total += n as u64;
            if self.filled == self.frame_length {
                self.emit(FrameKind::Regular).map_err(CopyError::Write)?;
            }
        }
    }

    /// Writes the final frame and returns the inner writer, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.emit(FrameKind::Final)?;
        self.inner.flush()?;
        let Self { inner, .. } = self;
        Ok(inner)
    }
}

impl<W: Write> Write for Encryptor<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let total = data.len();
        while !data.is_empty() {
            let take = data.len().min(self.frame_length - self.filled);
            let at = FINAL_PREFIX_LEN + self.filled;
            self.frame[at..at + take].copy_from_slice(&data[..take]);
            self.filled += take;
            data = &data[take..];
            // A full frame is always a regular frame: the official SDKs refuse a final frame
            // as long as the frame length, so the final frame holds what is left (maybe nothing).
            if self.filled == self.frame_length {
                self.emit(FrameKind::Regular)?;
            }
        }
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
