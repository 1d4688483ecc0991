//! The local ciphertext blob, version 1.
//!
//! ```text
//! offset  size  field
//!      0     3  magic "ECK"
//!      3     1  version 0x01
//!      4    16  key id (the UUID's 16 bytes)
//!     20     4  backing key number (u32 big-endian, 1 for the key's first backing key)
//!     24    12  IV (random)
//!     36     n  AES-256-GCM ciphertext (n ≤ 4096)
//!   36+n    16  GCM tag
//! ```
//!
//! The AAD is the first 36 bytes followed by the encryption context serialized as in the
//! message format ([`BoundContext`]: checked first, never replaced by another encoding), so
//! neither the key reference nor the context can be changed without failing authentication. The IV is random: one backing key encrypts at most a few billion
//! blobs before rotation is due, well inside the 2^32 bound for random 96-bit IVs.

use crate::crypto::{Aes256Gcm, NONCE_LEN, TAG_LEN};
use crate::kms::{BoundContext, MAX_ENCRYPT_PLAINTEXT};

const MAGIC: &[u8; 3] = b"ECK";
const VERSION: u8 = 1;
/// Length of the authenticated prefix (magic to IV).
pub const HEADER_LEN: usize = 36;

/// The parsed prefix of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobHeader {
    /// The CMK's key id bytes.
    pub key_id: [u8; 16],
    /// Which backing key of the CMK encrypted it.
    pub backing_key: u32,
    /// The GCM IV.
    pub iv: [u8; NONCE_LEN],
}

/// Why a blob was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// Not a version-1 envcrypt local blob, or cut short.
    #[error("not an envcrypt local ciphertext blob ({0})")]
    Malformed(&'static str),
    /// The tag did not verify: tampered ciphertext, or another encryption context.
    #[error("the ciphertext failed authentication: it was altered, or the encryption context differs")]
    Unauthenticated,
}

impl BlobHeader {
    /// Parses the prefix and splits off the ciphertext and tag.
    pub fn parse(blob: &[u8]) -> Result<(Self, &[u8], &[u8; TAG_LEN]), BlobError> {
        if blob.len() < HEADER_LEN + TAG_LEN {
            return Err(BlobError::Malformed("too short"));
        }
        if blob.len() > HEADER_LEN + MAX_ENCRYPT_PLAINTEXT + TAG_LEN {
            return Err(BlobError::Malformed("too long"));
        }
        if &blob[..3] != MAGIC {
            return Err(BlobError::Malformed("bad magic"));
        }
        if blob[3] != VERSION {
            return Err(BlobError::Malformed("unknown version"));
        }
        let header = Self {
            key_id: blob[4..20].try_into().expect("16 bytes"),
            backing_key: u32::from_be_bytes(blob[20..24].try_into().expect("4 bytes")),
            iv: blob[24..36].try_into().expect("12 bytes"),
        };
        let (ciphertext, tag) = blob[HEADER_LEN..].split_at(blob.len() - HEADER_LEN - TAG_LEN);
        Ok((header, ciphertext, tag.try_into().expect("16 bytes")))
    }

    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..3].copy_from_slice(MAGIC);
        out[3] = VERSION;
        out[4..20].copy_from_slice(&self.key_id);
        out[20..24].copy_from_slice(&self.backing_key.to_be_bytes());
        out[24..].copy_from_slice(&self.iv);
        out
    }
}

fn aad(prefix: &[u8], context: &BoundContext) -> Vec<u8> {
    [prefix, context.as_bytes()].concat()
}

/// Encrypts `plaintext` under `backing_key` into a blob. The caller supplies the IV so that
/// known-answer vectors can pin the layout; [`crate::crypto::random_array`] is the only
/// source of IVs outside tests.
pub fn seal(backing_key: &Aes256Gcm, header: BlobHeader, context: &BoundContext, plaintext: &[u8]) -> Vec<u8> {
    let prefix = header.encode();
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&prefix);
    out.extend_from_slice(plaintext);
    let tag = backing_key.seal_detached(header.iv, &aad(&prefix, context), &mut out[HEADER_LEN..]);
    out.extend_from_slice(&tag);
    out
}

/// Decrypts a blob whose header was parsed with [`BlobHeader::parse`].
pub fn open(
    backing_key: &Aes256Gcm,
    blob: &[u8],
    context: &BoundContext,
) -> Result<zeroize::Zeroizing<Vec<u8>>, BlobError> {
    let (header, ciphertext, tag) = BlobHeader::parse(blob)?;
    let mut plaintext = zeroize::Zeroizing::new(ciphertext.to_vec());
    backing_key
        .open_detached(header.iv, &aad(&blob[..HEADER_LEN], context), &mut plaintext, tag)
        .map_err(|_| BlobError::Unauthenticated)?;
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::EncryptionContext;

    fn sample() -> (Aes256Gcm, BlobHeader, BoundContext) {
        let mut ctx = EncryptionContext::new();
        ctx.insert("purpose", "test").unwrap();
        let bound = BoundContext::new(&ctx).unwrap();
        (Aes256Gcm::new(&[9u8; 32]), BlobHeader { key_id: [1; 16], backing_key: 2, iv: [3; 12] }, bound)
    }

    #[test]
    fn round_trip_and_context_binding() {
        let (key, header, ctx) = sample();
        let blob = seal(&key, header, &ctx, b"data key");
        assert_eq!(BlobHeader::parse(&blob).unwrap().0, header);
        assert_eq!(&*open(&key, &blob, &ctx).unwrap(), b"data key");
        let empty = BoundContext::new(&EncryptionContext::new()).unwrap();
        assert_eq!(open(&key, &blob, &empty), Err(BlobError::Unauthenticated));
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let (key, header, ctx) = sample();
        let blob = seal(&key, header, &ctx, b"k");
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x80;
            assert!(open(&key, &bad, &ctx).is_err(), "flip at {i} accepted");
        }
        for len in 0..blob.len() {
            assert!(open(&key, &blob[..len], &ctx).is_err());
        }
    }
}
