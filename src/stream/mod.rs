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
mod error;
mod options;
mod parallel;
mod rewrap;

pub use decrypt::Decryptor;
pub use encrypt::Encryptor;
pub use error::{Error, RewrapError};
pub use options::{OpenOptions, SealOptions, DEFAULT_FRAME_LENGTH};
pub use parallel::{open, seal, Opened, Sealed};
pub use rewrap::{rewrap_header, RewrapRequest, Rewrapped};

use crate::message::{Header, ParseLimits};

/// Reads and parses a message header without opening anything: for `inspect`.
pub fn read_header(reader: &mut impl std::io::Read, limits: &ParseLimits) -> Result<Header, Error> {
    decrypt::read_header_and_rest(reader, limits).map(|(header, _)| header)
}
