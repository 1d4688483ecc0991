//! Signatures, RSA-OAEP ciphertexts and public keys from callers, against keys of every
//! key-pair spec: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| envcrypt::crypto::fuzzing::untrusted_inputs(data));
