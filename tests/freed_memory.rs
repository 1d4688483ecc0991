//! The claim "no plaintext is left in freed memory", attacked with an allocator that looks
//! inside every block as it is freed: messages whose frames outgrow the first decrypt buffer
//! are sealed (`stream::seal`, `Encryptor`) and opened on one thread (`Decryptor`) and on
//! several (`stream::open`), and no freed block may still hold the plaintext.

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
    // (1 MiB), and a final frame of another size than the rest.
    for (frame_length, len) in [(4096, 300_001), (1 << 20, (3 << 20) + 5), (3 << 20, (7 << 20) + 9)] {
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
}
