//! Key policies (parsed and evaluated) and audit log lines: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| envcrypt::kms::local::fuzzing::parse_governance_input(data));
