//! Key management on AWS KMS: the [`KeyAdmin`] calls, each answered with the key's metadata
//! as DescribeKey and ListAliases give it.

use aws_sdk_kms::Client;
use envcrypt::kms::{
    AliasEntry, CreateKeyRequest, ExpirationModel, KeyAdmin, KeyManager, KeyMetadata, KeyRef, KeySpec, KeyState,
    KeyUsage, KmsError, KmsFuture, Origin,
};

use crate::errors::{missing, sdk_error};
use crate::tags::aws_tags;
use crate::AwsKmsService;

pub(crate) fn metadata(meta: &aws_sdk_kms::types::KeyMetadata, aliases: Vec<String>) -> KeyMetadata {
    KeyMetadata {
        key_id: meta.key_id().to_owned(),
        arn: meta.arn().unwrap_or_default().to_owned(),
        description: meta.description().unwrap_or_default().to_owned(),
        state: meta.key_state().map_or(KeyState::Unavailable, |s| KeyState::from_name(s.as_str())),
        creation_date: meta.creation_date().map_or(0, |d| u64::try_from(d.secs()).unwrap_or(0)),
        deletion_date: meta.deletion_date().map(|d| u64::try_from(d.secs()).unwrap_or(0)),
        pending_deletion_window_days: meta.pending_deletion_window_in_days().and_then(|d| u32::try_from(d).ok()),
        key_spec: named(meta.key_spec().map(|s| s.as_str()), KeySpec::from_name, KeySpec::SymmetricDefault),
        key_usage: named(meta.key_usage().map(|u| u.as_str()), KeyUsage::from_name, KeyUsage::EncryptDecrypt),
        origin: named(meta.origin().map(|o| o.as_str()), Origin::from_name, Origin::AwsKms),
        key_manager: named(meta.key_manager().map(|m| m.as_str()), KeyManager::from_name, KeyManager::Customer),
        expiration_model: meta.expiration_model().and_then(|m| ExpirationModel::from_name(m.as_str())),
        valid_to: meta.valid_to().map(|d| u64::try_from(d.secs()).unwrap_or(0)),
        backing_keys: None,
        aliases,
    }
}

/// A KMS enumeration's value by name; KMS's defaults where it sends none.
fn named<T>(name: Option<&str>, from_name: fn(&str) -> Option<T>, default: T) -> T {
    name.and_then(from_name).unwrap_or(default)
}

impl AwsKmsService {
    /// DescribeKey plus the key's aliases.
    pub(crate) async fn describe(client: &Client, key: &str) -> Result<KeyMetadata, KmsError> {
        let out = client.describe_key().key_id(key).send().await.map_err(|e| sdk_error("DescribeKey", key, e))?;
        let meta = out.key_metadata().ok_or_else(|| missing("DescribeKey", "KeyMetadata"))?;
        let aliases = client
            .list_aliases()
            .key_id(meta.key_id())
            .send()
            .await
            .map_err(|e| sdk_error("ListAliases", key, e))?
            .aliases()
            .iter()
            .filter_map(|a| a.alias_name().map(str::to_owned))
            .collect();
        Ok(metadata(meta, aliases))
    }
}

impl KeyAdmin for AwsKmsService {
    fn create_key_with<'a>(&'a self, request: CreateKeyRequest<'a>) -> KmsFuture<'a, KeyMetadata> {
        let client = self.client.clone();
        let description = request.description.to_owned();
        let origin = request.origin.map(|o| aws_sdk_kms::types::OriginType::from(o.as_str()));
        let policy = request.policy.map(str::to_owned);
        let bypass = request.bypass_policy_lockout_safety_check;
        let tags = (!request.tags.is_empty()).then(|| aws_tags(request.tags)).transpose();
        let key_spec = request.key_spec.map(|s| aws_sdk_kms::types::KeySpec::from(s.as_str()));
        let key_usage = request.key_usage.map(|u| aws_sdk_kms::types::KeyUsageType::from(u.as_str()));
        self.spawn(async move {
            let out = client
                .create_key()
                .description(description)
                .set_key_spec(key_spec)
                .set_key_usage(key_usage)
                .set_origin(origin)
                .set_policy(policy)
                .bypass_policy_lockout_safety_check(bypass)
                .set_tags(tags?)
                .send()
                .await
                .map_err(|e| sdk_error("CreateKey", "", e))?;
            let meta = out.key_metadata().ok_or_else(|| missing("CreateKey", "KeyMetadata"))?;
            Ok(metadata(meta, Vec::new()))
        })
    }

    fn describe_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata> {
        self.key_call(key, |client, key| async move { Self::describe(&client, &key).await })
    }

    fn list_keys(&self) -> KmsFuture<'_, Vec<KeyMetadata>> {
        let client = self.client.clone();
        self.spawn(async move {
            let entries: Vec<_> = client
                .list_keys()
                .into_paginator()
                .items()
                .send()
                .collect::<Result<_, _>>()
                .await
                .map_err(|e| sdk_error("ListKeys", "", e))?;
            let mut keys = Vec::new();
            for id in entries.iter().filter_map(|entry| entry.key_id()) {
                keys.push(Self::describe(&client, id).await?);
            }
            Ok(keys)
        })
    }

    fn list_aliases(&self) -> KmsFuture<'_, Vec<AliasEntry>> {
        let client = self.client.clone();
        self.spawn(async move {
            let aliases: Vec<_> = client
                .list_aliases()
                .into_paginator()
                .items()
                .send()
                .collect::<Result<_, _>>()
                .await
                .map_err(|e| sdk_error("ListAliases", "", e))?;
            Ok(aliases
                .iter()
                .filter_map(|a| {
                    Some(AliasEntry {
                        alias_name: a.alias_name()?.to_owned(),
                        target_key_id: a.target_key_id()?.to_owned(),
                    })
                })
                .collect())
        })
    }

    fn create_alias<'a>(&'a self, alias: &'a str, target: &'a KeyRef) -> KmsFuture<'a, ()> {
        let alias = alias.to_owned();
        self.key_call(target, |client, key| async move {
            client
                .create_alias()
                .alias_name(&alias)
                .target_key_id(&key)
                .send()
                .await
                .map_err(|e| sdk_error("CreateAlias", &alias, e))?;
            Ok(())
        })
    }

    fn update_alias<'a>(&'a self, alias: &'a str, target: &'a KeyRef) -> KmsFuture<'a, ()> {
        let alias = alias.to_owned();
        self.key_call(target, |client, key| async move {
            client
                .update_alias()
                .alias_name(&alias)
                .target_key_id(&key)
                .send()
                .await
                .map_err(|e| sdk_error("UpdateAlias", &alias, e))?;
            Ok(())
        })
    }

    fn delete_alias<'a>(&'a self, alias: &'a str) -> KmsFuture<'a, ()> {
        let client = self.client.clone();
        let alias = alias.to_owned();
        self.spawn(async move {
            client.delete_alias().alias_name(&alias).send().await.map_err(|e| sdk_error("DeleteAlias", &alias, e))?;
            Ok(())
        })
    }

    fn enable_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()> {
        self.key_call(key, |client, key| async move {
            client.enable_key().key_id(&key).send().await.map_err(|e| sdk_error("EnableKey", &key, e))?;
            Ok(())
        })
    }

    fn disable_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()> {
        self.key_call(key, |client, key| async move {
            client.disable_key().key_id(&key).send().await.map_err(|e| sdk_error("DisableKey", &key, e))?;
            Ok(())
        })
    }

    fn rotate_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata> {
        self.key_call(key, |client, key| async move {
            client
                .rotate_key_on_demand()
                .key_id(&key)
                .send()
                .await
                .map_err(|e| sdk_error("RotateKeyOnDemand", &key, e))?;
            Self::describe(&client, &key).await
        })
    }

    fn update_key_description<'a>(&'a self, key: &'a KeyRef, description: &'a str) -> KmsFuture<'a, ()> {
        let description = description.to_owned();
        self.key_call(key, |client, key| async move {
            client
                .update_key_description()
                .key_id(&key)
                .description(description)
                .send()
                .await
                .map_err(|e| sdk_error("UpdateKeyDescription", &key, e))?;
            Ok(())
        })
    }

    fn schedule_key_deletion<'a>(&'a self, key: &'a KeyRef, pending_window_days: u32) -> KmsFuture<'a, KeyMetadata> {
        let days = i32::try_from(pending_window_days).unwrap_or(i32::MAX);
        self.key_call(key, move |client, key| async move {
            client
                .schedule_key_deletion()
                .key_id(&key)
                .pending_window_in_days(days)
                .send()
                .await
                .map_err(|e| sdk_error("ScheduleKeyDeletion", &key, e))?;
            Self::describe(&client, &key).await
        })
    }

    fn cancel_key_deletion<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, KeyMetadata> {
        self.key_call(key, |client, key| async move {
            client
                .cancel_key_deletion()
                .key_id(&key)
                .send()
                .await
                .map_err(|e| sdk_error("CancelKeyDeletion", &key, e))?;
            Self::describe(&client, &key).await
        })
    }
}
