//! Key management on the local store, with the state rules of AWS KMS.

use super::{key_file, KeyRecord, LocalKeyService, ALIASES_FILE, KEYS_DIR};
use crate::kms::{
    validate_alias_name, AliasEntry, KeyAdmin, KeyMetadata, KeyRef, KeyState, KmsError, KmsFuture, DELETION_WINDOW_DAYS,
};

const RESERVED_ALIAS_PREFIX: &str = "alias/aws/";
const SECONDS_PER_DAY: u64 = 86_400;

impl LocalKeyService {
    /// Runs a read-modify-write of one key under the exclusive lock.
    fn update_key(
        &self,
        key: &KeyRef,
        change: impl FnOnce(&mut KeyRecord) -> Result<(), KmsError>,
    ) -> Result<KeyMetadata, KmsError> {
        let txn = self.disk.write()?;
        self.purge_deleted(&txn)?;
        let mut record = self.load(&txn, &self.resolve(&txn, key)?)?;
        change(&mut record)?;
        txn.write_json(&key_file(&record.key_id), &record)?;
        Ok(record.metadata(self.arn(&record.key_id), &self.aliases(&txn)?))
    }

    /// EnableKey / DisableKey: both refuse a key pending deletion.
    fn set_state(&self, key: &KeyRef, state: KeyState, operation: &'static str) -> Result<(), KmsError> {
        self.update_key(key, |record| {
            if record.state == KeyState::PendingDeletion {
                return Err(self.invalid_state(record, operation));
            }
            record.state = state;
            Ok(())
        })
        .map(drop)
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
    fn set_alias(&self, alias: &str, target: &KeyRef, must_exist: bool) -> Result<(), KmsError> {
        Self::check_alias_name(alias)?;
        if target.alias_name().is_some() {
            return Err(KmsError::Validation(format!(
                "an alias must target a key id or key ARN, not the alias {target}"
            )));
        }
        let txn = self.disk.write()?;
        self.purge_deleted(&txn)?;
        let record = self.load(&txn, &self.resolve(&txn, target)?)?;
        if record.state == KeyState::PendingDeletion {
            return Err(self.invalid_state(&record, if must_exist { "UpdateAlias" } else { "CreateAlias" }));
        }
        let mut aliases = self.aliases(&txn)?;
        match (aliases.contains_key(alias), must_exist) {
            (true, false) => return Err(KmsError::AlreadyExists(format!("alias {alias} already exists"))),
            (false, true) => return Err(KmsError::NotFound(format!("alias {alias} does not exist"))),
            _ => {}
        }
        aliases.insert(alias.to_owned(), record.key_id);
        txn.write_json(ALIASES_FILE, &aliases)?;
        Ok(())
    }
}

impl KeyAdmin for LocalKeyService {
    fn create_key<'a>(&'a self, description: &'a str) -> KmsFuture<'a, KeyMetadata> {
        KmsFuture::ready((|| {
            let txn = self.disk.write()?;
            self.purge_deleted(&txn)?;
            let record = self.new_key_record(description)?;
            txn.write_json(&key_file(&record.key_id), &record)?;
            Ok(record.metadata(self.arn(&record.key_id), &self.aliases(&txn)?))
        })())
    }

    fn describe_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata> {
        KmsFuture::ready((|| {
            let txn = self.disk.read()?;
            let record = self.load(&txn, &self.resolve(&txn, key)?)?;
            Ok(record.metadata(self.arn(&record.key_id), &self.aliases(&txn)?))
        })())
    }

    fn list_keys(&self) -> KmsFuture<'_, Vec<KeyMetadata>> {
        KmsFuture::ready((|| {
            let txn = self.disk.read()?;
            let aliases = self.aliases(&txn)?;
            let mut keys = Vec::new();
            for name in txn.list(KEYS_DIR)? {
                let Some(key_id) = name.strip_suffix(".json") else { continue };
                match self.load(&txn, key_id) {
                    Ok(record) => keys.push(record.metadata(self.arn(key_id), &aliases)),
                    Err(KmsError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            keys.sort_by(|a, b| (a.creation_date, &a.key_id).cmp(&(b.creation_date, &b.key_id)));
            Ok(keys)
        })())
    }

    fn list_aliases(&self) -> KmsFuture<'_, Vec<AliasEntry>> {
        KmsFuture::ready((|| {
            let txn = self.disk.read()?;
            let now = self.now();
            let mut entries = Vec::new();
            for (alias_name, target_key_id) in self.aliases(&txn)? {
                if txn.read_json::<KeyRecord>(&key_file(&target_key_id))?.is_some_and(|r| !r.is_deleted(now)) {
                    entries.push(AliasEntry { alias_name, target_key_id });
                }
            }
            Ok(entries)
        })())
    }

    fn create_alias<'a>(&'a self, alias: &'a str, target: &'a KeyRef) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.set_alias(alias, target, false))
    }

    fn update_alias<'a>(&'a self, alias: &'a str, target: &'a KeyRef) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.set_alias(alias, target, true))
    }

    fn delete_alias<'a>(&'a self, alias: &'a str) -> KmsFuture<'a, ()> {
        KmsFuture::ready((|| {
            Self::check_alias_name(alias)?;
            let txn = self.disk.write()?;
            self.purge_deleted(&txn)?;
            let mut aliases = self.aliases(&txn)?;
            if aliases.remove(alias).is_none() {
                return Err(KmsError::NotFound(format!("alias {alias} does not exist")));
            }
            txn.write_json(ALIASES_FILE, &aliases)?;
            Ok(())
        })())
    }

    fn enable_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.set_state(key, KeyState::Enabled, "EnableKey"))
    }

    fn disable_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.set_state(key, KeyState::Disabled, "DisableKey"))
    }

    fn rotate_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata> {
        KmsFuture::ready(self.update_key(key, |record| {
            self.check_usable(record, "RotateKeyOnDemand")?;
            let next = record.backing_keys.iter().map(|b| b.number).max().unwrap_or(0) + 1;
            record.backing_keys.push(self.new_backing_key(&record.key_id, next));
            Ok(())
        }))
    }

    fn schedule_key_deletion<'a>(&'a self, key: &'a KeyRef, pending_window_days: u32) -> KmsFuture<'a, KeyMetadata> {
        KmsFuture::ready((|| {
            if !DELETION_WINDOW_DAYS.contains(&pending_window_days) {
                return Err(KmsError::Validation(format!(
                    "PendingWindowInDays is {pending_window_days}; it must be between {} and {}",
                    DELETION_WINDOW_DAYS.start(),
                    DELETION_WINDOW_DAYS.end()
                )));
            }
            self.update_key(key, |record| {
                if record.state == KeyState::PendingDeletion {
                    return Err(self.invalid_state(record, "ScheduleKeyDeletion"));
                }
                record.state = KeyState::PendingDeletion;
                record.deletion_date = Some(self.now() + u64::from(pending_window_days) * SECONDS_PER_DAY);
                Ok(())
            })
        })())
    }

    fn cancel_key_deletion<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata> {
        KmsFuture::ready(self.update_key(key, |record| {
            if record.state != KeyState::PendingDeletion {
                return Err(self.invalid_state(record, "CancelKeyDeletion"));
            }
            record.state = KeyState::Disabled;
            record.deletion_date = None;
            Ok(())
        }))
    }
}
