//! The AWS KMS key service for envcrypt, on `aws-sdk-kms`.
//!
//! [`AwsKmsService`] implements the envcrypt key service traits ([`KeyService`](envcrypt::kms::KeyService),
//! [`KeyAdmin`](envcrypt::kms::KeyAdmin), [`KeyGovernance`](envcrypt::kms::KeyGovernance)) by calling
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

mod admin;
mod dry_run;
mod errors;
mod governance;
mod import;
mod key_pairs;
mod rotation;
mod service;
mod tags;

pub use errors::error_chain;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_kms::Client;
use envcrypt::kms::{Arn, KeyRef, KmsError, KmsFuture};

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

/// Why an AWS client could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Neither the options, the environment nor the profile give a region.
    #[error("no AWS region is configured (AWS_REGION, AWS_DEFAULT_REGION or the profile's region)")]
    NoRegion,
    /// The client's runtime could not start.
    #[error("cannot start the AWS client runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// A small tokio runtime for an AWS client: the SDK is async, envcrypt's callers are threads.
pub fn client_runtime(thread_name: &str) -> Result<tokio::runtime::Runtime, ConfigError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(thread_name)
        .enable_all()
        .build()
        .map_err(ConfigError::Runtime)
}

/// Loads the AWS configuration (the standard chain, with `options` over it) on `runtime`.
/// Retries follow `options.max_attempts`; timeouts are left to each client.
pub fn load_config(
    options: &AwsOptions,
    runtime: &tokio::runtime::Runtime,
) -> Result<aws_config::SdkConfig, ConfigError> {
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
        return Err(ConfigError::NoRegion);
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
        let unconfigured =
            |e: ConfigError| KmsError::Transport { context: "setting up AWS KMS".into(), source: Arc::new(e) };
        let runtime = client_runtime("envcrypt-aws").map_err(unconfigured)?;
        let config = load_config(options, &runtime).map_err(unconfigured)?;
        let timeouts = TimeoutConfig::builder()
            .operation_timeout(options.operation_timeout)
            .connect_timeout(Duration::from_secs(5))
            .build();
        let config = aws_sdk_kms::config::Builder::from(&config).timeout_config(timeouts).build();
        Ok(Self { client: Client::from_conf(config), runtime: Arc::new(runtime) })
    }

    /// Whether `arn` names an AWS KMS key (any AWS partition: `aws`, `aws-cn`, `aws-us-gov`).
    pub fn is_aws_arn(arn: &Arn) -> bool {
        arn.partition.starts_with("aws")
    }

    /// Runs `work` on the service's runtime.
    pub(crate) fn spawn<T, F>(&self, work: F) -> KmsFuture<'static, T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, KmsError>> + Send + 'static,
    {
        let handle = self.runtime.spawn(work);
        KmsFuture::new(async move {
            handle.await.map_err(|e| KmsError::Transport { context: "AWS KMS call".into(), source: Arc::new(e) })?
        })
    }

    /// Runs a key-state call (`EnableKey` and friends), then describes the key.
    pub(crate) fn key_call<T, F, Fut>(&self, key: &KeyRef, call: F) -> KmsFuture<'static, T>
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

/// An encryption context as the SDK sends it: none when empty.
pub(crate) fn context_map(
    context: &envcrypt::kms::EncryptionContext,
) -> Option<std::collections::HashMap<String, String>> {
    (!context.is_empty()).then(|| context.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
}
