//! Opening a message on one thread: the header (unwrap, commitment, header tag) and
//! [`Decryptor`], which releases each frame only after its tag verifies; the frame reader the
//! parallel pipeline shares.

use std::io::{self, Chain, Cursor, Read};

use super::error::{format_to_io, Error};
use super::options::OpenOptions;
use crate::crypto::TAG_LEN;
use crate::keyring::OpenPolicy;
use crate::message::frame::{self, FramePrefix, FINAL_PREFIX_LEN, NON_FRAMED_PREFIX_LEN, REGULAR_PREFIX_LEN};
use crate::message::signature::{self, Digest};
use crate::message::{FormatError, Header, MessageKeys, ParseLimits};
use crate::secret_buffer::SecretBuffer;

const HEADER_READ_CHUNK: usize = 4096;
const INITIAL_FRAME_RESERVE: usize = 1 << 20;

/// A verified header, its keys, and the reader positioned at the first frame.
pub(super) struct OpenedHeader<R: Read> {
    pub(super) header: Header,
    pub(super) keys: MessageKeys,
    pub(super) key_arn: String,
    pub(super) frames: FrameReader<R>,
}

/// Reads and verifies the header, unwrapping the data key with `policy`.
pub(super) fn open_header<R: Read>(
    mut inner: R,
    policy: &OpenPolicy,
    options: &OpenOptions,
) -> Result<OpenedHeader<R>, Error> {
    let (header, rest) = read_header_and_rest(&mut inner, &options.limits)?;
    let body = header.body();
    options.commitment_policy.check_opening(body.suite)?;
    if options.unsigned_only && body.suite.is_signed() {
        return Err(FormatError::SignedMessageRefused(body.suite.id()).into());
    }
    if let Some((key, value)) = body.context.first_missing(&options.required_context) {
        return Err(Error::ContextMismatch { key: key.to_owned(), value: value.to_owned() });
    }
    let unwrapped = policy.unwrap_data_key(&body.encrypted_data_keys, &body.context, body.suite)?;
    let keys = MessageKeys::derive(body.suite, unwrapped.data_key.expose_secret(), body.message_id.as_bytes())?;
    header.verify(&keys)?;
    let frames = FrameReader::new(Cursor::new(rest).chain(inner), &header, &options.limits)?;
    Ok(OpenedHeader { header, keys, key_arn: unwrapped.key_arn, frames })
}

/// Reads a message body frame by frame (a non-framed body as one frame): checks each prefix,
/// feeds the signature digest, and at the last frame checks the footer and the end of input.
/// Decryption is left to the caller, so that frames can be opened on other threads.
pub(super) struct FrameReader<R: Read> {
    inner: Chain<Cursor<Vec<u8>>, R>,
    /// 0 for a non-framed body.
    frame_length: u32,
    /// The longest non-framed body held in memory.
    non_framed_limit: u32,
    next_sequence: u32,
    signature: Option<SignatureCheck>,
}

/// One frame as read: still ciphertext, followed by its tag.
pub(super) struct SealedFrame {
    pub(super) prefix: FramePrefix,
    /// Ciphertext bytes before the tag.
    pub(super) len: usize,
}

/// For signed suites: the public key and the running digest of everything read so far.
struct SignatureCheck {
    public_key: Vec<u8>,
    digest: Digest,
}

/// Why the next frame could not be produced.
pub(super) enum FrameError {
    Format(FormatError),
    Input(io::Error),
}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> Self {
        Self::Input(e)
    }
}

impl From<FormatError> for FrameError {
    fn from(e: FormatError) -> Self {
        Self::Format(e)
    }
}

impl From<FrameError> for Error {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::Format(e) => Self::Format(e),
            FrameError::Input(e) => Self::Input(e),
        }
    }
}

impl<R: Read> FrameReader<R> {
    fn new(inner: Chain<Cursor<Vec<u8>>, R>, header: &Header, limits: &ParseLimits) -> Result<Self, Error> {
        let body = header.body();
        let signature = signature::public_key(body.suite, &body.context)?.map(|(curve, public_key)| {
            let mut digest = Digest::new(curve);
            digest.update(&header.to_bytes());
            SignatureCheck { public_key, digest }
        });
        Ok(Self {
            inner,
            frame_length: body.frame_length,
            non_framed_limit: limits.max_frame_length,
            next_sequence: 1,
            signature,
        })
    }

    /// Reads the next frame's ciphertext and tag into `buf`, which grows with the data
    /// actually read, so a header that claims a huge frame costs memory only for bytes that
    /// really arrive, and never leaves the previous frame's plaintext in a freed block. The
    /// final frame is returned only once the footer (if any) verifies and the input has ended.
    pub(super) fn read_frame(&mut self, buf: &mut SecretBuffer) -> Result<SealedFrame, FrameError> {
        let mut prefix = [0u8; FINAL_PREFIX_LEN];
        let (parsed, prefix_len) = if self.frame_length == 0 {
            if read_full(&mut self.inner, &mut prefix[..NON_FRAMED_PREFIX_LEN])? != NON_FRAMED_PREFIX_LEN {
                return Err(FormatError::Truncated("non-framed body").into());
            }
            frame::parse_non_framed_prefix(&prefix[..NON_FRAMED_PREFIX_LEN], self.non_framed_limit)?
        } else {
            match read_full(&mut self.inner, &mut prefix[..4])? {
                0 => return Err(FormatError::MissingFinalFrame.into()),
                4 => {}
                _ => return Err(FormatError::Truncated("frame header").into()),
            }
            let prefix_len = if prefix[..4] == [0xFF; 4] { FINAL_PREFIX_LEN } else { REGULAR_PREFIX_LEN };
            if read_full(&mut self.inner, &mut prefix[4..prefix_len])? != prefix_len - 4 {
                return Err(FormatError::Truncated("frame header").into());
            }
            frame::parse_prefix(&prefix[..prefix_len], self.next_sequence, self.frame_length)?
        };
        let len = usize::try_from(parsed.content_len).expect("u32 fits in usize");
        buf.clear();
        let wanted = len + TAG_LEN;
        if buf.append_from(&mut self.inner, wanted, INITIAL_FRAME_RESERVE + TAG_LEN).map_err(FrameError::Input)?
            != wanted
        {
            return Err(FormatError::Truncated("frame").into());
        }
        if let Some(check) = &mut self.signature {
            check.digest.update(&prefix[..prefix_len]);
            check.digest.update(buf);
        }
        if parsed.kind.is_last() {
            if let Some(check) = self.signature.take() {
                verify_footer(&mut self.inner, check)?;
            }
            let mut extra = [0u8; 1];
            if read_full(&mut self.inner, &mut extra)? != 0 {
                return Err(FormatError::TrailingData.into());
            }
        }
        self.next_sequence = self.next_sequence.wrapping_add(1);
        Ok(SealedFrame { prefix: parsed, len })
    }
}

impl SealedFrame {
    /// Decrypts `buf` (ciphertext and tag, as read) in place; the plaintext is `buf[..self.len]`.
    pub(super) fn open(&self, keys: &MessageKeys, message_id: &[u8], buf: &mut [u8]) -> Result<(), FormatError> {
        let (ciphertext, tag) = buf.split_at_mut(self.len);
        let tag: &[u8; TAG_LEN] = (&*tag).try_into().map_err(|_| FormatError::Truncated("frame"))?;
        frame::open_frame(keys, message_id, &self.prefix, ciphertext, tag)
    }

    /// Whether nothing follows this frame.
    pub(super) fn is_last(&self) -> bool {
        self.prefix.kind.is_last()
    }
}

/// Opens a message from `R` on the calling thread, releasing plaintext frame by frame after
/// each authenticates. [`open`](super::open) opens a whole `Read` into a `Write` faster, on
/// several threads.
pub struct Decryptor<R: Read> {
    header: Header,
    keys: MessageKeys,
    key_arn: String,
    frames: FrameReader<R>,
    /// The current frame: ciphertext while reading, plaintext once authenticated.
    frame: SecretBuffer,
    released: usize,
    authenticated: usize,
    state: State,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Body,
    Done,
    Failed(FormatError),
    /// The input failed mid-frame; the position in the message is lost, so this is final too.
    InputFailed(io::ErrorKind, String),
}

impl<R: Read> Decryptor<R> {
    /// Reads and verifies the header, unwrapping the data key with `policy`.
    pub fn new(inner: R, policy: &OpenPolicy) -> Result<Self, Error> {
        Self::with_options(inner, policy, &OpenOptions::default())
    }

    /// As [`Decryptor::new`], with limits and a required context.
    pub fn with_options(inner: R, policy: &OpenPolicy, options: &OpenOptions) -> Result<Self, Error> {
        let OpenedHeader { header, keys, key_arn, frames } = open_header(inner, policy, options)?;
        Ok(Self::after_header(header, keys, key_arn, frames))
    }

    /// Opens a message whose plaintext data key the caller already holds, bypassing the key
    /// services: for known-answer tests, fuzzing and re-implementations. The key commitment
    /// and header tag are still checked.
    pub fn with_data_key(mut inner: R, data_key: &[u8], limits: &ParseLimits) -> Result<Self, Error> {
        let (header, rest) = read_header_and_rest(&mut inner, limits)?;
        let body = header.body();
        let keys = MessageKeys::derive(body.suite, data_key, body.message_id.as_bytes())?;
        header.verify(&keys)?;
        let frames = FrameReader::new(Cursor::new(rest).chain(inner), &header, limits)?;
        Ok(Self::after_header(header, keys, String::new(), frames))
    }

    fn after_header(header: Header, keys: MessageKeys, key_arn: String, frames: FrameReader<R>) -> Self {
        Self {
            header,
            keys,
            key_arn,
            frames,
            frame: SecretBuffer::new(),
            released: 0,
            authenticated: 0,
            state: State::Body,
        }
    }

    /// The verified header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The ARN of the key that opened the data key.
    pub fn key_arn(&self) -> &str {
        &self.key_arn
    }

    /// Reads, checks and decrypts the next frame into `self.frame`.
    fn next_frame(&mut self) -> Result<(), FrameError> {
        let frame = self.frames.read_frame(&mut self.frame)?;
        frame.open(&self.keys, self.header.body().message_id.as_bytes(), &mut self.frame)?;
        self.released = 0;
        self.authenticated = frame.len;
        if frame.is_last() {
            self.state = State::Done;
        }
        Ok(())
    }
}

/// Reads the footer and checks its signature over everything read before it.
fn verify_footer(inner: &mut impl Read, check: SignatureCheck) -> Result<(), FrameError> {
    let mut len = [0u8; 2];
    if read_full(inner, &mut len)? != 2 {
        return Err(FormatError::Truncated("signature footer").into());
    }
    let len = signature::footer_len(len)?;
    let mut der = vec![0u8; len];
    if read_full(inner, &mut der)? != len {
        return Err(FormatError::Truncated("signature footer").into());
    }
    signature::verify(&check.public_key, check.digest, &der)?;
    Ok(())
}

impl<R: Read> Read for Decryptor<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.released < self.authenticated {
                let n = out.len().min(self.authenticated - self.released);
                out[..n].copy_from_slice(&self.frame[self.released..self.released + n]);
                self.released += n;
                return Ok(n);
            }
            match &self.state {
                State::Done => return Ok(0),
                State::Failed(e) => return Err(format_to_io(e.clone())),
                State::InputFailed(kind, message) => return Err(io::Error::new(*kind, message.clone())),
                State::Body => {}
            }
            if let Err(e) = self.next_frame() {
                // Sticky: a failed message never yields more plaintext.
                self.authenticated = 0;
                return Err(match e {
                    FrameError::Format(e) => {
                        self.state = State::Failed(e.clone());
                        format_to_io(e)
                    }
                    FrameError::Input(e) => {
                        self.state = State::InputFailed(e.kind(), e.to_string());
                        e
                    }
                });
            }
        }
    }
}

/// Reads until a whole header parses; returns it and the bytes read past it.
pub(super) fn read_header_and_rest(r: &mut impl Read, limits: &ParseLimits) -> Result<(Header, Vec<u8>), Error> {
    let mut buf = Vec::with_capacity(HEADER_READ_CHUNK);
    loop {
        match Header::parse(&buf, limits) {
            Ok((header, used)) => return Ok((header, buf.split_off(used))),
            Err(FormatError::Incomplete { needed }) => {
                let want = needed.max(buf.len() + HEADER_READ_CHUNK) - buf.len();
                let before = buf.len();
                r.by_ref().take(want as u64).read_to_end(&mut buf)?;
                if buf.len() == before {
                    return Err(FormatError::Truncated("header").into());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reads until `buf` is full or the input ends; returns how much was read.
pub(super) fn read_full(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut at = 0;
    while at < buf.len() {
        match r.read(&mut buf[at..]) {
            Ok(0) => break,
            Ok(n) => at += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(at)
}
