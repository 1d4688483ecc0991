//! Sealing a message on one thread: a new header with a fresh data key, and [`Encryptor`], which
//! writes each frame as soon as it is full; the frame buffer the parallel pipeline shares.

use std::io::{self, Write};

use zeroize::Zeroizing;

use super::error::{format_to_io, Error};
use super::options::SealOptions;
use crate::context::EncryptionContext;
use crate::crypto::{self, TAG_LEN};
use crate::keyring::Keyring;
use crate::message::frame::{self, FrameKind, FINAL_PREFIX_LEN};
use crate::message::{self, FormatError, Header, HeaderBody, MessageKeys, MESSAGE_ID_LEN};

/// Generates a data key with `keyring` and builds the authenticated header of a new message.
pub(super) fn new_header(
    keyring: &Keyring,
    context: &EncryptionContext,
    options: &SealOptions,
) -> Result<(Header, MessageKeys), Error> {
    if let Some(key) = context.reserved_keys().next() {
        return Err(FormatError::ReservedContextKey(key.to_owned()).into());
    }
    // Sealing writes the unsigned committing suite (message format 2) only, so far.
    if options.suite.is_signed() || !options.suite.is_committing() {
        return Err(FormatError::UnsupportedSuite(options.suite.id()).into());
    }
    message::check_frame_length(options.frame_length)?;
    context.serialize()?;
    let (data_key, encrypted_data_keys) = keyring.data_key(context, options.suite, options.plaintext_length)?;
    let message_id: [u8; MESSAGE_ID_LEN] = crypto::random_array();
    let keys = MessageKeys::derive(options.suite, data_key.expose_secret(), &message_id)?;
    let body = HeaderBody {
        suite: options.suite,
        message_id,
        context: context.clone(),
        encrypted_data_keys,
        frame_length: options.frame_length,
        commitment: *keys.commitment().ok_or(FormatError::UnsupportedSuite(options.suite.id()))?,
    };
    let header = Header::seal(body, &keys)?;
    Ok((header, keys))
}

/// A frame buffer laid out as `[prefix space | plaintext | tag space]`, so that a frame is
/// sealed in place and written with one call.
pub(super) struct FrameBuffer {
    bytes: Zeroizing<Vec<u8>>,
}

impl FrameBuffer {
    pub(super) fn new(frame_length: usize) -> Self {
        Self { bytes: Zeroizing::new(vec![0u8; FINAL_PREFIX_LEN + frame_length + TAG_LEN]) }
    }

    /// Where the plaintext goes.
    pub(super) fn plaintext_mut(&mut self) -> &mut [u8] {
        let end = self.bytes.len() - TAG_LEN;
        &mut self.bytes[FINAL_PREFIX_LEN..end]
    }

    /// Seals the first `len` plaintext bytes as frame `sequence` and returns the frame's bytes
    /// on the wire.
    pub(super) fn seal(
        &mut self,
        keys: &MessageKeys,
        message_id: &[u8; MESSAGE_ID_LEN],
        kind: FrameKind,
        sequence: u32,
        len: usize,
    ) -> &[u8] {
        let body = FINAL_PREFIX_LEN..FINAL_PREFIX_LEN + len;
        let tag = frame::seal_frame(keys, message_id, kind, sequence, &mut self.bytes[body.clone()]);
        self.bytes[body.end..body.end + TAG_LEN].copy_from_slice(&tag);
        let mut prefix = Vec::with_capacity(FINAL_PREFIX_LEN);
        frame::encode_prefix(kind, sequence, u32::try_from(len).expect("frame length fits u32"), &mut prefix);
        let start = FINAL_PREFIX_LEN - prefix.len();
        self.bytes[start..FINAL_PREFIX_LEN].copy_from_slice(&prefix);
        &self.bytes[start..body.end + TAG_LEN]
    }
}

/// The sequence number after `sequence`, refusing to run into the final frame's range.
pub(super) fn next_regular_sequence(sequence: u32) -> Result<u32, FormatError> {
    if sequence >= u32::MAX - 1 {
        return Err(FormatError::TooManyFrames);
    }
    Ok(sequence + 1)
}

/// Whether `total` plaintext bytes exceed the declared length.
pub(super) fn check_declared_length(declared: Option<u64>, total: u64) -> Result<(), FormatError> {
    match declared {
        Some(limit) if total > limit => Err(FormatError::PlaintextTooLong { declared: limit }),
        _ => Ok(()),
    }
}

/// Seals everything written to it into one message on `W`, on the calling thread.
///
/// [`seal`](super::seal) is the faster way to seal a whole `Read`: it reads straight into the
/// frame buffers and encrypts frames in parallel.
pub struct Encryptor<W: Write> {
    inner: W,
    keys: MessageKeys,
    message_id: [u8; MESSAGE_ID_LEN],
    frame_length: usize,
    frame: FrameBuffer,
    filled: usize,
    next_sequence: u32,
    declared_length: Option<u64>,
    total: u64,
}

impl<W: Write> Encryptor<W> {
    /// Generates a data key with `keyring`, writes the header to `inner`, and returns a writer
    /// for the plaintext.
    pub fn new(inner: W, keyring: &Keyring, context: &EncryptionContext, options: &SealOptions) -> Result<Self, Error> {
        let (header, keys) = new_header(keyring, context, options)?;
        let mut encryptor = Self::with_header(inner, &header, keys)?;
        encryptor.declared_length = options.plaintext_length;
        Ok(encryptor)
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
            frame: FrameBuffer::new(frame_length),
            filled: 0,
            next_sequence: 1,
            declared_length: None,
            total: 0,
        })
    }

    /// Encrypts the buffered plaintext as one frame and writes it.
    fn emit(&mut self, kind: FrameKind) -> io::Result<()> {
        let sequence = self.next_sequence;
        let next = match kind {
            FrameKind::Regular => next_regular_sequence(sequence).map_err(format_to_io)?,
            FrameKind::Final => sequence,
        };
        let bytes = self.frame.seal(&self.keys, &self.message_id, kind, sequence, self.filled);
        self.inner.write_all(bytes)?;
        self.next_sequence = next;
        self.filled = 0;
        Ok(())
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
        check_declared_length(self.declared_length, self.total + total as u64).map_err(format_to_io)?;
        self.total += total as u64;
        while !data.is_empty() {
            let take = data.len().min(self.frame_length - self.filled);
            self.frame.plaintext_mut()[self.filled..self.filled + take].copy_from_slice(&data[..take]);
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
