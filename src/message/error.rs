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
    /// Neither message format 1 nor 2.
    #[error("unsupported message version 0x{0:02x} (Encryption SDK messages are version 1 or 2)")]
    UnsupportedVersion(u8),
    /// A format-1 message type other than customer authenticated encrypted data (0x80).
    #[error("unsupported message type 0x{0:02x} (format 1 has only type 0x80)")]
    UnsupportedMessageType(u8),
    /// The format-1 reserved field is not zero.
    #[error("the header's reserved field is not zero")]
    ReservedFieldSet,
    /// A format-1 IV length other than 12.
    #[error("the header declares {0}-byte IVs; every suite uses 12")]
    InvalidIvLength(u8),
    /// The header's fields do not fit its suite (message id length, key commitment).
    #[error("the header does not fit its algorithm suite 0x{0:04x}")]
    SuiteMismatch(u16),
    /// The commitment policy refuses the suite.
    #[error("{reason}")]
    CommitmentPolicy {
        /// The message's suite.
        suite: u16,
        /// Whether sealing (rather than opening) was refused.
        sealing: bool,
        /// Why, and which policy would allow it.
        reason: String,
    },
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
    #[error("unsupported content type 0x{0:02x} (0x01 non-framed or 0x02 framed)")]
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
    #[error("the data key is {found} bytes; the suite needs {expected}")]
    DataKeyLength {
        /// The data key's length.
        found: usize,
        /// The suite's data key length.
        expected: usize,
    },
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
    /// A non-framed body longer than the format allows or the reader buffers.
    #[error(
        "the non-framed body claims {length} bytes, more than the limit of {limit} \
         (it is held in memory until its tag verifies)"
    )]
    NonFramedBodyOverLimit {
        /// Claimed length.
        length: u64,
        /// The configured limit.
        limit: u32,
    },
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
    #[error("the signature footer claims {0} bytes, which no ECDSA P-256 or P-384 signature has")]
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
