//! Header parsing (formats 1 and 2, framed and non-framed): never panics, and whatever parses
//! serializes back to the same bytes.
#![no_main]

use envcrypt::message::{Header, ParseLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ParseLimits { max_encrypted_data_keys: u16::MAX, max_frame_length: u32::MAX };
    if let Ok((header, used)) = Header::parse(data, &limits) {
        assert_eq!(header.to_bytes(), &data[..used]);
        // Canonical encoding: a parsed body that is valid to write serializes to the same bytes,
        // followed by the authentication IV (format 1 only) and tag.
        if let Ok(body) = header.body().serialize() {
            assert_eq!(body, &data[..body.len()]);
            let auth_len = if header.body().suite.message_format() == 1 { 12 + 16 } else { 16 };
            assert_eq!(body.len() + auth_len, used);
        }
    }
});
