//! Sealing a message on one thread: a new header with a fresh data key, and [`Encryptor`], which
//! writes each frame as soon as it is full; the frame buffer and the signing output the
//! parallel pipeline shares.

use std::io::{self, Write};

use zeroize::Zeroizing;

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
        message_id: &[u8],
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
    inner: SigningOutput<W>,
    keys: MessageKeys,
    message_id: MessageId,
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
        })
    }

    /// Encrypts the buffered plaintext as one frame and writes it.
    fn emit(&mut self, kind: FrameKind) -> io::Result<()> {
        let sequence = self.next_sequence;
        let next = match kind {
            FrameKind::Regular => next_regular_sequence(sequence).map_err(format_to_io)?,
            _ => sequence,
        };
        let bytes = self.frame.seal(&self.keys, self.message_id.as_bytes(), kind, sequence, self.filled);
        self.inner.write_all(bytes)?;
        self.next_sequence = next;
        self.filled = 0;
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
