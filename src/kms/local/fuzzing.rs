//! Entry points for the fuzz targets; compiled only under `--cfg fuzzing` (cargo fuzz).

use super::audit;
use super::policy::{KeyPolicy, Request};
use super::principal::{Principal, ARN_PARTITION};
use super::record::{Aliases, KeyRecord, StoreMeta};
use super::root::RootKey;
use crate::kms::EncryptionContext;

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

/// Parses a key policy and evaluates it for a few requests (even first byte), or reads an
/// audit log line (odd first byte): both read files others may have written.
pub fn parse_governance_input(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else { return };
    if kind % 2 == 1 {
        let _ = audit::open_line(rest);
        return;
    }
    let Ok(policy) = std::str::from_utf8(rest).map_err(drop).and_then(|t| KeyPolicy::parse(t).map_err(drop)) else {
        return;
    };
    let context: EncryptionContext =
        [("Dept", "ops"), ("path", "backups/x")].into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    for principal in ["alice", "role/rewrapper", "arn:envcrypt:iam::111122223333:root"] {
        let principal = Principal::parse(principal, ARN_PARTITION, "000000000000").expect("a fixed principal parses");
        for action in ["kms:Decrypt", "kms:ReEncryptFrom", "kms:PutKeyPolicy"] {
            let _ = policy.evaluate(&Request {
                principal: &principal,
                action,
                key_arn: "arn:envcrypt:kms:local:000000000000:key/k",
                context: Some(&context),
                via_service: Some("s3.local"),
            });
        }
    }
}
