//! The parallel open pipeline (`stream::open` on several threads) against the one-thread
//! `Decryptor`: never panics, and releases exactly what one thread releases (the frames before
//! the first failure, or everything) with the same verdict, whatever the scheduling.
#![no_main]

use std::io::Read;
use std::sync::Arc;

use envcrypt::context::EncryptionContext;
use envcrypt::keyring::OpenPolicy;
use envcrypt::kms::{
    Arn, Ciphertext, DataKey, DataKeySpec, Decrypted, DryRun, KeyRef, KeyService, KmsError, KmsFuture, ReEncryptRequest,
    ReEncrypted, SecretBytes,
};
use envcrypt::message::ParseLimits;
use envcrypt::stream::{self, Decryptor, OpenOptions};
use libfuzzer_sys::fuzz_target;

/// The data key of the seeds in fuzz/seeds/open_parallel (vectors/generate.py, FUZZ_DATA_KEY).
const DATA_KEY: [u8; 32] = [
    0x36, 0x13, 0x9b, 0x4d, 0xc7, 0x83, 0xf7, 0x6d, 0xc6, 0xa8, 0xf6, 0xe6, 0x7b, 0x9d, 0x1e, 0x87, 0x7c, 0x5f, 0xde,
    0xbe, 0xfa, 0x27, 0xc1, 0x1f, 0x69, 0xa5, 0x23, 0xee, 0x21, 0x4d, 0x08, 0x85,
];

const LIMITS: ParseLimits = ParseLimits { max_encrypted_data_keys: 8, max_frame_length: 1 << 16 };

/// A key service that opens every encrypted data key to the fixed data key, under the key the
/// header names: the keyring and pipeline run as they do for a real service.
#[derive(Debug)]
struct FixedDataKey;

impl KeyService for FixedDataKey {
    fn provider_id(&self) -> &str {
        "fuzz"
    }

    fn owns(&self, _: &Arn) -> bool {
        false
    }

    fn can_decrypt(&self, _: &str, _: &[u8]) -> bool {
        true
    }

    fn generate_data_key<'a>(&'a self, _: &'a KeyRef, _: DataKeySpec, _: &'a EncryptionContext) -> KmsFuture<'a, DataKey> {
        KmsFuture::ready(Err(KmsError::UnsupportedOperation("opening only".into())))
    }

    fn generate_data_key_without_plaintext<'a>(
        &'a self,
        _: &'a KeyRef,
        _: DataKeySpec,
        _: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        KmsFuture::ready(Err(KmsError::UnsupportedOperation("opening only".into())))
    }

    fn encrypt<'a>(&'a self, _: &'a KeyRef, _: &'a [u8], _: &'a EncryptionContext) -> KmsFuture<'a, Ciphertext> {
        KmsFuture::ready(Err(KmsError::UnsupportedOperation("opening only".into())))
    }

    fn decrypt<'a>(
        &'a self,
        _: &'a [u8],
        _: &'a EncryptionContext,
        expected: Option<&'a KeyRef>,
    ) -> KmsFuture<'a, Decrypted> {
        let key_arn = expected.map(ToString::to_string).unwrap_or_default();
        KmsFuture::ready(Ok(Decrypted { plaintext: SecretBytes::from_slice(&DATA_KEY), key_arn }))
    }

    fn re_encrypt<'a>(&'a self, _: ReEncryptRequest<'a>) -> KmsFuture<'a, ReEncrypted> {
        KmsFuture::ready(Err(KmsError::UnsupportedOperation("opening only".into())))
    }

    fn generate_random(&self, _: usize) -> KmsFuture<'_, SecretBytes> {
        KmsFuture::ready(Err(KmsError::UnsupportedOperation("opening only".into())))
    }

    fn dry_run<'a>(&'a self, _: DryRun<'a>) -> KmsFuture<'a, ()> {
        KmsFuture::ready(Err(KmsError::UnsupportedOperation("opening only".into())))
    }
}

/// What one thread releases, and whether it reached the end cleanly.
fn one_thread(message: &[u8], policy: &OpenPolicy) -> (Vec<u8>, bool) {
    let options = OpenOptions { limits: LIMITS, threads: 1, ..OpenOptions::default() };
    let Ok(mut reader) = Decryptor::with_options(message, policy, &options) else { return (Vec::new(), false) };
    let mut released = Vec::new();
    let mut chunk = [0u8; 1000];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => return (released, true),
            Ok(n) => released.extend_from_slice(&chunk[..n]),
            Err(_) => return (released, false),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&threads, message)) = data.split_first() else { return };
    let policy = OpenPolicy::discovery(vec![Arc::new(FixedDataKey)]);
    let options = OpenOptions { limits: LIMITS, threads: 1 + usize::from(threads % 4), ..OpenOptions::default() };
    let mut released = Vec::new();
    let opened = stream::open(message, &mut released, &policy, &options).is_ok();
    let (expected, clean) = one_thread(message, &policy);
    assert_eq!(opened, clean, "the verdict differs from one thread's");
    assert_eq!(released, expected, "the pipeline released other bytes than one thread");
});
