//! Streaming decrypt with a fixed data key: never panics, and releases plaintext only from
//! frames that authenticated (a message that fails releases nothing after the failure).
#![no_main]

use std::io::Read;

use envcrypt::message::ParseLimits;
use envcrypt::stream::Decryptor;
use libfuzzer_sys::fuzz_target;

/// The data key of the seeds in fuzz/seeds/decrypt (vectors/generate.py, FUZZ_DATA_KEY).
const DATA_KEY: [u8; 32] = [
    0x36, 0x13, 0x9b, 0x4d, 0xc7, 0x83, 0xf7, 0x6d, 0xc6, 0xa8, 0xf6, 0xe6, 0x7b, 0x9d, 0x1e, 0x87, 0x7c, 0x5f, 0xde,
    0xbe, 0xfa, 0x27, 0xc1, 0x1f, 0x69, 0xa5, 0x23, 0xee, 0x21, 0x4d, 0x08, 0x85,
];

fuzz_target!(|data: &[u8]| {
    let limits = ParseLimits { max_encrypted_data_keys: 64, max_frame_length: 1 << 20 };
    let Ok(mut reader) = Decryptor::with_data_key(data, &DATA_KEY, &limits) else { return };
    let mut buf = [0u8; 1000];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(_) => {
                assert!(reader.read(&mut buf).is_err(), "a failed message must stay failed");
                break;
            }
        }
    }
});
