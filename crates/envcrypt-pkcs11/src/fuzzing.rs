//! Entry points for the fuzz targets; compiled only under `--cfg fuzzing` (cargo fuzz).

use crate::blob;
use crate::records::{AliasTable, KeyMeta};

/// Parses what the backend reads back: a ciphertext blob (first byte even), or a token's key
/// metadata or alias table (odd), which anyone holding the user PIN can write.
pub fn parse_pkcs11_input(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else { return };
    if kind % 2 == 0 {
        if let Ok(parsed) = blob::decode(rest) {
            assert_eq!(blob::encode(&parsed.key_id, parsed.version, &parsed.iv, parsed.sealed), rest);
        }
    } else {
        let _ = serde_json::from_slice::<KeyMeta>(rest);
        let _ = serde_json::from_slice::<AliasTable>(rest);
    }
}
