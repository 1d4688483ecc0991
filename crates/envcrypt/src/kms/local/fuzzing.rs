//! Entry points for the fuzz targets; compiled only under `--cfg fuzzing` (cargo fuzz).

use super::record::{Aliases, KeyRecord, StoreMeta};
use super::root::RootKey;

/// Parses one store file as the store would: the first byte picks `store.json`, a key
/// record or `aliases.json`; a key record's backing keys are then unwrapped under a fixed root key.
pub fn parse_store_file(data: &[u8]) {
    let Some((&kind, file)) = data.split_first() else { return };
    match kind % 3 {
        0 => drop(serde_json::from_slice::<StoreMeta>(file)),
        1 => {
            if let Ok(record) = serde_json::from_slice::<KeyRecord>(file) {
                let _ = record.metadata(String::new(), &Aliases::new());
                let _ = record.is_deleted(u64::MAX);
                let root = RootKey::from_material(&[7; 32]);
                for backing in &record.backing_keys {
                    let _ = root.unwrap_backing_key(&record.key_id, backing.number, &backing.wrapped);
                }
            }
        }
        _ => drop(serde_json::from_slice::<Aliases>(file)),
    }
}
