//! One PKCS#11 token: a logged-in session and the objects envcrypt keeps on it.
//!
//! A CMK version is an AES-256 secret key object generated in the token, labelled
//! `envcrypt/key/<key id>/<version>`: sensitive (its value can never be read), and extractable
//! only under the trusted cluster key, so that the cluster can copy it and nobody can export
//! it ([`master_key`](crate::master_key), [`replication`](crate::replication)). Key metadata (state, description, dates, version count)
//! and the alias table are data objects (`envcrypt/meta/<key id>`, `envcrypt/aliases`) holding
//! JSON; they are not secret.

use std::sync::Mutex;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use envcrypt::kms::KmsError;
use zeroize::Zeroizing;

use crate::master_key::{key_label, key_template};
use crate::mechanisms::{IvSource, Mechanisms, IV_LEN};

const APPLICATION: &[u8] = b"envcrypt";

/// The label of the cluster key on every token.
pub(crate) const CLUSTER_KEY_LABEL: &str = "envcrypt/cluster-wrap";
/// How errors name a missing cluster key.
pub(crate) const CLUSTER_KEY_NAME: &str =
    "trusted cluster key envcrypt/cluster-wrap (the security officer initializes the cluster to make it)";
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
    session: Mutex<Session>,
    mechanisms: Mechanisms,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("label", &self.label).field("slot", &self.slot.id()).finish_non_exhaustive()
    }
}

/// Finds the trusted cluster key in `session`: an untrusted key under the same label is not it.
pub(crate) fn find_cluster_key(session: &Session) -> cryptoki::error::Result<Option<ObjectHandle>> {
    let template = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::Token(true),
        Attribute::Label(CLUSTER_KEY_LABEL.as_bytes().to_vec()),
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
        Ok(Self { label: label.to_owned(), pkcs11: pkcs11.clone(), slot, session: Mutex::new(session), mechanisms })
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
    fn find(&self, session: &Session, class: ObjectClass, label: &str) -> Result<Option<ObjectHandle>, TokenError> {
        let template = [Attribute::Class(class), Attribute::Token(true), Attribute::Label(label.as_bytes().to_vec())];
        let found = session.find_objects(&template).map_err(|e| self.unavailable(e))?;
        if found.is_empty() {
            self.probe()?;
        }
        Ok(found.first().copied())
    }

    fn key(&self, session: &Session, key_id: &str, version: u32) -> Result<ObjectHandle, TokenError> {
        let label = key_label(key_id, version);
        self.find(session, ObjectClass::SECRET_KEY, &label)?.ok_or_else(|| self.missing(&format!("key {label}")))
    }

    /// Whether the token holds a CMK version.
    pub fn has_key(&self, key_id: &str, version: u32) -> Result<bool, TokenError> {
        let session = self.session();
        Ok(self.find(&session, ObjectClass::SECRET_KEY, &key_label(key_id, version))?.is_some())
    }

    /// The trusted cluster key.
    pub(crate) fn cluster_key(&self) -> Result<ObjectHandle, TokenError> {
        let found = self.with_session(find_cluster_key)?;
        if found.is_none() {
            self.probe()?;
        }
        found.ok_or_else(|| self.missing(CLUSTER_KEY_NAME))
    }

    /// Generates a CMK version inside the token.
    pub fn generate_key(&self, key_id: &str, version: u32) -> Result<(), TokenError> {
        let mut template = key_template(key_id, version);
        template.push(Attribute::ValueLen(32.into()));
        self.session().generate_key(&Mechanism::AesKeyGen, &template).map(drop).map_err(|e| self.unavailable(e))
    }

    /// Creates a CMK version from known key material (the known-answer vectors only).
    #[cfg(test)]
    pub(crate) fn import_key(&self, key_id: &str, version: u32, value: &[u8]) -> Result<(), TokenError> {
        let mut template = key_template(key_id, version);
        template.push(Attribute::Value(value.to_vec()));
        self.session().create_object(&template).map(drop).map_err(|e| self.unavailable(e))
    }

    /// Random bytes from the token's RNG.
    pub fn random(&self, len: usize) -> Result<Zeroizing<Vec<u8>>, TokenError> {
        let mut out = Zeroizing::new(vec![0u8; len]);
        self.session().generate_random_slice(&mut out).map_err(|e| self.unavailable(e))?;
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
        let session = self.session();
        let key = self.key(&session, key_id, version)?;
        let sealed =
            session.encrypt(&self.mechanisms.gcm(&mut iv, aad), key, plaintext).map_err(|e| self.unavailable(e))?;
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
        let mut iv = *iv;
        let session = self.session();
        let key = self.key(&session, key_id, version)?;
        match session.decrypt(&self.mechanisms.gcm(&mut iv, aad), key, sealed) {
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
        let session = self.session();
        let Some(handle) = self.find(&session, ObjectClass::DATA, &meta_label(name))? else { return Ok(None) };
        let attributes = session.get_attributes(handle, &[AttributeType::Value]).map_err(|e| self.unavailable(e))?;
        Ok(attributes.into_iter().find_map(|a| match a {
            Attribute::Value(value) => Some(value),
            _ => None,
        }))
    }

    /// Creates or replaces a data object.
    pub fn write_data(&self, name: &str, value: &[u8]) -> Result<(), TokenError> {
        let session = self.session();
        let label = meta_label(name);
        let old = self.find(&session, ObjectClass::DATA, &label)?;
        let template = [
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Application(APPLICATION.to_vec()),
            Attribute::Label(label.into_bytes()),
            Attribute::Value(value.to_vec()),
        ];
        session.create_object(&template).map_err(|e| self.unavailable(e))?;
        if let Some(old) = old {
            session.destroy_object(old).map_err(|e| self.unavailable(e))?;
        }
        Ok(())
    }

    /// Destroys the data object and key versions of a deleted key.
    pub fn destroy_key(&self, key_id: &str, versions: u32) -> Result<(), TokenError> {
        let session = self.session();
        for version in 1..=versions {
            if let Some(handle) = self.find(&session, ObjectClass::SECRET_KEY, &key_label(key_id, version))? {
                session.destroy_object(handle).map_err(|e| self.unavailable(e))?;
            }
        }
        if let Some(handle) = self.find(&session, ObjectClass::DATA, &meta_label(&format!("meta/{key_id}")))? {
            session.destroy_object(handle).map_err(|e| self.unavailable(e))?;
        }
        Ok(())
    }

    /// The labels of every data object envcrypt keeps on the token.
    pub fn data_names(&self) -> Result<Vec<String>, TokenError> {
        let session = self.session();
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
        work(&self.session()).map_err(|e| self.unavailable(e))
    }

    /// The mechanisms this token uses.
    pub(crate) fn mechanisms(&self) -> Mechanisms {
        self.mechanisms
    }

    /// A key version's handle (for the cluster's wrap).
    pub(crate) fn key_handle(&self, key_id: &str, version: u32) -> Result<ObjectHandle, TokenError> {
        self.key(&self.session(), key_id, version)
    }

    /// [`TokenError::Missing`] for `what` on this token.
    pub(crate) fn missing(&self, what: &str) -> TokenError {
        TokenError::Missing { label: self.label.clone(), key: what.to_owned() }
    }
}
