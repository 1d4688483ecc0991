//! The PKCS#11 backend's ciphertext blob and token metadata: never panic, and a blob that
//! parses re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| envcrypt_pkcs11::fuzzing::parse_pkcs11_input(data));
