//! The AWS KMS key service for envcrypt, on `aws-sdk-kms`.
//!
//! [`AwsKmsService`] implements the envcrypt [`KeyService`] and [`KeyAdmin`] traits by calling
//! AWS KMS. It writes encrypted data keys exactly as the AWS Encryption SDK's KMS keyring does
//! (provider id `aws-kms`, provider info = the key ARN KMS answered with), so the official SDKs
//! open what envcrypt seals and envcrypt opens theirs.
//!
//! The SDK is async on tokio. The service owns a small tokio runtime and runs every call on it,
//! so its futures can be awaited from any executor and [`KmsFuture::wait`] works from plain
//! threads (never call `wait` from inside an async task).
//!
//! Configuration follows the AWS standard chain (environment, profiles, SSO, process
//! credentials); `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_KMS` or [`AwsOptions::endpoint_url`]
//! point it at another endpoint, such as a local stand-in. Throttling and transient errors are
//! retried with exponential backoff, and every call has a timeout.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod errors;

pub use errors::error_chain;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{GrantConstraints, GrantOperation};
use aws_sdk_kms::Client;
use envcrypt::kms::{
    AliasEntry, Ciphertext, CreateGrantRequest, CreatedGrant, DataKey, DataKeySpec, Decrypted, EncryptionContext,
    GrantEntry, GrantTarget, KeyAdmin, KeyMetadata, KeyRef, KeyService, KeyState, KmsError, KmsFuture,
    ReEncryptRequest, ReEncrypted, SecretBytes,
};
use zeroize::Zeroizing;

use crate::errors::{missing, sdk_error};

/// The provider id of AWS KMS encrypted data keys, as the official SDKs write it.
pub const PROVIDER_ID: &str = "aws-kms";

/// How to reach AWS KMS.
#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// Another endpoint than AWS's (a stand-in on loopback, a VPC endpoint).
    pub endpoint_url: Option<String>,
    /// The region; else the standard chain (`AWS_REGION`, the profile).
    pub region: Option<String>,
    /// A named profile; else `AWS_PROFILE` or `default`.
    pub profile: Option<String>,
    /// The longest one KMS call may take, retries included (S3 transfers use a read timeout
    /// instead: a large part may take long to send).
    pub operation_timeout: Duration,
    /// Attempts per call, the first included (throttling and transient errors are retried).
    pub max_attempts: u32,
    /// An explicit access key id and secret (for stand-ins such as moto); otherwise the
    /// standard credential chain.
    pub static_credentials: Option<(String, String)>,
}

impl Default for AwsOptions {
    fn default() -> Self {
        Self {
            endpoint_url: None,
            region: None,
            profile: None,
            operation_timeout: Duration::from_secs(30),
            max_attempts: 5,
            static_credentials: None,
        }
    }
}

/// A small tokio runtime for an AWS client: the SDK is async, envcrypt's callers are threads.
pub fn client_runtime(thread_name: &str) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name(thread_name).enable_all().build()
}

/// Loads the AWS configuration (the standard chain, with `options` over it) on `runtime`.
/// Retries follow `options.max_attempts`; timeouts are left to each client.
pub fn load_config(options: &AwsOptions, runtime: &tokio::runtime::Runtime) -> Result<aws_config::SdkConfig, KmsError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(options.max_attempts));
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = &options.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some((access_key, secret)) = &options.static_credentials {
        let credentials = aws_sdk_kms::config::Credentials::new(access_key, secret, None, None, "envcrypt-static");
        loader = loader.credentials_provider(credentials);
    }
    let config = runtime.block_on(loader.load());
    if config.region().is_none() {
        return Err(KmsError::Validation(
            "no AWS region is configured: set AWS_REGION, a profile region, or --region".into(),
        ));
    }
    Ok(config)
}

/// AWS KMS as an envcrypt key service.
#[derive(Clone)]
pub struct AwsKmsService {
    client: Client,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for AwsKmsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let config = self.client.config();
        f.debug_struct("AwsKmsService").field("region", &config.region()).finish_non_exhaustive()
    }
}

impl AwsKmsService {
    /// Loads the AWS configuration and builds a client. Blocks while the configuration loads;
    /// call it outside async code.
    pub fn connect(options: &AwsOptions) -> Result<Self, KmsError> {
        let runtime = client_runtime("envcrypt-aws").map_err(|e| KmsError::Transport {
            context: "starting the AWS client runtime".into(),
            source: Arc::new(e),
        })?;
        let config = load_config(options, &runtime)?;
        let timeouts = TimeoutConfig::builder()
            .operation_timeout(options.operation_timeout)
            .connect_timeout(Duration::from_secs(5))
            .build();
        let config = aws_sdk_kms::config::Builder::from(&config).timeout_config(timeouts).build();
        Ok(Self { client: Client::from_conf(config), runtime: Arc::new(runtime) })
    }

    /// Runs `work` on the service's runtime.
    fn spawn<T, F>(&self, work: F) -> KmsFuture<'static, T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, KmsError>> + Send + 'static,
    {
        let handle = self.runtime.spawn(work);
        KmsFuture::new(async move {
            handle.await.map_err(|e| KmsError::Transport { context: "AWS KMS call".into(), source: Arc::new(e) })?
        })
    }
}

fn context_map(context: &EncryptionContext) -> Option<HashMap<String, String>> {
    (!context.is_empty()).then(|| context.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
}

fn blob(bytes: Option<&Blob>, operation: &'static str, field: &'static str) -> Result<Vec<u8>, KmsError> {
    bytes.map(|b| b.as_ref().to_vec()).ok_or_else(|| missing(operation, field))
}

fn key_arn(id: Option<&str>, operation: &'static str) -> Result<String, KmsError> {
    id.map(str::to_owned).ok_or_else(|| missing(operation, "KeyId"))
}

impl KeyService for AwsKmsService {
    fn provider_id(&self) -> &str {
        PROVIDER_ID
    }

    fn generate_data_key<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKey> {
        let request = spec_request(self.client.generate_data_key().key_id(key.to_string()), spec)
            .set_encryption_context(context_map(context));
        let key = key.to_string();
        self.spawn(async move {
            let out = request.send().await.map_err(|e| sdk_error("GenerateDataKey", &key, e))?;
            Ok(DataKey {
                plaintext: SecretBytes::new(Zeroizing::new(blob(out.plaintext(), "GenerateDataKey", "Plaintext")?)),
                ciphertext_blob: blob(out.ciphertext_blob(), "GenerateDataKey", "CiphertextBlob")?,
                key_arn: key_arn(out.key_id(), "GenerateDataKey")?,
            })
        })
    }

    fn generate_data_key_without_plaintext<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        let builder = self.client.generate_data_key_without_plaintext().key_id(key.to_string());
        let request = match spec {
            DataKeySpec::Aes256 => builder.key_spec(aws_sdk_kms::types::DataKeySpec::Aes256),
            DataKeySpec::Aes128 => builder.key_spec(aws_sdk_kms::types::DataKeySpec::Aes128),
            DataKeySpec::Bytes(n) => builder.number_of_bytes(i32::from(n)),
        }
        .set_encryption_context(context_map(context));
        let key = key.to_string();
        self.spawn(async move {
            let op = "GenerateDataKeyWithoutPlaintext";
            let out = request.send().await.map_err(|e| sdk_error(op, &key, e))?;
            Ok(Ciphertext {
                blob: blob(out.ciphertext_blob(), op, "CiphertextBlob")?,
                key_arn: key_arn(out.key_id(), op)?,
            })
        })
    }

    fn encrypt<'a>(
        &'a self,
        key: &'a KeyRef,
        plaintext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        let request = self
            .client
            .encrypt()
            .key_id(key.to_string())
            .plaintext(Blob::new(plaintext.to_vec()))
            .set_encryption_context(context_map(context));
        let key = key.to_string();
        self.spawn(async move {
            let out = request.send().await.map_err(|e| sdk_error("Encrypt", &key, e))?;
            Ok(Ciphertext {
                blob: blob(out.ciphertext_blob(), "Encrypt", "CiphertextBlob")?,
                key_arn: key_arn(out.key_id(), "Encrypt")?,
            })
        })
    }

    fn decrypt<'a>(
        &'a self,
        ciphertext: &'a [u8],
        context: &'a EncryptionContext,
        expected_key: Option<&'a KeyRef>,
    ) -> KmsFuture<'a, Decrypted> {
        let request = self
            .client
            .decrypt()
            .ciphertext_blob(Blob::new(ciphertext.to_vec()))
            .set_encryption_context(context_map(context))
            .set_key_id(expected_key.map(ToString::to_string));
        let key = expected_key.map_or_else(|| "(named by the ciphertext)".to_owned(), ToString::to_string);
        self.spawn(async move {
            let out = request.send().await.map_err(|e| sdk_error("Decrypt", &key, e))?;
            Ok(Decrypted {
                plaintext: SecretBytes::new(Zeroizing::new(blob(out.plaintext(), "Decrypt", "Plaintext")?)),
                key_arn: key_arn(out.key_id(), "Decrypt")?,
            })
        })
    }

    fn re_encrypt<'a>(&'a self, request: ReEncryptRequest<'a>) -> KmsFuture<'a, ReEncrypted> {
        let call = self
            .client
            .re_encrypt()
            .ciphertext_blob(Blob::new(request.blob.to_vec()))
            .set_source_encryption_context(context_map(request.source_context))
            .set_source_key_id(request.source_key.map(ToString::to_string))
            .destination_key_id(request.destination_key.to_string())
            .set_destination_encryption_context(context_map(request.destination_context));
        let key = request.destination_key.to_string();
        self.spawn(async move {
            let out = call.send().await.map_err(|e| sdk_error("ReEncrypt", &key, e))?;
            Ok(ReEncrypted {
                blob: blob(out.ciphertext_blob(), "ReEncrypt", "CiphertextBlob")?,
                key_arn: key_arn(out.key_id(), "ReEncrypt")?,
                source_key_arn: key_arn(out.source_key_id(), "ReEncrypt")?,
            })
        })
    }

    fn admin(&self) -> Option<&dyn KeyAdmin> {
        Some(self)
    }
}

fn spec_request(
    builder: aws_sdk_kms::operation::generate_data_key::builders::GenerateDataKeyFluentBuilder,
    spec: DataKeySpec,
) -> aws_sdk_kms::operation::generate_data_key::builders::GenerateDataKeyFluentBuilder {
    match spec {
        DataKeySpec::Aes256 => builder.key_spec(aws_sdk_kms::types::DataKeySpec::Aes256),
        DataKeySpec::Aes128 => builder.key_spec(aws_sdk_kms::types::DataKeySpec::Aes128),
        DataKeySpec::Bytes(n) => builder.number_of_bytes(i32::from(n)),
    }
}

fn metadata(meta: &aws_sdk_kms::types::KeyMetadata, aliases: Vec<String>) -> KeyMetadata {
    KeyMetadata {
        key_id: meta.key_id().to_owned(),
        arn: meta.arn().unwrap_or_default().to_owned(),
        description: meta.description().unwrap_or_default().to_owned(),
        state: meta.key_state().map_or(KeyState::Unavailable, |s| KeyState::from_name(s.as_str())),
        creation_date: meta.creation_date().map_or(0, |d| u64::try_from(d.secs()).unwrap_or(0)),
        deletion_date: meta.deletion_date().map(|d| u64::try_from(d.secs()).unwrap_or(0)),
        backing_keys: None,
        aliases,
    }
}

impl AwsKmsService {
    /// DescribeKey plus the key's aliases.
    async fn describe(client: &Client, key: &str) -> Result<KeyMetadata, KmsError> {
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

    /// Runs a key-state call (`EnableKey` and friends), then describes the key.
    fn key_call<T, F, Fut>(&self, key: &KeyRef, call: F) -> KmsFuture<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(Client, String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, KmsError>> + Send + 'static,
    {
        let client = self.client.clone();
        let key = key.to_string();
        self.spawn(async move { call(client, key).await })
    }
}

impl KeyAdmin for AwsKmsService {
    fn create_key<'a>(&'a self, description: &'a str) -> KmsFuture<'a, KeyMetadata> {
        let client = self.client.clone();
        let description = description.to_owned();
        self.spawn(async move {
            let out =
                client.create_key().description(description).send().await.map_err(|e| sdk_error("CreateKey", "", e))?;
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

    fn create_key_with_policy<'a>(
        &'a self,
        description: &'a str,
        policy: &'a str,
        bypass_lockout_check: bool,
    ) -> KmsFuture<'a, KeyMetadata> {
        let client = self.client.clone();
        let (description, policy) = (description.to_owned(), policy.to_owned());
        self.spawn(async move {
            let out = client
                .create_key()
                .description(description)
                .policy(policy)
                .bypass_policy_lockout_safety_check(bypass_lockout_check)
                .send()
                .await
                .map_err(|e| sdk_error("CreateKey", "", e))?;
            let meta = out.key_metadata().ok_or_else(|| missing("CreateKey", "KeyMetadata"))?;
            Ok(metadata(meta, Vec::new()))
        })
    }

    fn get_key_policy<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, String> {
        self.key_call(key, |client, key| async move {
            let out = client
                .get_key_policy()
                .key_id(&key)
                .policy_name("default")
                .send()
                .await
                .map_err(|e| sdk_error("GetKeyPolicy", &key, e))?;
            out.policy().map(str::to_owned).ok_or_else(|| missing("GetKeyPolicy", "Policy"))
        })
    }

    fn put_key_policy<'a>(&'a self, key: &'a KeyRef, policy: &'a str, bypass_lockout_check: bool) -> KmsFuture<'a, ()> {
        let policy = policy.to_owned();
        self.key_call(key, move |client, key| async move {
            client
                .put_key_policy()
                .key_id(&key)
                .policy_name("default")
                .policy(policy)
                .bypass_policy_lockout_safety_check(bypass_lockout_check)
                .send()
                .await
                .map_err(|e| sdk_error("PutKeyPolicy", &key, e))?;
            Ok(())
        })
    }

    fn create_grant<'a>(&'a self, request: CreateGrantRequest<'a>) -> KmsFuture<'a, CreatedGrant> {
        let grantee = request.grantee_principal.to_owned();
        let retiring = request.retiring_principal.map(str::to_owned);
        let name = request.name.map(str::to_owned);
        let operations: Vec<GrantOperation> =
            request.operations.iter().map(|op| GrantOperation::from(op.as_str())).collect();
        let constraints = request.constraints.map(|c| {
            GrantConstraints::builder()
                .set_encryption_context_equals(c.encryption_context_equals.clone().map(|m| m.into_iter().collect()))
                .set_encryption_context_subset(c.encryption_context_subset.clone().map(|m| m.into_iter().collect()))
                .build()
        });
        self.key_call(request.key, move |client, key| async move {
            let out = client
                .create_grant()
                .key_id(&key)
                .grantee_principal(grantee)
                .set_retiring_principal(retiring)
                .set_operations(Some(operations))
                .set_constraints(constraints)
                .set_name(name)
                .send()
                .await
                .map_err(|e| sdk_error("CreateGrant", &key, e))?;
            Ok(CreatedGrant {
                grant_id: out.grant_id().ok_or_else(|| missing("CreateGrant", "GrantId"))?.to_owned(),
                grant_token: out.grant_token().ok_or_else(|| missing("CreateGrant", "GrantToken"))?.to_owned(),
            })
        })
    }

    fn list_grants<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, Vec<GrantEntry>> {
        self.key_call(key, |client, key| async move {
            let grants: Vec<_> = client
                .list_grants()
                .key_id(&key)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<_, _>>()
                .await
                .map_err(|e| sdk_error("ListGrants", &key, e))?;
            Ok(grants.iter().map(grant_entry).collect())
        })
    }

    fn retire_grant<'a>(&'a self, target: GrantTarget<'a>) -> KmsFuture<'a, ()> {
        let client = self.client.clone();
        let (token, key, grant_id) = match target {
            GrantTarget::Token(token) => (Some(token.to_owned()), None, None),
            GrantTarget::Id { key, grant_id } => (None, Some(key.to_string()), Some(grant_id.to_owned())),
        };
        self.spawn(async move {
            let label = key.clone().unwrap_or_default();
            client
                .retire_grant()
                .set_grant_token(token)
                .set_key_id(key)
                .set_grant_id(grant_id)
                .send()
                .await
                .map_err(|e| sdk_error("RetireGrant", &label, e))?;
            Ok(())
        })
    }

    fn revoke_grant<'a>(&'a self, key: &'a KeyRef, grant_id: &'a str) -> KmsFuture<'a, ()> {
        let grant_id = grant_id.to_owned();
        self.key_call(key, move |client, key| async move {
            client
                .revoke_grant()
                .key_id(&key)
                .grant_id(grant_id)
                .send()
                .await
                .map_err(|e| sdk_error("RevokeGrant", &key, e))?;
            Ok(())
        })
    }
}

/// A grant as ListGrants returns it.
fn grant_entry(grant: &aws_sdk_kms::types::GrantListEntry) -> GrantEntry {
    let constraints = grant.constraints().map(|c| envcrypt::kms::GrantConstraints {
        encryption_context_equals: c.encryption_context_equals().map(|m| m.clone().into_iter().collect()),
        encryption_context_subset: c.encryption_context_subset().map(|m| m.clone().into_iter().collect()),
    });
    GrantEntry {
        key_id: grant.key_id().unwrap_or_default().to_owned(),
        grant_id: grant.grant_id().unwrap_or_default().to_owned(),
        name: grant.name().filter(|n| !n.is_empty()).map(str::to_owned),
        creation_date: grant.creation_date().map_or(0, |d| u64::try_from(d.secs()).unwrap_or(0)),
        grantee_principal: grant.grantee_principal().unwrap_or_default().to_owned(),
        retiring_principal: grant.retiring_principal().map(str::to_owned),
        issuing_account: grant.issuing_account().unwrap_or_default().to_owned(),
        operations: grant
            .operations()
            .iter()
            .filter_map(|op| envcrypt::kms::GrantOperation::from_name(op.as_str()))
            .collect(),
        constraints,
    }
}
