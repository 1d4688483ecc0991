//! What the cluster keeps on every token besides key objects: each CMK's metadata and the
//! alias table, as JSON data objects. Each carries a revision; a re-sync keeps the highest.
//!
//! Anyone holding the user PIN can write these objects, so they are parsed as untrusted input
//! (the `pkcs11_input` fuzz target).

use std::collections::BTreeMap;

use envcrypt::kms::{KeySpec, KeyState, KeyUsage, MAX_ON_DEMAND_ROTATIONS};

use crate::key_kind::KeyKind;

/// The data object holding the alias table.
pub(crate) const ALIASES: &str = "aliases";
const META_PREFIX: &str = "meta/";

/// A CMK's metadata.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct KeyMeta {
    pub(crate) key_id: String,
    pub(crate) description: String,
    pub(crate) creation_date: u64,
    pub(crate) state: KeyState,
    pub(crate) deletion_date: Option<u64>,
    /// The waiting period of a key pending deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deletion_window_days: Option<u32>,
    /// Key versions 1 to `versions` exist (rotation adds one; asymmetric and HMAC keys have
    /// version 1 only).
    pub(crate) versions: u32,
    /// The key spec (symmetric in metadata of an earlier envcrypt).
    #[serde(default = "symmetric", skip_serializing_if = "is_symmetric")]
    pub(crate) key_spec: KeySpec,
    /// The key usage.
    #[serde(default = "encrypt_decrypt")]
    pub(crate) key_usage: KeyUsage,
    /// A key pair's public key, DER SubjectPublicKeyInfo in hex, as the token gave it when it
    /// made the pair. Not secret; a PIN holder who changes it can only make Verify and Encrypt
    /// fail or answer for the key they could sign and decrypt with anyway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) public_key: Option<String>,
    /// The key's tags, by tag key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) revision: u64,
}

fn symmetric() -> KeySpec {
    KeySpec::SymmetricDefault
}

fn is_symmetric(spec: &KeySpec) -> bool {
    *spec == KeySpec::SymmetricDefault
}

fn encrypt_decrypt() -> KeyUsage {
    KeyUsage::EncryptDecrypt
}

impl KeyMeta {
    /// What kind of object the key is on the tokens.
    pub(crate) fn kind(&self) -> KeyKind {
        KeyKind::of(self.key_spec, self.key_usage)
    }

    /// Why the metadata cannot be key `key_id`'s as envcrypt writes it, if it cannot: it names
    /// another key, or more versions than rotation makes (a PIN holder can write anything here).
    pub(crate) fn damage(&self, key_id: &str) -> Option<String> {
        let most = match self.kind() {
            KeyKind::Symmetric => u32::try_from(MAX_ON_DEMAND_ROTATIONS).map_or(u32::MAX, |r| r.saturating_add(1)),
            _ => 1,
        };
        if self.key_id != key_id {
            Some(format!("it names key {}", self.key_id))
        } else if self.versions == 0 || self.versions > most {
            Some(format!("it claims {} versions of a {} key", self.versions, self.key_spec))
        } else {
            None
        }
    }
}

/// Alias name to key id.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct AliasTable {
    pub(crate) revision: u64,
    pub(crate) aliases: BTreeMap<String, String>,
}

/// The data object holding key `key_id`'s metadata.
pub(crate) fn meta_name(key_id: &str) -> String {
    format!("{META_PREFIX}{key_id}")
}

/// The metadata in data object `name`, if it holds sound key metadata.
pub(crate) fn parse_meta(name: &str, value: &[u8]) -> Option<KeyMeta> {
    let key_id = name.strip_prefix(META_PREFIX)?;
    serde_json::from_slice::<KeyMeta>(value).ok().filter(|meta| meta.damage(key_id).is_none())
}

/// The key id whose metadata data object `name` holds.
pub(crate) fn meta_key_id(name: &str) -> Option<&str> {
    name.strip_prefix(META_PREFIX)
}

/// The revision of a data object's JSON (0 if it has none).
pub(crate) fn revision(value: &[u8]) -> u64 {
    serde_json::from_slice::<serde_json::Value>(value).ok().and_then(|v| v["revision"].as_u64()).unwrap_or(0)
}
