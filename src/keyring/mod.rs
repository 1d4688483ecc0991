//! Which keys wrap a message's data key, and which may unwrap it.
//!
//! Sealing uses a [`Keyring`]: the first key generates the data key (GenerateDataKey, or the
//! system RNG for a raw key) and every further key wraps the same data key (Encrypt), so any
//! one of them opens the message, as the Encryption SDKs' multi-keyring does. Keys are key
//! service keys or [`RawKey`]s the caller holds ([`raw`]).
//! Opening uses an [`OpenPolicy`]: *strict* tries only the keys the caller names, *discovery*
//! tries every encrypted data key a configured service recognises (optionally only keys of
//! some accounts, [`DiscoveryFilter`]); raw keys are tried on the data keys they wrote. Every
//! key service sees the message's full encryption context, as the AWS KMS keyring does.
//!
//! Both can be bound to a [`DataKeyCache`] (see [`cache`]) so that many messages share one
//! key-service call.

pub mod cache;
pub mod raw;

use std::fmt;
use std::sync::Arc;

use cache::{CacheBinding, CacheLimits, DataKeyCache, InvalidCacheLimits, Materials};

use raw::{RawKey, RawKeyError};

use crate::context::{ContextError, EncryptionContext};
use crate::crypto;
use crate::kms::{Arn, DataKeySpec, KeyRef, KeyService, KmsError, SecretBytes};
use crate::message::{AlgorithmSuite, EncryptedDataKey, KeyDerivation, AWS_KMS_PROVIDER_PREFIX};

/// The keys that wrap a new message's data key.
#[derive(Clone, Default)]
pub struct Keyring {
    keys: Vec<WrappingKey>,
    cache: Option<CacheBinding>,
}

/// One key of a keyring: a key service's key, or a raw key.
#[derive(Clone)]
enum WrappingKey {
    Service(Arc<dyn KeyService>, KeyRef),
    Raw(Arc<RawKey>),
}

impl WrappingKey {
    /// What identifies the key to the data-key cache: provider id and key.
    fn cache_identity(&self) -> (&str, String) {
        match self {
            Self::Service(service, key) => (service.provider_id(), key.to_string()),
            Self::Raw(key) => (key.namespace(), key.name().to_owned()),
        }
    }
}

/// A key that was tried while opening, and why it failed.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The key (provider info, usually an ARN).
    pub key: String,
    /// Why it did not open the data key.
    pub error: KmsError,
}

/// Why a data key could not be wrapped or unwrapped.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// Sealing with no keys.
    #[error("no key to seal with")]
    NoKeys,
    /// A key service refused to wrap the data key.
    #[error("key {key}: {source}")]
    Wrap {
        /// The key.
        key: String,
        /// The service's error.
        source: KmsError,
    },
    /// A service uses a provider id reserved for AWS KMS.
    #[error("provider id {0:?} is reserved for AWS KMS keys")]
    ReservedProviderId(String),
    /// A raw key could not wrap the data key.
    #[error(transparent)]
    RawKey(#[from] RawKeyError),
    /// The encryption context cannot be serialized for a raw AES key to bind.
    #[error("encryption context: {0}")]
    Context(#[from] ContextError),
    /// No encrypted data key could be opened.
    #[error("{}", describe_failure(attempts, skipped))]
    NoKeyOpened {
        /// Every key tried, and why it failed.
        attempts: Vec<Attempt>,
        /// Encrypted data keys not tried (no matching service or key).
        skipped: Vec<String>,
    },
}

fn describe_failure(attempts: &[Attempt], skipped: &[String]) -> String {
    let mut out = String::from("no key could open the data key");
    for attempt in attempts {
        out.push_str(&format!("; {}: {}", attempt.key, attempt.error));
    }
    if !skipped.is_empty() {
        out.push_str(&format!("; not tried (no matching key or backend): {}", skipped.join(", ")));
    }
    out
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.keys.iter().map(|key| match key {
            WrappingKey::Service(_, key) => key.to_string(),
            WrappingKey::Raw(key) => key.to_string(),
        });
        f.debug_list().entries(keys).finish()
    }
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key; the first key added generates the data key.
    pub fn with_key(mut self, service: Arc<dyn KeyService>, key: KeyRef) -> Self {
        self.push(service, key);
        self
    }

    /// Adds a key.
    pub fn push(&mut self, service: Arc<dyn KeyService>, key: KeyRef) {
        self.keys.push(WrappingKey::Service(service, key));
    }

    /// Adds a raw key; the first key added generates the data key.
    pub fn with_raw_key(mut self, key: Arc<RawKey>) -> Self {
        self.push_raw(key);
        self
    }

    /// Adds a raw key.
    pub fn push_raw(&mut self, key: Arc<RawKey>) {
        self.keys.push(WrappingKey::Raw(key));
    }

    /// Whether no key was added.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Reuses data keys from `cache` within `limits` (see [`cache`]).
    pub fn with_cache(mut self, cache: Arc<DataKeyCache>, limits: CacheLimits) -> Result<Self, InvalidCacheLimits> {
        self.cache = Some(CacheBinding::new(cache, limits)?);
        Ok(self)
    }

    /// The data key for a new message of `plaintext_length` bytes (if known): from the cache
    /// when one is bound and has a usable entry, else from the key services.
    pub fn data_key(
        &self,
        context: &EncryptionContext,
        suite: AlgorithmSuite,
        plaintext_length: Option<u64>,
    ) -> Result<(SecretBytes, Vec<EncryptedDataKey>), KeyringError> {
        // A suite without key derivation encrypts under the data key itself, with IVs that
        // repeat in every message: a shared data key would reuse them. The SDKs' caching CMM
        // refuses those suites too.
        let derives_keys = suite.key_derivation() != KeyDerivation::Identity;
        let cacheable =
            self.cache.as_ref().zip(plaintext_length).filter(|(c, len)| derives_keys && *len <= c.limits.max_bytes);
        let Some((binding, bytes)) = cacheable else {
            return self.wrap_new_data_key(context, suite);
        };
        let keys = || self.keys.iter().map(WrappingKey::cache_identity);
        let Some(id) = binding.seal_id(keys(), suite, context) else {
            return self.wrap_new_data_key(context, suite);
        };
        let _claim = loop {
            if let Some(Materials::Seal { data_key, encrypted_data_keys }) =
                binding.cache.get_for_seal(&id, bytes, &binding.limits)
            {
                return Ok((data_key, encrypted_data_keys));
            }
            if let Some(claim) = binding.cache.claim(&id) {
                break claim;
            }
        };
        let (data_key, encrypted_data_keys) = self.wrap_new_data_key(context, suite)?;
        let materials =
            Materials::Seal { data_key: data_key.clone(), encrypted_data_keys: encrypted_data_keys.clone() };
        binding.cache.put(id, materials, bytes);
        Ok((data_key, encrypted_data_keys))
    }

    /// Generates a data key for `suite` and wraps it under every key, without the cache.
    pub fn wrap_new_data_key(
        &self,
        context: &EncryptionContext,
        suite: AlgorithmSuite,
    ) -> Result<(SecretBytes, Vec<EncryptedDataKey>), KeyringError> {
        let (first, rest) = self.keys.split_first().ok_or(KeyringError::NoKeys)?;
        let serialized_context =
            if self.keys.iter().any(|k| matches!(k, WrappingKey::Raw(_))) { context.serialize()? } else { Vec::new() };
        let (data_key, first_edk) = match first {
            WrappingKey::Service(service, key) => {
                check_provider_id(service.as_ref())?;
                let spec = match suite.data_key_len() {
                    32 => DataKeySpec::Aes256,
                    16 => DataKeySpec::Aes128,
                    len => DataKeySpec::Bytes(u16::try_from(len).expect("a data key is at most 32 bytes")),
                };
                let generated = service.generate_data_key(key, spec, context).wait().map_err(|e| wrap_error(key, e))?;
                let edk = edk(service.as_ref(), generated.key_arn, generated.ciphertext_blob);
                (generated.plaintext, edk)
            }
            WrappingKey::Raw(key) => {
                let mut data_key = zeroize::Zeroizing::new(vec![0u8; suite.data_key_len()]);
                crypto::fill_random(&mut data_key);
                let data_key = SecretBytes::new(data_key);
                let edk = key.wrap(data_key.expose_secret(), &serialized_context)?;
                (data_key, edk)
            }
        };
        let mut edks = vec![first_edk];
        for key in rest {
            edks.push(match key {
                WrappingKey::Service(service, key) => {
                    check_provider_id(service.as_ref())?;
                    let wrapped = service
                        .encrypt(key, data_key.expose_secret(), context)
                        .wait()
                        .map_err(|e| wrap_error(key, e))?;
                    edk(service.as_ref(), wrapped.key_arn, wrapped.blob)
                }
                WrappingKey::Raw(key) => key.wrap(data_key.expose_secret(), &serialized_context)?,
            });
        }
        Ok((data_key, edks))
    }
}

fn wrap_error(key: &KeyRef, source: KmsError) -> KeyringError {
    KeyringError::Wrap { key: key.to_string(), source }
}

fn check_provider_id(service: &dyn KeyService) -> Result<(), KeyringError> {
    let id = service.provider_id();
    // Only a real AWS KMS backend may write `aws-kms`; anything else under that prefix would
    // be misread by the official SDKs.
    if id.starts_with(AWS_KMS_PROVIDER_PREFIX) && id != AWS_KMS_PROVIDER_PREFIX {
        return Err(KeyringError::ReservedProviderId(id.to_owned()));
    }
    Ok(())
}

fn edk(service: &dyn KeyService, key_arn: String, ciphertext: Vec<u8>) -> EncryptedDataKey {
    EncryptedDataKey { provider_id: service.provider_id().to_owned(), provider_info: key_arn.into_bytes(), ciphertext }
}

/// A data key and where it came from.
#[derive(Debug)]
pub struct Unwrapped {
    /// The plaintext data key.
    pub data_key: SecretBytes,
    /// The ARN of the key that opened it.
    pub key_arn: String,
    /// Which encrypted data key of the header it came from.
    pub index: usize,
}

/// Which keys may open a message.
#[derive(Clone)]
pub struct OpenPolicy {
    services: Vec<Arc<dyn KeyService>>,
    strict_keys: Option<Vec<KeyRef>>,
    raw_keys: Vec<Arc<RawKey>>,
    discovery_filter: Option<DiscoveryFilter>,
    cache: Option<CacheBinding>,
}

/// In discovery, the only key service keys that may be tried: those whose ARN names this
/// partition and one of these accounts (the Encryption SDKs' discovery filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryFilter {
    /// The ARN partition (`aws`, `aws-cn`, ...).
    pub partition: String,
    /// The account ids.
    pub accounts: Vec<String>,
}

impl DiscoveryFilter {
    /// Why the key `arn` names may not be tried, if it may not.
    fn refusal(&self, arn: &Arn) -> Option<String> {
        if arn.partition != self.partition {
            return Some(format!("partition {} is not the discovery partition {}", arn.partition, self.partition));
        }
        if !self.accounts.contains(&arn.account) {
            return Some(format!("account {} is not a discovery account", arn.account));
        }
        None
    }
}

impl fmt::Debug for OpenPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenPolicy")
            .field("services", &self.services)
            .field("strict_keys", &self.strict_keys)
            .field("raw_keys", &self.raw_keys)
            .field("discovery_filter", &self.discovery_filter)
            .finish()
    }
}

impl OpenPolicy {
    /// The service that reads encrypted data keys with this provider id and info, if any.
    pub fn service_for(&self, provider_id: &str, provider_info: &[u8]) -> Option<&Arc<dyn KeyService>> {
        self.services.iter().find(|s| s.can_decrypt(provider_id, provider_info))
    }

    /// Try every encrypted data key that one of `services` recognises.
    pub fn discovery(services: Vec<Arc<dyn KeyService>>) -> Self {
        Self { services, strict_keys: None, raw_keys: Vec::new(), discovery_filter: None, cache: None }
    }

    /// Try only `keys`. A key given as an ARN matches the encrypted data key with that ARN;
    /// a key id or alias is passed to the service as the expected key, which checks it.
    pub fn strict(services: Vec<Arc<dyn KeyService>>, keys: Vec<KeyRef>) -> Self {
        Self { services, strict_keys: Some(keys), raw_keys: Vec::new(), discovery_filter: None, cache: None }
    }

    /// Also tries `keys` on the encrypted data keys they wrote, before any key service.
    pub fn with_raw_keys(mut self, keys: Vec<Arc<RawKey>>) -> Self {
        self.raw_keys = keys;
        self
    }

    /// In discovery, tries only key service keys that `filter` admits.
    pub fn with_discovery_filter(mut self, filter: DiscoveryFilter) -> Self {
        self.discovery_filter = Some(filter);
        self
    }

    /// Reuses opened data keys from `cache` for `limits.max_age` (see [`cache`]).
    pub fn with_cache(mut self, cache: Arc<DataKeyCache>, limits: CacheLimits) -> Result<Self, InvalidCacheLimits> {
        self.cache = Some(CacheBinding::new(cache, limits)?);
        Ok(self)
    }

    /// The keys a strict policy tries, in order; `None` in discovery.
    pub fn strict_keys(&self) -> Option<&[KeyRef]> {
        self.strict_keys.as_deref()
    }

    /// Unwraps the data key of a message sealed with `suite`: from the cache when one is bound
    /// and holds it, else from the first encrypted data key that opens.
    pub fn unwrap_data_key(
        &self,
        edks: &[EncryptedDataKey],
        context: &EncryptionContext,
        suite: AlgorithmSuite,
    ) -> Result<Unwrapped, KeyringError> {
        let Some(binding) = &self.cache else {
            return self.unwrap_uncached(edks, context, suite);
        };
        let strict = self.strict_keys.iter().flatten().map(|key| ("strict", key.to_string()));
        let raw = self.raw_keys.iter().map(|key| (key.namespace(), key.name().to_owned()));
        let filter = self.discovery_filter.iter().flat_map(|f| {
            std::iter::once(("discovery-partition", f.partition.clone()))
                .chain(f.accounts.iter().map(|account| ("discovery-account", account.clone())))
        });
        let keys = self
            .services
            .iter()
            .map(|service| (service.provider_id(), String::new()))
            .chain(strict)
            .chain(raw)
            .chain(filter);
        let Some(id) = binding.open_id(keys, suite, edks, context) else {
            return self.unwrap_uncached(edks, context, suite);
        };
        let _claim = loop {
            if let Some(Materials::Open { data_key, encrypted_data_key, key_arn }) =
                binding.cache.get_for_open(&id, &binding.limits)
            {
                if let Some(index) = edks.iter().position(|edk| *edk == encrypted_data_key) {
                    return Ok(Unwrapped { data_key, key_arn, index });
                }
            }
            if let Some(claim) = binding.cache.claim(&id) {
                break claim;
            }
        };
        let unwrapped = self.unwrap_uncached(edks, context, suite)?;
        let materials = Materials::Open {
            data_key: unwrapped.data_key.clone(),
            encrypted_data_key: edks[unwrapped.index].clone(),
            key_arn: unwrapped.key_arn.clone(),
        };
        binding.cache.put(id, materials, 0);
        Ok(unwrapped)
    }

    /// Unwraps a data key whose wrapping names no key or provider (an S3 Encryption Client
    /// object holds a bare KMS ciphertext blob): each service is asked in turn, with each strict
    /// key as the expected key, or with none in discovery. The services' own blobs say which
    /// key they need. `index` of the result is 0.
    pub fn unwrap_unnamed(&self, blob: &[u8], context: &EncryptionContext) -> Result<Unwrapped, KeyringError> {
        let expected: Vec<Option<&KeyRef>> = match &self.strict_keys {
            None => vec![None],
            Some(keys) => keys.iter().map(Some).collect(),
        };
        let mut attempts = Vec::new();
        for service in &self.services {
            for key in &expected {
                match service.decrypt(blob, context, *key).wait() {
                    Ok(out) => return Ok(Unwrapped { data_key: out.plaintext, key_arn: out.key_arn, index: 0 }),
                    Err(error) => attempts.push(Attempt {
                        key: key.map_or_else(|| service.provider_id().to_owned(), ToString::to_string),
                        error,
                    }),
                }
            }
        }
        Err(KeyringError::NoKeyOpened { attempts, skipped: Vec::new() })
    }

    fn unwrap_uncached(
        &self,
        edks: &[EncryptedDataKey],
        context: &EncryptionContext,
        suite: AlgorithmSuite,
    ) -> Result<Unwrapped, KeyringError> {
        let mut attempts = Vec::new();
        let mut skipped = Vec::new();
        let raw_context = if self.raw_keys.is_empty() { Vec::new() } else { context.serialize().unwrap_or_default() };
        for (index, edk) in edks.iter().enumerate() {
            let owners: Vec<&Arc<RawKey>> = self.raw_keys.iter().filter(|key| key.owns(edk)).collect();
            if !owners.is_empty() {
                for key in owners {
                    match key.unwrap(edk, &raw_context, suite.data_key_len()) {
                        Some(data_key) => return Ok(Unwrapped { data_key, key_arn: key.to_string(), index }),
                        None => attempts.push(Attempt {
                            key: key.to_string(),
                            error: KmsError::InvalidCiphertext(
                                "the data key does not open: another key of that name, an altered data key or \
                                 context, or only the public half of an RSA key"
                                    .to_owned(),
                            ),
                        }),
                    }
                }
                continue;
            }
            let info = String::from_utf8_lossy(&edk.provider_info).into_owned();
            let Some(service) = self.services.iter().find(|s| s.can_decrypt(&edk.provider_id, &edk.provider_info))
            else {
                let key = raw::aes_key_name(edk).map_or(info, |name| format!("raw AES key {name}"));
                skipped.push(format!("{key} ({})", edk.provider_id));
                continue;
            };
            let candidates: Vec<KeyRef> = match &self.strict_keys {
                // Discovery tries only key ARNs, as the SDKs' discovery keyrings do: an alias in
                // a header could be re-pointed at another key.
                None => match KeyRef::parse(&info) {
                    Ok(KeyRef::KeyArn(arn)) => match self.discovery_filter.as_ref().and_then(|f| f.refusal(&arn)) {
                        Some(reason) => {
                            skipped.push(format!("{info} ({reason})"));
                            continue;
                        }
                        None => vec![KeyRef::KeyArn(arn)],
                    },
                    Ok(_) => {
                        skipped.push(format!("{info} (not a key ARN)"));
                        continue;
                    }
                    Err(e) => {
                        attempts.push(Attempt { key: info, error: KmsError::InvalidCiphertext(e.to_string()) });
                        continue;
                    }
                },
                Some(keys) => keys
                    .iter()
                    .filter(|k| match k {
                        KeyRef::KeyArn(arn) => arn.to_string() == info,
                        _ => true,
                    })
                    .cloned()
                    .collect(),
            };
            if candidates.is_empty() {
                skipped.push(info);
                continue;
            }
            for expected in &candidates {
                match service.decrypt(&edk.ciphertext, context, Some(expected)).wait() {
                    Ok(out) if out.key_arn != info => attempts.push(Attempt {
                        key: info.clone(),
                        error: KmsError::InvalidCiphertext(format!(
                            "the key service answered with key {} for a data key recorded under {info}",
                            out.key_arn
                        )),
                    }),
                    Ok(out) => return Ok(Unwrapped { data_key: out.plaintext, key_arn: out.key_arn, index }),
                    Err(error) => attempts.push(Attempt { key: info.clone(), error }),
                }
            }
        }
        Err(KeyringError::NoKeyOpened { attempts, skipped })
    }
}
