//! The local ciphertext blob parser and opener: never panics on any input.
#![no_main]

use envcrypt::context::EncryptionContext;
use envcrypt::crypto::Aes256Gcm;
use envcrypt::kms::local::blob::{self, BlobHeader};
use envcrypt::kms::BoundContext;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if BlobHeader::parse(data).is_ok() {
        let key = Aes256Gcm::new(&[9; 32]);
        let empty = BoundContext::new(&EncryptionContext::new()).expect("the empty context is bound");
        assert!(blob::open(&key, data, &empty).is_err() || data.len() >= 52);
    }
});
