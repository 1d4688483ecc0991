//! The body: regular frames, the final frame, or one non-framed block; their AAD and IVs.
//!
//! ```text
//! regular:    sequence (u32) · IV (12) · ciphertext (frame length) · tag (16)
//! final:      FFFFFFFF · sequence (u32) · IV (12) · content length (u32) · ciphertext · tag (16)
//! non-framed: IV (12) · content length (u64) · ciphertext · tag (16)
//! ```
//! envcrypt writes the IV 8 zero bytes ‖ sequence number, as the official SDKs do, and reads
//! the IV each frame stores, as the specification says. The AAD is message id (16 or 32
//! bytes) ‖ content string ‖ sequence number (u32) ‖ content length (u64).

use super::{FormatError, MessageKeys, MESSAGE_ID_V2_LEN};
use crate::crypto::{NONCE_LEN, TAG_LEN};

/// Marks the final frame.
pub const FINAL_FRAME_MARKER: u32 = 0xFFFF_FFFF;
/// Bytes before a regular frame's ciphertext.
pub const REGULAR_PREFIX_LEN: usize = 4 + NONCE_LEN;
/// Bytes before the final frame's ciphertext.
pub const FINAL_PREFIX_LEN: usize = 4 + 4 + NONCE_LEN + 4;
/// Bytes before a non-framed body's ciphertext.
pub const NON_FRAMED_PREFIX_LEN: usize = NONCE_LEN + 8;
/// The largest non-framed body the format allows: 2^36 − 32 bytes.
pub const MAX_NON_FRAMED_LENGTH: u64 = (1 << 36) - 32;

const REGULAR_CONTENT: &[u8] = b"AWSKMSEncryptionClient Frame";
const FINAL_CONTENT: &[u8] = b"AWSKMSEncryptionClient Final Frame";
const NON_FRAMED_CONTENT: &[u8] = b"AWSKMSEncryptionClient Single Block";
const MAX_AAD_LEN: usize = MESSAGE_ID_V2_LEN + NON_FRAMED_CONTENT.len() + 4 + 8;

/// Regular frame, final frame, or the single block of a non-framed body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A full frame that is not the last.
    Regular,
    /// The last frame, holding 0 to frame-length bytes.
    Final,
    /// The whole body of a non-framed message (content type 01): sequence number 1.
    NonFramed,
}

impl FrameKind {
    /// Whether nothing follows this frame but the footer.
    pub fn is_last(self) -> bool {
        self != Self::Regular
    }
}

/// The IV envcrypt writes for frame `sequence`.
pub fn frame_iv(sequence: u32) -> [u8; NONCE_LEN] {
    let mut iv = [0u8; NONCE_LEN];
    iv[8..].copy_from_slice(&sequence.to_be_bytes());
    iv
}

fn body_aad(message_id: &[u8], kind: FrameKind, sequence: u32, len: usize) -> ([u8; MAX_AAD_LEN], usize) {
    let content = match kind {
        FrameKind::Regular => REGULAR_CONTENT,
        FrameKind::Final => FINAL_CONTENT,
        FrameKind::NonFramed => NON_FRAMED_CONTENT,
    };
    let mut aad = [0u8; MAX_AAD_LEN];
    let mut at = 0;
    for part in [message_id, content, &sequence.to_be_bytes(), &(len as u64).to_be_bytes()] {
        aad[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    (aad, at)
}

/// The bytes before a frame's ciphertext (regular or final frames: envcrypt writes only those).
pub fn encode_prefix(kind: FrameKind, sequence: u32, content_len: u32, out: &mut Vec<u8>) {
    if kind == FrameKind::Final {
        out.extend_from_slice(&FINAL_FRAME_MARKER.to_be_bytes());
    }
    out.extend_from_slice(&sequence.to_be_bytes());
    out.extend_from_slice(&frame_iv(sequence));
    if kind == FrameKind::Final {
        out.extend_from_slice(&content_len.to_be_bytes());
    }
}

/// Encrypts one frame's plaintext in place under the IV [`frame_iv`] gives, and returns its tag.
pub fn seal_frame(
    keys: &MessageKeys,
    message_id: &[u8],
    kind: FrameKind,
    sequence: u32,
    in_out: &mut [u8],
) -> [u8; TAG_LEN] {
    let (aad, aad_len) = body_aad(message_id, kind, sequence, in_out.len());
    keys.content().seal_detached(frame_iv(sequence), &aad[..aad_len], in_out)
}

/// Decrypts one frame in place, or fails without releasing anything.
pub fn open_frame(
    keys: &MessageKeys,
    message_id: &[u8],
    prefix: &FramePrefix,
    in_out: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), FormatError> {
    let (aad, aad_len) = body_aad(message_id, prefix.kind, prefix.sequence, in_out.len());
    keys.content()
        .open_detached(prefix.iv, &aad[..aad_len], in_out, tag)
        .map_err(|_| FormatError::FrameAuthentication { sequence: prefix.sequence })
}

/// A parsed frame prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramePrefix {
    /// Regular, final, or non-framed.
    pub kind: FrameKind,
    /// The sequence number (1 for a non-framed body).
    pub sequence: u32,
    /// The IV stored with the frame.
    pub iv: [u8; NONCE_LEN],
    /// Ciphertext bytes that follow (before the tag).
    pub content_len: u32,
}

fn need(input: &[u8], n: usize) -> Result<(), FormatError> {
    if input.len() < n {
        return Err(FormatError::Incomplete { needed: n });
    }
    Ok(())
}

fn u32_at(input: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(input[at..at + 4].try_into().expect("4 bytes"))
}

/// Parses a frame prefix from the start of `input`, checking the sequence number and the
/// final frame's length. Returns the prefix and its length on the wire.
pub fn parse_prefix(
    input: &[u8],
    expected_sequence: u32,
    frame_length: u32,
) -> Result<(FramePrefix, usize), FormatError> {
    need(input, 4)?;
    let (kind, at) =
        if u32_at(input, 0) == FINAL_FRAME_MARKER { (FrameKind::Final, 4) } else { (FrameKind::Regular, 0) };
    let prefix_len = if kind == FrameKind::Final { FINAL_PREFIX_LEN } else { REGULAR_PREFIX_LEN };
    need(input, prefix_len)?;
    let sequence = u32_at(input, at);
    if sequence != expected_sequence {
        return Err(FormatError::SequenceMismatch { expected: expected_sequence, found: sequence });
    }
    let iv = input[at + 4..at + 4 + NONCE_LEN].try_into().expect("12 bytes");
    let content_len = match kind {
        FrameKind::Final => {
            let length = u32_at(input, at + 4 + NONCE_LEN);
            if length > frame_length {
                return Err(FormatError::FinalFrameTooLong { length, frame_length });
            }
            length
        }
        _ => frame_length,
    };
    Ok((FramePrefix { kind, sequence, iv, content_len }, prefix_len))
}

/// Parses the prefix of a non-framed body, refusing a length over the format's maximum or
/// over `limit`: the whole block must be held until its tag verifies.
pub fn parse_non_framed_prefix(input: &[u8], limit: u32) -> Result<(FramePrefix, usize), FormatError> {
    need(input, NON_FRAMED_PREFIX_LEN)?;
    let iv = input[..NONCE_LEN].try_into().expect("12 bytes");
    let length = u64::from_be_bytes(input[NONCE_LEN..NON_FRAMED_PREFIX_LEN].try_into().expect("8 bytes"));
    if length > MAX_NON_FRAMED_LENGTH || length > u64::from(limit) {
        return Err(FormatError::NonFramedBodyOverLimit { length, limit });
    }
    let content_len = u32::try_from(length).expect("at most the u32 limit");
    Ok((FramePrefix { kind: FrameKind::NonFramed, sequence: 1, iv, content_len }, NON_FRAMED_PREFIX_LEN))
}
