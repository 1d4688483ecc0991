//! A data-key cache with the AWS Encryption SDK's caching semantics.
//!
//! A [`Keyring`](super::Keyring) or [`OpenPolicy`](super::OpenPolicy) bound to a
//! [`DataKeyCache`] reuses data keys instead of calling its key service for every message:
//!
//! * Sealing reuses a cached data key for messages with the same keys, algorithm suite and
//!   encryption context, while the entry is younger than [`CacheLimits::max_age`] and has
//!   protected fewer than [`CacheLimits::max_messages`] messages and
//!   [`CacheLimits::max_bytes`] bytes. A message's bytes are charged before it is written, so
//!   only messages whose length is declared up front use the cache (as in the SDKs).
//! * Opening reuses the plaintext data key of a message with the same encrypted data keys,
//!   suite and context while the entry is younger than `max_age`.
//!
//! Entry identifiers follow the SDK specification's formulas (SHA-512 over the partition, the
//! suite, the sorted hashes of the encrypted data keys and the serialized context). Each
//! binding of a cache gets a random partition, and the keys it seals or opens with are part
//! of the partition, so keyrings and policies sharing one cache never see each other's
//! entries. Every message still gets its own message id, hence its own derived content key.
//!
//! Callers that miss the same entry at once make one key service call between them: the first
//! fills the entry while the others wait for it ([`DataKeyCache::claim`]), as the SDKs' caching
//! materials managers do not, and a run of parallel opens needs one Decrypt per data key.

use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ring::digest::{Context, SHA512, SHA512_OUTPUT_LEN};

use crate::context::EncryptionContext;
use crate::crypto;
use crate::kms::SecretBytes;
use crate::message::{AlgorithmSuite, EncryptedDataKey};

/// The most messages one data key may protect (the SDKs' bound).
pub const MAX_MESSAGES: u64 = 1 << 32;
/// The most bytes one data key may protect (the SDKs' bound).
pub const MAX_BYTES: u64 = (1 << 63) - 1;

type EntryId = [u8; SHA512_OUTPUT_LEN];

/// How long and how much one cached data key may be used: the caching CMM's security thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// How long after its creation an entry may be used (for sealing and opening).
    pub max_age: Duration,
    /// How many messages one data key may seal, counting the first (1 to [`MAX_MESSAGES`]).
    pub max_messages: u64,
    /// How many plaintext bytes one data key may seal, counting the first message (at most [`MAX_BYTES`]).
    pub max_bytes: u64,
}

impl CacheLimits {
    /// Entries that live `max_age`, with the SDKs' default message and byte limits (their maxima).
    pub fn new(max_age: Duration) -> Self {
        Self { max_age, max_messages: MAX_MESSAGES, max_bytes: MAX_BYTES }
    }

    /// Checks the limits against the bounds the SDKs enforce.
    pub fn validate(&self) -> Result<(), InvalidCacheLimits> {
        if self.max_age.is_zero() {
            return Err(InvalidCacheLimits("the maximum age must be greater than zero"));
        }
        if self.max_messages == 0 || self.max_messages > MAX_MESSAGES {
            return Err(InvalidCacheLimits("the maximum messages must be between 1 and 2^32"));
        }
        if self.max_bytes > MAX_BYTES {
            return Err(InvalidCacheLimits("the maximum bytes must be at most 2^63 - 1"));
        }
        Ok(())
    }
}

/// Cache limits outside the bounds the SDKs allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid data-key cache limits: {0}")]
pub struct InvalidCacheLimits(&'static str);

/// Counters of a [`DataKeyCache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that went to a key service.
    pub misses: u64,
    /// Entries in the cache now.
    pub entries: usize,
}

/// An in-memory, least-recently-used cache of data keys, shared by any number of keyrings and
/// open policies. Plaintext data keys in it are zeroized when evicted and when it is dropped.
#[derive(Debug)]
pub struct DataKeyCache {
    capacity: usize,
    state: Mutex<State>,
    /// Signalled whenever a fill ends.
    filled: Condvar,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<EntryId, Entry>,
    /// Entries a caller is filling now.
    filling: HashSet<EntryId>,
    /// A logical clock for least-recently-used eviction.
    tick: u64,
    hits: u64,
    misses: u64,
}

#[derive(Debug)]
struct Entry {
    materials: Materials,
    created: Instant,
    messages: u64,
    bytes: u64,
    last_used: u64,
}

/// What an entry holds.
#[derive(Debug, Clone)]
pub(super) enum Materials {
    /// A data key and its encrypted copies, for sealing.
    Seal { data_key: SecretBytes, encrypted_data_keys: Vec<EncryptedDataKey> },
    /// A data key, the encrypted data key it came from, and the ARN of the key that opened it.
    Open { data_key: SecretBytes, encrypted_data_key: EncryptedDataKey, key_arn: String },
}

impl DataKeyCache {
    /// A cache holding at most `capacity` entries (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), state: Mutex::default(), filled: Condvar::new() }
    }

    /// Hit and miss counts and the current size.
    pub fn stats(&self) -> CacheStats {
        let state = self.lock();
        CacheStats { hits: state.hits, misses: state.misses, entries: state.entries.len() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A usable entry for sealing `bytes` more bytes, charging the message to it; an entry
    /// that is too old or would exceed a limit is evicted and the lookup misses.
    pub(super) fn get_for_seal(&self, id: &EntryId, bytes: u64, limits: &CacheLimits) -> Option<Materials> {
        let mut state = self.lock();
        state.tick += 1;
        let tick = state.tick;
        let usable = state.entries.get_mut(id).and_then(|entry| {
            let messages = entry.messages + 1;
            let total = entry.bytes.checked_add(bytes)?;
            if entry.created.elapsed() > limits.max_age || messages > limits.max_messages || total > limits.max_bytes {
                return None;
            }
            entry.messages = messages;
            entry.bytes = total;
            entry.last_used = tick;
            Some(entry.materials.clone())
        });
        state.count(id, usable)
    }

    /// A usable entry for opening.
    pub(super) fn get_for_open(&self, id: &EntryId, limits: &CacheLimits) -> Option<Materials> {
        let mut state = self.lock();
        state.tick += 1;
        let tick = state.tick;
        let usable = state.entries.get_mut(id).and_then(|entry| {
            if entry.created.elapsed() > limits.max_age {
                return None;
            }
            entry.last_used = tick;
            Some(entry.materials.clone())
        });
        state.count(id, usable)
    }

    /// After a miss: `Some` if this caller is to fill the entry (the others wait until the
    /// claim is dropped), `None` once another caller's fill of it has ended, for a new lookup.
    pub(super) fn claim(&self, id: &EntryId) -> Option<Claim<'_>> {
        let mut state = self.lock();
        if state.filling.insert(*id) {
            return Some(Claim { cache: self, id: *id });
        }
        while state.filling.contains(id) {
            state = self.filled.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        None
    }

    /// Stores fresh materials, already used for one message of `bytes` bytes (0 for opening).
    pub(super) fn put(&self, id: EntryId, materials: Materials, bytes: u64) {
        let mut state = self.lock();
        state.tick += 1;
        let entry = Entry { materials, created: Instant::now(), messages: 1, bytes, last_used: state.tick };
        state.entries.insert(id, entry);
        while state.entries.len() > self.capacity {
            let oldest = state.entries.iter().min_by_key(|(_, e)| e.last_used).map(|(id, _)| *id);
            match oldest {
                Some(oldest) => state.entries.remove(&oldest),
                None => break,
            };
        }
    }
}

/// The right to fill one entry; dropping it (filled or not) lets the waiting callers look again.
pub(super) struct Claim<'a> {
    cache: &'a DataKeyCache,
    id: EntryId,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.cache.lock().filling.remove(&self.id);
        self.cache.filled.notify_all();
    }
}

impl State {
    fn count(&mut self, id: &EntryId, found: Option<Materials>) -> Option<Materials> {
        if found.is_some() {
            self.hits += 1;
        } else {
            self.misses += 1;
            self.entries.remove(id);
        }
        found
    }
}

/// A cache bound to one keyring or open policy: the cache, its limits, and a random partition.
#[derive(Debug, Clone)]
pub(super) struct CacheBinding {
    pub(super) cache: std::sync::Arc<DataKeyCache>,
    pub(super) limits: CacheLimits,
    partition: [u8; 32],
}

impl CacheBinding {
    pub(super) fn new(cache: std::sync::Arc<DataKeyCache>, limits: CacheLimits) -> Result<Self, InvalidCacheLimits> {
        limits.validate()?;
        Ok(Self { cache, limits, partition: crypto::random_array() })
    }

    /// The SHA-512 of the partition: the random id and the keys in use.
    fn partition_hash<'a>(&self, keys: impl Iterator<Item = (&'a str, String)>) -> EntryId {
        let mut hash = Context::new(&SHA512);
        hash.update(&self.partition);
        for (provider, key) in keys {
            for part in [provider.as_bytes(), key.as_bytes()] {
                hash.update(&(part.len() as u64).to_be_bytes());
                hash.update(part);
            }
        }
        finish(hash)
    }

    /// The entry id for sealing, as the specification's "with algorithm suite" formula.
    pub(super) fn seal_id<'a>(
        &self,
        keys: impl Iterator<Item = (&'a str, String)>,
        suite: AlgorithmSuite,
        context: &EncryptionContext,
    ) -> Option<EntryId> {
        let mut hash = Context::new(&SHA512);
        hash.update(&self.partition_hash(keys));
        hash.update(&[0x01]);
        hash.update(&suite.id().to_be_bytes());
        hash.update(&sha512(&context.serialize().ok()?));
        Some(finish(hash))
    }

    /// The entry id for opening, as the specification's decryption formula.
    pub(super) fn open_id<'a>(
        &self,
        keys: impl Iterator<Item = (&'a str, String)>,
        suite: AlgorithmSuite,
        encrypted_data_keys: &[EncryptedDataKey],
        context: &EncryptionContext,
    ) -> Option<EntryId> {
        let mut edk_hashes = Vec::with_capacity(encrypted_data_keys.len());
        for edk in encrypted_data_keys {
            let mut bytes = Vec::new();
            edk.serialize_into(&mut bytes).ok()?;
            edk_hashes.push(sha512(&bytes));
        }
        edk_hashes.sort_unstable();
        let mut hash = Context::new(&SHA512);
        hash.update(&self.partition_hash(keys));
        hash.update(&suite.id().to_be_bytes());
        for edk_hash in &edk_hashes {
            hash.update(edk_hash);
        }
        hash.update(&[0u8; SHA512_OUTPUT_LEN]);
        hash.update(&sha512(&context.serialize().ok()?));
        Some(finish(hash))
    }
}

fn sha512(bytes: &[u8]) -> EntryId {
    finish({
        let mut hash = Context::new(&SHA512);
        hash.update(bytes);
        hash
    })
}

fn finish(hash: Context) -> EntryId {
    hash.finish().as_ref().try_into().expect("SHA-512 output is 64 bytes")
}
