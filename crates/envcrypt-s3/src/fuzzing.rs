//! Entry points for the fuzz targets; compiled only under `--cfg fuzzing` (cargo fuzz).

use std::collections::HashMap;

use crate::s3ec::{decrypt_content, Envelope};

/// Reads an S3 Encryption Client object as envcrypt would from S3: `data` is its metadata as
/// `key: value` lines, an empty line, then its body. Metadata that parses must serialize back
/// to an equal envelope; the body is decrypted with `data_key` and may fail, never panic.
pub fn open_s3ec_object(data: &[u8], data_key: &[u8]) {
    let Some(split) = data.windows(2).position(|w| w == b"\n\n") else { return };
    let (head, body) = (&data[..split], &data[split + 2..]);
    let Ok(head) = std::str::from_utf8(head) else { return };
    let metadata: HashMap<String, String> =
        head.lines().filter_map(|l| l.split_once(": ")).map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    let Some(Ok(envelope)) = Envelope::from_metadata(&metadata) else { return };
    let again = Envelope::from_metadata(&envelope.to_metadata());
    assert!(matches!(again, Some(Ok(ref e)) if *e == envelope), "metadata round trip");
    if envelope.check_reserved_context().is_err() {
        return;
    }
    let Ok(key) = envelope.content_key(data_key) else { return };
    let mut out = Vec::new();
    let _ = decrypt_content(&mut &body[..], body.len() as u64, &key, &mut out);
}
