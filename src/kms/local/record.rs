//! The store's on-disk records.

use std::collections::BTreeMap;

use crate::kms::{GrantEntry, KeyMetadata, KeyState};

/// `store.json`: the store's identity and how its root key is kept.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoreMeta {
    pub format: u32,
    /// Written only when it is not `envcrypt`, so that stores keep their earlier layout.
    #[serde(default = "default_partition", skip_serializing_if = "is_default_partition")]
    pub partition: String,
    pub region: String,
    pub account: String,
    pub root: super::root::RootConfig,
    pub check: String,
}

fn default_partition() -> String {
    super::ARN_PARTITION.to_owned()
}

fn is_default_partition(partition: &String) -> bool {
    partition == super::ARN_PARTITION
}

/// `keys/<key id>.json`: one CMK.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyRecord {
    pub key_id: String,
    pub description: String,
    pub creation_date: u64,
    pub state: KeyState,
    pub deletion_date: Option<u64>,
    pub backing_keys: Vec<BackingKeyRecord>,
    /// The key policy, kept as the caller's JSON text (GetKeyPolicy returns it byte for byte)
    /// and embedded raw, so reading a record validates it without unescaping a string. Keys
    /// created before key policies have none (see `KeyPolicy::legacy_text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Box<serde_json::value::RawValue>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<GrantEntry>,
}

/// One backing key, wrapped under the root key.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BackingKeyRecord {
    pub number: u32,
    pub creation_date: u64,
    pub wrapped: String,
}

/// `aliases.json`: alias name → key id.
pub(super) type Aliases = BTreeMap<String, String>;

impl KeyRecord {
    /// Whether the key's deletion date has passed, so that it no longer exists.
    pub fn is_deleted(&self, now: u64) -> bool {
        self.state == KeyState::PendingDeletion && self.deletion_date.is_some_and(|d| d <= now)
    }

    pub fn metadata(&self, arn: String, aliases: &Aliases) -> KeyMetadata {
        KeyMetadata {
            key_id: self.key_id.clone(),
            arn,
            description: self.description.clone(),
            state: self.state,
            creation_date: self.creation_date,
            deletion_date: self.deletion_date,
            backing_keys: Some(u32::try_from(self.backing_keys.len()).unwrap_or(u32::MAX)),
            aliases: aliases.iter().filter(|(_, id)| **id == self.key_id).map(|(a, _)| a.clone()).collect(),
        }
    }
}
