use std::io::{self, Chain, Cursor, Read};

use zeroize::Zeroizing;

use super::{format_to_io, Error};
use crate::context::EncryptionContext;
use crate::crypto::TAG_LEN;
use crate::keyring::OpenPolicy;
use crate::message::frame::{self, FrameKind, FINAL_PREFIX_LEN, REGULAR_PREFIX_LEN};
use crate::message::{signature, FormatError, Header, MessageKeys, ParseLimits};

const HEADER_READ_CHUNK: usize = 4096;
const INITIAL_FRAME_RESERVE: usize = 1 << 20;

/// How to open.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Bounds on what a header may claim.
    pub limits: ParseLimits,
    /// Pairs the message's encryption context must contain.
    pub required_context: EncryptionContext,
    /// Refuse signed messages right after the header (the official CLI's `--decrypt-unsigned`):
    /// their last frame can only be released once the whole message has been read.
    pub unsigned_only: bool,
}

/// Opens a message from `R`, releasing plaintext frame by frame after each authenticates.
pub struct Decryptor<R: Read> {
    inner: Chain<Cursor<Vec<u8>>, R>,
    header: Header,
    keys: MessageKeys,
    key_arn: String,
    next_sequence: u32,
    /// The current frame: ciphertext while reading, plaintext once authenticated.
    frame: Zeroizing<Vec<u8>>,
    released: usize,
    authenticated: usize,
    state: State,
    signature: Option<SignatureCheck>,
}

/// For signed suites: the public key and the running SHA-384 of everything read so far.
struct SignatureCheck {
    public_key: Vec<u8>,
    digest: ring::digest::Context,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Body,
    Done,
    Failed(FormatError),
    /// The input failed mid-frame; the position in the message is lost, so this is final too.
    InputFailed(io::ErrorKind, String),
}

/// Why the next frame could not be produced.
enum FrameError {
    Format(FormatError),
    Input(io::Error),
}

impl From<FormatError> for FrameError {
    fn from(e: FormatError) -> Self {
        Self::Format(e)
    }
}

impl<R: Read> Decryptor<R> {
    /// Reads and verifies the header, unwrapping the data key with `policy`.
    pub fn new(inner: R, policy: &OpenPolicy) -> Result<Self, Error> {
        Self::with_options(inner, policy, &OpenOptions::default())
    }

    /// As [`Decryptor::new`], with limits and a required context.
    pub fn with_options(mut inner: R, policy: &OpenPolicy, options: &OpenOptions) -> Result<Self, Error> {
        let (header, rest) = read_header_and_rest(&mut inner, &options.limits)?;
        let body = header.body();
        if options.unsigned_only && body.suite.is_signed() {
            return Err(FormatError::SignedMessageRefused(body.suite.id()).into());
        }
        if let Some((key, value)) = body.context.first_missing(&options.required_context) {
            return Err(Error::ContextMismatch { key: key.to_owned(), value: value.to_owned() });
        }
        let unwrapped = policy.unwrap_data_key(&body.encrypted_data_keys, &body.context)?;
        let keys = MessageKeys::derive(body.suite, unwrapped.data_key.expose_secret(), &body.message_id)?;
        let key_arn = unwrapped.key_arn;
        header.verify(&keys)?;
        Self::after_header(Cursor::new(rest).chain(inner), header, keys, key_arn)
    }

    /// Opens a message whose plaintext data key the caller already holds, bypassing the key
    /// services: for known-answer tests, fuzzing and re-implementations. The key commitment
    /// and header tag are still checked.
    pub fn with_data_key(mut inner: R, data_key: &[u8], limits: &ParseLimits) -> Result<Self, Error> {
        let (header, rest) = read_header_and_rest(&mut inner, limits)?;
        let body = header.body();
        let keys = MessageKeys::derive(body.suite, data_key, &body.message_id)?;
        header.verify(&keys)?;
        Self::after_header(Cursor::new(rest).chain(inner), header, keys, String::new())
    }

    fn after_header(
        inner: Chain<Cursor<Vec<u8>>, R>,
        header: Header,
        keys: MessageKeys,
        key_arn: String,
    ) -> Result<Self, Error> {
        let body = header.body();
        let signature = signature::public_key(body.suite, &body.context)?.map(|public_key| {
            let mut digest = ring::digest::Context::new(&ring::digest::SHA384);
            digest.update(&header.to_bytes());
            SignatureCheck { public_key, digest }
        });
        Ok(Self {
            inner,
            header,
            keys,
            key_arn,
            next_sequence: 1,
            frame: Zeroizing::new(Vec::new()),
            released: 0,
            authenticated: 0,
            state: State::Body,
            signature,
        })
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
        let (frame_length, message_id) = (self.header.body().frame_length, self.header.body().message_id);
        let mut prefix = [0u8; FINAL_PREFIX_LEN];
        match read_full(&mut self.inner, &mut prefix[..4])? {
            0 => return Err(FormatError::MissingFinalFrame.into()),
            4 => {}
            _ => return Err(FormatError::Truncated("frame header").into()),
        }
        let prefix_len = if prefix[..4] == [0xFF; 4] { FINAL_PREFIX_LEN } else { REGULAR_PREFIX_LEN };
        if read_full(&mut self.inner, &mut prefix[4..prefix_len])? != prefix_len - 4 {
            return Err(FormatError::Truncated("frame header").into());
        }
        let (parsed, _) = frame::parse_prefix(&prefix[..prefix_len], self.next_sequence, frame_length)?;
        let len = usize::try_from(parsed.content_len).expect("u32 fits in usize");
        // Grow with the data actually read, so a header that claims a huge frame costs
        // memory only for bytes that really arrive.
        self.frame.clear();
        self.frame.reserve(len.min(INITIAL_FRAME_RESERVE) + TAG_LEN);
        let wanted = (len + TAG_LEN) as u64;
        if (&mut self.inner).take(wanted).read_to_end(&mut self.frame).map_err(FrameError::Input)? as u64 != wanted {
            return Err(FormatError::Truncated("frame").into());
        }
        if let Some(check) = &mut self.signature {
            check.digest.update(&prefix[..prefix_len]);
            check.digest.update(&self.frame);
        }
        if parsed.kind == FrameKind::Final {
            // Nothing of the final frame is released before the signature (if any) verifies
            // and the end of input is confirmed.
            if let Some(check) = self.signature.take() {
                verify_footer(&mut self.inner, check)?;
            }
            let mut extra = [0u8; 1];
            if read_full(&mut self.inner, &mut extra)? != 0 {
                return Err(FormatError::TrailingData.into());
            }
        }
        let (ciphertext, tag) = self.frame.split_at_mut(len);
        let tag: &[u8; TAG_LEN] = (&*tag).try_into().expect("split at len");
        frame::open_frame(&self.keys, &message_id, parsed.kind, parsed.sequence, ciphertext, tag)?;
        self.next_sequence += 1;
        self.released = 0;
        self.authenticated = len;
        if parsed.kind == FrameKind::Final {
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
    let digest = check.digest.finish();
    signature::verify(&check.public_key, digest.as_ref(), &der)?;
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

/// Reads until `buf` is full or the input ends; returns how much was read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, FrameError> {
    let mut at = 0;
    while at < buf.len() {
        match r.read(&mut buf[at..]) {
            Ok(0) => break,
            Ok(n) => at += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Input(e)),
        }
    }
    Ok(at)
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
