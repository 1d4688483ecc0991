//! The store root key, which wraps every backing key at rest.
//!
//! By default it is 32 random bytes in `root.key` (mode 0600), like an SSH or age identity.
//! A passphrase store keeps no key file: the root key is Argon2id(passphrase, salt), and a
//! check value (an empty AES-GCM message under the root key) tells a wrong passphrase from a
//! corrupt store.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use zeroize::Zeroizing;

use super::disk::{self, ReadTxn, WriteTxn, STORE_FILE};
use super::StoreError;
use crate::crypto::{self, Aes256Gcm, KEY_LEN};
use crate::kms::{KeySpec, KeyUsage};

pub(super) const ROOT_KEY_FILE: &str = "root.key";
const CHECK_AAD: &[u8] = b"envcrypt store root check v1";
const BACKING_KEY_AAD: &[u8] = b"envcrypt backing key v1";
const AUDIT_KEY_INFO: &[u8] = b"envcrypt audit chain v1";
const ACCESS_KEY_AAD: &[u8] = b"envcrypt access key secret v1";
const IMPORT_KEY_AAD: &[u8] = b"envcrypt import wrapping key v1";
/// Binds an asymmetric or HMAC key's wrapped material to its key id.
const KEY_MATERIAL_AAD: &[u8] = b"envcrypt asymmetric or hmac key material v1";

/// How a passphrase is obtained when a passphrase store is opened.
pub type PassphraseFn = dyn Fn() -> Result<Zeroizing<String>, StoreError> + Send + Sync;

/// Argon2id parameters: RFC 9106's second recommended option (64 MiB, 3 passes, 1 lane).
const ARGON2_MEMORY_KIB: u32 = 64 * 1024;
const ARGON2_ITERATIONS: u32 = 3;
const ARGON2_PARALLELISM: u32 = 1;

/// How the root key is kept, as recorded in `store.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub(super) enum RootConfig {
    KeyFile,
    Passphrase { salt: String, memory_kib: u32, iterations: u32, parallelism: u32 },
}

/// The unlocked root key, and the audit chain key derived from it.
pub(super) struct RootKey {
    aead: Aes256Gcm,
    audit: ring::hmac::Key,
}

impl RootKey {
    /// Creates a root key for a new store, returning its config and check value.
    pub(super) fn create(
        txn: &WriteTxn<'_>,
        passphrase: Option<&Zeroizing<String>>,
    ) -> Result<(Self, RootConfig, String), StoreError> {
        let (material, config) = match passphrase {
            None => {
                let material = Zeroizing::new(crypto::random_array::<KEY_LEN>());
                txn.write_bytes(ROOT_KEY_FILE, &material[..])?;
                (material, RootConfig::KeyFile)
            }
            Some(passphrase) => {
                let salt: [u8; 16] = crypto::random_array();
                let config = RootConfig::Passphrase {
                    salt: B64.encode(salt),
                    memory_kib: ARGON2_MEMORY_KIB,
                    iterations: ARGON2_ITERATIONS,
                    parallelism: ARGON2_PARALLELISM,
                };
                (derive(passphrase, &salt, ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_PARALLELISM, txn)?, config)
            }
        };
        let root = Self::new(&material);
        let check = B64.encode(root.aead.seal_random_nonce(CHECK_AAD, &[]));
        Ok((root, config, check))
    }

    /// Unlocks an existing store's root key and verifies it against the check value.
    pub(super) fn unlock(
        txn: &ReadTxn<'_>,
        config: &RootConfig,
        check: &str,
        passphrase: Option<&PassphraseFn>,
    ) -> Result<Self, StoreError> {
        let meta_path = txn.path(STORE_FILE);
        let material = match config {
            RootConfig::KeyFile => {
                let path = txn.path(ROOT_KEY_FILE);
                let bytes = Zeroizing::new(
                    txn.read_bytes(ROOT_KEY_FILE)?
                        .ok_or_else(|| StoreError::corrupt(&path, "the root key file is missing"))?,
                );
                disk::check_private(&path, disk::PRIVATE_FILE)?;
                let material: [u8; KEY_LEN] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| StoreError::corrupt(&path, "the root key is not 32 bytes"))?;
                Zeroizing::new(material)
            }
            RootConfig::Passphrase { salt, memory_kib, iterations, parallelism } => {
                let provider = passphrase.ok_or_else(|| StoreError::PassphraseRequired { dir: txn.path("") })?;
                let salt = B64.decode(salt).map_err(|e| StoreError::corrupt(&meta_path, e))?;
                derive(&provider()?, &salt, *memory_kib, *iterations, *parallelism, txn)?
            }
        };
        let root = Self::new(&material);
        let check = B64.decode(check).map_err(|e| StoreError::corrupt(&meta_path, e))?;
        if root.aead.open_random_nonce(CHECK_AAD, &check).is_err() {
            return Err(match config {
                RootConfig::Passphrase { .. } => StoreError::WrongPassphrase { dir: txn.path("") },
                RootConfig::KeyFile => {
                    StoreError::corrupt(txn.path(ROOT_KEY_FILE), "the root key does not match the store")
                }
            });
        }
        Ok(root)
    }

    /// A root key from raw material, for the fuzz targets.
    #[cfg(fuzzing)]
    pub(super) fn from_material(material: &[u8; KEY_LEN]) -> Self {
        Self::new(material)
    }

    fn new(material: &[u8; KEY_LEN]) -> Self {
        let mut audit = Zeroizing::new([0u8; KEY_LEN]);
        crypto::hkdf_sha512(material, &[], &[AUDIT_KEY_INFO], &mut audit[..]);
        Self { aead: Aes256Gcm::new(material), audit: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &audit[..]) }
    }

    /// The HMAC key that chains the audit log: only a holder of the root key can extend or
    /// rewrite the chain.
    pub(super) fn audit_key(&self) -> &ring::hmac::Key {
        &self.audit
    }

    /// Wraps a backing key for storage, bound to its key id and number.
    pub(super) fn wrap_backing_key(&self, key_id: &str, number: u32, material: &[u8; KEY_LEN]) -> String {
        B64.encode(self.aead.seal_random_nonce(&backing_aad(key_id, number), material))
    }

    /// Unwraps a stored backing key.
    pub(super) fn unwrap_backing_key(&self, key_id: &str, number: u32, wrapped: &str) -> Result<Aes256Gcm, String> {
        let sealed = B64.decode(wrapped).map_err(|e| e.to_string())?;
        let material = self
            .aead
            .open_random_nonce(&backing_aad(key_id, number), &sealed)
            .map_err(|_| format!("backing key {number} does not authenticate under the root key"))?;
        let material: &[u8; KEY_LEN] =
            material.as_slice().try_into().map_err(|_| format!("backing key {number} is not 32 bytes"))?;
        Ok(Aes256Gcm::new(material))
    }
}

impl RootKey {
    /// Wraps an access key's secret for storage, bound to its access key id.
    pub(super) fn wrap_secret(&self, access_key_id: &str, secret: &[u8]) -> String {
        B64.encode(self.aead.seal_random_nonce(&[ACCESS_KEY_AAD, access_key_id.as_bytes()].concat(), secret))
    }

    /// Unwraps a stored access key secret.
    pub(super) fn unwrap_secret(&self, access_key_id: &str, wrapped: &str) -> Result<Zeroizing<Vec<u8>>, String> {
        let sealed = B64.decode(wrapped).map_err(|e| e.to_string())?;
        self.aead
            .open_random_nonce(&[ACCESS_KEY_AAD, access_key_id.as_bytes()].concat(), &sealed)
            .map_err(|_| format!("the secret of access key {access_key_id} does not authenticate under the root key"))
    }
}

impl RootKey {
    /// Wraps the private half of an import wrapping key, bound to its key id and token.
    pub(super) fn wrap_import_key(&self, key_id: &str, token: &str, der: &[u8]) -> String {
        B64.encode(self.aead.seal_random_nonce(&import_aad(key_id, token), der))
    }

    /// Unwraps the private half of an import wrapping key.
    pub(super) fn unwrap_import_key(
        &self,
        key_id: &str,
        token: &str,
        wrapped: &str,
    ) -> Result<Zeroizing<Vec<u8>>, String> {
        let sealed = B64.decode(wrapped).map_err(|e| e.to_string())?;
        self.aead
            .open_random_nonce(&import_aad(key_id, token), &sealed)
            .map_err(|_| "the import wrapping key does not authenticate under the root key".to_owned())
    }
}

impl RootKey {
    /// Wraps an asymmetric or HMAC key's material, bound to its key id, spec and usage (so
    /// that an edited record cannot put one kind of key's material to another use).
    pub(super) fn wrap_key_material(&self, key_id: &str, spec: KeySpec, usage: KeyUsage, material: &[u8]) -> String {
        B64.encode(self.aead.seal_random_nonce(&material_aad(key_id, spec, usage), material))
    }

    /// Unwraps an asymmetric or HMAC key's material.
    pub(super) fn unwrap_key_material(
        &self,
        key_id: &str,
        spec: KeySpec,
        usage: KeyUsage,
        wrapped: &str,
    ) -> Result<Zeroizing<Vec<u8>>, String> {
        let sealed = B64.decode(wrapped).map_err(|e| e.to_string())?;
        self.aead.open_random_nonce(&material_aad(key_id, spec, usage), &sealed).map_err(|_| {
            format!("the key material does not authenticate under the root key as a {spec} key for {usage}")
        })
    }
}

fn material_aad(key_id: &str, spec: KeySpec, usage: KeyUsage) -> Vec<u8> {
    [KEY_MATERIAL_AAD, key_id.as_bytes(), b"/", spec.as_str().as_bytes(), b"/", usage.as_str().as_bytes()].concat()
}

fn import_aad(key_id: &str, token: &str) -> Vec<u8> {
    [IMPORT_KEY_AAD, key_id.as_bytes(), b"/", token.as_bytes()].concat()
}

fn backing_aad(key_id: &str, number: u32) -> Vec<u8> {
    [BACKING_KEY_AAD, key_id.as_bytes(), &number.to_be_bytes()].concat()
}

fn derive(
    passphrase: &str,
    salt: &[u8],
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    txn: &ReadTxn<'_>,
) -> Result<Zeroizing<[u8; KEY_LEN]>, StoreError> {
    let corrupt = |e: argon2::Error| StoreError::corrupt(txn.path(STORE_FILE), format!("Argon2 parameters: {e}"));
    let params = argon2::Params::new(memory_kib, iterations, parallelism, Some(KEY_LEN)).map_err(corrupt)?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    argon.hash_password_into(passphrase.as_bytes(), salt, &mut out[..]).map_err(corrupt)?;
    Ok(out)
}
