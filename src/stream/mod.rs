//! Streaming seal and open over `std::io::Write` and `Read`, in bounded memory.
//!
//! [`seal`] and [`open`] move a whole `Read` into a `Write` on several threads: frames are
//! encrypted or decrypted in parallel and written in order, with one frame buffer per thread
//! (see `parallel.rs`). Files, stdin/stdout and S3 objects all go through them.
//!
//! [`Encryptor`] (a `Write`) and [`Decryptor`] (a `Read`) are the one-thread streaming forms,
//! for callers that produce or consume data piece by piece. [`Encryptor`] buffers one frame of plaintext and writes each frame as soon as it is full;
//! [`Encryptor::finish`] writes the final frame with what is left. Forgetting `finish`
//! leaves a message without its final frame, which every reader refuses.
//!
//! [`Decryptor`] reads the header, unwraps the data key through an
//! [`OpenPolicy`](crate::keyring::OpenPolicy), checks the key commitment and the header tag,
//! and then releases each frame's plaintext only after that frame's tag verifies. A message
//! that is cut short, reordered, altered or followed by extra bytes ends in an error, never
//! in a clean end-of-file; callers that must not expose partial output (files) write to a
//! temporary file and keep it only when reading reached the end without error.

mod decrypt;
mod encrypt;
mod parallel;
mod rewrap;

pub use decrypt::{Decryptor, OpenOptions};
pub use encrypt::{Encryptor, SealOptions, DEFAULT_FRAME_LENGTH};
pub use parallel::{open, seal, Opened, Sealed};
pub use rewrap::{rewrap_header, RewrapError, RewrapRequest, Rewrapped};

use crate::context::ContextError;
use crate::keyring::KeyringError;
use crate::message::{FormatError, Header, ParseLimits};

/// Why a message could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the underlying stream failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Reading the input of [`seal`] or [`open`] failed.
    #[error("reading the input: {0}")]
    Input(std::io::Error),
    /// Writing the output of [`seal`] or [`open`] failed.
    #[error("writing the output: {0}")]
    Output(std::io::Error),
    /// The message is malformed or failed authentication.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// A key could not wrap or unwrap the data key.
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// The encryption context is invalid.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// A re-wrap request cannot be carried out.
    #[error(transparent)]
    Rewrap(#[from] RewrapError),
    /// The message lacks a context pair the caller requires.
    #[error("the message's encryption context does not contain {key}={value}")]
    ContextMismatch {
        /// The required key.
        key: String,
        /// The required value.
        value: String,
    },
}

impl Error {
    /// Recovers a [`FormatError`] that travelled inside an `io::Error` from [`Decryptor`]'s `Read`.
    pub fn from_io(error: std::io::Error) -> Self {
        match error.get_ref().and_then(|e| e.downcast_ref::<FormatError>()) {
            Some(format) => Self::Format(format.clone()),
            None => Self::Io(error),
        }
    }
}

/// Reads and parses a message header without opening anything: for `inspect`.
pub fn read_header(reader: &mut impl std::io::Read, limits: &ParseLimits) -> Result<Header, Error> {
    decrypt::read_header_and_rest(reader, limits).map(|(header, _)| header)
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn read_full(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
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

fn format_to_io(error: FormatError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, error)
}
