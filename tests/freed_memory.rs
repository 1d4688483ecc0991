//! The claim "no plaintext is left in freed memory", attacked with an allocator that looks
//! inside every block as it is freed: messages whose frames outgrow the first decrypt buffer
//! are sealed (`stream::seal`, `Encryptor`) and opened on one thread (`Decryptor`) and on
//! several (`stream::open`), sealing is cut short, and no freed block may still hold the
//! plaintext.

use std::io::{Read, Write};

use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::kms::EncryptionContext;
use envcrypt::stream::{self, Decryptor, Encryptor, OpenOptions, SealOptions};
use envcrypt_testkit::freed_memory::{self, FreedMemoryScanner, MarkerSink, MARKER};
use envcrypt_testkit::TempStore;
use zeroize::Zeroizing;

#[global_allocator]
static SCANNER: FreedMemoryScanner = FreedMemoryScanner;

/// Plaintext made of the marker, held in a buffer that is wiped when dropped.
fn marked_plaintext(len: usize) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(MARKER.iter().copied().cycle().take(len).collect())
}

#[test]
fn opened_plaintext_never_stays_in_freed_memory() {
    let store = TempStore::new();
    let keyring = Keyring::new().with_key(store.service.clone(), store.key.clone());
    let policy = OpenPolicy::discovery(store.services());
    // Frames smaller than, equal to and larger than the first buffer a reader sets aside
    // (1 MiB), a final frame of another size than the rest, and a message far shorter than
    // its frame.
    let cases = [(4096, 300_001), (1 << 20, (3 << 20) + 5), (3 << 20, (7 << 20) + 9), (256 << 10, 1_000)];
    for (frame_length, len) in cases {
        let plaintext = marked_plaintext(len);
        let mut sealed = Vec::new();
        let options = SealOptions { frame_length, ..SealOptions::default() };
        freed_memory::arm();
        stream::seal(&plaintext[..], &mut sealed, &keyring, &EncryptionContext::new(), &options).unwrap();
        let mut encryptor = Encryptor::new(Vec::new(), &keyring, &EncryptionContext::new(), &options).unwrap();
        encryptor.write_all(&plaintext).unwrap();
        encryptor.finish().unwrap();
        drop(plaintext);
        assert_eq!(freed_memory::disarm(), 0, "sealing left plaintext in freed memory (frames of {frame_length})");

        freed_memory::arm();
        for threads in [1, 3] {
            let mut sink = MarkerSink::default();
            let options = OpenOptions { threads, ..OpenOptions::default() };
            stream::open(&sealed[..], &mut sink, &policy, &options).unwrap();
            assert_eq!(sink.received, len);
        }
        let mut reader = Decryptor::new(&sealed[..], &policy).unwrap();
        let mut chunk = Zeroizing::new(vec![0u8; 100_000]);
        let mut sink = MarkerSink::default();
        loop {
            let n = reader.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            sink.write_all(&chunk[..n]).unwrap();
        }
        drop(reader);
        drop(chunk);
        let found = freed_memory::disarm();
        assert_eq!(sink.received, len);
        assert_eq!(found, 0, "{found} freed block(s) held plaintext (frames of {frame_length} bytes)");
    }

    // Sealing that stops partway (the input fails, on one thread or several, or an
    // `Encryptor` is dropped unfinished) leaves plaintext that was never encrypted in place:
    // it must be wiped all the same. The input writes plaintext over all the room it is
    // given and reports less, as `Read` allows, until it fails.
    for (frame_length, len, threads) in [(256 << 10, 1_000, 1), (256 << 10, 100_000, 1), (4096, 100_000, 3)] {
        freed_memory::arm();
        let options = SealOptions { frame_length, threads, ..SealOptions::default() };
        let input = SprayingInput { left: len };
        let result = stream::seal(input, Vec::new(), &keyring, &EncryptionContext::new(), &options);
        assert!(result.is_err(), "the input failed");
        let plaintext = marked_plaintext(len);
        let mut encryptor = Encryptor::new(Vec::new(), &keyring, &EncryptionContext::new(), &options).unwrap();
        encryptor.write_all(&plaintext).unwrap();
        drop(encryptor);
        drop(plaintext);
        let found = freed_memory::disarm();
        assert_eq!(
            found, 0,
            "{found} freed block(s) held plaintext after sealing stopped ({len} bytes, {threads} threads)"
        );
    }
}

/// Input that fills every buffer it is given with plaintext, reports half of it, and fails
/// once `left` bytes are reported.
struct SprayingInput {
    left: usize,
}

impl Read for SprayingInput {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other("the disk went away"));
        }
        for (byte, marker) in buf.iter_mut().zip(MARKER.iter().cycle()) {
            *byte = *marker;
        }
        let reported = (buf.len() / 2).clamp(1, self.left);
        self.left -= reported;
        Ok(reported)
    }
}
