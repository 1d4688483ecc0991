//! KMS requests as `envcrypt serve` receives them (the Authorization header, the target, the
//! JSON body), verified and run against a real store: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| envcrypt_server::fuzzing::decode_request(data));
