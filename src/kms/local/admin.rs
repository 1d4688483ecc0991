//! Key management on the local store, with the state rules of AWS KMS. Each call is
//! authorized by the key policy and recorded in the audit log.

use serde_json::json;

use super::audit::Call;
use super::disk::{key_file, ALIASES_FILE, KEYS_DIR};
use super::policy::KeyPolicy;
use super::tags::tags_param;
use super::{key_param, KeyRecord, LocalKeyService};
use crate::crypto;
use crate::kms::{
    merge_tags, validate_alias_name, validate_description, AliasEntry, CreateKeyRequest, KeyAdmin, KeyMetadata, KeyRef,
    KeySpec, KeyState, KmsError, KmsFuture, Lifecycle, Origin,
};

const RESERVED_ALIAS_PREFIX: &str = "alias/aws/";

impl LocalKeyService {
    /// Runs an audited read-modify-write of one key under the exclusive lock, if the key
    /// policy allows `kms:<operation>`.
    pub(super) fn update_key<T>(
        &self,
        key: &KeyRef,
        call: Call,
        change: impl FnOnce(&mut KeyRecord, &mut Call) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        let operation = call.name();
        self.audited(call.param("keyId", key_param(key)), |call| self.change_key(key, operation, call, change))
    }

    /// [`Self::update_key`]'s read-modify-write, inside a call already being audited.
    pub(super) fn change_key<T>(
        &self,
        key: &KeyRef,
        operation: &str,
        call: &mut Call,
        change: impl FnOnce(&mut KeyRecord, &mut Call) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        let txn = self.disk.write()?;
        self.purge_deleted(&txn)?;
        let mut record = self.load_caught_up(&txn, &self.resolve(&txn, key)?)?;
        call.resource(&self.arn(&record.key_id));
        self.authorize(&record, &format!("kms:{operation}"), None)?;
        let out = change(&mut record, call)?;
        txn.write_json(&key_file(&record.key_id), &record)?;
        Ok(out)
    }

    /// [`Self::update_key`], answering with the key's metadata.
    fn update_metadata(
        &self,
        key: &KeyRef,
        call: Call,
        change: impl FnOnce(&mut KeyRecord) -> Result<(), KmsError>,
    ) -> Result<KeyMetadata, KmsError> {
        let record = self.update_key(key, call, |record, call| {
            change(record)?;
            call.respond(json!({ "keyState": record.state.as_str() }));
            Ok(record.clone())
        })?;
        let txn = self.disk.read()?;
        Ok(record.metadata(self.arn(&record.key_id), &self.aliases(&txn)?))
    }

    /// EnableKey / DisableKey. A key has rotated for the dates that passed while it was
    /// enabled before it is disabled ([`Self::update_key`] catches up), and rotates on being
    /// enabled for one that passed while it was not.
    fn set_enabled(&self, key: &KeyRef, enabled: bool) -> Result<(), KmsError> {
        let operation = if enabled { "EnableKey" } else { "DisableKey" };
        self.update_metadata(key, Call::new(operation, false), |record| {
            self.lifecycle(record).set_enabled(enabled)?;
            self.resume_rotation(record)
        })
        .map(drop)
    }

    pub(super) fn lifecycle<'r>(&self, record: &'r mut KeyRecord) -> Lifecycle<'r> {
        Lifecycle {
            key_arn: self.arn(&record.key_id),
            state: &mut record.state,
            deletion_date: &mut record.deletion_date,
        }
    }

    fn create_key_now(&self, request: CreateKeyRequest<'_>) -> Result<KeyMetadata, KmsError> {
        let kind = request.checked_kind();
        let CreateKeyRequest { description, origin, policy, bypass_policy_lockout_safety_check: bypass, tags, .. } =
            request;
        let mut call = Call::new("CreateKey", false).param("description", description);
        if let (Some(spec), usage) = (request.key_spec, request.key_usage) {
            call = call.param("keySpec", spec.as_str());
            if let Some(usage) = usage {
                call = call.param("keyUsage", usage.as_str());
            }
        }
        if let Some(origin) = origin {
            call = call.param("origin", origin.as_str());
        }
        if let Some(policy) = policy {
            call = call.param("policy", policy).param("bypassPolicyLockoutSafetyCheck", bypass);
        }
        if !tags.is_empty() {
            call = call.param("tags", tags_param(tags));
        }
        self.audited(call, |call| {
            validate_description(description)?;
            let (spec, usage) = kind?;
            let mut record = self.new_key_record(
                description,
                policy.map_or_else(|| KeyPolicy::default_text(&self.principal, spec, usage), str::to_owned),
            )?;
            merge_tags(&mut record.tags, tags)?;
            match origin {
                None | Some(Origin::AwsKms) => {}
                Some(Origin::External) if spec == KeySpec::SymmetricDefault => self.await_import(&mut record),
                Some(Origin::External) => {
                    return Err(KmsError::UnsupportedOperation(format!(
                        "the local store imports key material only into symmetric encryption keys, not {spec} keys"
                    )))
                }
                Some(other) => {
                    return Err(KmsError::UnsupportedOperation(format!(
                        "the local store has no custom key store: it cannot create a key with origin {other}"
                    )))
                }
            }
            let arn = self.arn(&record.key_id);
            if let Some(policy) = policy {
                self.check_new_policy(policy, &arn, bypass)?;
            }
            // Made only once every check has passed: an RSA key takes a while.
            if let Some(material) = crypto::key_pair::generate(spec).map_err(KmsError::from)? {
                record.backing_keys.clear();
                record.material = Some(self.root.wrap_key_material(&record.key_id, spec, usage, &material));
                (record.key_spec, record.key_usage) = (spec, usage);
            }
            let txn = self.disk.write()?;
            self.purge_deleted(&txn)?;
            txn.write_json(&key_file(&record.key_id), &record)?;
            call.resource(&arn);
            call.respond(json!({ "keyMetadata": { "keyId": record.key_id, "arn": arn } }));
            Ok(record.metadata(arn, &self.aliases(&txn)?))
        })
    }

    fn invalid_state(&self, record: &KeyRecord, operation: &'static str) -> KmsError {
        KmsError::InvalidState { key: self.arn(&record.key_id), state: record.state.to_string(), operation }
    }

    fn check_alias_name(alias: &str) -> Result<(), KmsError> {
        validate_alias_name(alias).map_err(|reason| KmsError::InvalidAliasName(format!("{alias:?}: {reason}")))?;
        if alias.starts_with(RESERVED_ALIAS_PREFIX) {
            return Err(KmsError::NotAuthorized(format!(
                "the alias prefix {RESERVED_ALIAS_PREFIX} is reserved for AWS managed keys"
            )));
        }
        Ok(())
    }

    /// Points `alias` at `target`; `must_exist` picks UpdateAlias over CreateAlias semantics.
    /// Both need the action on the target key; UpdateAlias also on the key it pointed at.
    fn set_alias(&self, alias: &str, target: &KeyRef, must_exist: bool) -> Result<(), KmsError> {
        let operation = if must_exist { "UpdateAlias" } else { "CreateAlias" };
        let call = Call::new(operation, false).param("aliasName", alias).param("targetKeyId", key_param(target));
        self.audited(call, |call| {
            Self::check_alias_name(alias)?;
            if target.alias_name().is_some() {
                return Err(KmsError::Validation(format!(
                    "an alias must target a key id or key ARN, not the alias {target}"
                )));
            }
            let txn = self.disk.write()?;
            self.purge_deleted(&txn)?;
            let record = self.load(&txn, &self.resolve(&txn, target)?)?;
            call.resource(&self.arn(&record.key_id));
            let action = format!("kms:{operation}");
            self.authorize(&record, &action, None)?;
            if record.state == KeyState::PendingDeletion {
                return Err(self.invalid_state(&record, operation));
            }
            let mut aliases = self.aliases(&txn)?;
            match (aliases.get(alias), must_exist) {
                (Some(_), false) => return Err(KmsError::AlreadyExists(format!("alias {alias} already exists"))),
                (None, true) => return Err(KmsError::NotFound(format!("alias {alias} does not exist"))),
                (Some(old), true) => {
                    let old = self.load(&txn, old)?;
                    call.resource(&self.arn(&old.key_id));
                    self.authorize(&old, &action, None)?;
                }
                (None, false) => {}
            }
            aliases.insert(alias.to_owned(), record.key_id);
            txn.write_json(ALIASES_FILE, &aliases)?;
            Ok(())
        })
    }
}

impl KeyAdmin for LocalKeyService {
    fn create_key_with<'a>(&'a self, request: CreateKeyRequest<'a>) -> KmsFuture<'a, KeyMetadata> {
        KmsFuture::ready(self.create_key_now(request))
    }

    fn describe_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata> {
        let call = Call::new("DescribeKey", true).param("keyId", key_param(key));
        KmsFuture::ready(self.audited(call, |call| {
            let txn = self.disk.read()?;
            let record = self.load(&txn, &self.resolve(&txn, key)?)?;
            call.resource(&self.arn(&record.key_id));
            self.authorize(&record, "kms:DescribeKey", None)?;
            let aliases = self.aliases(&txn)?;
            drop(txn);
            let record = self.caught_up(record)?;
            Ok(record.metadata(self.arn(&record.key_id), &aliases))
        }))
    }

    fn list_keys(&self) -> KmsFuture<'_, Vec<KeyMetadata>> {
        KmsFuture::ready(self.audited(Call::new("ListKeys", true), |_| {
            let txn = self.disk.read()?;
            let aliases = self.aliases(&txn)?;
            let mut records = Vec::new();
            for name in txn.list(KEYS_DIR)? {
                let Some(key_id) = name.strip_suffix(".json") else { continue };
                match self.load(&txn, key_id) {
                    Ok(record) => records.push(record),
                    Err(KmsError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            drop(txn);
            let mut keys = Vec::with_capacity(records.len());
            for record in records {
                let record = self.caught_up(record)?;
                keys.push(record.metadata(self.arn(&record.key_id), &aliases));
            }
            keys.sort_by(|a, b| (a.creation_date, &a.key_id).cmp(&(b.creation_date, &b.key_id)));
            Ok(keys)
        }))
    }

    fn list_aliases(&self) -> KmsFuture<'_, Vec<AliasEntry>> {
        KmsFuture::ready(self.audited(Call::new("ListAliases", true), |_| {
            let txn = self.disk.read()?;
            let now = self.now();
            let mut entries = Vec::new();
            for (alias_name, target_key_id) in self.aliases(&txn)? {
                match txn.read_json::<KeyRecord>(&key_file(&target_key_id))? {
                    Some(record) if record.is_deleted(now) => self.saw_deleted(&target_key_id),
                    Some(_) => entries.push(AliasEntry { alias_name, target_key_id }),
                    None => {}
                }
            }
            Ok(entries)
        }))
    }

    fn create_alias<'a>(&'a self, alias: &'a str, target: &'a KeyRef) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.set_alias(alias, target, false))
    }

    fn update_alias<'a>(&'a self, alias: &'a str, target: &'a KeyRef) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.set_alias(alias, target, true))
    }

    fn delete_alias<'a>(&'a self, alias: &'a str) -> KmsFuture<'a, ()> {
        let call = Call::new("DeleteAlias", false).param("aliasName", alias);
        KmsFuture::ready(self.audited(call, |call| {
            Self::check_alias_name(alias)?;
            let txn = self.disk.write()?;
            self.purge_deleted(&txn)?;
            let mut aliases = self.aliases(&txn)?;
            let Some(target) = aliases.remove(alias) else {
                return Err(KmsError::NotFound(format!("alias {alias} does not exist")));
            };
            let record = self.load(&txn, &target)?;
            call.resource(&self.arn(&record.key_id));
            self.authorize(&record, "kms:DeleteAlias", None)?;
            txn.write_json(ALIASES_FILE, &aliases)?;
            Ok(())
        }))
    }

    fn enable_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.set_enabled(key, true))
    }

    fn disable_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.set_enabled(key, false))
    }

    fn rotate_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata> {
        KmsFuture::ready(
            self.update_metadata(key, Call::new("RotateKeyOnDemand", false), |record| self.rotate_on_demand(record)),
        )
    }

    fn update_key_description<'a>(&'a self, key: &'a KeyRef, description: &'a str) -> KmsFuture<'a, ()> {
        let call = Call::new("UpdateKeyDescription", false).param("description", description);
        KmsFuture::ready(
            self.update_metadata(key, call, |record| {
                validate_description(description)?;
                self.lifecycle(record).check_metadata_change("UpdateKeyDescription")?;
                description.clone_into(&mut record.description);
                Ok(())
            })
            .map(drop),
        )
    }

    fn schedule_key_deletion<'a>(&'a self, key: &'a KeyRef, pending_window_days: u32) -> KmsFuture<'a, KeyMetadata> {
        let call = Call::new("ScheduleKeyDeletion", false).param("pendingWindowInDays", pending_window_days);
        KmsFuture::ready(self.update_metadata(key, call, |record| {
            let now = self.now();
            self.lifecycle(record).schedule_deletion(now, pending_window_days)?;
            record.deletion_window_days = Some(pending_window_days);
            Ok(())
        }))
    }

    fn cancel_key_deletion<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata> {
        KmsFuture::ready(self.update_metadata(key, Call::new("CancelKeyDeletion", false), |record| {
            self.lifecycle(record).cancel_deletion()?;
            record.deletion_window_days = None;
            if record.import.is_some() && record.backing_keys.is_empty() {
                record.state = KeyState::PendingImport;
            }
            Ok(())
        }))
    }
}
