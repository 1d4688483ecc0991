//! The local store's on-disk records (store.json, key records, aliases.json): never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| envcrypt::kms::local::fuzzing::parse_store_file(data));
