//! How to seal and how to open: frame size, suite, declared length, limits, threads.

use crate::context::EncryptionContext;
use crate::message::{AlgorithmSuite, CommitmentPolicy, ParseLimits};

/// The default plaintext bytes per frame (see bench/README.md, "Frame size", for the
/// measurement behind it).
pub const DEFAULT_FRAME_LENGTH: u32 = 256 * 1024;

/// How to seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealOptions {
    /// Plaintext bytes per frame: a non-zero multiple of 16.
    pub frame_length: u32,
    /// The algorithm suite; it must be one `commitment_policy` allows to write.
    pub suite: AlgorithmSuite,
    /// Which suites may be written.
    pub commitment_policy: CommitmentPolicy,
    /// The plaintext length, if known in advance. Sealing fails if the plaintext turns out
    /// longer. A [`Keyring`](crate::keyring::Keyring) with a data-key cache only caches for messages of known length,
    /// because its byte limit is charged before the message is written.
    pub plaintext_length: Option<u64>,
    /// Threads for [`seal`](super::seal) (at least 1; [`Encryptor`](super::Encryptor) always uses one).
    pub threads: usize,
}

impl Default for SealOptions {
    fn default() -> Self {
        Self {
            frame_length: DEFAULT_FRAME_LENGTH,
            suite: AlgorithmSuite::AesGcm256HkdfSha512Committing,
            commitment_policy: CommitmentPolicy::default(),
            plaintext_length: None,
            threads: default_threads(),
        }
    }
}

/// How to open.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Bounds on what a header may claim.
    pub limits: ParseLimits,
    /// Which suites may be opened (by default only the committing ones).
    pub commitment_policy: CommitmentPolicy,
    /// Pairs the message's encryption context must contain.
    pub required_context: EncryptionContext,
    /// Refuse signed messages right after the header (the official CLI's `--decrypt-unsigned`):
    /// their last frame can only be released once the whole message has been read.
    pub unsigned_only: bool,
    /// Threads for [`open`](super::open) (at least 1; [`Decryptor`](super::Decryptor) always uses one).
    pub threads: usize,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            limits: ParseLimits::default(),
            commitment_policy: CommitmentPolicy::default(),
            required_context: EncryptionContext::new(),
            unsigned_only: false,
            threads: default_threads(),
        }
    }
}

/// The default thread count: one per core.
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
