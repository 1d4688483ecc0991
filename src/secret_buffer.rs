//! A growable byte buffer for plaintext that never leaves a copy in freed memory.
//!
//! `Vec<u8>` grows by reallocating: the allocator copies the old block and frees it as it is,
//! and a `Zeroizing<Vec<u8>>` wipes only the block it holds last. [`SecretBuffer`] grows by
//! allocating the new block itself, copying, and wiping the old block's whole capacity before
//! freeing it; dropping it wipes the last one. Decrypted frames, and plaintext held back until
//! it authenticates, live in one.

use std::io::{self, Read, Write};
use std::ops::{Deref, DerefMut};

use zeroize::Zeroize;

/// Bytes wiped from every block they ever occupied.
#[derive(Default)]
pub struct SecretBuffer {
    bytes: Vec<u8>,
}

impl SecretBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty buffer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { bytes: Vec::with_capacity(capacity) }
    }

    /// Forgets the contents (they are wiped when the block is reused, grown or dropped).
    pub fn clear(&mut self) {
        self.bytes.clear();
    }

    /// The bytes it can hold without growing.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Makes room for `additional` more bytes, moving to a larger block if needed and wiping
    /// the old one.
    pub fn reserve(&mut self, additional: usize) {
        let needed = self.bytes.len().saturating_add(additional);
        if needed <= self.bytes.capacity() {
            return;
        }
        let capacity = needed.max(self.bytes.capacity().saturating_mul(2));
        let mut larger = Vec::with_capacity(capacity);
        larger.extend_from_slice(&self.bytes);
        // `Zeroize` for `Vec` wipes the spare capacity too.
        std::mem::replace(&mut self.bytes, larger).zeroize();
    }

    /// Appends `data`.
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        self.reserve(data.len());
        self.bytes.extend_from_slice(data);
    }

    /// Appends exactly `wanted` bytes read from `reader`, growing (from at most `first_block`
    /// bytes of room) only as bytes arrive, so that a length claimed by hostile input costs
    /// memory only for what really comes. Returns how many bytes were appended: fewer than
    /// `wanted` only if the input ended.
    pub fn append_from(&mut self, reader: &mut impl Read, wanted: usize, first_block: usize) -> io::Result<usize> {
        let start = self.bytes.len();
        let target = start.saturating_add(wanted);
        self.reserve(wanted.min(first_block.max(1)));
        while self.bytes.len() < target {
            if self.bytes.len() == self.bytes.capacity() {
                self.reserve((target - self.bytes.len()).min(self.bytes.capacity().max(1)));
            }
            let filled = self.bytes.len();
            let room = self.bytes.capacity().min(target);
            // Within capacity, so this never reallocates.
            self.bytes.resize(room, 0);
            match reader.read(&mut self.bytes[filled..room]) {
                Ok(0) => {
                    self.bytes.truncate(filled);
                    break;
                }
                Ok(n) => self.bytes.truncate(filled + n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.bytes.truncate(filled),
                Err(e) => {
                    self.bytes.truncate(filled);
                    return Err(e);
                }
            }
        }
        Ok(self.bytes.len() - start)
    }
}

impl Deref for SecretBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl DerefMut for SecretBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

impl Write for SecretBuffer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for SecretBuffer {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl std::fmt::Debug for SecretBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBuffer(** redacted **, {} bytes)", self.bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_only_with_what_arrives_and_reads_exactly_what_is_wanted() {
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let mut buffer = SecretBuffer::new();
        assert_eq!(buffer.append_from(&mut &data[..], 4_000, 1_000).unwrap(), 4_000);
        assert_eq!(&buffer[..], &data[..4_000]);
        assert_eq!(buffer.append_from(&mut &data[4_000..], 100_000, 1_000).unwrap(), 6_000);
        assert_eq!(&buffer[..], &data[..]);
        assert!(buffer.capacity() < 20_000, "grew with the data, not the claim: {}", buffer.capacity());
        buffer.clear();
        write!(buffer, "hello").unwrap();
        assert_eq!(&buffer[..], b"hello");
        assert!(format!("{buffer:?}").contains("redacted"));
    }
}
