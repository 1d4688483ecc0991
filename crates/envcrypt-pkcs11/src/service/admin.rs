//! Key management on the cluster: keys, aliases, states, rotation and deletion, with the
//! state rules of AWS KMS. There are no key policies or grants: access to an HSM's keys is its
//! users' (the user PIN), so the service does not implement `KeyGovernance`.

use std::collections::BTreeMap;

use envcrypt::kms::{
    merge_tags, validate_alias_name, validate_description, AliasEntry, CreateKeyRequest, KeyAdmin, KeyId, KeyMetadata,
    KeyRef, KeyState, KmsError, KmsFuture, Lifecycle, Origin, MAX_ON_DEMAND_ROTATIONS,
};

use crate::key_kind::KeyKind;

use super::{now, AliasTable, KeyMeta, Pkcs11KeyService, ALIASES};

impl Pkcs11KeyService {
    pub(super) fn lifecycle<'m>(&self, meta: &'m mut KeyMeta) -> Lifecycle<'m> {
        Lifecycle { key_arn: self.arn(&meta.key_id), state: &mut meta.state, deletion_date: &mut meta.deletion_date }
    }

    /// Reads, changes and saves a key's metadata: a new revision on every healthy token.
    pub(super) fn update(
        &self,
        key: &KeyRef,
        change: impl FnOnce(&mut KeyMeta) -> Result<(), KmsError>,
    ) -> Result<KeyMetadata, KmsError> {
        let mut meta = self.meta(&self.resolve(key)?)?;
        change(&mut meta)?;
        let meta = self.save(meta)?;
        self.metadata(&meta)
    }
    fn invalid_state(&self, meta: &KeyMeta, operation: &'static str) -> KmsError {
        KmsError::InvalidState { key: self.arn(&meta.key_id), state: meta.state.to_string(), operation }
    }
    fn set_alias(&self, alias: &str, target: &KeyRef, must_exist: bool) -> Result<(), KmsError> {
        validate_alias_name(alias).map_err(|why| KmsError::InvalidAliasName(format!("{alias:?}: {why}")))?;
        if alias.starts_with("alias/aws/") {
            return Err(KmsError::NotAuthorized("the alias prefix alias/aws/ is reserved for AWS managed keys".into()));
        }
        if target.alias_name().is_some() {
            return Err(KmsError::Validation(format!(
                "an alias must target a key id or key ARN, not the alias {target}"
            )));
        }
        let meta = self.meta(&self.resolve(target)?)?;
        if meta.state == KeyState::PendingDeletion {
            return Err(self.invalid_state(&meta, if must_exist { "UpdateAlias" } else { "CreateAlias" }));
        }
        let mut table = self.aliases()?;
        match (table.aliases.contains_key(alias), must_exist) {
            (true, false) => return Err(KmsError::AlreadyExists(format!("alias {alias} already exists"))),
            (false, true) => return Err(KmsError::NotFound(format!("alias {alias} does not exist"))),
            _ => {}
        }
        table.aliases.insert(alias.to_owned(), meta.key_id);
        self.save_aliases(table)
    }
    fn save_aliases(&self, mut table: AliasTable) -> Result<(), KmsError> {
        table.revision += 1;
        self.cluster.write_everywhere(ALIASES, &serde_json::to_vec(&table).expect("aliases serialize"))
    }
}

impl KeyAdmin for Pkcs11KeyService {
    fn create_key_with<'a>(&'a self, request: CreateKeyRequest<'a>) -> KmsFuture<'a, KeyMetadata> {
        KmsFuture::ready((|| {
            validate_description(request.description)?;
            let mut tags = BTreeMap::new();
            merge_tags(&mut tags, request.tags)?;
            let (key_spec, key_usage) = request.checked_kind()?;
            if request.policy.is_some() {
                return Err(KmsError::UnsupportedOperation(
                    "an HSM cluster's keys have no key policy: who may use them is decided by the HSM's users".into(),
                ));
            }
            if let Some(origin @ (Origin::External | Origin::AwsKms)) = request.origin {
                return Err(KmsError::UnsupportedOperation(format!(
                    "an HSM cluster makes its keys in the HSMs (origin AWS_CLOUDHSM), not with origin {origin}, as a \
                     KMS custom key store does"
                )));
            }
            let random = self.cluster.dispatch(|token| token.random(16))?;
            let key_id = KeyId::from_random(random[..16].try_into().expect("16 random bytes")).to_string();
            let public = self.cluster.new_key_version(KeyKind::of(key_spec, key_usage), key_spec, &key_id, 1)?;
            let public_key = public.map(|parts| self.public_key_der(key_spec, &key_id, &parts)).transpose()?;
            if let Some(der) = &public_key {
                // As the token made it: nothing to check it against.
                self.proven_public_keys().insert((key_id.clone(), key_spec.as_str(), key_usage.as_str(), der.clone()));
            }
            let meta = KeyMeta {
                key_id,
                description: request.description.to_owned(),
                creation_date: now(),
                state: KeyState::Enabled,
                deletion_date: None,
                deletion_window_days: None,
                versions: 1,
                key_spec,
                key_usage,
                public_key: public_key.map(hex::encode),
                tags,
                revision: 0,
            };
            let meta = self.save(meta)?;
            self.metadata(&meta)
        })())
    }

    fn describe_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata> {
        KmsFuture::ready(
            self.meta(&match self.resolve(key) {
                Ok(id) => id,
                Err(e) => return KmsFuture::ready(Err(e)),
            })
            .and_then(|meta| self.metadata(&meta)),
        )
    }

    fn list_keys(&self) -> KmsFuture<'_, Vec<KeyMetadata>> {
        KmsFuture::ready((|| {
            let names = self.cluster.dispatch(|token| token.data_names())?;
            let mut keys = Vec::new();
            for key_id in names.iter().filter_map(|n| n.strip_prefix("meta/")) {
                match self.meta(key_id) {
                    Ok(meta) => keys.push(self.metadata(&meta)?),
                    // Gone, or metadata a PIN holder damaged: not listed, as unreadable metadata
                    // is not (DescribeKey of the key says what is wrong).
                    Err(KmsError::NotFound(_)) => {}
                    Err(KmsError::Service { name, .. }) if name == "KMSInternalException" => {}
                    Err(e) => return Err(e),
                }
            }
            keys.sort_by(|a, b| (a.creation_date, &a.key_id).cmp(&(b.creation_date, &b.key_id)));
            Ok(keys)
        })())
    }

    fn list_aliases(&self) -> KmsFuture<'_, Vec<AliasEntry>> {
        KmsFuture::ready(self.aliases().map(|table| {
            table
                .aliases
                .into_iter()
                .map(|(alias_name, target_key_id)| AliasEntry { alias_name, target_key_id })
                .collect()
        }))
    }

    fn create_alias<'a>(&'a self, alias: &'a str, target: &'a KeyRef) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.set_alias(alias, target, false))
    }

    fn update_alias<'a>(&'a self, alias: &'a str, target: &'a KeyRef) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.set_alias(alias, target, true))
    }

    fn delete_alias<'a>(&'a self, alias: &'a str) -> KmsFuture<'a, ()> {
        KmsFuture::ready((|| {
            let mut table = self.aliases()?;
            if table.aliases.remove(alias).is_none() {
                return Err(KmsError::NotFound(format!("alias {alias} does not exist")));
            }
            self.save_aliases(table)
        })())
    }

    fn enable_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.update(key, |meta| self.lifecycle(meta).set_enabled(true)).map(drop))
    }

    fn disable_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.update(key, |meta| self.lifecycle(meta).set_enabled(false)).map(drop))
    }

    fn rotate_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata> {
        KmsFuture::ready(self.update(key, |meta| {
            self.check_usable(meta, "RotateKeyOnDemand")?;
            self.profile(meta, |key| key.check_rotates("RotateKeyOnDemand"))?;
            let rotations = usize::try_from(meta.versions.saturating_sub(1)).unwrap_or(usize::MAX);
            if rotations >= MAX_ON_DEMAND_ROTATIONS {
                return Err(KmsError::LimitExceeded(format!(
                    "key {} has been rotated on demand {rotations} times, the most KMS allows",
                    self.arn(&meta.key_id)
                )));
            }
            self.cluster.new_key_version(KeyKind::Symmetric, meta.key_spec, &meta.key_id, meta.versions + 1)?;
            meta.versions += 1;
            Ok(())
        }))
    }

    fn update_key_description<'a>(&'a self, key: &'a KeyRef, description: &'a str) -> KmsFuture<'a, ()> {
        KmsFuture::ready(
            self.update(key, |meta| {
                validate_description(description)?;
                self.lifecycle(meta).check_metadata_change("UpdateKeyDescription")?;
                description.clone_into(&mut meta.description);
                Ok(())
            })
            .map(drop),
        )
    }

    fn schedule_key_deletion<'a>(&'a self, key: &'a KeyRef, pending_window_days: u32) -> KmsFuture<'a, KeyMetadata> {
        KmsFuture::ready(self.update(key, |meta| {
            self.lifecycle(meta).schedule_deletion(now(), pending_window_days)?;
            meta.deletion_window_days = Some(pending_window_days);
            Ok(())
        }))
    }

    fn cancel_key_deletion<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata> {
        KmsFuture::ready(self.update(key, |meta| self.lifecycle(meta).cancel_deletion()))
    }
}
