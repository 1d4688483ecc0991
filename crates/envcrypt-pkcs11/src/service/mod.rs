//! The cluster as a key service: dispatch over healthy tokens, failover, re-sync, and the
//! KMS operations and key management on top.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use cryptoki::error::{Error as CkError, RvError};
use envcrypt::kms::{
    BoundContext, Ciphertext, DataKey, DataKeySpec, Decrypted, EncryptionContext, KeyAdmin, KeyMetadata, KeyRef,
    KeyService, KeyState, KmsError, KmsFuture, ReEncryptRequest, ReEncrypted, SecretBytes, MAX_ENCRYPT_PLAINTEXT,
};
use zeroize::Zeroizing;

mod admin;

use crate::module::Module;
use crate::token::{Token, TokenError};
use crate::{blob, replication, Pkcs11Options, PROVIDER_ID};

const REGION: &str = "pkcs11";
const ACCOUNT: &str = "000000000000";
const ALIASES: &str = "aliases";

/// A CMK's metadata, kept as JSON on every token; the highest revision wins a re-sync.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct KeyMeta {
    key_id: String,
    description: String,
    creation_date: u64,
    state: KeyState,
    deletion_date: Option<u64>,
    versions: u32,
    revision: u64,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct AliasTable {
    revision: u64,
    aliases: BTreeMap<String, String>,
}

struct Cluster {
    /// In configured order; `None` for a token that could not be opened (its health says why).
    /// Declared before the module, so that sessions close before it is finalized.
    tokens: Vec<Option<Token>>,
    _module: Module,
}

impl Cluster {
    /// An open token; only called with indices [`Pkcs11KeyService::up_indices`] gave.
    fn token(&self, index: usize) -> &Token {
        self.tokens[index].as_ref().expect("tokens that are up are open")
    }
}

#[derive(Debug, Clone, Default)]
struct Health {
    down: Option<(Instant, String)>,
}

/// One token's state, for `envcrypt hsm status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenStatus {
    /// The token label.
    pub label: String,
    /// Whether operations go to it.
    pub healthy: bool,
    /// Why it is down.
    pub error: Option<String>,
    /// How many CMKs it holds (unknown while down).
    pub keys: Option<usize>,
}

/// A cluster of PKCS#11 tokens as an envcrypt key service.
pub struct Pkcs11KeyService {
    options: Pkcs11Options,
    /// `None` between a failed module re-initialization and the next attempt. Operations hold
    /// the read lock while they run, so a re-initialization (write lock) never finalizes the
    /// module under one.
    cluster: RwLock<Option<Cluster>>,
    health: Mutex<Vec<Health>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for Pkcs11KeyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11KeyService").field("options", &self.options).finish_non_exhaustive()
    }
}

fn transport(context: String, error: impl std::error::Error + Send + Sync + 'static) -> KmsError {
    KmsError::Transport { context, source: Arc::new(error) }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Opens the module and every token it can: a token that is missing or refuses comes back as
/// its error, and only a cluster with no token at all is an error.
fn open_cluster(options: &Pkcs11Options) -> Result<(Cluster, Vec<Option<KmsError>>), KmsError> {
    let module = Module::load(&options.cluster)?;
    let mut tokens = Vec::new();
    let mut errors = Vec::new();
    for label in &options.cluster.tokens {
        let opened = module.slot(label).and_then(|slot| {
            Token::open(module.pkcs11(), slot, label, &options.pin, options.cluster.mechanisms).map_err(|e| match e {
                CkError::Pkcs11(RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange, _) => {
                    KmsError::AccessDenied(format!("token {label:?} refused the user PIN"))
                }
                CkError::Pkcs11(RvError::PinLocked, _) => KmsError::AccessDenied(format!(
                    "token {label:?} has locked its user PIN; its security officer must reset it"
                )),
                other => transport(format!("cannot log in to token {label:?}"), other),
            })
        });
        match opened {
            Ok(token) => {
                tokens.push(Some(token));
                errors.push(None);
            }
            Err(e) => {
                tokens.push(None);
                errors.push(Some(e));
            }
        }
    }
    if tokens.iter().all(Option::is_none) {
        return Err(errors.into_iter().flatten().next().expect("every token failed with an error"));
    }
    Ok((Cluster { tokens, _module: module }, errors))
}

fn health_from(errors: Vec<Option<KmsError>>) -> Vec<Health> {
    errors.into_iter().map(|e| Health { down: e.map(|e| (Instant::now(), e.to_string())) }).collect()
}

impl Pkcs11KeyService {
    /// Loads the module, logs in to every token, checks that they share the trusted cluster key
    /// (see [`replication`](crate::replication)), and copies every key to every token.
    pub fn connect(options: Pkcs11Options) -> Result<Self, KmsError> {
        let (cluster, errors) = open_cluster(&options)?;
        let count = cluster.tokens.len();
        let service = Self {
            options,
            cluster: RwLock::new(Some(cluster)),
            health: Mutex::new(health_from(errors)),
            next: AtomicUsize::new(0),
        };
        service.with_cluster(|cluster| {
            service.check_cluster_keys(cluster)?;
            for index in 0..count {
                if let Err(e) = service.resync(cluster, index) {
                    service.mark_down(index, &e);
                }
            }
            Ok(())
        })?;
        Ok(service)
    }

    /// Runs `work` on the cluster under the read lock.
    fn with_cluster<T>(&self, work: impl FnOnce(&Cluster) -> Result<T, KmsError>) -> Result<T, KmsError> {
        let guard = self.cluster.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        match guard.as_ref() {
            Some(cluster) => work(cluster),
            None => Err(not_active("the PKCS#11 module could not be re-initialized; it is retried after the back-off")),
        }
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Vec<Health>> {
        self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn token_failure(&self, error: TokenError) -> KmsError {
        match error {
            TokenError::Unauthenticated { .. } => KmsError::InvalidCiphertext(error.to_string()),
            TokenError::Missing { .. } => KmsError::NotFound(error.to_string()),
            TokenError::IvNotGenerated { .. } => KmsError::UnsupportedOperation(error.to_string()),
            TokenError::Unavailable { .. } => transport("PKCS#11 token".into(), error),
        }
    }

    /// Each token's health and key count.
    pub fn status(&self) -> Vec<TokenStatus> {
        self.revive();
        let guard = self.cluster.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let health = self.health().clone();
        let Some(cluster) = guard.as_ref() else {
            return self
                .options
                .cluster
                .tokens
                .iter()
                .zip(health)
                .map(|(label, health)| TokenStatus {
                    label: label.clone(),
                    healthy: false,
                    error: health.down.map(|(_, e)| e),
                    keys: None,
                })
                .collect();
        };
        cluster
            .tokens
            .iter()
            .zip(health)
            .zip(&self.options.cluster.tokens)
            .map(|((token, health), label)| {
                let keys = token
                    .as_ref()
                    .filter(|_| health.down.is_none())
                    .and_then(|t| t.data_names().ok())
                    .map(|names| names.iter().filter(|n| n.starts_with("meta/")).count());
                TokenStatus {
                    label: label.clone(),
                    healthy: health.down.is_none(),
                    error: health.down.map(|(_, e)| e),
                    keys,
                }
            })
            .collect()
    }

    /// Checks that the healthy tokens share the trusted cluster key that copies keys between
    /// them, hardening what an earlier envcrypt left on them first. One token alone needs no
    /// cluster key; of several, those without it are marked down (they could receive no keys),
    /// and if none has it the cluster is refused: only its security officer can make the key.
    fn check_cluster_keys(&self, cluster: &Cluster) -> Result<(), KmsError> {
        let up = self.up_indices();
        let mut lacking = Vec::new();
        for &index in &up {
            let token = cluster.token(index);
            let found = replication::harden_legacy_objects(token).and_then(|()| token.cluster_key());
            match found {
                Ok(_) => {}
                Err(TokenError::Missing { .. }) => lacking.push(index),
                Err(e) => self.mark_down(index, &e),
            }
        }
        if up.len() < 2 || lacking.is_empty() {
            return Ok(());
        }
        if lacking.len() == up.len() {
            let labels: Vec<&str> = lacking.iter().map(|&i| self.options.cluster.tokens[i].as_str()).collect();
            return Err(KmsError::UnsupportedOperation(format!(
                "the tokens {} share no trusted cluster key, so keys cannot be copied between them: \
                 their security officer must initialize the cluster first",
                labels.join(", ")
            )));
        }
        for index in lacking {
            self.mark_down(index, &cluster.token(index).missing(replication::CLUSTER_KEY_NAME));
        }
        Ok(())
    }

    fn up_indices(&self) -> Vec<usize> {
        self.health().iter().enumerate().filter(|(_, h)| h.down.is_none()).map(|(i, _)| i).collect()
    }

    fn mark_down(&self, index: usize, error: &TokenError) {
        if let Some(health) = self.health().get_mut(index) {
            health.down = Some((Instant::now(), error.to_string()));
        }
    }

    /// Tries every down token again now, whatever its back-off (`envcrypt hsm status --retry`).
    pub fn retry_now(&self) {
        for health in self.health().iter_mut() {
            if let Some((since, _)) = health.down.as_mut() {
                *since = Instant::now().checked_sub(self.options.cluster.retry_after).unwrap_or(*since);
            }
        }
        self.revive();
    }

    /// Tries tokens whose back-off has passed again: a token that answers is re-synced and
    /// used again. PKCS#11 modules keep a failed token's state until they are re-initialized,
    /// so a retry re-initializes the module and logs in to every token again.
    fn revive(&self) {
        let due: Vec<usize> = self
            .health()
            .iter()
            .enumerate()
            .filter(|(_, h)| {
                h.down.as_ref().is_some_and(|(since, _)| since.elapsed() >= self.options.cluster.retry_after)
            })
            .map(|(i, _)| i)
            .collect();
        if due.is_empty() {
            return;
        }
        let mut slot = self.cluster.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Close the old sessions and finalize the module before loading it again.
        drop(slot.take());
        let (cluster, errors) = match open_cluster(&self.options) {
            Ok((cluster, errors)) => (slot.insert(cluster), errors),
            Err(error) => {
                let mut health = self.health();
                for h in health.iter_mut() {
                    h.down = Some((Instant::now(), error.to_string()));
                }
                return;
            }
        };
        let mut health = self.health();
        for (index, (h, error)) in health.iter_mut().zip(errors).enumerate() {
            h.down = match (error, &cluster.tokens[index]) {
                (Some(error), _) => Some((Instant::now(), error.to_string())),
                (None, Some(token)) if due.contains(&index) || h.down.is_none() => {
                    token.probe().err().map(|e| (Instant::now(), e.to_string()))
                }
                (None, _) => h.down.take(),
            };
        }
        drop(health);
        for index in due {
            let ready = replication::harden_legacy_objects(cluster.token(index))
                .and_then(|()| cluster.token(index).cluster_key().map(drop));
            if let Err(e) = ready.and_then(|()| self.resync(cluster, index)) {
                self.mark_down(index, &e);
            }
        }
    }

    /// Brings token `target` up to date: newer key metadata and aliases, and every key
    /// version the other healthy tokens hold.
    fn resync(&self, cluster: &Cluster, target: usize) -> Result<(), TokenError> {
        let up = self.up_indices();
        if !up.contains(&target) {
            return Ok(());
        }
        for &source in up.iter().filter(|&&i| i != target) {
            let (from, to) = (cluster.token(source), cluster.token(target));
            for name in from.data_names()? {
                let Some(value) = from.read_data(&name)? else { continue };
                let newer = match to.read_data(&name)? {
                    None => true,
                    Some(existing) => revision(&value) > revision(&existing),
                };
                if newer {
                    to.write_data(&name, &value)?;
                }
                if let Some(meta) = name.strip_prefix("meta/").and(serde_json::from_slice::<KeyMeta>(&value).ok()) {
                    for version in 1..=meta.versions {
                        if from.has_key(&meta.key_id, version)? && !to.has_key(&meta.key_id, version)? {
                            replication::copy_key(from, to, &meta.key_id, version)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs `op` on the healthy tokens in turn, starting round-robin, until one answers:
    /// a token that fails is marked down, one that lacks the key is skipped.
    fn dispatch<T>(&self, op: impl Fn(&Token) -> Result<T, TokenError>) -> Result<T, KmsError> {
        self.revive();
        self.with_cluster(|cluster| {
            let count = cluster.tokens.len();
            let start = self.next.fetch_add(1, Ordering::Relaxed);
            let mut last = None;
            for step in 0..count {
                let index = (start + step) % count;
                if self.health()[index].down.is_some() {
                    continue;
                }
                match op(cluster.token(index)) {
                    Ok(value) => return Ok(value),
                    Err(e @ (TokenError::Unauthenticated { .. } | TokenError::IvNotGenerated { .. })) => {
                        return Err(self.token_failure(e))
                    }
                    Err(e @ TokenError::Unavailable { .. }) => {
                        self.mark_down(index, &e);
                        last = Some(e);
                    }
                    Err(e @ TokenError::Missing { .. }) => last = Some(e),
                }
            }
            Err(match last {
                Some(e @ TokenError::Missing { .. }) => self.token_failure(e),
                Some(e) => transport("every token of the PKCS#11 cluster failed".into(), e),
                None => not_active("every token of the PKCS#11 cluster is down"),
            })
        })
    }

    /// Writes a data object to every healthy token (a failing token is marked down).
    fn write_everywhere(&self, name: &str, value: &[u8]) -> Result<(), KmsError> {
        self.with_cluster(|cluster| {
            let mut written = 0;
            for index in self.up_indices() {
                match cluster.token(index).write_data(name, value) {
                    Ok(()) => written += 1,
                    Err(e) => self.mark_down(index, &e),
                }
            }
            if written == 0 {
                return Err(not_active("no token of the PKCS#11 cluster could record the change"));
            }
            Ok(())
        })
    }

    fn arn(&self, key_id: &str) -> String {
        format!("arn:envcrypt:kms:{REGION}:{ACCOUNT}:key/{key_id}")
    }

    fn aliases(&self) -> Result<AliasTable, KmsError> {
        let value = self.dispatch(|token| token.read_data(ALIASES))?;
        Ok(value.and_then(|v| serde_json::from_slice(&v).ok()).unwrap_or_default())
    }

    fn resolve(&self, key: &KeyRef) -> Result<String, KmsError> {
        if let Some(arn) = key.arn() {
            if arn.partition != "envcrypt" || arn.region != REGION || arn.account != ACCOUNT {
                return Err(KmsError::NotFound(format!("{key} is not a key of the PKCS#11 cluster")));
            }
        }
        if let Some(id) = key.key_id() {
            return Ok(id.to_owned());
        }
        let alias = key.alias_name().expect("a key reference without a key id is an alias");
        self.aliases()?.aliases.remove(alias).ok_or_else(|| KmsError::NotFound(format!("alias {alias} does not exist")))
    }

    fn meta(&self, key_id: &str) -> Result<KeyMeta, KmsError> {
        let name = format!("meta/{key_id}");
        let value = self.dispatch(|token| token.read_data(&name))?;
        let meta: KeyMeta = value
            .and_then(|v| serde_json::from_slice(&v).ok())
            .ok_or_else(|| KmsError::NotFound(format!("key {} does not exist", self.arn(key_id))))?;
        if meta.state == KeyState::PendingDeletion && meta.deletion_date.is_some_and(|d| d <= now()) {
            self.with_cluster(|cluster| {
                for index in self.up_indices() {
                    cluster.token(index).destroy_key(key_id, meta.versions).map_err(|e| self.token_failure(e))?;
                }
                Ok(())
            })?;
            return Err(KmsError::NotFound(format!("key {} does not exist", self.arn(key_id))));
        }
        Ok(meta)
    }

    fn save(&self, mut meta: KeyMeta) -> Result<KeyMeta, KmsError> {
        meta.revision += 1;
        self.write_everywhere(
            &format!("meta/{}", meta.key_id),
            &serde_json::to_vec(&meta).expect("metadata serializes"),
        )?;
        Ok(meta)
    }

    fn usable(&self, key: &KeyRef, operation: &'static str) -> Result<KeyMeta, KmsError> {
        let meta = self.meta(&self.resolve(key)?)?;
        self.check_usable(&meta, operation)?;
        Ok(meta)
    }

    fn check_usable(&self, meta: &KeyMeta, operation: &'static str) -> Result<(), KmsError> {
        meta.state.check_usable(&self.arn(&meta.key_id), operation)
    }

    fn metadata(&self, meta: &KeyMeta) -> Result<KeyMetadata, KmsError> {
        let aliases = self.aliases()?;
        Ok(KeyMetadata {
            key_id: meta.key_id.clone(),
            arn: self.arn(&meta.key_id),
            description: meta.description.clone(),
            state: meta.state,
            creation_date: meta.creation_date,
            deletion_date: meta.deletion_date,
            backing_keys: Some(meta.versions),
            aliases: aliases.aliases.iter().filter(|(_, id)| **id == meta.key_id).map(|(a, _)| a.clone()).collect(),
        })
    }

    fn encrypt_now(
        &self,
        key: &KeyRef,
        plaintext: &[u8],
        context: &BoundContext,
        operation: &'static str,
    ) -> Result<Ciphertext, KmsError> {
        if plaintext.is_empty() || plaintext.len() > MAX_ENCRYPT_PLAINTEXT {
            return Err(KmsError::Validation(format!(
                "plaintext is {} bytes; it must be between 1 and {MAX_ENCRYPT_PLAINTEXT}",
                plaintext.len()
            )));
        }
        let meta = self.usable(key, operation)?;
        let id = key_id_bytes(&meta.key_id)?;
        let aad = aad(&id, meta.versions, context);
        let (iv, sealed) = self.dispatch(|token| token.encrypt(&meta.key_id, meta.versions, &aad, plaintext))?;
        Ok(Ciphertext { blob: blob::encode(&id, meta.versions, &iv, &sealed), key_arn: self.arn(&meta.key_id) })
    }

    fn decrypt_now(
        &self,
        ciphertext: &[u8],
        context: &BoundContext,
        expected: Option<&KeyRef>,
        operation: &'static str,
    ) -> Result<Decrypted, KmsError> {
        let parsed = blob::decode(ciphertext).map_err(|why| KmsError::InvalidCiphertext(why.into()))?;
        let key_id = format_key_id(&parsed.key_id);
        if let Some(expected) = expected {
            if self.resolve(expected)? != key_id {
                return Err(KmsError::IncorrectKey { expected: expected.to_string(), actual: self.arn(&key_id) });
            }
        }
        let meta = self.meta(&key_id)?;
        self.check_usable(&meta, operation)?;
        if parsed.version > meta.versions {
            return Err(KmsError::InvalidCiphertext(format!(
                "key {} has no version {}",
                self.arn(&key_id),
                parsed.version
            )));
        }
        let aad = aad(&parsed.key_id, parsed.version, context);
        let plaintext = self
            .dispatch(|token| token.decrypt(&key_id, parsed.version, &parsed.iv, &aad, parsed.sealed))
            .map_err(|e| match e {
                KmsError::InvalidCiphertext(_) => KmsError::InvalidCiphertext(format!(
                    "the ciphertext does not authenticate under key {}: it was altered, or the encryption context differs",
                    self.arn(&key_id)
                )),
                other => other,
            })?;
        Ok(Decrypted { plaintext: SecretBytes::new(plaintext), key_arn: self.arn(&key_id) })
    }

    fn generate_now(
        &self,
        key: &KeyRef,
        spec: DataKeySpec,
        context: &EncryptionContext,
        operation: &'static str,
    ) -> Result<(Zeroizing<Vec<u8>>, Ciphertext), KmsError> {
        let context = BoundContext::new(context)?;
        let len = spec.key_len().map_err(KmsError::Validation)?;
        let plaintext = self.dispatch(|token| token.random(len))?;
        let sealed = self.encrypt_now(key, &plaintext, &context, operation)?;
        Ok((plaintext, sealed))
    }

    /// Generates a key version on one token and copies it to the other healthy ones.
    fn new_version(&self, key_id: &str, version: u32) -> Result<(), KmsError> {
        self.with_cluster(|cluster| {
            let up = self.up_indices();
            let start = self.next.fetch_add(1, Ordering::Relaxed);
            let mut source = None;
            for step in 0..up.len() {
                let index = up[(start + step) % up.len()];
                match cluster.token(index).generate_key(key_id, version) {
                    Ok(()) => {
                        source = Some(index);
                        break;
                    }
                    Err(e) => self.mark_down(index, &e),
                }
            }
            let source = source.ok_or_else(|| not_active("no token of the PKCS#11 cluster could generate the key"))?;
            for &index in up.iter().filter(|&&i| i != source) {
                if let Err(e) = replication::copy_key(cluster.token(source), cluster.token(index), key_id, version) {
                    self.mark_down(index, &e);
                }
            }
            Ok(())
        })
    }
}

fn not_active(message: &str) -> KmsError {
    KmsError::Service { name: "CloudHsmClusterNotActiveException".into(), message: message.into() }
}

fn revision(value: &[u8]) -> u64 {
    serde_json::from_slice::<serde_json::Value>(value).ok().and_then(|v| v["revision"].as_u64()).unwrap_or(0)
}

fn aad(key_id: &[u8; 16], version: u32, context: &BoundContext) -> Vec<u8> {
    [&blob::aad_prefix(key_id, version)[..], context.as_bytes()].concat()
}

fn new_key_id(random: &[u8]) -> String {
    let mut bytes: [u8; 16] = random[..16].try_into().expect("16 random bytes");
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    format_key_id(&bytes)
}

fn format_key_id(bytes: &[u8; 16]) -> String {
    let h = hex::encode(bytes);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

fn key_id_bytes(key_id: &str) -> Result<[u8; 16], KmsError> {
    let digits: String = key_id.chars().filter(|c| *c != '-').collect();
    let bytes = hex::decode(digits).map_err(|_| KmsError::NotFound(format!("{key_id} is not a key id")))?;
    bytes.try_into().map_err(|_| KmsError::NotFound(format!("{key_id} is not a key id")))
}

impl KeyService for Pkcs11KeyService {
    fn provider_id(&self) -> &str {
        PROVIDER_ID
    }

    fn generate_data_key<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKey> {
        KmsFuture::ready(self.generate_now(key, spec, context, "GenerateDataKey").map(|(plaintext, sealed)| DataKey {
            plaintext: SecretBytes::new(plaintext),
            ciphertext_blob: sealed.blob,
            key_arn: sealed.key_arn,
        }))
    }

    fn generate_data_key_without_plaintext<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        KmsFuture::ready(
            self.generate_now(key, spec, context, "GenerateDataKeyWithoutPlaintext").map(|(_, sealed)| sealed),
        )
    }

    fn encrypt<'a>(
        &'a self,
        key: &'a KeyRef,
        plaintext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        KmsFuture::ready(
            BoundContext::new(context).and_then(|context| self.encrypt_now(key, plaintext, &context, "Encrypt")),
        )
    }

    fn decrypt<'a>(
        &'a self,
        blob: &'a [u8],
        context: &'a EncryptionContext,
        expected_key: Option<&'a KeyRef>,
    ) -> KmsFuture<'a, Decrypted> {
        KmsFuture::ready(
            BoundContext::new(context).and_then(|context| self.decrypt_now(blob, &context, expected_key, "Decrypt")),
        )
    }

    fn re_encrypt<'a>(&'a self, request: ReEncryptRequest<'a>) -> KmsFuture<'a, ReEncrypted> {
        KmsFuture::ready((|| {
            let source_context = BoundContext::new(request.source_context)?;
            let destination_context = BoundContext::new(request.destination_context)?;
            let source = self.decrypt_now(request.blob, &source_context, request.source_key, "ReEncrypt")?;
            let sealed = self.encrypt_now(
                request.destination_key,
                source.plaintext.expose_secret(),
                &destination_context,
                "ReEncrypt",
            )?;
            Ok(ReEncrypted { blob: sealed.blob, key_arn: sealed.key_arn, source_key_arn: source.key_arn })
        })())
    }

    fn admin(&self) -> Option<&dyn KeyAdmin> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use envcrypt_testkit::{SoftHsm, USER_PIN};
    use serde_json::Value;

    use super::*;

    fn bytes(value: &Value) -> Vec<u8> {
        hex::decode(value.as_str().expect("a hex string")).expect("hex")
    }

    /// The blobs `vectors/generate.py` makes with Python's AES-GCM decrypt inside a token
    /// holding the same key material, and decode and encode byte for byte.
    #[test]
    fn blobs_match_the_known_answer_vectors() {
        let hsm = SoftHsm::new(&["vectors"]);
        let options = Pkcs11Options::new(hsm.module(), vec!["vectors".into()], Zeroizing::new(USER_PIN.into()));
        let service = Pkcs11KeyService::connect(options).unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../vectors/pkcs11-blobs.json");
        let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cases = vectors["cases"].as_array().unwrap();
        assert!(cases.len() >= 4);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let key_id = case["key_id"].as_str().unwrap();
            let version = u32::try_from(case["key_version"].as_u64().unwrap()).unwrap();
            service
                .with_cluster(|cluster| {
                    let token = cluster.token(0);
                    token
                        .destroy_key(key_id, 2)
                        .and_then(|()| token.import_key(key_id, version, &bytes(&case["key"])))
                        .map_err(|e| service.token_failure(e))
                })
                .unwrap();
            let meta = KeyMeta {
                key_id: key_id.to_owned(),
                description: name.to_owned(),
                creation_date: 0,
                state: KeyState::Enabled,
                deletion_date: None,
                versions: version,
                revision: 0,
            };
            service.save(meta).unwrap();

            let blob = bytes(&case["blob"]);
            let parsed = blob::decode(&blob).unwrap();
            assert_eq!((format_key_id(&parsed.key_id), parsed.version), (key_id.to_owned(), version), "{name}");
            assert_eq!(parsed.iv.to_vec(), bytes(&case["iv"]), "{name}");
            assert_eq!(blob::encode(&parsed.key_id, parsed.version, &parsed.iv, parsed.sealed), blob, "{name}");
            let context: EncryptionContext = case["encryption_context"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            let opened = service.decrypt(&blob, &context, None).wait().unwrap();
            assert_eq!(opened.plaintext.expose_secret(), bytes(&case["plaintext"]), "{name}");
            let mut other = context.clone();
            other.insert("extra", "pair").unwrap();
            assert_eq!(
                service.decrypt(&blob, &other, None).wait().unwrap_err().kms_name(),
                "InvalidCiphertextException"
            );
        }
    }
}
