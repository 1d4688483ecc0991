//! Encryption context deserialization: never panics, and accepts only canonical encodings.
#![no_main]

use envcrypt::context::EncryptionContext;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(context) = EncryptionContext::deserialize(data) {
        assert_eq!(context.serialize().expect("a parsed context serializes"), data);
    }
});
