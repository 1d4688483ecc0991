//! Sealing a message on one thread: a new header with a fresh data key, and [`Encryptor`], which
//! writes each frame as soon as it is full; the frame buffer and the signing output the
//! parallel pipeline shares.

use std::io::{self, Write};

use zeroize::Zeroize;

use super::error::{format_to_io, Error};
use super::options::SealOptions;
use crate::context::EncryptionContext;
use crate::crypto::TAG_LEN;
use crate::keyring::Keyring;
use crate::message::frame::{self, FrameKind, FINAL_PREFIX_LEN};
use crate::message::signature::Signer;
use crate::message::{self, FormatError, Header, HeaderBody, MessageId, MessageKeys};

/// A new message's header, its keys, and for signed suites the signer of its footer.
pub(super) struct NewMessage {
    pub(super) header: Header,
    pub(super) keys: MessageKeys,
    pub(super) signer: Option<Signer>,
}

/// Generates a data key with `keyring` and builds the authenticated header of a new message.
/// For a signed suite the context gains the message's public key, before the keyring sees
/// it, so that every wrapping binds it.
pub(super) fn new_header(
    keyring: &Keyring,
    context: &EncryptionContext,
    options: &SealOptions,
) -> Result<NewMessage, Error> {
    if let Some(key) = context.reserved_keys().next() {
        return Err(FormatError::ReservedContextKey(key.to_owned()).into());
    }
    let suite = options.suite;
    options.commitment_policy.check_sealing(suite)?;
    message::check_frame_length(options.frame_length)?;
    let (signer, context) = match Signer::for_suite(suite, context)? {
        Some((signer, signed_context)) => (Some(signer), signed_context),
        None => (None, context.clone()),
    };
    context.serialize()?;
    let (data_key, encrypted_data_keys) = keyring.data_key(&context, suite, options.plaintext_length)?;
    let message_id = MessageId::random(suite);
    let keys = MessageKeys::derive(suite, data_key.expose_secret(), message_id.as_bytes())?;
    let body = HeaderBody {
        suite,
        message_id,
        context,
        encrypted_data_keys,
        frame_length: options.frame_length,
        commitment: keys.commitment().copied(),
    };
    let header = Header::seal(body, &keys)?;
    Ok(NewMessage { header, keys, signer })
}

/// The output of a message: every byte written also feeds the signer, if the suite signs,
/// and [`SigningOutput::finish`] appends the footer.
pub(super) struct SigningOutput<W: Write> {
    inner: W,
    signer: Option<Signer>,
}

impl<W: Write> SigningOutput<W> {
    pub(super) fn new(inner: W, signer: Option<Signer>) -> Self {
        Self { inner, signer }
    }

    /// Writes the footer (signed suites) and flushes; returns the inner writer.
    pub(super) fn finish(mut self) -> io::Result<W> {
        if let Some(signer) = self.signer.take() {
            self.inner.write_all(&signer.footer())?;
        }
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for SigningOutput<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        if let Some(signer) = &mut self.signer {
            signer.update(&data[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A frame buffer laid out as `[prefix space | plaintext | tag space]`, so that a frame is
/// sealed in place and written with one call.
///
/// Only the part ever written is wiped on drop: the rest still holds the allocator's zeroes,
/// and a short message then touches (and wipes) a few pages rather than a whole frame's.
pub(super) struct FrameBuffer {
    bytes: Vec<u8>,
    /// The end of the part ever written.
    touched: usize,
}

/// The first read of [`FrameBuffer::fill`]: large enough for most small files at once.
const FIRST_READ: usize = 16 * 1024;

impl FrameBuffer {
    pub(super) fn new(frame_length: usize) -> Self {
        Self { bytes: vec![0u8; FINAL_PREFIX_LEN + frame_length + TAG_LEN], touched: 0 }
    }

    fn plaintext_capacity(&self) -> usize {
        self.bytes.len() - FINAL_PREFIX_LEN - TAG_LEN
    }

    /// The first `end` bytes of the plaintext area, to be written.
    pub(super) fn plaintext_up_to(&mut self, end: usize) -> &mut [u8] {
        let area = &mut self.bytes[FINAL_PREFIX_LEN..FINAL_PREFIX_LEN + end];
        self.touched = self.touched.max(FINAL_PREFIX_LEN + end);
        area
    }

    /// Reads plaintext from `input` until the frame is full or `input` ends; returns how many
    /// bytes it read. Reads grow from [`FIRST_READ`] bytes with what arrives (or start at what
    /// an earlier frame used), so that a short input gets short reads.
    pub(super) fn fill(&mut self, input: &mut impl io::Read) -> io::Result<usize> {
        let capacity = self.plaintext_capacity();
        let mut filled = 0;
        while filled < capacity {
            let written_before = self.touched.saturating_sub(FINAL_PREFIX_LEN);
            let end = capacity.min(filled.saturating_mul(2).max(FIRST_READ).max(written_before));
            let window = &mut self.plaintext_up_to(end)[filled..];
            let asked = window.len();
            match input.read(window) {
                Ok(0) => break,
                Ok(n) if n > asked => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the input reported more bytes than it was asked for",
                    ))
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }

    /// Seals the first `len` plaintext bytes as frame `sequence` and returns the frame's bytes
    /// on the wire.
    pub(super) fn seal(
        &mut self,
        keys: &MessageKeys,
        message_id: &[u8],
        kind: FrameKind,
        sequence: u32,
        len: usize,
    ) -> &[u8] {
        let body = FINAL_PREFIX_LEN..FINAL_PREFIX_LEN + len;
        self.touched = self.touched.max(body.end + TAG_LEN);
        let tag = frame::seal_frame(keys, message_id, kind, sequence, &mut self.bytes[body.clone()]);
        self.bytes[body.end..body.end + TAG_LEN].copy_from_slice(&tag);
        let mut prefix = Vec::with_capacity(FINAL_PREFIX_LEN);
        frame::encode_prefix(kind, sequence, u32::try_from(len).expect("frame length fits u32"), &mut prefix);
        let start = FINAL_PREFIX_LEN - prefix.len();
        self.bytes[start..FINAL_PREFIX_LEN].copy_from_slice(&prefix);
        &self.bytes[start..body.end + TAG_LEN]
    }
}

impl Drop for FrameBuffer {
    fn drop(&mut self) {
        self.bytes[..self.touched].zeroize();
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
///
/// Once a write to `W` fails, every later call fails too (retrying is not possible): seal
/// the message again from the start.
pub struct Encryptor<W: Write> {
    inner: SigningOutput<W>,
    keys: MessageKeys,
    message_id: MessageId,
    frame_length: usize,
    frame: FrameBuffer,
    filled: usize,
    next_sequence: u32,
    declared_length: Option<u64>,
    total: u64,
    /// A sealed frame could not be written. The frame buffer then holds ciphertext made in
    /// place, and sealing it again (a retry) would give back the plaintext, so every later
    /// call fails.
    output_failed: bool,
}

impl<W: Write> Encryptor<W> {
    /// Generates a data key with `keyring`, writes the header to `inner`, and returns a writer
    /// for the plaintext.
    pub fn new(inner: W, keyring: &Keyring, context: &EncryptionContext, options: &SealOptions) -> Result<Self, Error> {
        let NewMessage { header, keys, signer } = new_header(keyring, context, options)?;
        let mut encryptor = Self::start(SigningOutput::new(inner, signer), &header, keys)?;
        encryptor.declared_length = options.plaintext_length;
        Ok(encryptor)
    }

    /// Writes a prepared header of an unsigned suite and returns a writer for the body.
    ///
    /// The header's message id must be fresh and random: it is the only thing that makes
    /// the frame IVs unique under the data key. [`Encryptor::new`] guarantees that; this
    /// lower-level entry exists for known-answer tests and re-implementations.
    pub fn with_header(inner: W, header: &Header, keys: MessageKeys) -> Result<Self, Error> {
        if header.body().suite.is_signed() {
            return Err(FormatError::UnsupportedSuite(header.body().suite.id()).into());
        }
        Self::start(SigningOutput::new(inner, None), header, keys)
    }

    fn start(mut inner: SigningOutput<W>, header: &Header, keys: MessageKeys) -> Result<Self, Error> {
        let body = header.body();
        message::check_frame_length(body.frame_length)?;
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
            output_failed: false,
        })
    }

    /// Encrypts the buffered plaintext as one frame and writes it.
    fn emit(&mut self, kind: FrameKind) -> io::Result<()> {
        self.check_output()?;
        let sequence = self.next_sequence;
        let next = match kind {
            FrameKind::Regular => next_regular_sequence(sequence).map_err(format_to_io)?,
            _ => sequence,
        };
        let bytes = self.frame.seal(&self.keys, self.message_id.as_bytes(), kind, sequence, self.filled);
        if let Err(error) = self.inner.write_all(bytes) {
            self.output_failed = true;
            return Err(error);
        }
        self.next_sequence = next;
        self.filled = 0;
        Ok(())
    }

    fn check_output(&self) -> io::Result<()> {
        if self.output_failed {
            return Err(io::Error::other("an earlier write of this message failed; seal it again from the start"));
        }
        Ok(())
    }

    /// Writes the final frame (and the footer of a signed suite) and returns the inner
    /// writer, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.emit(FrameKind::Final)?;
        let Self { inner, .. } = self;
        inner.finish()
    }
}

impl<W: Write> Write for Encryptor<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        self.check_output()?;
        let total = data.len();
        check_declared_length(self.declared_length, self.total + total as u64).map_err(format_to_io)?;
        self.total += total as u64;
        while !data.is_empty() {
            let take = data.len().min(self.frame_length - self.filled);
            self.frame.plaintext_up_to(self.filled + take)[self.filled..].copy_from_slice(&data[..take]);
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
