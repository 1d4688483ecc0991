//! The tokens of a cluster and their health: dispatch over the healthy tokens, failover,
//! back-off and re-sync. What the tokens hold (keys, metadata) is the service's business;
//! this module only moves operations and objects between tokens.
//!
//! Operations go round-robin over the healthy tokens. A token that fails is marked down and
//! skipped; after `retry_after` the module is re-initialized (PKCS#11 modules keep a failed
//! token's state until then), and a token that answers again is re-synced with what the
//! others gained meanwhile before it takes operations.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Instant;

use cryptoki::error::{Error as CkError, RvError};
use envcrypt::kms::{KeySpec, KmsError};

use crate::key_kind::KeyKind;
use crate::module::Module;
use crate::records::{self, revision};
use crate::token::{cluster_key_name, login_refused, PublicParts, Token, TokenError};
use crate::{replication, Pkcs11Options};

/// The open tokens of one module initialization.
struct OpenTokens {
    /// In configured order; `None` for a token that could not be opened (its health says why).
    /// Declared before the module, so that sessions close before it is finalized.
    tokens: Vec<Option<Token>>,
    _module: Module,
}

impl OpenTokens {
    /// An open token; only called with indices [`Cluster::up_indices`] gave.
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
    /// The trusted cluster keys a token of several lacks (`envcrypt/cluster-wrap`, …): keys of
    /// those kinds are refused until the security officer runs `envcrypt hsm init-cluster`.
    pub missing_cluster_keys: Vec<&'static str>,
}

/// The tokens of a cluster, with their health.
pub(crate) struct Cluster {
    options: Pkcs11Options,
    /// `None` between a failed module re-initialization and the next attempt. Operations hold
    /// the read lock while they run, so a re-initialization (write lock) never finalizes the
    /// module under one.
    open: RwLock<Option<OpenTokens>>,
    health: Mutex<Vec<Health>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("options", &self.options).finish_non_exhaustive()
    }
}

/// A KMS error for a token failure that no other token can help with.
impl From<TokenError> for KmsError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Unauthenticated { .. } => KmsError::InvalidCiphertext(error.to_string()),
            TokenError::Missing { .. } => KmsError::NotFound(error.to_string()),
            TokenError::IvNotGenerated { .. } | TokenError::Refused { .. } => {
                KmsError::UnsupportedOperation(error.to_string())
            }
            TokenError::Unavailable { .. } => transport("PKCS#11 token".into(), error),
        }
    }
}

pub(crate) fn transport(context: String, error: impl std::error::Error + Send + Sync + 'static) -> KmsError {
    KmsError::Transport { context, source: Arc::new(error) }
}

/// The error CloudHSM answers when no HSM of the cluster can serve.
pub(crate) fn not_active(message: &str) -> KmsError {
    KmsError::Service { name: "CloudHsmClusterNotActiveException".into(), message: message.into() }
}

/// The exception name of a cluster whose tokens share no trusted cluster key (KMS's name for
/// a CloudHSM cluster that does not meet a key store's requirements).
pub const NOT_INITIALIZED: &str = "CloudHsmClusterInvalidConfigurationException";

/// Opens the module and every token it can: a token that is missing or refuses comes back as
/// its error, and only a cluster with no token at all is an error.
fn open_tokens(options: &Pkcs11Options) -> Result<(OpenTokens, Vec<Option<KmsError>>), KmsError> {
    let module = Module::load(&options.cluster)?;
    let mut tokens = Vec::new();
    let mut errors = Vec::new();
    for label in &options.cluster.tokens {
        let opened = module.slot(label).and_then(|slot| {
            Token::open(module.pkcs11(), slot, label, &options.pin, options.cluster.mechanisms).map_err(|e| match e {
                CkError::Pkcs11(RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange, _) => {
                    login_refused(format!("token {label:?} refused the user PIN"))
                }
                CkError::Pkcs11(RvError::PinLocked, _) => login_refused(format!(
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
    Ok((OpenTokens { tokens, _module: module }, errors))
}

impl Cluster {
    /// Loads the module, logs in to every token, checks that they share the trusted cluster key
    /// (see [`replication`](crate::replication)), and copies every key to every token.
    pub(crate) fn connect(options: Pkcs11Options) -> Result<Self, KmsError> {
        let (open, errors) = open_tokens(&options)?;
        let count = open.tokens.len();
        let cluster = Self {
            options,
            open: RwLock::new(Some(open)),
            health: Mutex::new(
                errors.into_iter().map(|e| Health { down: e.map(|e| (Instant::now(), e.to_string())) }).collect(),
            ),
            next: AtomicUsize::new(0),
        };
        cluster.with_open(|open| {
            cluster.check_cluster_keys(open)?;
            for index in 0..count {
                if let Err(e) = cluster.resync(open, index) {
                    cluster.mark_down(index, &e);
                }
            }
            Ok(())
        })?;
        Ok(cluster)
    }

    /// The mechanism choices of the cluster's tokens.
    pub(crate) fn mechanisms(&self) -> crate::Mechanisms {
        self.options.cluster.mechanisms
    }

    /// Runs `work` on the open tokens under the read lock.
    fn with_open<T>(&self, work: impl FnOnce(&OpenTokens) -> Result<T, KmsError>) -> Result<T, KmsError> {
        let guard = self.open.read().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            Some(open) => work(open),
            None => Err(not_active("the PKCS#11 module could not be re-initialized; it is retried after the back-off")),
        }
    }

    fn health(&self) -> MutexGuard<'_, Vec<Health>> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Each token's health and key count.
    pub(crate) fn status(&self) -> Vec<TokenStatus> {
        self.revive();
        let guard = self.open.read().unwrap_or_else(PoisonError::into_inner);
        let health = self.health().clone();
        let labels = &self.options.cluster.tokens;
        labels
            .iter()
            .zip(health)
            .enumerate()
            .map(|(index, (label, health))| {
                let token =
                    guard.as_ref().and_then(|open| open.tokens[index].as_ref()).filter(|_| health.down.is_none());
                let keys = token
                    .and_then(|t| t.data_names().ok())
                    .map(|names| names.iter().filter(|n| records::meta_key_id(n).is_some()).count());
                // One token alone copies nothing, so needs no cluster key.
                let missing_cluster_keys = token
                    .filter(|_| labels.len() > 1)
                    .map(|t| {
                        KeyKind::ALL
                            .into_iter()
                            .filter(|kind| matches!(t.cluster_key(*kind), Err(TokenError::Missing { .. })))
                            .map(KeyKind::cluster_key_label)
                            .collect()
                    })
                    .unwrap_or_default();
                TokenStatus {
                    label: label.clone(),
                    healthy: health.down.is_none() && guard.is_some(),
                    error: health.down.map(|(_, e)| e),
                    keys,
                    missing_cluster_keys,
                }
            })
            .collect()
    }

    /// Checks that the healthy tokens share the trusted cluster key that copies keys between
    /// them, hardening what an earlier envcrypt left on them first. One token alone needs no
    /// cluster key; of several, those without it are marked down (they could receive no keys),
    /// and if none has it the cluster is refused: only its security officer can make the key.
    fn check_cluster_keys(&self, open: &OpenTokens) -> Result<(), KmsError> {
        let up = self.up_indices();
        let mut lacking = Vec::new();
        for &index in &up {
            let token = open.token(index);
            let found = replication::harden_legacy_objects(token).and_then(|()| token.cluster_key(KeyKind::Symmetric));
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
            return Err(KmsError::Service {
                name: NOT_INITIALIZED.into(),
                message: format!(
                    "the tokens {} share no trusted cluster key, so keys cannot be copied between them: \
                     their security officer must initialize the cluster first",
                    labels.join(", ")
                ),
            });
        }
        for index in lacking {
            self.mark_down(index, &open.token(index).missing(&cluster_key_name(KeyKind::Symmetric)));
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

    /// Tries every down token again now, whatever its back-off (after an operator fixed one).
    pub(crate) fn retry_now(&self) {
        for health in self.health().iter_mut() {
            if let Some((since, _)) = health.down.as_mut() {
                *since = Instant::now().checked_sub(self.options.cluster.retry_after).unwrap_or(*since);
            }
        }
        self.revive();
    }

    /// Tries tokens whose back-off has passed again: a token that answers is re-synced and
    /// used again. A retry re-initializes the module and logs in to every token again.
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
        let mut slot = self.open.write().unwrap_or_else(PoisonError::into_inner);
        // Close the old sessions and finalize the module before loading it again.
        drop(slot.take());
        let (open, errors) = match open_tokens(&self.options) {
            Ok((open, errors)) => (slot.insert(open), errors),
            Err(error) => {
                for h in self.health().iter_mut() {
                    h.down = Some((Instant::now(), error.to_string()));
                }
                return;
            }
        };
        let mut health = self.health();
        for (index, (h, error)) in health.iter_mut().zip(errors).enumerate() {
            h.down = match (error, &open.tokens[index]) {
                (Some(error), _) => Some((Instant::now(), error.to_string())),
                (None, Some(token)) if due.contains(&index) || h.down.is_none() => {
                    token.probe().err().map(|e| (Instant::now(), e.to_string()))
                }
                (None, _) => h.down.take(),
            };
        }
        drop(health);
        for index in due {
            let ready = replication::harden_legacy_objects(open.token(index))
                .and_then(|()| open.token(index).cluster_key(KeyKind::Symmetric).map(drop));
            if let Err(e) = ready.and_then(|()| self.resync(open, index)) {
                self.mark_down(index, &e);
            }
        }
    }

    /// Brings token `target` up to date: newer key metadata and aliases, and every key
    /// version the other healthy tokens hold.
    fn resync(&self, open: &OpenTokens, target: usize) -> Result<(), TokenError> {
        let up = self.up_indices();
        if !up.contains(&target) {
            return Ok(());
        }
        for &source in up.iter().filter(|&&i| i != target) {
            let (from, to) = (open.token(source), open.token(target));
            for name in from.data_names()? {
                let Some(value) = from.read_data(&name)? else { continue };
                let newer = match to.read_data(&name)? {
                    None => true,
                    Some(existing) => revision(&value) > revision(&existing),
                };
                if newer {
                    to.write_data(&name, &value)?;
                }
                if let Some(meta) = records::parse_meta(&name, &value) {
                    let kind = meta.kind();
                    // Keys of a kind the cluster cannot copy yet stay where they are, until
                    // the security officer makes the kind's cluster key.
                    let copyable = |token: &Token| match token.cluster_key(kind) {
                        Ok(_) => Ok(true),
                        Err(TokenError::Missing { .. }) => Ok(false),
                        Err(e) => Err(e),
                    };
                    if !(copyable(from)? && copyable(to)?) {
                        continue;
                    }
                    for version in 1..=meta.versions {
                        if from.has_key(kind, &meta.key_id, version)? && !to.has_key(kind, &meta.key_id, version)? {
                            // A copy both tokens refuse while answering (metadata naming the
                            // wrong kind, say) is skipped: the key stays where it is.
                            if let Err(e) = replication::copy_key(from, to, kind, &meta.key_id, version) {
                                from.probe().and_then(|()| to.probe()).map_err(|_| e)?;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs `op` on the healthy tokens in turn, starting round-robin, until one answers:
    /// a token that fails is marked down, one that lacks the key is skipped.
    pub(crate) fn dispatch<T>(&self, op: impl Fn(&Token) -> Result<T, TokenError>) -> Result<T, KmsError> {
        self.revive();
        self.with_open(|open| {
            let count = open.tokens.len();
            let start = self.next.fetch_add(1, Ordering::Relaxed);
            let mut last = None;
            for step in 0..count {
                let index = (start + step) % count;
                if self.health()[index].down.is_some() {
                    continue;
                }
                match op(open.token(index)) {
                    Ok(value) => return Ok(value),
                    Err(
                        e @ (TokenError::Unauthenticated { .. }
                        | TokenError::IvNotGenerated { .. }
                        | TokenError::Refused { .. }),
                    ) => return Err(e.into()),
                    Err(e @ TokenError::Unavailable { .. }) => {
                        self.mark_down(index, &e);
                        last = Some(e);
                    }
                    Err(e @ TokenError::Missing { .. }) => last = Some(e),
                }
            }
            Err(match last {
                Some(e @ TokenError::Missing { .. }) => e.into(),
                Some(e) => transport("every token of the PKCS#11 cluster failed".into(), e),
                None => not_active("every token of the PKCS#11 cluster is down"),
            })
        })
    }

    /// Writes a data object to every healthy token (a failing token is marked down).
    pub(crate) fn write_everywhere(&self, name: &str, value: &[u8]) -> Result<(), KmsError> {
        self.with_open(|open| {
            let mut written = 0;
            for index in self.up_indices() {
                match open.token(index).write_data(name, value) {
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

    /// Destroys versions 1 to `versions` of a key on every healthy token.
    pub(crate) fn destroy_everywhere(&self, key_id: &str, versions: u32) -> Result<(), KmsError> {
        self.with_open(|open| {
            for index in self.up_indices() {
                open.token(index).destroy_key(key_id, versions)?;
            }
            Ok(())
        })
    }

    /// Checks that the healthy tokens can copy keys of `kind` safely: each holds the kind's
    /// cluster key, and, for HMAC keys, a symmetric cluster key that does not wrap them too
    /// ([`replication::wraps_hmac_keys`]). A cluster initialized by an earlier envcrypt fails
    /// this until its security officer runs the init again; so does one with a single token
    /// up, so that the others can take the key when they return.
    fn check_can_copy(&self, open: &OpenTokens, kind: KeyKind) -> Result<(), KmsError> {
        let not_initialized = |message: String| KmsError::Service { name: NOT_INITIALIZED.into(), message };
        let up = self.up_indices();
        for &index in &up {
            let token = open.token(index);
            let symmetric = token.cluster_key(KeyKind::Symmetric);
            // A single token, or a lone reachable token of a cluster never initialized, works
            // on its own, as it did before the cluster keys; once initialized, every kind needs
            // its cluster key.
            let on_its_own = open.tokens.len() == 1 || (up.len() == 1 && symmetric.is_err());
            let ready = match (on_its_own, kind, symmetric) {
                // An earlier symmetric cluster key on the token wraps HMAC keys even where
                // nothing is copied: a PIN holder could use it.
                (_, KeyKind::Hmac, Ok(key)) => {
                    token.cluster_key(kind).or_else(|e| if on_its_own { Ok(key) } else { Err(e) }).and_then(|_| {
                        token.with_session(|session| replication::wraps_hmac_keys(session, key, &token.mechanisms()))
                    })
                }
                (true, _, _) => Ok(false),
                (false, _, _) => token.cluster_key(kind).map(|_| false),
            };
            match ready {
                Ok(false) => {}
                Ok(true) => {
                    return Err(not_initialized(format!(
                        "token {}'s symmetric cluster key was made by an earlier envcrypt and would also copy HMAC \
                         keys, as AES keys: the security officer must run `envcrypt hsm init-cluster` again, which \
                         replaces it",
                        self.options.cluster.tokens[index]
                    )))
                }
                Err(e @ TokenError::Missing { .. }) => return Err(not_initialized(e.to_string())),
                Err(e) => self.mark_down(index, &e),
            }
        }
        Ok(())
    }

    /// Generates a key version of `kind` and `spec` on one token and copies it to the other
    /// healthy ones; a key pair's public half comes back. With several tokens, every one must
    /// hold the kind's cluster key first: a cluster initialized by an earlier envcrypt lacks the
    /// cluster keys of asymmetric and HMAC keys until its security officer runs the init again.
    pub(crate) fn new_key_version(
        &self,
        kind: KeyKind,
        spec: KeySpec,
        key_id: &str,
        version: u32,
    ) -> Result<Option<PublicParts>, KmsError> {
        self.with_open(|open| {
            self.check_can_copy(open, kind)?;
            let up = self.up_indices();
            let start = self.next.fetch_add(1, Ordering::Relaxed);
            let mut generated = None;
            for step in 0..up.len() {
                let index = up[(start + step) % up.len()];
                match open.token(index).generate_key(kind, spec, key_id, version) {
                    Ok(public) => {
                        generated = Some((index, public));
                        break;
                    }
                    Err(e) => self.mark_down(index, &e),
                }
            }
            let (source, public) =
                generated.ok_or_else(|| not_active("no token of the PKCS#11 cluster could generate the key"))?;
            for &index in up.iter().filter(|&&i| i != source) {
                if let Err(e) = replication::copy_key(open.token(source), open.token(index), kind, key_id, version) {
                    self.mark_down(index, &e);
                }
            }
            Ok(public)
        })
    }

    /// Runs `work` on the first token, for tests that plant known key material.
    #[cfg(test)]
    pub(crate) fn on_first_token<T>(&self, work: impl FnOnce(&Token) -> Result<T, TokenError>) -> Result<T, KmsError> {
        self.with_open(|open| Ok(work(open.token(0))?))
    }
}
