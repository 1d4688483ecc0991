//! The store's on-disk records.

use std::collections::BTreeMap;

use crate::kms::{
    ExpirationModel, GrantEntry, KeyManager, KeyMetadata, KeyProfile, KeySpec, KeyState, KeyUsage, Origin,
    RotationType, SECONDS_PER_DAY,
};

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
    /// The automatic rotation schedule, while it is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<RotationSchedule>,
    /// The waiting period of a key pending deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_window_days: Option<u32>,
    /// For a key whose material is imported (origin EXTERNAL): its material's record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<ImportRecord>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default = "symmetric", skip_serializing_if = "is_symmetric")]
    pub key_spec: KeySpec,
    #[serde(default = "encrypt_decrypt", skip_serializing_if = "is_encrypt_decrypt")]
    pub key_usage: KeyUsage,
    /// For an asymmetric or HMAC key (which has no backing keys): its private key (PKCS#8 DER)
    /// or HMAC key, wrapped under the root key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub material: Option<String>,
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

fn is_encrypt_decrypt(usage: &KeyUsage) -> bool {
    *usage == KeyUsage::EncryptDecrypt
}

/// What the store keeps of a key's imported material, and of the parameters to import it.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ImportRecord {
    /// A known text sealed under the first material imported, so that a later import is known
    /// to be the same material without the store keeping it once deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<ExpirationModel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<u64>,
    /// The last GetParametersForImport answer's wrapping key and token, until it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<ImportParameters>,
}

/// One GetParametersForImport answer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ImportParameters {
    /// The import token's random part (hex).
    pub token: String,
    pub wrapping_key_spec: String,
    pub wrapping_algorithm: String,
    /// The wrapping key's private half (PKCS#8 DER), wrapped under the root key; dropped once
    /// the parameters expire (the token is kept, so that it is refused as expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    pub valid_to: u64,
}

/// When a key rotates automatically.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RotationSchedule {
    pub period_days: u32,
    /// The date the next rotation counts from: when rotation was enabled, or the last
    /// automatic rotation's due date.
    pub since: u64,
    /// The managed default key's yearly rotation, which cannot be turned off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub managed: bool,
}

impl RotationSchedule {
    /// The managed default key's schedule: every 365 days from `since`.
    pub fn managed(since: u64) -> Self {
        Self { period_days: crate::kms::DEFAULT_ROTATION_PERIOD_DAYS, since, managed: true }
    }

    pub fn next(&self) -> u64 {
        self.since.saturating_add(u64::from(self.period_days) * SECONDS_PER_DAY)
    }
}

/// One backing key, wrapped under the root key.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BackingKeyRecord {
    pub number: u32,
    pub creation_date: u64,
    pub wrapped: String,
    /// What added it; none for a key's first backing key. Keys rotated before scheduled
    /// rotation existed have none on later ones either: those rotated on demand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<RotationType>,
    /// For an automatic rotation, the date it was due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<u64>,
}

impl BackingKeyRecord {
    /// What added this backing key, if it came from a rotation.
    pub fn rotation_type(&self) -> Option<RotationType> {
        (self.number > 1).then(|| self.rotation.unwrap_or(RotationType::OnDemand))
    }
}

/// `aliases.json`: alias name → key id.
pub(super) type Aliases = BTreeMap<String, String>;

impl KeyRecord {
    /// The key as the checks of an operation see it; `arn` is its ARN.
    pub fn profile<'a>(&self, arn: &'a str) -> KeyProfile<'a> {
        KeyProfile { arn, spec: self.key_spec, usage: self.key_usage }
    }

    /// Whether the key's deletion date has passed, so that it no longer exists.
    pub fn is_deleted(&self, now: u64) -> bool {
        self.state == KeyState::PendingDeletion && self.deletion_date.is_some_and(|d| d <= now)
    }

    /// Whether the key's imported material is past its `ValidTo` and not yet deleted.
    pub fn material_expired(&self, now: u64) -> bool {
        !self.backing_keys.is_empty() && self.import.as_ref().and_then(|i| i.valid_to).is_some_and(|t| t <= now)
    }

    /// Whether the key keeps the private key of import parameters past their 24 hours.
    pub fn import_parameters_expired(&self, now: u64) -> bool {
        self.import
            .as_ref()
            .and_then(|i| i.parameters.as_ref())
            .is_some_and(|p| p.valid_to <= now && p.private_key.is_some())
    }

    /// Whether an automatic rotation is due: the key is enabled and its date has passed.
    pub fn rotation_due(&self, now: u64) -> bool {
        self.state == KeyState::Enabled && self.rotation.is_some_and(|r| r.next() <= now)
    }

    pub fn metadata(&self, arn: String, aliases: &Aliases) -> KeyMetadata {
        KeyMetadata {
            key_id: self.key_id.clone(),
            arn,
            description: self.description.clone(),
            state: self.state,
            creation_date: self.creation_date,
            deletion_date: self.deletion_date,
            pending_deletion_window_days: self.deletion_window_days.filter(|_| self.state == KeyState::PendingDeletion),
            key_spec: self.key_spec,
            key_usage: self.key_usage,
            origin: if self.import.is_some() { Origin::External } else { Origin::AwsKms },
            key_manager: KeyManager::Customer,
            expiration_model: self.import.as_ref().and_then(|i| i.expiration_model),
            valid_to: self.import.as_ref().and_then(|i| i.valid_to),
            backing_keys: (self.key_spec == KeySpec::SymmetricDefault)
                .then(|| u32::try_from(self.backing_keys.len()).unwrap_or(u32::MAX)),
            aliases: aliases.iter().filter(|(_, id)| **id == self.key_id).map(|(a, _)| a.clone()).collect(),
        }
    }
}
