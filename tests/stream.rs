//! Seal/open round trips and hostile messages through the streaming adapters.

use std::io::{Read, Write};
use std::sync::Arc;

use envcrypt::keyring::{Keyring, KeyringError, OpenPolicy};
use envcrypt::kms::local::LocalKeyService;
use envcrypt::kms::{EncryptionContext, KeyAdmin, KeyRef, KeyService};
use envcrypt::message::{FormatError, ParseLimits};
use envcrypt::stream::{Decryptor, Encryptor, Error, OpenOptions, SealOptions};
use envcrypt_testkit::TempStore;

struct Fixture {
    _temp: TempStore,
    store: Arc<LocalKeyService>,
    key: KeyRef,
}

fn fixture() -> Fixture {
    let temp = TempStore::new();
    Fixture { store: temp.service.clone(), key: temp.key.clone(), _temp: temp }
}

impl Fixture {
    fn services(&self) -> Vec<Arc<dyn KeyService>> {
        vec![self.store.clone()]
    }

    fn seal(&self, plaintext: &[u8], frame_length: u32, context: &EncryptionContext) -> Vec<u8> {
        let keyring = Keyring::new().with_key(self.store.clone(), self.key.clone());
        let options = SealOptions { frame_length, ..SealOptions::default() };
        let mut writer = Encryptor::new(Vec::new(), &keyring, context, &options).unwrap();
        writer.write_all(plaintext).unwrap();
        writer.finish().unwrap()
    }

    /// Opens a message, returning what was released before any error, and the error.
    fn open(&self, message: &[u8]) -> (Vec<u8>, Option<Error>) {
        let mut released = Vec::new();
        let mut reader = match Decryptor::new(message, &OpenPolicy::discovery(self.services())) {
            Ok(reader) => reader,
            Err(e) => return (released, Some(e)),
        };
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return (released, None),
                Ok(n) => released.extend_from_slice(&buf[..n]),
                Err(e) => return (released, Some(Error::from_io(e))),
            }
        }
    }
}

fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn round_trips_at_frame_boundaries() {
    let f = fixture();
    let c = ctx(&[("purpose", "test")]);
    for frame in [16u32, 64, 4096] {
        let fl = frame as usize;
        for len in [0, 1, fl - 1, fl, fl + 1, 2 * fl, 3 * fl + 5] {
            let plaintext = pattern(len);
            let sealed = f.seal(&plaintext, frame, &c);
            let (opened, err) = f.open(&sealed);
            assert!(err.is_none(), "frame {frame} len {len}: {err:?}");
            assert_eq!(opened, plaintext, "frame {frame} len {len}");
        }
    }
}

#[test]
fn round_trip_100_mib_streaming() {
    let f = fixture();
    let keyring = Keyring::new().with_key(f.store.clone(), f.key.clone());
    let mut writer = Encryptor::new(Vec::new(), &keyring, &EncryptionContext::new(), &SealOptions::default()).unwrap();
    let chunk = pattern(1 << 20);
    for _ in 0..100 {
        writer.write_all(&chunk).unwrap();
    }
    let sealed = writer.finish().unwrap();
    let mut reader = Decryptor::new(sealed.as_slice(), &OpenPolicy::discovery(f.services())).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    for i in 0..100 {
        reader.read_exact(&mut buf).unwrap();
        assert!(buf == chunk, "chunk {i} differs");
    }
    assert_eq!(reader.read(&mut buf).unwrap(), 0);
}

#[test]
fn every_single_byte_flip_is_refused_and_releases_nothing_false() {
    let f = fixture();
    let plaintext = pattern(150);
    let sealed = f.seal(&plaintext, 64, &ctx(&[("k", "v")]));
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        let (released, err) = f.open(&bad);
        assert!(err.is_some(), "flip at byte {i} was accepted");
        assert!(plaintext.starts_with(&released), "flip at byte {i} released altered plaintext");
        assert!(released.len() < plaintext.len(), "flip at byte {i} released everything");
    }
}

#[test]
fn truncation_anywhere_and_appended_bytes_are_refused() {
    let f = fixture();
    let plaintext = pattern(150);
    let sealed = f.seal(&plaintext, 64, &EncryptionContext::new());
    for len in 0..sealed.len() {
        let (_, err) = f.open(&sealed[..len]);
        assert!(err.is_some(), "truncation to {len} bytes was accepted");
    }
    let mut longer = sealed.clone();
    longer.push(0);
    let (released, err) = f.open(&longer);
    assert!(matches!(err, Some(Error::Format(FormatError::TrailingData))), "{err:?}");
    assert!(released.len() < plaintext.len(), "the final frame is withheld when bytes follow it");
}

#[test]
fn frames_removed_or_reordered_are_refused() {
    let f = fixture();
    let sealed = f.seal(&pattern(64 * 3 + 1), 64, &EncryptionContext::new());
    let frame = 4 + 12 + 64 + 16;
    let body = sealed.len() - (3 * frame + 4 + 4 + 12 + 4 + 1 + 16);
    let mut dropped = sealed[..body + frame].to_vec();
    dropped.extend_from_slice(&sealed[body + 2 * frame..]);
    assert!(matches!(f.open(&dropped).1, Some(Error::Format(FormatError::SequenceMismatch { expected: 2, found: 3 }))));
    let mut swapped = sealed[..body].to_vec();
    swapped.extend_from_slice(&sealed[body + frame..body + 2 * frame]);
    swapped.extend_from_slice(&sealed[body..body + frame]);
    swapped.extend_from_slice(&sealed[body + 2 * frame..]);
    assert!(matches!(f.open(&swapped).1, Some(Error::Format(FormatError::SequenceMismatch { .. }))));
}

#[test]
fn several_keys_each_open_the_message_alone() {
    let f = fixture();
    let second = KeyRef::parse(&f.store.create_key("second").wait().unwrap().arn).unwrap();
    let keyring = Keyring::new().with_key(f.store.clone(), f.key.clone()).with_key(f.store.clone(), second.clone());
    let mut writer = Encryptor::new(Vec::new(), &keyring, &EncryptionContext::new(), &SealOptions::default()).unwrap();
    writer.write_all(b"two keys").unwrap();
    let sealed = writer.finish().unwrap();
    for key in [&f.key, &second] {
        let mut out = Vec::new();
        let policy = OpenPolicy::strict(f.services(), vec![key.clone()]);
        let mut reader = Decryptor::new(sealed.as_slice(), &policy).unwrap();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"two keys");
        assert_eq!(reader.key_arn(), key.to_string());
    }
    f.store.disable_key(&f.key).wait().unwrap();
    let mut out = Vec::new();
    Decryptor::new(sealed.as_slice(), &OpenPolicy::discovery(f.services())).unwrap().read_to_end(&mut out).unwrap();
    assert_eq!(out, b"two keys", "discovery falls through to the second key");
}

#[test]
fn a_key_that_does_not_wrap_the_message_is_named_in_the_error() {
    let f = fixture();
    let sealed = f.seal(b"x", 64, &EncryptionContext::new());
    let other = KeyRef::parse(&f.store.create_key("other").wait().unwrap().arn).unwrap();
    let err = Decryptor::new(sealed.as_slice(), &OpenPolicy::strict(f.services(), vec![other])).err().unwrap();
    assert!(matches!(err, Error::Keyring(KeyringError::NoKeyOpened { .. })), "{err}");
    assert!(err.to_string().contains(&f.key.to_string()), "{err}");
    f.store.disable_key(&f.key).wait().unwrap();
    let err = Decryptor::new(sealed.as_slice(), &OpenPolicy::discovery(f.services())).err().unwrap();
    assert!(err.to_string().contains("DisabledException"), "{err}");
}

#[test]
fn context_is_required_on_open_and_reserved_keys_refused_on_seal() {
    let f = fixture();
    let sealed = f.seal(b"x", 64, &ctx(&[("purpose", "backup")]));
    let open_with = |required: EncryptionContext| {
        let options = OpenOptions { required_context: required, ..OpenOptions::default() };
        Decryptor::with_options(sealed.as_slice(), &OpenPolicy::discovery(f.services()), &options).err()
    };
    assert!(open_with(ctx(&[("purpose", "backup")])).is_none());
    let err = open_with(ctx(&[("purpose", "other")])).unwrap();
    assert!(err.to_string().contains("purpose=other"), "{err}");
    let keyring = Keyring::new().with_key(f.store.clone(), f.key.clone());
    let err = Encryptor::new(Vec::new(), &keyring, &ctx(&[("aws-crypto-public-key", "x")]), &SealOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, Error::Format(FormatError::ReservedContextKey(_))), "{err}");
}

#[test]
fn hostile_header_limits_are_enforced_before_allocation() {
    let f = fixture();
    let sealed = f.seal(b"x", 64, &EncryptionContext::new());
    let tight = OpenOptions {
        limits: ParseLimits { max_encrypted_data_keys: 1, max_frame_length: 32 },
        ..OpenOptions::default()
    };
    let err = Decryptor::with_options(sealed.as_slice(), &OpenPolicy::discovery(f.services()), &tight).err().unwrap();
    assert!(matches!(err, Error::Format(FormatError::FrameLengthOverLimit { frame_length: 64, limit: 32 })), "{err}");

    // A header claiming 65535 data keys stops at the count.
    let mut many = sealed.clone();
    let edk_count_at = 1 + 2 + 32 + 2;
    many[edk_count_at..edk_count_at + 2].copy_from_slice(&u16::MAX.to_be_bytes());
    let err = Decryptor::new(many.as_slice(), &OpenPolicy::discovery(f.services())).err().unwrap();
    assert!(matches!(err, Error::Format(FormatError::TooManyEncryptedDataKeys { count: 65535, .. })), "{err}");

    // A 4 GiB frame length is refused by the default limit.
    let frame_at = sealed.len() - (4 + 4 + 12 + 4 + 1 + 16) - 16 - 32 - 4;
    let mut huge = sealed.clone();
    huge[frame_at..frame_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    let err = Decryptor::new(huge.as_slice(), &OpenPolicy::discovery(f.services())).err().unwrap();
    assert!(matches!(err, Error::Format(FormatError::FrameLengthOverLimit { .. })), "{err}");
}

/// Takes everything, except that one write fails (a full disk, a pipe that would block).
struct FailsOnce {
    received: Arc<std::sync::Mutex<Vec<u8>>>,
    fail_at_write: usize,
    writes: usize,
}

impl Write for FailsOnce {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.writes += 1;
        if self.writes == self.fail_at_write {
            return Err(std::io::Error::new(std::io::ErrorKind::WouldBlock, "try again"));
        }
        self.received.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A frame is sealed in place, so sealing the same buffer again would turn the ciphertext
/// back into plaintext: after a failed write, a retry must fail rather than write a frame.
#[test]
fn an_encryptor_whose_output_failed_never_writes_plaintext_on_a_retry() {
    let f = fixture();
    let keyring = Keyring::new().with_key(f.store.clone(), f.key.clone());
    let options = SealOptions { frame_length: 4096, ..SealOptions::default() };
    let plaintext = pattern(4096);
    // Write 1 is the header; write 2 the first frame.
    let received = Arc::default();
    let output = FailsOnce { received: Arc::clone(&received), fail_at_write: 2, writes: 0 };
    let mut writer = Encryptor::new(output, &keyring, &EncryptionContext::new(), &options).unwrap();
    assert!(writer.write(&plaintext).is_err(), "the frame's write failed");
    assert!(writer.write(&plaintext).is_err(), "a retry is refused");
    assert!(writer.flush().is_ok());
    let err = writer.finish().err().expect("finishing is refused");
    assert!(err.to_string().contains("earlier write"), "{err}");
    let received = received.lock().unwrap();
    assert!(!received.windows(64).any(|w| w == &plaintext[..64]), "plaintext reached the output");
}
