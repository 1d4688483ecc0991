//! The local CMK store: the embedded default key service.
//!
//! A directory (mode 0700) holds one JSON record per CMK, an alias table and the store
//! metadata; each CMK's backing keys are wrapped by the store root key (see [`StoreOptions`]).
//! Operations follow documented AWS KMS behaviour: disabled keys and keys pending deletion
//! refuse cryptographic operations, deletion waits 7–30 days, rotation keeps old backing keys
//! for decryption. Ciphertext blobs are described in [`blob`].
//!
//! ```
//! use envcrypt::kms::{local::{LocalKeyService, StoreOptions}, DataKeySpec, EncryptionContext, KeyService};
//! # let dir = tempfile::tempdir().unwrap();
//! let store = LocalKeyService::open(StoreOptions::new(dir.path().join("store")))?;
//! let key = store.default_key()?;
//! let context = EncryptionContext::new();
//! let data_key = store.generate_data_key(&key, DataKeySpec::Aes256, &context).wait()?;
//! let again = store.decrypt(&data_key.ciphertext_blob, &context, None).wait()?;
//! assert_eq!(again.plaintext, data_key.plaintext);
//! # Ok::<(), envcrypt::kms::KmsError>(())
//! ```

mod access;
mod admin;
mod audit;
pub mod blob;
mod credentials;
mod disk;
mod error;
#[cfg(fuzzing)]
pub mod fuzzing;
mod governance;
mod grants;
mod import;
mod key_pairs;
mod policy;
mod principal;
mod record;
mod root;
mod rotation;
mod signing;
mod tags;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

pub use audit::{read_events as read_audit_events, Acknowledgment, AuditError, AuditSummary, RequestOrigin};
pub use credentials::{AccessKey, NewAccessKey};
pub use error::{AuditDamage, StoreError};
pub use principal::{Principal, PrincipalKind, ARN_PARTITION};
pub use root::PassphraseFn;
pub use signing::SigningSecret;

use serde_json::json;

use self::audit::{AuditLog, Call, Who};
use self::blob::{BlobError, BlobHeader};
use self::disk::{key_file, Disk, ReadTxn, WriteTxn, ALIASES_FILE, KEYS_DIR, STORE_FILE};
use self::policy::{KeyPolicy, PolicyCache};
use self::record::{Aliases, BackingKeyRecord, KeyRecord, RotationSchedule, StoreMeta};
use self::root::RootKey;
use super::{
    validate_random_len, Arn, ArnPrefix, BoundContext, Ciphertext, DataKey, DataKeyPairs, DataKeySpec, Decrypted,
    DryRun, EncryptionContext, KeyAdmin, KeyGovernance, KeyId, KeyImport, KeyMacs, KeyRef, KeyRotation, KeyService,
    KeySigning, KeySpec, KeyState, KeyTagging, KeyUsage, KmsError, KmsFuture, ReEncryptRequest, ReEncrypted,
    RsaEncryption, SecretBytes, MAX_ENCRYPT_PLAINTEXT,
};
use crate::clock::Clock;
use crate::crypto::{self, Aes256Gcm};

/// The provider id envcrypt writes into encrypted data keys wrapped by local CMKs.
pub const PROVIDER_ID: &str = "envcrypt-local";
/// The alias of the managed default key, created on first use.
pub const DEFAULT_KEY_ALIAS: &str = "alias/envcrypt/default";

/// 2 added key policies, grants and the audit log; 3 rotation schedules. An older store is
/// upgraded when opened, so that an older envcrypt refuses it by its version instead of
/// misreading its records.
const FORMAT_VERSION: u32 = 3;
const FORMAT_BEFORE_POLICIES: u32 = 1;
const FORMAT_BEFORE_ROTATION: u32 = 2;
const DEFAULT_REGION: &str = "local";
const DEFAULT_ACCOUNT: &str = "000000000000";

/// How to open (or create) a local store.
#[derive(Clone)]
pub struct StoreOptions {
    dir: PathBuf,
    passphrase: Option<Arc<PassphraseFn>>,
    new_store_uses_passphrase: bool,
    create: bool,
    clock: Clock,
    principal: Option<String>,
    via_service: Option<String>,
    audit: bool,
    identity: Option<ArnPrefix>,
    new_store_identity: Option<ArnPrefix>,
}

impl StoreOptions {
    /// A store at `dir`, created with a root key file if it does not exist.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            passphrase: None,
            new_store_uses_passphrase: false,
            create: true,
            clock: Clock::system(),
            principal: None,
            via_service: None,
            audit: true,
            identity: None,
            new_store_identity: None,
        }
    }

    /// The partition, region and account of the store's ARNs (its keys' and principals'): a
    /// store created by this open gets them, an existing one must have them (a store's ARNs
    /// never change) [default for a new store: `envcrypt`, `local`, `000000000000`].
    pub fn identity(mut self, identity: ArnPrefix) -> Self {
        self.identity = Some(identity);
        self
    }

    /// The identity a store created by this open gets, without requiring it of an existing
    /// store (see [`identity`](Self::identity), which wins).
    pub fn new_store_identity(mut self, identity: ArnPrefix) -> Self {
        self.new_store_identity = Some(identity);
        self
    }

    /// The caller: a principal ARN, `user/NAME`, `role/NAME` or `NAME` (a user in the store's
    /// account) [default: the OS user].
    pub fn principal(mut self, principal: impl Into<String>) -> Self {
        self.principal = Some(principal.into());
        self
    }

    /// The AWS service the calls come through, for `kms:ViaService` conditions [default: none,
    /// a direct call].
    pub fn via_service(mut self, service: impl Into<String>) -> Self {
        self.via_service = Some(service.into());
        self
    }

    /// Whether every call appends an event to the store's audit log [default: yes].
    pub fn audit_log(mut self, enabled: bool) -> Self {
        self.audit = enabled;
        self
    }

    /// The default location: `envcrypt` under the user's data directory.
    pub fn default_dir() -> Option<PathBuf> {
        dirs::data_dir().map(|d| d.join("envcrypt"))
    }

    /// Where a passphrase comes from when the store is passphrase-protected.
    pub fn passphrase(mut self, provider: Arc<PassphraseFn>) -> Self {
        self.passphrase = Some(provider);
        self
    }

    /// Protects a store created by this open with the passphrase (Argon2id) instead of a key file.
    pub fn protect_new_store_with_passphrase(mut self, yes: bool) -> Self {
        self.new_store_uses_passphrase = yes;
        self
    }

    /// Whether a missing store is created (the default) or reported as `NotFoundException`:
    /// opening a message should not create a key store just to look for a key in it.
    pub fn create_if_missing(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// Replaces the system clock, for tests of time: deletion, rotation, expiry.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

/// The local CMK store as a [`KeyService`] and [`KeyAdmin`].
pub struct LocalKeyService {
    disk: Disk,
    root: Arc<RootKey>,
    prefix: ArnPrefix,
    clock: Clock,
    principal: Principal,
    /// Where the calls of an authenticated request come from (`envcrypt serve`).
    origin: Option<Arc<RequestOrigin>>,
    via_service: Option<String>,
    audit: Option<Arc<AuditLog>>,
    policies: Arc<PolicyCache>,
    secrets: Arc<signing::SecretCache>,
    /// Keys a call found past their deletion date, purged when the call ends.
    deleted_seen: Mutex<Vec<String>>,
}

impl std::fmt::Debug for LocalKeyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKeyService")
            .field("dir", &self.disk.dir())
            .field("principal", &self.principal.arn())
            .finish_non_exhaustive()
    }
}

impl LocalKeyService {
    /// Opens the store, creating it on first use.
    pub fn open(options: StoreOptions) -> Result<Self, KmsError> {
        if !options.create && !options.dir.join(STORE_FILE).exists() {
            return Err(KmsError::NotFound(format!("there is no local key store at {}", options.dir.display())));
        }
        let disk = Disk::open(&options.dir, &[KEYS_DIR])?;
        let existing: Option<StoreMeta> = disk.read()?.read_json(STORE_FILE)?;
        let (meta, root) = match existing {
            Some(meta) => {
                let root = RootKey::unlock(&disk.read()?, &meta.root, &meta.check, options.passphrase.as_deref())?;
                (meta, root)
            }
            None => Self::initialize(&disk, &options)?,
        };
        let meta = match meta.format {
            FORMAT_VERSION => meta,
            FORMAT_BEFORE_POLICIES | FORMAT_BEFORE_ROTATION => Self::upgrade(&disk, meta)?,
            other => {
                return Err(StoreError::corrupt(
                    disk.dir().join(STORE_FILE),
                    format!("unknown format {other} (this envcrypt reads formats 1 to 3; a newer envcrypt wrote it?)"),
                )
                .into())
            }
        };
        let prefix = ArnPrefix::new(meta.partition, meta.region, meta.account);
        if let Some(requested) = options.identity.as_ref().filter(|requested| **requested != prefix) {
            return Err(StoreError::IdentityMismatch {
                dir: disk.dir().to_path_buf(),
                store: prefix.to_string(),
                requested: requested.to_string(),
            }
            .into());
        }
        let principal = match &options.principal {
            Some(name) => Principal::parse(name, &prefix.partition, &prefix.account)?,
            None => Principal::os_user(&prefix.partition, &prefix.account),
        };
        let audit =
            if options.audit { Some(Arc::new(AuditLog::open(disk.dir(), root.audit_key().clone())?)) } else { None };
        Ok(Self {
            disk,
            root: Arc::new(root),
            prefix,
            clock: options.clock,
            principal,
            origin: None,
            via_service: options.via_service,
            audit,
            policies: Arc::default(),
            secrets: Arc::default(),
            deleted_seen: Mutex::default(),
        })
    }

    /// The same store, called by another principal (`NAME`, `user/NAME`, `role/NAME` or an ARN).
    pub fn as_principal(&self, principal: &str) -> Result<Self, KmsError> {
        self.as_caller(principal, None)
    }

    /// The same store, called by `principal` in a request a server authenticated: its events
    /// record the access key, address and user agent of `origin`.
    pub fn as_caller(&self, principal: &str, origin: Option<RequestOrigin>) -> Result<Self, KmsError> {
        Ok(Self {
            disk: self.disk.clone(),
            root: self.root.clone(),
            prefix: self.prefix.clone(),
            clock: self.clock.clone(),
            principal: Principal::parse(principal, &self.prefix.partition, &self.prefix.account)?,
            origin: origin.map(Arc::new),
            via_service: self.via_service.clone(),
            audit: self.audit.clone(),
            policies: self.policies.clone(),
            secrets: self.secrets.clone(),
            deleted_seen: Mutex::default(),
        })
    }

    /// The principal this handle calls as.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Checks the audit log's chain and head (needs the root key, which keys the chain).
    pub fn verify_audit_log(&self) -> Result<AuditSummary, AuditError> {
        self.audit_log()?.verify()
    }

    /// Records, as this handle's principal, what is missing at the end of the audit log (events
    /// cut off, an incomplete last event), so that calls work again and the loss stays visible
    /// to [`verify_audit_log`](Self::verify_audit_log). Needs the root key, like every event.
    pub fn acknowledge_audit_loss(&self) -> Result<Acknowledgment, AuditError> {
        self.audit_log()?.acknowledge(&self.principal, &self.prefix.region, self.now())
    }

    fn audit_log(&self) -> Result<Arc<AuditLog>, StoreError> {
        match &self.audit {
            Some(log) => Ok(log.clone()),
            None => AuditLog::open(self.dir(), self.root.audit_key().clone()).map(Arc::new),
        }
    }

    /// Runs one call and appends its audit event. If the event cannot be written, the call
    /// fails: no key is used without a record (its result, a data key included, is dropped).
    fn audited<T>(&self, mut call: Call, run: impl FnOnce(&mut Call) -> Result<T, KmsError>) -> Result<T, KmsError> {
        if let Some(log) = &self.audit {
            log.check_end()?;
        }
        let result = run(&mut call);
        self.purge_seen_deletions();
        let Some(log) = &self.audit else { return result };
        let origin = self.origin.as_deref();
        let error = result.as_ref().err().map(|e| (e.kms_name(), e.to_string()));
        let event = call.event(Who::Principal(&self.principal), origin, &self.prefix.region, self.now(), error);
        log.append(event).map_err(KmsError::Store)?;
        result
    }

    /// Records a request to a server of this store that the store itself did not run: one
    /// refused before any call (a signature that does not verify, a malformed body; `principal`
    /// is then unknown or the signer's), or a call of another key service the server fronts (an
    /// HSM cluster). `error` is the KMS exception name and message it ended with.
    pub fn record_request(
        &self,
        operation: &'static str,
        principal: Option<&str>,
        origin: &RequestOrigin,
        error: Option<(&str, &str)>,
    ) -> Result<(), KmsError> {
        let Some(log) = &self.audit else { return Ok(()) };
        let principal =
            principal.map(|p| Principal::parse(p, &self.prefix.partition, &self.prefix.account)).transpose()?;
        let who = principal.as_ref().map_or(Who::Unknown { account: &self.prefix.account }, Who::Principal);
        let call = Call::new(operation, false);
        let error = error.map(|(name, message)| (name, message.to_owned()));
        log.append(call.event(who, Some(origin), &self.prefix.region, self.now(), error)).map_err(KmsError::Store)
    }

    /// Upgrades an older store to the current format. A version-1 store's keys keep no policy
    /// record and are read with the legacy policy (every principal of the account), which is
    /// what version 1 allowed. The managed default key of a store from before rotation
    /// schedules gets its yearly one, counted from its newest backing key, as AWS counted
    /// existing managed keys' from their last rotation.
    fn upgrade(disk: &Disk, meta: StoreMeta) -> Result<StoreMeta, KmsError> {
        let txn = disk.write()?;
        let mut current: StoreMeta = txn.read_json(STORE_FILE)?.unwrap_or(meta);
        if current.format == FORMAT_VERSION {
            return Ok(current);
        }
        let aliases: Aliases = txn.read_json(ALIASES_FILE)?.unwrap_or_default();
        if let Some(key_id) = aliases.get(DEFAULT_KEY_ALIAS) {
            let file = key_file(key_id);
            if let Some(mut record) = txn.read_json::<KeyRecord>(&file)? {
                let newest = record.backing_keys.iter().map(|b| b.creation_date).max().unwrap_or(record.creation_date);
                record.rotation.get_or_insert(RotationSchedule::managed(newest));
                txn.write_json(&file, &record)?;
            }
        }
        current.format = FORMAT_VERSION;
        txn.write_json(STORE_FILE, &current)?;
        Ok(current)
    }

    fn initialize(disk: &Disk, options: &StoreOptions) -> Result<(StoreMeta, RootKey), KmsError> {
        let txn = disk.write()?;
        // Another process may have created the store while we waited for the lock.
        if let Some(meta) = txn.read_json::<StoreMeta>(STORE_FILE)? {
            let root = RootKey::unlock(&txn, &meta.root, &meta.check, options.passphrase.as_deref())?;
            return Ok((meta, root));
        }
        let passphrase = match (&options.passphrase, options.new_store_uses_passphrase) {
            (Some(provider), true) => Some(provider()?),
            (None, true) => return Err(StoreError::PassphraseRequired { dir: disk.dir().to_path_buf() }.into()),
            (_, false) => None,
        };
        let (root, config, check) = RootKey::create(&txn, passphrase.as_ref())?;
        let identity = options
            .identity
            .clone()
            .or_else(|| options.new_store_identity.clone())
            .unwrap_or_else(Self::default_identity);
        let meta = StoreMeta {
            format: FORMAT_VERSION,
            partition: identity.partition,
            region: identity.region,
            account: identity.account,
            root: config,
            check,
        };
        txn.write_json(ALIASES_FILE, &Aliases::new())?;
        txn.write_json(STORE_FILE, &meta)?;
        Ok((meta, root))
    }

    /// The identity of a store created without [`StoreOptions::identity`]:
    /// `arn:envcrypt:kms:local:000000000000`.
    pub fn default_identity() -> ArnPrefix {
        ArnPrefix::new(ARN_PARTITION, DEFAULT_REGION, DEFAULT_ACCOUNT)
    }

    /// The partition, region and account of the store's ARNs.
    pub fn identity(&self) -> &ArnPrefix {
        &self.prefix
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        self.disk.dir()
    }

    /// The managed default key (`alias/envcrypt/default`), created on first use.
    pub fn default_key(&self) -> Result<KeyRef, KmsError> {
        if let Some(id) =
            self.disk.read()?.read_json::<Aliases>(ALIASES_FILE)?.and_then(|a| a.get(DEFAULT_KEY_ALIAS).cloned())
        {
            return Ok(self.key_ref(&id));
        }
        let txn = self.disk.write()?;
        if let Some(id) = self.aliases(&txn)?.get(DEFAULT_KEY_ALIAS) {
            return Ok(self.key_ref(id));
        }
        let description = "Default key for envcrypt (created on first use)";
        let call = Call::new("CreateKey", false).param("description", description);
        let record = self.audited(call, |call| {
            let mut record = self.new_key_record(
                description,
                KeyPolicy::default_text(&self.principal, KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt),
            )?;
            record.rotation = Some(RotationSchedule::managed(record.creation_date));
            txn.write_json(&key_file(&record.key_id), &record)?;
            let mut aliases = self.aliases(&txn)?;
            aliases.insert(DEFAULT_KEY_ALIAS.into(), record.key_id.clone());
            txn.write_json(ALIASES_FILE, &aliases)?;
            call.resource(&self.arn(&record.key_id));
            call.respond(json!({ "keyMetadata": { "keyId": record.key_id, "arn": self.arn(&record.key_id) } }));
            Ok(record)
        })?;
        Ok(self.key_ref(&record.key_id))
    }

    /// Whether `arn` names a key of a local store (whose own ARNs [`KeyService::owns`] tells).
    pub fn is_local_arn(arn: &Arn) -> bool {
        arn.partition == ARN_PARTITION && arn.region == DEFAULT_REGION
    }

    fn now(&self) -> u64 {
        self.clock.now_secs()
    }

    fn arn(&self, key_id: &str) -> String {
        self.prefix.key_arn(key_id)
    }

    fn key_ref(&self, key_id: &str) -> KeyRef {
        KeyRef::parse(&self.arn(key_id)).expect("store ARNs are well formed")
    }

    fn aliases(&self, txn: &ReadTxn<'_>) -> Result<Aliases, KmsError> {
        Ok(txn.read_json(ALIASES_FILE)?.unwrap_or_default())
    }

    /// Resolves any key reference to a key id, without checking that the key exists.
    fn resolve(&self, txn: &ReadTxn<'_>, key: &KeyRef) -> Result<String, KmsError> {
        if let Some(arn) = key.arn() {
            if !self.prefix.contains(arn) {
                return Err(KmsError::NotFound(format!(
                    "{key} is not a key of the local store {}",
                    self.dir().display()
                )));
            }
        }
        if let Some(id) = key.key_id() {
            return Ok(id.to_owned());
        }
        let alias = key.alias_name().expect("a key reference without a key id is an alias");
        self.aliases(txn)?.remove(alias).ok_or_else(|| {
            let hint = if alias == DEFAULT_KEY_ALIAS { " yet: the first `envcrypt seal` creates it" } else { "" };
            KmsError::NotFound(format!("alias {alias} does not exist{hint}"))
        })
    }

    /// Reads a key that exists (its deletion date has not passed).
    fn load(&self, txn: &ReadTxn<'_>, key_id: &str) -> Result<KeyRecord, KmsError> {
        let not_found = || KmsError::NotFound(format!("key {} does not exist", self.arn(key_id)));
        let record: KeyRecord = txn.read_json(&key_file(key_id))?.ok_or_else(not_found)?;
        if record.key_id != key_id {
            return Err(StoreError::corrupt(txn.path(&key_file(key_id)), "the record names another key").into());
        }
        if record.is_deleted(self.now()) {
            self.saw_deleted(key_id);
            return Err(not_found());
        }
        Ok(record)
    }

    /// Notes a key found past its deletion date: the call that found it purges it on its way
    /// out, so that no later call (or a clock set back) can find it again.
    fn saw_deleted(&self, key_id: &str) {
        self.deleted_seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(key_id.to_owned());
    }

    /// Purges the deleted keys this handle's calls have seen. Reads hold only the shared lock,
    /// so this runs after the call, once the exclusive lock is free: other callers hold it
    /// briefly. It gives up after a while rather than wait on a lock this thread might hold
    /// itself, and the next call that sees the key tries again.
    fn purge_seen_deletions(&self) {
        const PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);
        let mut seen = self.deleted_seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.is_empty() {
            return;
        }
        let deadline = std::time::Instant::now() + PATIENCE;
        while std::time::Instant::now() < deadline {
            match self.disk.try_write() {
                Ok(Some(txn)) => {
                    if self.purge_deleted(&txn).is_ok() {
                        seen.clear();
                    }
                    return;
                }
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(5)),
                Err(_) => return,
            }
        }
    }

    /// Reads a key for a cryptographic operation: records it in the call, authorizes the
    /// action, catches it up with the clock (the shared lock `txn` is released first), and
    /// refuses a key that is not enabled.
    fn load_for_use(
        &self,
        txn: ReadTxn<'_>,
        key_id: &str,
        use_: &Use<'_>,
        call: &mut Call,
    ) -> Result<KeyRecord, KmsError> {
        let record = self.load(&txn, key_id)?;
        drop(txn);
        call.resource(&self.arn(key_id));
        self.authorize(&record, use_.action, Some(use_.context))?;
        let record = self.caught_up(record)?;
        self.check_usable(&record, use_.operation)?;
        record.profile(&self.arn(key_id)).check_symmetric(use_.operation)?;
        Ok(record)
    }

    /// Brings a key up to date with the clock: expired imported material deleted, due
    /// rotations made. Answers whether it changed (the caller writes it, under the exclusive
    /// lock it holds).
    fn catch_up(&self, record: &mut KeyRecord) -> Result<bool, KmsError> {
        let expired = self.expire_material(record)?;
        let rotated = self.rotate_due(record)?;
        Ok(expired || rotated)
    }

    /// Reads a key for a change under the exclusive lock `txn`, caught up with the clock and
    /// written back at once if that changed it, so that whatever the call does next (refuse,
    /// fail), each scheduled rotation and expiry is recorded and made exactly once.
    fn load_caught_up(&self, txn: &WriteTxn<'_>, key_id: &str) -> Result<KeyRecord, KmsError> {
        let mut record = self.load(txn, key_id)?;
        if self.catch_up(&mut record)? {
            txn.write_json(&key_file(&record.key_id), &record)?;
        }
        Ok(record)
    }

    /// The key `record` once caught up with the clock: `record` itself if nothing is due,
    /// else the key read again and caught up under the exclusive lock, so that however many
    /// processes find it due, each change happens once.
    fn caught_up(&self, record: KeyRecord) -> Result<KeyRecord, KmsError> {
        let now = self.now();
        if !record.rotation_due(now) && !record.material_expired(now) && !record.import_parameters_expired(now) {
            return Ok(record);
        }
        let txn = self.disk.write()?;
        self.load_caught_up(&txn, &record.key_id)
    }

    /// Records what the store did on its own to key `key_id` (a scheduled rotation, expired
    /// material deleted), as CloudTrail records KMS's own events.
    fn record_store_event(&self, mut call: Call, key_id: &str) -> Result<(), KmsError> {
        let Some(log) = &self.audit else { return Ok(()) };
        let arn = self.arn(key_id);
        call = call.param("keyId", arn.as_str());
        call.resource(&arn);
        let event =
            call.event(Who::Store { account: &self.prefix.account }, None, &self.prefix.region, self.now(), None);
        log.append(event).map_err(KmsError::Store)
    }

    fn check_usable(&self, record: &KeyRecord, operation: &'static str) -> Result<(), KmsError> {
        record.state.check_usable(&self.arn(&record.key_id), operation)
    }

    fn backing_key(&self, record: &KeyRecord, number: u32) -> Result<Aes256Gcm, KmsError> {
        let backing = record.backing_keys.iter().find(|b| b.number == number).ok_or_else(|| {
            KmsError::InvalidCiphertext(format!("key {} has no backing key {number}", self.arn(&record.key_id)))
        })?;
        self.root
            .unwrap_backing_key(&record.key_id, number, &backing.wrapped)
            .map_err(|reason| StoreError::corrupt(self.disk.dir().join(key_file(&record.key_id)), reason).into())
    }

    fn new_backing_key(&self, key_id: &str, number: u32) -> BackingKeyRecord {
        let material = Zeroizing::new(crypto::random_array::<{ crypto::KEY_LEN }>());
        BackingKeyRecord {
            number,
            creation_date: self.now(),
            wrapped: self.root.wrap_backing_key(key_id, number, &material),
            rotation: None,
            due: None,
        }
    }

    fn new_key_record(&self, description: &str, policy: String) -> Result<KeyRecord, KmsError> {
        let key_id = KeyId::random().to_string();
        Ok(KeyRecord {
            backing_keys: vec![self.new_backing_key(&key_id, 1)],
            key_id,
            description: description.to_owned(),
            creation_date: self.now(),
            state: KeyState::Enabled,
            deletion_date: None,
            policy: Some(KeyPolicy::raw(&policy)?),
            grants: Vec::new(),
            rotation: None,
            deletion_window_days: None,
            import: None,
            tags: BTreeMap::new(),
            key_spec: KeySpec::SymmetricDefault,
            key_usage: KeyUsage::EncryptDecrypt,
            material: None,
        })
    }

    /// Deletes keys whose deletion date has passed, and their aliases.
    fn purge_deleted(&self, txn: &WriteTxn<'_>) -> Result<(), KmsError> {
        let now = self.now();
        let mut aliases = self.aliases(txn)?;
        let before = aliases.len();
        for name in txn.list(KEYS_DIR)? {
            let Some(key_id) = name.strip_suffix(".json") else { continue };
            let rel = key_file(key_id);
            if let Some(record) = txn.read_json::<KeyRecord>(&rel)? {
                if record.is_deleted(now) {
                    aliases.retain(|_, id| id != key_id);
                    txn.remove(&rel)?;
                }
            }
        }
        if aliases.len() != before {
            txn.write_json(ALIASES_FILE, &aliases)?;
        }
        Ok(())
    }

    fn encrypt_now(
        &self,
        key: &KeyRef,
        plaintext: &[u8],
        use_: &Use<'_>,
        call: &mut Call,
    ) -> Result<Ciphertext, KmsError> {
        let txn = self.disk.read()?;
        let key_id = self.resolve(&txn, key)?;
        let record = self.load_for_use(txn, &key_id, use_, call)?;
        seal_with_record(self, &record, plaintext, &use_.bound)
    }

    fn generate_now(
        &self,
        key: &KeyRef,
        spec: DataKeySpec,
        use_: &Use<'_>,
        call: &mut Call,
    ) -> Result<(Zeroizing<Vec<u8>>, Ciphertext), KmsError> {
        let len = spec.key_len().map_err(KmsError::Validation)?;
        let mut plaintext = Zeroizing::new(vec![0u8; len]);
        crypto::fill_random(&mut plaintext);
        let sealed = self.encrypt_now(key, &plaintext, use_, call)?;
        call.respond(json!({ "keyId": sealed.key_arn }));
        Ok((plaintext, sealed))
    }

    /// The header of `blob` and the key it names, which must be `expected_key` if given.
    fn key_of_blob(
        &self,
        txn: &ReadTxn<'_>,
        blob: &[u8],
        expected_key: Option<&KeyRef>,
    ) -> Result<(BlobHeader, String), KmsError> {
        let (header, _, _) = BlobHeader::parse(blob).map_err(|e| KmsError::InvalidCiphertext(e.to_string()))?;
        let key_id = KeyId::from_bytes(header.key_id).to_string();
        if let Some(expected) = expected_key {
            let expected_id = self.resolve(txn, expected)?;
            if expected_id != key_id {
                return Err(KmsError::IncorrectKey { expected: expected.to_string(), actual: self.arn(&key_id) });
            }
        }
        Ok((header, key_id))
    }

    /// What a DryRun checks: the caller's rights and the key's state, as the operation would.
    fn dry_run_now(&self, request: &DryRun<'_>, call: &mut Call) -> Result<(), KmsError> {
        let seal = |operation: &'static str, action: &'static str, key: &KeyRef, context, call: &mut Call| {
            let use_ = Use::with_action(operation, action, context)?;
            let txn = self.disk.read()?;
            let key_id = self.resolve(&txn, key)?;
            self.load_for_use(txn, &key_id, &use_, call).map(drop)
        };
        let open = |operation: &'static str, action: &'static str, blob, context, expected, call: &mut Call| {
            let use_ = Use::with_action(operation, action, context)?;
            let txn = self.disk.read()?;
            let (_, key_id) = self.key_of_blob(&txn, blob, expected)?;
            self.load_for_use(txn, &key_id, &use_, call).map(drop)
        };
        match *request {
            DryRun::Seal { operation, key, context } => {
                let name = operation.as_str();
                seal(name, action_of(name), key, context, call)
            }
            DryRun::Decrypt { blob, context, expected_key } => {
                open("Decrypt", "kms:Decrypt", blob, context, expected_key, call)
            }
            DryRun::ReEncrypt(r) => {
                open("ReEncrypt", "kms:ReEncryptFrom", r.blob, r.source_context, r.source_key, call)?;
                seal("ReEncrypt", "kms:ReEncryptTo", r.destination_key, r.destination_context, call)
            }
            _ => self.dry_run_key_pair(request, call),
        }
    }

    fn decrypt_now(
        &self,
        blob: &[u8],
        expected_key: Option<&KeyRef>,
        use_: &Use<'_>,
        call: &mut Call,
    ) -> Result<Decrypted, KmsError> {
        let txn = self.disk.read()?;
        let (header, key_id) = self.key_of_blob(&txn, blob, expected_key)?;
        let record = self.load_for_use(txn, &key_id, use_, call)?;
        let backing = self.backing_key(&record, header.backing_key)?;
        let plaintext = blob::open(&backing, blob, &use_.bound).map_err(|e| match e {
            BlobError::Unauthenticated => KmsError::InvalidCiphertext(format!(
                "the ciphertext does not authenticate under key {}: it was altered, or the encryption context differs",
                self.arn(&key_id)
            )),
            BlobError::Malformed(_) => KmsError::InvalidCiphertext(e.to_string()),
        })?;
        Ok(Decrypted { plaintext: SecretBytes::new(plaintext), key_arn: self.arn(&key_id) })
    }
}

/// A request refused because too many RSA keys are being made at once.
/// What a DryRun that passed every check ends with. It is recorded as CloudTrail records a
/// DryRun: with the DryRunOperationException KMS answers.
fn would_succeed() -> KmsError {
    KmsError::DryRunOperation("the request would have succeeded, but DryRun was set".into())
}

/// A DryRun's audited result as the caller sees it: `Ok` if it would have succeeded.
fn dry_run_answer(result: Result<(), KmsError>) -> Result<(), KmsError> {
    match result {
        Err(KmsError::DryRunOperation(_)) => Ok(()),
        other => other,
    }
}

/// What a cryptographic call does with a key: its KMS operation (for state errors), the policy
/// action it needs, and the encryption context that conditions and grant constraints see, checked
/// against the limits before anything else so that the context bound is the context authorized.
struct Use<'a> {
    operation: &'static str,
    action: &'static str,
    context: &'a EncryptionContext,
    bound: BoundContext,
}

impl<'a> Use<'a> {
    fn new(operation: &'static str, context: &'a EncryptionContext) -> Result<Self, KmsError> {
        Self::with_action(operation, action_of(operation), context)
    }

    /// A use that makes ciphertext takes contexts within [`MAX_CONTEXT_BYTES`](crate::kms::MAX_CONTEXT_BYTES);
    /// one that opens ciphertext (Decrypt, ReEncrypt's source) takes any context that serializes,
    /// so that what an earlier envcrypt sealed under a larger one still opens.
    fn with_action(
        operation: &'static str,
        action: &'static str,
        context: &'a EncryptionContext,
    ) -> Result<Self, KmsError> {
        let opens = matches!(action, "kms:Decrypt" | "kms:ReEncryptFrom");
        let bound = if opens { BoundContext::existing(context)? } else { BoundContext::new(context)? };
        Ok(Self { operation, action, context, bound })
    }
}

/// `kms:` and the operation name, as a static string.
fn action_of(operation: &'static str) -> &'static str {
    match operation {
        "GenerateDataKey" => "kms:GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext" => "kms:GenerateDataKeyWithoutPlaintext",
        "Encrypt" => "kms:Encrypt",
        "Decrypt" => "kms:Decrypt",
        "GenerateDataKeyPair" => "kms:GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext" => "kms:GenerateDataKeyPairWithoutPlaintext",
        other => unreachable!("{other} is not a single-key cryptographic operation"),
    }
}

fn key_param(key: &KeyRef) -> serde_json::Value {
    key.to_string().into()
}

fn spec_param(call: Call, spec: DataKeySpec) -> Call {
    match spec {
        DataKeySpec::Aes256 => call.param("keySpec", "AES_256"),
        DataKeySpec::Aes128 => call.param("keySpec", "AES_128"),
        DataKeySpec::Bytes(n) => call.param("numberOfBytes", n),
    }
}

fn context_param(context: &EncryptionContext) -> serde_json::Value {
    serde_json::to_value(context).expect("a context serializes")
}

fn seal_with_record(
    service: &LocalKeyService,
    record: &KeyRecord,
    plaintext: &[u8],
    context: &BoundContext,
) -> Result<Ciphertext, KmsError> {
    if plaintext.is_empty() || plaintext.len() > MAX_ENCRYPT_PLAINTEXT {
        return Err(KmsError::Validation(format!(
            "plaintext is {} bytes; it must be between 1 and {MAX_ENCRYPT_PLAINTEXT}",
            plaintext.len()
        )));
    }
    let newest = record.backing_keys.iter().map(|b| b.number).max().ok_or_else(|| {
        StoreError::corrupt(service.dir().join(key_file(&record.key_id)), "an enabled key has no key material")
    })?;
    let backing = service.backing_key(record, newest)?;
    let header = BlobHeader {
        key_id: *KeyId::parse(&record.key_id).expect("stored key ids are UUIDs").as_bytes(),
        backing_key: newest,
        iv: crypto::random_array(),
    };
    Ok(Ciphertext { blob: blob::seal(&backing, header, context, plaintext), key_arn: service.arn(&record.key_id) })
}

impl KeyService for LocalKeyService {
    fn provider_id(&self) -> &str {
        PROVIDER_ID
    }

    fn generate_data_key<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKey> {
        let call = spec_param(Call::new("GenerateDataKey", true), spec)
            .param("keyId", key_param(key))
            .param("encryptionContext", context_param(context));
        KmsFuture::ready(self.audited(call, |call| {
            let (plaintext, sealed) = self.generate_now(key, spec, &Use::new("GenerateDataKey", context)?, call)?;
            Ok(DataKey {
                plaintext: SecretBytes::new(plaintext),
                ciphertext_blob: sealed.blob,
                key_arn: sealed.key_arn,
            })
        }))
    }

    fn generate_data_key_without_plaintext<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        let call = spec_param(Call::new("GenerateDataKeyWithoutPlaintext", true), spec)
            .param("keyId", key_param(key))
            .param("encryptionContext", context_param(context));
        KmsFuture::ready(self.audited(call, |call| {
            let use_ = Use::new("GenerateDataKeyWithoutPlaintext", context)?;
            self.generate_now(key, spec, &use_, call).map(|(_, sealed)| sealed)
        }))
    }

    fn encrypt<'a>(
        &'a self,
        key: &'a KeyRef,
        plaintext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        let call = Call::new("Encrypt", true)
            .param("keyId", key_param(key))
            .param("encryptionContext", context_param(context));
        KmsFuture::ready(self.audited(call, |call| {
            let sealed = self.encrypt_now(key, plaintext, &Use::new("Encrypt", context)?, call)?;
            call.respond(json!({ "keyId": sealed.key_arn }));
            Ok(sealed)
        }))
    }

    fn decrypt<'a>(
        &'a self,
        blob: &'a [u8],
        context: &'a EncryptionContext,
        expected_key: Option<&'a KeyRef>,
    ) -> KmsFuture<'a, Decrypted> {
        let mut call = Call::new("Decrypt", true).param("encryptionContext", context_param(context));
        if let Some(key) = expected_key {
            call = call.param("keyId", key_param(key));
        }
        KmsFuture::ready(self.audited(call, |call| {
            let decrypted = self.decrypt_now(blob, expected_key, &Use::new("Decrypt", context)?, call)?;
            call.respond(json!({ "keyId": decrypted.key_arn }));
            Ok(decrypted)
        }))
    }

    fn re_encrypt<'a>(&'a self, request: ReEncryptRequest<'a>) -> KmsFuture<'a, ReEncrypted> {
        let mut call = Call::new("ReEncrypt", true)
            .param("destinationKeyId", key_param(request.destination_key))
            .param("sourceEncryptionContext", context_param(request.source_context))
            .param("destinationEncryptionContext", context_param(request.destination_context));
        if let Some(key) = request.source_key {
            call = call.param("sourceKeyId", key_param(key));
        }
        KmsFuture::ready(self.audited(call, |call| {
            let from = Use::with_action("ReEncrypt", "kms:ReEncryptFrom", request.source_context)?;
            let to = Use::with_action("ReEncrypt", "kms:ReEncryptTo", request.destination_context)?;
            let source = self.decrypt_now(request.blob, request.source_key, &from, call)?;
            let sealed = self.encrypt_now(request.destination_key, source.plaintext.expose_secret(), &to, call)?;
            call.respond(json!({ "keyId": sealed.key_arn, "sourceKeyId": source.key_arn }));
            Ok(ReEncrypted { blob: sealed.blob, key_arn: sealed.key_arn, source_key_arn: source.key_arn })
        }))
    }

    fn generate_random(&self, number_of_bytes: usize) -> KmsFuture<'_, SecretBytes> {
        let call = Call::new("GenerateRandom", true).param("numberOfBytes", number_of_bytes);
        KmsFuture::ready(self.audited(call, |_| {
            validate_random_len(number_of_bytes)?;
            let mut bytes = Zeroizing::new(vec![0u8; number_of_bytes]);
            crypto::fill_random(&mut bytes);
            Ok(SecretBytes::new(bytes))
        }))
    }

    fn dry_run<'a>(&'a self, request: DryRun<'a>) -> KmsFuture<'a, ()> {
        let call = Call::new(request.operation(), false).param("dryRun", true);
        KmsFuture::ready(dry_run_answer(self.audited(call, |call| {
            self.dry_run_now(&request, call)?;
            Err(would_succeed())
        })))
    }

    fn owns(&self, arn: &Arn) -> bool {
        self.prefix.contains(arn)
    }

    fn admin(&self) -> Option<&dyn KeyAdmin> {
        Some(self)
    }

    fn governance(&self) -> Option<&dyn KeyGovernance> {
        Some(self)
    }

    fn rotation(&self) -> Option<&dyn KeyRotation> {
        Some(self)
    }

    fn import(&self) -> Option<&dyn KeyImport> {
        Some(self)
    }

    fn tagging(&self) -> Option<&dyn KeyTagging> {
        Some(self)
    }

    fn signing(&self) -> Option<&dyn KeySigning> {
        Some(self)
    }

    fn macs(&self) -> Option<&dyn KeyMacs> {
        Some(self)
    }

    fn data_key_pairs(&self) -> Option<&dyn DataKeyPairs> {
        Some(self)
    }

    fn rsa_encryption(&self) -> Option<&dyn RsaEncryption> {
        Some(self)
    }
}
