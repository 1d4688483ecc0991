//! Header parsing: never panics, and whatever parses serializes back to the same bytes.
#![no_main]

use envcrypt::message::{Header, ParseLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ParseLimits { max_encrypted_data_keys: u16::MAX, max_frame_length: u32::MAX };
    if let Ok((header, used)) = Header::parse(data, &limits) {
        assert_eq!(header.to_bytes(), &data[..used]);
        // Canonical encoding: a parsed body that is valid to write serializes to the same bytes.
        if let Ok(body) = header.body().serialize() {
            assert_eq!(body, &data[..used - 16]);
        }
    }
});
