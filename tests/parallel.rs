//! The parallel pipeline (`stream::seal` / `stream::open`) against the one-thread adapters:
//! the same bytes accepted, the same output released and the same error reported, whatever
//! the thread count and the scheduling.

use std::io::{self, Read, Write};
use std::sync::OnceLock;

use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::kms::EncryptionContext;
use envcrypt::message::FormatError;
use envcrypt::stream::{self, Decryptor, Encryptor, Error, OpenOptions, SealOptions};
use envcrypt_testkit::TempStore;
use proptest::prelude::*;

fn shared() -> &'static TempStore {
    static SHARED: OnceLock<TempStore> = OnceLock::new();
    SHARED.get_or_init(TempStore::new)
}

fn keyring() -> Keyring {
    let s = shared();
    Keyring::new().with_key(s.service.clone(), s.key.clone())
}

fn policy() -> OpenPolicy {
    OpenPolicy::discovery(shared().services())
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 13 + i / 509) as u8).collect()
}

/// A reader that hands out at most `chunk` bytes per call, like a pipe.
struct Trickle<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn seal_parallel(plaintext: &[u8], frame_length: u32, threads: usize) -> Vec<u8> {
    let options = SealOptions { frame_length, threads, ..SealOptions::default() };
    let mut sealed = Vec::new();
    let done = stream::seal(plaintext, &mut sealed, &keyring(), &EncryptionContext::new(), &options).unwrap();
    assert_eq!(done.plaintext_bytes, plaintext.len() as u64);
    sealed
}

fn seal_one_thread(plaintext: &[u8], frame_length: u32) -> Vec<u8> {
    let options = SealOptions { frame_length, ..SealOptions::default() };
    let mut writer = Encryptor::new(Vec::new(), &keyring(), &EncryptionContext::new(), &options).unwrap();
    writer.write_all(plaintext).unwrap();
    writer.finish().unwrap()
}

/// What the one-thread `Decryptor` releases before any error, and the error.
fn open_one_thread(message: &[u8]) -> (Vec<u8>, Option<String>) {
    let mut released = Vec::new();
    let mut reader = match Decryptor::new(message, &policy()) {
        Ok(reader) => reader,
        Err(e) => return (released, Some(e.to_string())),
    };
    let mut buf = [0u8; 1000];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return (released, None),
            Ok(n) => released.extend_from_slice(&buf[..n]),
            Err(e) => return (released, Some(Error::from_io(e).to_string())),
        }
    }
}

fn open_parallel(message: &[u8], threads: usize) -> (Vec<u8>, Option<String>) {
    let mut released = Vec::new();
    let options = OpenOptions { threads, ..OpenOptions::default() };
    match stream::open(message, &mut released, &policy(), &options) {
        Ok(opened) => {
            assert_eq!(opened.plaintext_bytes, released.len() as u64);
            (released, None)
        }
        Err(e) => (released, Some(e.to_string())),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn parallel_and_one_thread_forms_read_each_other(
        plaintext in proptest::collection::vec(any::<u8>(), 0..5000),
        frame_units in 1u32..20,
        threads in 1usize..5,
        chunk in 1usize..600,
    ) {
        let frame_length = frame_units * 16;
        let options = SealOptions { frame_length, threads, ..SealOptions::default() };
        let mut sealed = Vec::new();
        let input = Trickle { data: &plaintext, chunk };
        stream::seal(input, &mut sealed, &keyring(), &EncryptionContext::new(), &options).unwrap();
        prop_assert_eq!(open_one_thread(&sealed), (plaintext.clone(), None));

        let sealed = seal_one_thread(&plaintext, frame_length);
        prop_assert_eq!(open_parallel(&sealed, threads), (plaintext, None));
    }
}

#[test]
fn a_full_last_frame_is_followed_by_an_empty_final_frame() {
    let sealed = seal_parallel(&pattern(4 * 64), 64, 3);
    let reference = seal_one_thread(&pattern(4 * 64), 64);
    // Same layout as the one-thread writer: same length, different message id and keys.
    assert_eq!(sealed.len(), reference.len());
    assert_eq!(open_parallel(&sealed, 2), (pattern(4 * 64), None));
}

/// Every single-byte corruption and every truncation of the body: each thread count releases
/// exactly what one thread releases and reports the same error, on every run.
#[test]
fn failures_match_one_thread_whatever_the_scheduling() {
    let plaintext = pattern(9 * 256 + 100);
    let sealed = seal_one_thread(&plaintext, 256);
    let header_len = sealed.len() - (9 * (4 + 12 + 256 + 16) + (4 + 4 + 12 + 4 + 100 + 16));
    let mut damaged = Vec::new();
    for at in (header_len..sealed.len()).step_by(37) {
        let mut flipped = sealed.clone();
        flipped[at] ^= 0x40;
        damaged.push(flipped);
        damaged.push(sealed[..at].to_vec());
    }
    let mut trailing = sealed.clone();
    trailing.push(0);
    damaged.push(trailing);
    for message in &damaged {
        let expected = open_one_thread(message);
        assert!(expected.1.is_some(), "a damaged message opened");
        for threads in [2, 3, 4] {
            for _ in 0..3 {
                assert_eq!(open_parallel(message, threads), expected, "{threads} threads");
            }
        }
    }
}

#[test]
fn a_declared_length_is_enforced() {
    let plaintext = pattern(1000);
    for threads in [1, 2] {
        let exact = SealOptions { frame_length: 64, threads, plaintext_length: Some(1000), ..SealOptions::default() };
        let mut sealed = Vec::new();
        stream::seal(&plaintext[..], &mut sealed, &keyring(), &EncryptionContext::new(), &exact).unwrap();
        assert_eq!(open_parallel(&sealed, threads), (plaintext.clone(), None));

        let short = SealOptions { plaintext_length: Some(999), ..exact };
        let err = stream::seal(&plaintext[..], io::sink(), &keyring(), &EncryptionContext::new(), &short).unwrap_err();
        assert!(matches!(err, Error::Format(FormatError::PlaintextTooLong { declared: 999 })), "{err}");
    }
    let options = SealOptions { plaintext_length: Some(10), ..SealOptions::default() };
    let mut writer = Encryptor::new(io::sink(), &keyring(), &EncryptionContext::new(), &options).unwrap();
    writer.write_all(&[0; 10]).unwrap();
    assert!(writer.write_all(&[0]).is_err(), "the eleventh byte is refused");
}

struct Failing {
    after: usize,
}

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.after == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.after);
        buf[..n].fill(7);
        self.after -= n;
        Ok(n)
    }
}

impl Write for Failing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.after == 0 {
            return Err(io::Error::other("disk full"));
        }
        let n = buf.len().min(self.after);
        self.after -= n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn read_and_write_failures_are_told_apart() {
    let ring = keyring();
    let context = EncryptionContext::new();
    for threads in [1, 2, 4] {
        let options = SealOptions { frame_length: 64, threads, ..SealOptions::default() };
        let err = stream::seal(Failing { after: 1000 }, io::sink(), &ring, &context, &options).unwrap_err();
        assert!(matches!(&err, Error::Input(e) if e.to_string() == "disk on fire"), "{err}");
        let err = stream::seal(&pattern(5000)[..], Failing { after: 3000 }, &ring, &context, &options).unwrap_err();
        assert!(matches!(&err, Error::Output(e) if e.to_string() == "disk full"), "{err}");

        let sealed = seal_one_thread(&pattern(5000), 64);
        let open_options = OpenOptions { threads, ..OpenOptions::default() };
        let err = stream::open(&sealed[..], Failing { after: 1000 }, &policy(), &open_options).unwrap_err();
        assert!(matches!(&err, Error::Output(e) if e.to_string() == "disk full"), "{err}");
    }
}
