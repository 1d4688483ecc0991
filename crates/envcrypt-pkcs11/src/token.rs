//! One PKCS#11 token: a pool of logged-in sessions and the objects envcrypt keeps on it.
//!
//! Each call takes an idle session from the pool (opening one if all are busy) and gives it
//! back, so concurrent callers work on one token in parallel. Object handles are looked up by
//! label once and cached; a call that fails with a cached handle looks the object up again and
//! is retried only if the handle had gone stale (the object was replaced or destroyed, here or
//! by another process), so a changed object is never missed and a search is not made per call.
//!
//! A CMK version is a key object generated in the token, labelled
//! `envcrypt/key/<key id>/<version>`, of its kind's class and key type: sensitive (its value can
//! never be read), and extractable only under its kind's trusted cluster key, so that the
//! cluster can copy it and nobody can export it ([`key_kind`](crate::key_kind),
//! [`replication`](crate::replication)); it is looked up by label, class, key type and (for RSA)
//! use, so metadata naming the wrong kind finds nothing. Key metadata (kind, state, description,
//! dates, version count, a key pair's public key) and the alias table are data objects
//! (`envcrypt/meta/<key id>`, `envcrypt/aliases`) holding JSON; they are not secret.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Mutex, MutexGuard, PoisonError};

use cryptoki::context::Function;
use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use envcrypt::crypto::key_pair;
use envcrypt::kms::{KeySpec, KmsError};
use zeroize::Zeroizing;

use crate::key_kind::{key_label, key_template, KeyKind};
use crate::mechanisms::{IvSource, Mechanisms, IV_LEN};

const APPLICATION: &[u8] = b"envcrypt";
/// Idle sessions a token keeps for reuse; more are opened while callers need them, and closed
/// when given back beyond this.
const IDLE_SESSIONS: usize = 8;

/// How errors name a missing cluster key.
pub(crate) fn cluster_key_name(kind: KeyKind) -> String {
    format!(
        "trusted cluster key {} (the security officer makes it with `envcrypt hsm init-cluster`, which adds the \
         cluster keys an earlier envcrypt did not make)",
        kind.cluster_key_label()
    )
}
/// The exception name of a refused login.
pub const LOGIN_REFUSED: &str = "CloudHsmAccessDeniedException";

/// The token refused a login. Not `AccessDeniedException`, which KMS keeps for key policies
/// and grants: CloudHSM names a refused crypto user this way.
pub(crate) fn login_refused(message: String) -> KmsError {
    KmsError::Service { name: LOGIN_REFUSED.into(), message }
}

/// Why a token call failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token, its session or its module failed: try another token.
    #[error("token {label}: {}", describe(error))]
    Unavailable {
        /// The token label.
        label: String,
        /// The PKCS#11 error.
        error: CkError,
    },
    /// The token works but refused the data: a tag that does not verify, a wrong context.
    #[error("token {label}: the ciphertext does not authenticate")]
    Unauthenticated {
        /// The token label.
        label: String,
    },
    /// The key is not on this token.
    #[error("token {label} holds no {key}")]
    Missing {
        /// The token label.
        label: String,
        /// What was looked for.
        key: String,
    },
    /// The token left the AES-GCM IV as it was given, where the mechanism variant expects it
    /// to generate one: every blob would share that IV.
    #[error(
        "token {label} did not generate the AES-GCM IV that the `{variant}` mechanism variant expects it to \
         write back, so every ciphertext would share one IV; refusing to encrypt (a token that takes \
         the IV from the caller needs the `softhsm` variant)"
    )]
    IvNotGenerated {
        /// The token label.
        label: String,
        /// The mechanism variant's name.
        variant: &'static str,
    },
    /// The token works but refused the request itself (a mechanism or parameter it lacks):
    /// another token of the same kind would refuse it too.
    #[error("token {label} refused the request: {}", describe(error))]
    Refused {
        /// The token label.
        label: String,
        /// The PKCS#11 error.
        error: CkError,
    },
}

/// What an object is looked up as: envcrypt's data object, or a key object of a kind (its class
/// and key type, so that metadata naming the wrong kind finds no key).
#[derive(Debug, Clone, Copy)]
enum Sought {
    Data,
    Key(KeyKind),
}

impl Sought {
    fn attributes(self) -> Vec<Attribute> {
        match self {
            Self::Data => vec![Attribute::Class(ObjectClass::DATA)],
            Self::Key(kind) => {
                let mut attributes = vec![Attribute::Class(kind.class()), Attribute::KeyType(kind.key_type())];
                // An RSA key's use tells a signing key from an encryption key.
                match kind {
                    KeyKind::RsaSign => attributes.push(Attribute::Sign(true)),
                    KeyKind::RsaDecrypt => attributes.push(Attribute::Decrypt(true)),
                    _ => {}
                }
                attributes
            }
        }
    }
}

/// The public half of a key pair generated in a token, as the token gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicParts {
    /// An RSA key's modulus and public exponent, big-endian.
    Rsa { modulus: Vec<u8>, exponent: Vec<u8> },
    /// An elliptic-curve key's `CKA_EC_POINT`.
    Ec { point: Vec<u8> },
}

/// A PKCS#11 failure in one short line: the call and its return value's name.
pub(crate) fn describe(error: &CkError) -> String {
    match error {
        CkError::Pkcs11(rv, function) => format!("{function:?} failed with {rv:?}"),
        other => other.to_string(),
    }
}

/// A logged-in token.
pub struct Token {
    label: String,
    pkcs11: Pkcs11,
    slot: Slot,
    /// Logged-in sessions not in use.
    idle: Mutex<Vec<Session>>,
    /// Object handles by label (labels are unique across envcrypt's object classes).
    handles: Mutex<HashMap<String, ObjectHandle>>,
    mechanisms: Mechanisms,
}

/// A session taken from a token's pool; given back when dropped.
struct PooledSession<'a> {
    token: &'a Token,
    session: Option<Session>,
}

impl Deref for PooledSession<'_> {
    type Target = Session;

    fn deref(&self) -> &Session {
        self.session.as_ref().expect("a pooled session is held until it is dropped")
    }
}

impl Drop for PooledSession<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let mut idle = self.token.idle();
            if idle.len() < IDLE_SESSIONS {
                idle.push(session);
            }
        }
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("label", &self.label).field("slot", &self.slot.id()).finish_non_exhaustive()
    }
}

/// Finds `kind`'s trusted cluster key in `session`: an untrusted key under the same label is
/// not it.
pub(crate) fn find_cluster_key(session: &Session, kind: KeyKind) -> cryptoki::error::Result<Option<ObjectHandle>> {
    let template = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::Token(true),
        Attribute::Label(kind.cluster_key_label().as_bytes().to_vec()),
        Attribute::Trusted(true),
    ];
    Ok(session.find_objects(&template)?.first().copied())
}

fn meta_label(name: &str) -> String {
    format!("envcrypt/{name}")
}

impl Token {
    /// Opens a read-write session on `slot` and logs in as the user.
    pub fn open(pkcs11: &Pkcs11, slot: Slot, label: &str, pin: &str, mechanisms: Mechanisms) -> Result<Self, CkError> {
        let session = pkcs11.open_rw_session(slot)?;
        match session.login(UserType::User, Some(&AuthPin::new(pin.into()))) {
            // The login state is the application's, per token: another handle logged in already.
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(e),
        }
        Ok(Self {
            label: label.to_owned(),
            pkcs11: pkcs11.clone(),
            slot,
            idle: Mutex::new(vec![session]),
            handles: Mutex::new(HashMap::new()),
            mechanisms,
        })
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Session>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn handles(&self) -> MutexGuard<'_, HashMap<String, ObjectHandle>> {
        self.handles.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle session, or a new one: the login is the application's, so it is logged in too.
    fn session(&self) -> Result<PooledSession<'_>, TokenError> {
        let idle = self.idle().pop();
        let session = match idle {
            Some(session) => session,
            None => self.pkcs11.open_rw_session(self.slot).map_err(|e| self.unavailable(e))?,
        };
        Ok(PooledSession { token: self, session: Some(session) })
    }

    fn unavailable(&self, error: CkError) -> TokenError {
        TokenError::Unavailable { label: self.label.clone(), error }
    }

    /// Whether the token answers at all (a cheap call that touches the token).
    pub fn probe(&self) -> Result<(), TokenError> {
        self.pkcs11.get_token_info(self.slot).map(drop).map_err(|e| self.unavailable(e))
    }

    /// Finds an object. A token that has gone away may answer a search with nothing
    /// (SoftHSM2 does), so an empty answer is trusted only from a token that still answers.
    fn find(&self, session: &Session, sought: Sought, label: &str) -> Result<Option<ObjectHandle>, TokenError> {
        let mut template = sought.attributes();
        template.extend([Attribute::Token(true), Attribute::Label(label.as_bytes().to_vec())]);
        let found = session.find_objects(&template).map_err(|e| self.unavailable(e))?;
        if found.is_empty() {
            self.probe()?;
        }
        Ok(found.first().copied())
    }

    /// Finds an object and remembers its handle (or forgets it, if the object is gone).
    fn lookup(&self, session: &Session, sought: Sought, label: &str) -> Result<Option<ObjectHandle>, TokenError> {
        let found = self.find(session, sought, label)?;
        match found {
            Some(handle) => self.handles().insert(label.to_owned(), handle),
            None => self.handles().remove(label),
        };
        Ok(found)
    }

    /// Runs `op` on the object labelled `label`, or answers `None` if there is none. With a
    /// cached handle first; if `op` fails with it, the object is looked up again and `op` runs
    /// once more only if the handle had gone stale, so a genuine failure is reported as it is.
    fn on_object<T>(
        &self,
        session: &Session,
        sought: Sought,
        label: &str,
        op: impl Fn(ObjectHandle) -> Result<T, CkError>,
    ) -> Result<Option<Result<T, CkError>>, TokenError> {
        let cached = self.handles().get(label).copied();
        if let Some(handle) = cached {
            let first = op(handle);
            if first.is_ok() {
                return Ok(Some(first));
            }
            return Ok(match self.lookup(session, sought, label)? {
                Some(fresh) if fresh != handle => Some(op(fresh)),
                Some(_) => Some(first),
                None => None,
            });
        }
        Ok(self.lookup(session, sought, label)?.map(op))
    }

    /// Runs `op` on a CMK version's key object of `kind`; a token without it answers `Missing`.
    fn on_key<T>(
        &self,
        session: &Session,
        kind: KeyKind,
        key_id: &str,
        version: u32,
        op: impl Fn(ObjectHandle) -> Result<T, CkError>,
    ) -> Result<Result<T, CkError>, TokenError> {
        let label = key_label(key_id, version);
        self.on_object(session, Sought::Key(kind), &label, op)?.ok_or_else(|| self.missing(&format!("key {label}")))
    }

    /// Whether the token holds a CMK version of `kind`.
    pub(crate) fn has_key(&self, kind: KeyKind, key_id: &str, version: u32) -> Result<bool, TokenError> {
        let session = self.session()?;
        Ok(self.lookup(&session, Sought::Key(kind), &key_label(key_id, version))?.is_some())
    }

    /// `kind`'s trusted cluster key.
    pub(crate) fn cluster_key(&self, kind: KeyKind) -> Result<ObjectHandle, TokenError> {
        let found = self.with_session(|session| find_cluster_key(session, kind))?;
        if found.is_none() {
            self.probe()?;
        }
        found.ok_or_else(|| self.missing(&cluster_key_name(kind)))
    }

    /// Generates a CMK version of `spec` and `kind` inside the token; a key pair's public half
    /// is read and its object destroyed (the service keeps the public key with the key's
    /// metadata).
    pub(crate) fn generate_key(
        &self,
        kind: KeyKind,
        spec: KeySpec,
        key_id: &str,
        version: u32,
    ) -> Result<Option<PublicParts>, TokenError> {
        let session = self.session()?;
        let template = key_template(kind, key_id, version);
        let generated = match kind {
            KeyKind::Symmetric | KeyKind::Hmac => {
                let (mechanism, len) = match kind {
                    KeyKind::Symmetric => (Mechanism::AesKeyGen, 32),
                    _ => (Mechanism::GenericSecretKeyGen, key_pair::hmac_key_len(spec)),
                };
                let len = u64::try_from(len).expect("a key length").into();
                let template: Vec<Attribute> = template.into_iter().chain([Attribute::ValueLen(len)]).collect();
                session.generate_key(&mechanism, &template).map(|_| None)
            }
            KeyKind::RsaSign | KeyKind::RsaDecrypt | KeyKind::EcSign => {
                let (mechanism, public) = match key_pair::ec_curve(spec) {
                    Some(curve) => (Mechanism::EccKeyPairGen, vec![Attribute::EcParams(curve)]),
                    None => (
                        Mechanism::RsaPkcsKeyPairGen,
                        vec![Attribute::ModulusBits(rsa_bits(spec).into()), Attribute::PublicExponent(vec![1, 0, 1])],
                    ),
                };
                let public: Vec<Attribute> = public.into_iter().chain([Attribute::Token(false)]).collect();
                session.generate_key_pair(&mechanism, &public, &template).and_then(|(public, _)| {
                    let parts = public_parts(&session, public);
                    let destroyed = session.destroy_object(public);
                    parts.and_then(|parts| destroyed.map(|()| Some(parts)))
                })
            }
        };
        generated.map_err(|e| self.unavailable(e))
    }

    /// Creates a symmetric CMK version from known key material (the known-answer vectors only).
    #[cfg(test)]
    pub(crate) fn import_key(&self, key_id: &str, version: u32, value: &[u8]) -> Result<(), TokenError> {
        let mut template = key_template(KeyKind::Symmetric, key_id, version);
        template.push(Attribute::Value(value.to_vec()));
        self.session()?.create_object(&template).map(drop).map_err(|e| self.unavailable(e))
    }

    /// Random bytes from the token's RNG.
    pub fn random(&self, len: usize) -> Result<Zeroizing<Vec<u8>>, TokenError> {
        let mut out = Zeroizing::new(vec![0u8; len]);
        self.session()?.generate_random_slice(&mut out).map_err(|e| self.unavailable(e))?;
        Ok(out)
    }

    /// AES-GCM inside the token under a CMK version: the IV and the ciphertext with its tag.
    pub fn encrypt(
        &self,
        key_id: &str,
        version: u32,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<([u8; IV_LEN], Vec<u8>), TokenError> {
        let mut iv = [0u8; IV_LEN];
        if self.mechanisms.gcm_iv == IvSource::Caller {
            iv.copy_from_slice(&self.random(IV_LEN)?);
        }
        let session = self.session()?;
        let (iv, sealed) = self
            .on_key(&session, KeyKind::Symmetric, key_id, version, |key| {
                let mut iv = iv;
                session.encrypt(&self.mechanisms.gcm(&mut iv, aad), key, plaintext).map(|sealed| (iv, sealed))
            })?
            .map_err(|e| self.refusal(e))?;
        // A token that should generate the IV but leaves the zeroed buffer as it was would
        // seal everything under one IV: refuse, whatever it answered.
        if self.mechanisms.gcm_iv == IvSource::Token && iv == [0u8; IV_LEN] {
            return Err(TokenError::IvNotGenerated { label: self.label.clone(), variant: self.mechanisms.name() });
        }
        Ok((iv, sealed))
    }

    /// AES-GCM decryption inside the token. A refusal by a token that still answers is an
    /// authentication failure (tokens report a bad tag inconsistently, SoftHSM2 as a general
    /// error); one that no longer answers is unavailable.
    pub fn decrypt(
        &self,
        key_id: &str,
        version: u32,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, TokenError> {
        let session = self.session()?;
        let opened = self.on_key(&session, KeyKind::Symmetric, key_id, version, |key| {
            let mut iv = *iv;
            session.decrypt(&self.mechanisms.gcm(&mut iv, aad), key, sealed)
        })?;
        match opened {
            Ok(plaintext) => Ok(Zeroizing::new(plaintext)),
            Err(error) => {
                drop(session);
                self.probe().map_err(|_| self.unavailable(error))?;
                Err(TokenError::Unauthenticated { label: self.label.clone() })
            }
        }
    }

    /// A data object's value, if it exists.
    pub fn read_data(&self, name: &str) -> Result<Option<Vec<u8>>, TokenError> {
        let session = self.session()?;
        let read = self.on_object(&session, Sought::Data, &meta_label(name), |handle| {
            session.get_attributes(handle, &[AttributeType::Value])
        })?;
        let Some(attributes) = read else { return Ok(None) };
        let attributes = attributes.map_err(|e| self.unavailable(e))?;
        Ok(attributes.into_iter().find_map(|a| match a {
            Attribute::Value(value) => Some(value),
            _ => None,
        }))
    }

    /// Creates or replaces a data object.
    pub fn write_data(&self, name: &str, value: &[u8]) -> Result<(), TokenError> {
        let session = self.session()?;
        let label = meta_label(name);
        let old = self.find(&session, Sought::Data, &label)?;
        let template = [
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Application(APPLICATION.to_vec()),
            Attribute::Label(label.clone().into_bytes()),
            Attribute::Value(value.to_vec()),
        ];
        let created = session.create_object(&template).map_err(|e| self.unavailable(e))?;
        self.handles().insert(label, created);
        if let Some(old) = old {
            session.destroy_object(old).map_err(|e| self.unavailable(e))?;
        }
        Ok(())
    }

    /// Destroys the data object and key versions of a deleted key: every object under their
    /// labels, whatever its class (the metadata that names the key's kind is not trusted).
    pub(crate) fn destroy_key(&self, key_id: &str, versions: u32) -> Result<(), TokenError> {
        let session = self.session()?;
        let labels = (1..=versions).map(|version| key_label(key_id, version));
        for label in labels.chain([meta_label(&format!("meta/{key_id}"))]) {
            self.handles().remove(&label);
            let template = [Attribute::Token(true), Attribute::Label(label.into_bytes())];
            for handle in session.find_objects(&template).map_err(|e| self.unavailable(e))? {
                session.destroy_object(handle).map_err(|e| self.unavailable(e))?;
            }
        }
        Ok(())
    }

    /// The labels of every data object envcrypt keeps on the token.
    pub fn data_names(&self) -> Result<Vec<String>, TokenError> {
        let session = self.session()?;
        let template =
            [Attribute::Class(ObjectClass::DATA), Attribute::Token(true), Attribute::Application(APPLICATION.to_vec())];
        let handles = session.find_objects(&template).map_err(|e| self.unavailable(e))?;
        let mut names = Vec::new();
        for handle in handles {
            for attribute in session.get_attributes(handle, &[AttributeType::Label]).map_err(|e| self.unavailable(e))? {
                if let Attribute::Label(label) = attribute {
                    if let Some(name) = String::from_utf8_lossy(&label).strip_prefix("envcrypt/") {
                        names.push(name.to_owned());
                    }
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// Runs `work` with the session (for the cluster's wrap and unwrap).
    pub(crate) fn with_session<T>(&self, work: impl FnOnce(&Session) -> Result<T, CkError>) -> Result<T, TokenError> {
        let session = self.session()?;
        work(&session).map_err(|e| self.unavailable(e))
    }

    /// The mechanisms this token uses.
    pub(crate) fn mechanisms(&self) -> Mechanisms {
        self.mechanisms
    }

    /// A key version's handle (for the cluster's wrap).
    pub(crate) fn key_handle(&self, kind: KeyKind, key_id: &str, version: u32) -> Result<ObjectHandle, TokenError> {
        let label = key_label(key_id, version);
        let session = self.session()?;
        self.lookup(&session, Sought::Key(kind), &label)?.ok_or_else(|| self.missing(&format!("key {label}")))
    }

    /// A refusal from a token that still answers is its answer to this request; from one that
    /// no longer answers, the token is unavailable.
    fn refusal(&self, error: CkError) -> TokenError {
        match self.probe() {
            Ok(()) => TokenError::Refused { label: self.label.clone(), error },
            Err(_) => self.unavailable(error),
        }
    }

    /// An RSA private key's modulus and public exponent, which the token keeps readable.
    pub(crate) fn rsa_public_parts(&self, kind: KeyKind, key_id: &str) -> Result<PublicParts, TokenError> {
        let session = self.session()?;
        let parts = self.on_key(&session, kind, key_id, 1, |key| public_parts(&session, key))?;
        drop(session);
        parts.map_err(|e| self.refusal(e))
    }

    /// Signs (or MACs) `data` with `mechanism` under the key of `kind` and `key_id`.
    pub(crate) fn sign(
        &self,
        kind: KeyKind,
        key_id: &str,
        mechanism: &Mechanism<'_>,
        data: &[u8],
    ) -> Result<Vec<u8>, TokenError> {
        let session = self.session()?;
        let signed = self.on_key(&session, kind, key_id, 1, |key| session.sign(mechanism, key, data))?;
        drop(session);
        signed.map_err(|e| self.refusal(e))
    }

    /// Whether `signature` is `mechanism`'s signature (or MAC) of `data` under the key of
    /// `kind` and `key_id`, as the token checks it.
    pub(crate) fn verify(
        &self,
        kind: KeyKind,
        key_id: &str,
        mechanism: &Mechanism<'_>,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool, TokenError> {
        let session = self.session()?;
        let verified = self.on_key(&session, kind, key_id, 1, |key| session.verify(mechanism, key, data, signature))?;
        drop(session);
        match verified {
            Ok(()) => Ok(true),
            Err(CkError::Pkcs11(RvError::SignatureInvalid | RvError::SignatureLenRange, Function::Verify)) => Ok(false),
            Err(e) => Err(self.refusal(e)),
        }
    }

    /// Decrypts `data` with `mechanism` under the private key of `kind` and `key_id`; `None`
    /// if the token cannot decrypt it. A refused mechanism is the token's refusal.
    pub(crate) fn decrypt_with(
        &self,
        kind: KeyKind,
        key_id: &str,
        mechanism: &Mechanism<'_>,
        data: &[u8],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, TokenError> {
        let session = self.session()?;
        let opened = self.on_key(&session, kind, key_id, 1, |key| session.decrypt(mechanism, key, data))?;
        drop(session);
        match opened {
            Ok(plaintext) => Ok(Some(Zeroizing::new(plaintext))),
            Err(e @ CkError::Pkcs11(_, Function::DecryptInit)) => Err(self.refusal(e)),
            Err(e) => self.probe().map(|()| None).map_err(|_| self.unavailable(e)),
        }
    }

    /// [`TokenError::Missing`] for `what` on this token.
    pub(crate) fn missing(&self, what: &str) -> TokenError {
        TokenError::Missing { label: self.label.clone(), key: what.to_owned() }
    }
}

/// An RSA key spec's modulus size in bits.
fn rsa_bits(spec: KeySpec) -> u64 {
    match spec {
        KeySpec::Rsa3072 => 3072,
        KeySpec::Rsa4096 => 4096,
        _ => 2048,
    }
}

/// The public half of a key pair: an RSA key's modulus and exponent, or an EC key's point.
fn public_parts(session: &Session, public: ObjectHandle) -> Result<PublicParts, CkError> {
    let attributes = session
        .get_attributes(public, &[AttributeType::Modulus, AttributeType::PublicExponent, AttributeType::EcPoint])?;
    let (mut modulus, mut exponent, mut point) = (None, None, None);
    for attribute in attributes {
        match attribute {
            Attribute::Modulus(value) => modulus = Some(value),
            Attribute::PublicExponent(value) => exponent = Some(value),
            Attribute::EcPoint(value) => point = Some(value),
            _ => {}
        }
    }
    Ok(match (modulus, exponent, point) {
        (Some(modulus), Some(exponent), _) => PublicParts::Rsa { modulus, exponent },
        (_, _, point) => PublicParts::Ec { point: point.unwrap_or_default() },
    })
}
