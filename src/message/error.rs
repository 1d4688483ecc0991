//! [`FormatError`]: why bytes are not a valid message or failed to authenticate.

use crate::context::ContextError;

/// Why bytes are not a valid message, or failed to authenticate.
///
/// Authentication failures say where (header, which frame) but not why: the cause is
/// either tampering or the wrong key, and the format cannot tell which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// More bytes are needed to parse the structure; `needed` is a lower bound on the total.
    #[error("the message is cut short (at least {needed} bytes are needed)")]
    Incomplete {
        /// Bytes needed from the start of the structure.
        needed: usize,
    },
    /// The input ended inside a structure.
    #[error("the message is truncated: it ends inside the {0}")]
    Truncated(&'static str),
    /// Not a version-2 message.
    #[error("unsupported message version 0x{0:02x} (envcrypt reads version 2, the committing format)")]
    UnsupportedVersion(u8),
    /// An algorithm suite envcrypt does not read.
    #[error("unsupported algorithm suite 0x{0:04x}")]
    UnsupportedSuite(u16),
    /// The header lists no encrypted data keys.
    #[error("the header lists no encrypted data keys")]
    NoEncryptedDataKeys,
    /// More encrypted data keys than the configured limit.
    #[error("the header lists {count} encrypted data keys, more than the limit of {limit}")]
    TooManyEncryptedDataKeys {
        /// How many the header claims.
        count: u16,
        /// The configured limit.
        limit: u16,
    },
    /// A provider id is not UTF-8.
    #[error("an encrypted data key's provider id is not UTF-8")]
    ProviderIdNotUtf8,
    /// A provider id uses a prefix reserved for another key type.
    #[error("provider id {0:?} is reserved")]
    ReservedProviderId(String),
    /// A length-prefixed field is too long for its u16 prefix.
    #[error("the {0} is too long for the message format")]
    FieldTooLong(&'static str),
    /// Content type other than framed.
    #[error("unsupported content type 0x{0:02x} (only framed content, 0x02, is read)")]
    UnsupportedContentType(u8),
    /// A frame length of zero, or not valid for the format.
    #[error("invalid frame length {0}")]
    InvalidFrameLength(u32),
    /// The frame length exceeds what this reader is configured to buffer.
    #[error("the frame length {frame_length} exceeds the limit of {limit} bytes")]
    FrameLengthOverLimit {
        /// The header's frame length.
        frame_length: u32,
        /// The configured limit.
        limit: u32,
    },
    /// The encryption context is malformed or uses reserved keys.
    #[error("encryption context: {0}")]
    Context(#[from] ContextError),
    /// A context key uses the reserved `aws-crypto-` prefix.
    #[error("encryption context key {0:?} uses the reserved prefix aws-crypto-")]
    ReservedContextKey(String),
    /// The data key has the wrong length for the suite.
    #[error("the data key is {0} bytes; the suite needs 32")]
    DataKeyLength(usize),
    /// The commitment key derived from the data key does not match the header.
    #[error("key commitment check failed: the data key does not belong to this message")]
    CommitmentMismatch,
    /// The header authentication tag did not verify.
    #[error("header authentication failed: the header was altered")]
    HeaderAuthentication,
    /// A frame's tag did not verify.
    #[error("frame {sequence} failed authentication: the message was altered")]
    FrameAuthentication {
        /// The frame's sequence number.
        sequence: u32,
    },
    /// Frames out of order, or one missing.
    #[error("frame {found} found where frame {expected} was expected: frames were removed or reordered")]
    SequenceMismatch {
        /// The next sequence number.
        expected: u32,
        /// What the frame says.
        found: u32,
    },
    /// A frame IV is not the one its sequence number fixes.
    #[error("frame {0} has an IV that does not match its sequence number")]
    FrameIvMismatch(u32),
    /// The final frame claims more content than a frame holds.
    #[error("the final frame claims {length} bytes, more than the frame length {frame_length}")]
    FinalFrameTooLong {
        /// Claimed length.
        length: u32,
        /// The header's frame length.
        frame_length: u32,
    },
    /// A signed suite's header lacks the public key, or an unsigned one carries it.
    #[error("{0}")]
    PublicKey(&'static str),
    /// The footer's length field is out of range.
    #[error("the signature footer claims {0} bytes, more than an ECDSA P-384 signature can be")]
    SignatureTooLong(u16),
    /// A signed message where only unsigned ones were accepted.
    #[error("the message is signed (suite 0x{0:04x}) and only unsigned messages are accepted")]
    SignedMessageRefused(u16),
    /// The footer signature did not verify.
    #[error("the message signature does not verify: the message was altered or signed by someone else")]
    SignatureInvalid,
    /// Bytes after the end of the message.
    #[error("unexpected bytes after the end of the message")]
    TrailingData,
    /// The message ended without its final frame.
    #[error("the message is truncated: the final frame is missing")]
    MissingFinalFrame,
    /// The plaintext needs more frames than sequence numbers allow.
    #[error("the plaintext is too long for this frame length")]
    TooManyFrames,
    /// More plaintext arrived than the caller declared.
    #[error("the plaintext is longer than the declared {declared} bytes")]
    PlaintextTooLong {
        /// The declared length.
        declared: u64,
    },
}
