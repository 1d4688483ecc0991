//! Framed body: regular frames, the final frame, and their AAD and IVs.
//!
//! ```text
//! regular: sequence (u32) · IV (12) · ciphertext (frame length) · tag (16)
//! final:   FFFFFFFF · sequence (u32) · IV (12) · content length (u32) · ciphertext · tag (16)
//! ```
//! The IV is 8 zero bytes and the sequence number; the AAD is message id (32 bytes in v2) ‖
//! content string ‖ sequence number (u32) ‖ content length (u64).

use super::{FormatError, MessageKeys, MESSAGE_ID_LEN};
use crate::crypto::{NONCE_LEN, TAG_LEN};

/// Marks the final frame.
pub const FINAL_FRAME_MARKER: u32 = 0xFFFF_FFFF;
/// Bytes before a regular frame's ciphertext.
pub const REGULAR_PREFIX_LEN: usize = 4 + NONCE_LEN;
/// Bytes before the final frame's ciphertext.
pub const FINAL_PREFIX_LEN: usize = 4 + 4 + NONCE_LEN + 4;

const REGULAR_CONTENT: &[u8] = b"AWSKMSEncryptionClient Frame";
const FINAL_CONTENT: &[u8] = b"AWSKMSEncryptionClient Final Frame";
const MAX_AAD_LEN: usize = MESSAGE_ID_LEN + FINAL_CONTENT.len() + 4 + 8;

/// Regular or final frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A full frame that is not the last.
    Regular,
    /// The last frame, holding 0 to frame-length bytes.
    Final,
}

/// The IV of frame `sequence`.
pub fn frame_iv(sequence: u32) -> [u8; NONCE_LEN] {
    let mut iv = [0u8; NONCE_LEN];
    iv[8..].copy_from_slice(&sequence.to_be_bytes());
    iv
}

fn body_aad(
    message_id: &[u8; MESSAGE_ID_LEN],
    kind: FrameKind,
    sequence: u32,
    len: usize,
) -> ([u8; MAX_AAD_LEN], usize) {
    let content = match kind {
        FrameKind::Regular => REGULAR_CONTENT,
        FrameKind::Final => FINAL_CONTENT,
    };
    let mut aad = [0u8; MAX_AAD_LEN];
    let mut at = 0;
    for part in [&message_id[..], content, &sequence.to_be_bytes(), &(len as u64).to_be_bytes()] {
        aad[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    (aad, at)
}

/// The bytes before a frame's ciphertext.
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

/// Encrypts one frame's plaintext in place and returns its tag.
pub fn seal_frame(
    keys: &MessageKeys,
    message_id: &[u8; MESSAGE_ID_LEN],
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
    message_id: &[u8; MESSAGE_ID_LEN],
    kind: FrameKind,
    sequence: u32,
    in_out: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), FormatError> {
    let (aad, aad_len) = body_aad(message_id, kind, sequence, in_out.len());
    keys.content()
        .open_detached(frame_iv(sequence), &aad[..aad_len], in_out, tag)
        .map_err(|_| FormatError::FrameAuthentication { sequence })
}

/// A parsed frame prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramePrefix {
    /// Regular or final.
    pub kind: FrameKind,
    /// The sequence number.
    pub sequence: u32,
    /// Ciphertext bytes that follow (before the tag).
    pub content_len: u32,
}

/// Parses a frame prefix from the start of `input`, checking the sequence number, the IV
/// and the final frame's length. Returns the prefix and its length on the wire.
pub fn parse_prefix(
    input: &[u8],
    expected_sequence: u32,
    frame_length: u32,
) -> Result<(FramePrefix, usize), FormatError> {
    let need = |n: usize| if input.len() < n { Err(FormatError::Incomplete { needed: n }) } else { Ok(()) };
    need(4)?;
    let first = u32::from_be_bytes(input[..4].try_into().expect("4 bytes"));
    let (kind, at) = if first == FINAL_FRAME_MARKER { (FrameKind::Final, 4) } else { (FrameKind::Regular, 0) };
    let prefix_len = if kind == FrameKind::Final { FINAL_PREFIX_LEN } else { REGULAR_PREFIX_LEN };
    need(prefix_len)?;
    let sequence = u32::from_be_bytes(input[at..at + 4].try_into().expect("4 bytes"));
    if sequence != expected_sequence {
        return Err(FormatError::SequenceMismatch { expected: expected_sequence, found: sequence });
    }
    if input[at + 4..at + 4 + NONCE_LEN] != frame_iv(sequence) {
        return Err(FormatError::FrameIvMismatch(sequence));
    }
    let content_len = match kind {
        FrameKind::Regular => frame_length,
        FrameKind::Final => {
            let length = u32::from_be_bytes(input[at + 16..at + 20].try_into().expect("4 bytes"));
            if length > frame_length {
                return Err(FormatError::FinalFrameTooLong { length, frame_length });
            }
            length
        }
    };
    Ok((FramePrefix { kind, sequence, content_len }, prefix_len))
}
