//! The data-key cache: key-service calls counted through a real local store, and each of the
//! SDK's limits (age, messages, bytes, unknown length, partitions) enforced.

use std::sync::Arc;
use std::time::Duration;

use envcrypt::keyring::cache::{CacheLimits, DataKeyCache, MAX_BYTES, MAX_MESSAGES};
use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::kms::{EncryptionContext, KeyAdmin, KeyRef};
use envcrypt::stream::{self, OpenOptions, SealOptions};
use envcrypt_testkit::{CallCounts, CountingKeyService, TempStore};

struct Fixture {
    counting: Arc<CountingKeyService>,
    store: TempStore,
}

fn fixture() -> Fixture {
    let store = TempStore::new();
    let counting = Arc::new(CountingKeyService::new(store.service.clone()));
    Fixture { counting, store }
}

fn hour() -> CacheLimits {
    CacheLimits::new(Duration::from_secs(3600))
}

fn ctx(value: &str) -> EncryptionContext {
    [("job".to_owned(), value.to_owned())].into_iter().collect()
}

impl Fixture {
    fn keyring(&self) -> Keyring {
        Keyring::new().with_key(self.counting.clone(), self.store.key.clone())
    }

    fn seal(&self, keyring: &Keyring, plaintext: &[u8], context: &EncryptionContext, declared: bool) -> Vec<u8> {
        let options = SealOptions {
            frame_length: 4096,
            plaintext_length: declared.then_some(plaintext.len() as u64),
            threads: 1,
            ..SealOptions::default()
        };
        let mut sealed = Vec::new();
        stream::seal(plaintext, &mut sealed, keyring, context, &options).unwrap();
        sealed
    }

    fn generated(&self) -> u64 {
        self.counting.counts().generate_data_key
    }
}

fn open(policy: &OpenPolicy, sealed: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    stream::open(sealed, &mut out, policy, &OpenOptions { threads: 1, ..OpenOptions::default() }).unwrap();
    out
}

#[test]
fn ten_thousand_messages_make_one_call_each_way() {
    let f = fixture();
    let cache = Arc::new(DataKeyCache::new(100));
    let keyring = f.keyring().with_cache(cache.clone(), hour()).unwrap();
    let context = ctx("backup");
    let sealed: Vec<Vec<u8>> =
        (0..10_000u32).map(|i| f.seal(&keyring, &i.to_be_bytes().repeat(64), &context, true)).collect();
    assert_eq!(f.counting.counts(), CallCounts { generate_data_key: 1, ..CallCounts::default() });

    // One data key, but every message has its own id and so its own content key.
    let ids: std::collections::HashSet<_> = sealed
        .iter()
        .map(|m| stream::read_header(&mut &m[..], &Default::default()).unwrap().body().message_id)
        .collect();
    assert_eq!(ids.len(), 10_000);

    let policy = OpenPolicy::discovery(vec![f.counting.clone()]).with_cache(cache.clone(), hour()).unwrap();
    for (i, message) in sealed.iter().enumerate() {
        assert_eq!(open(&policy, message), (i as u32).to_be_bytes().repeat(64));
    }
    assert_eq!(f.counting.counts().decrypt, 1);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (9_999 + 9_999, 2));
}

#[test]
fn without_the_cache_every_message_calls_the_service() {
    let f = fixture();
    let keyring = f.keyring();
    for _ in 0..20 {
        f.seal(&keyring, b"x", &ctx("a"), true);
    }
    assert_eq!(f.generated(), 20);
}

#[test]
fn entries_are_partitioned_by_context_and_by_keys() {
    let f = fixture();
    let cache = Arc::new(DataKeyCache::new(100));
    let keyring = f.keyring().with_cache(cache.clone(), hour()).unwrap();
    for _ in 0..5 {
        for job in ["a", "b", "c"] {
            f.seal(&keyring, b"data", &ctx(job), true);
        }
    }
    assert_eq!(f.generated(), 3, "one data key per context");

    let other_key = KeyRef::parse(&f.store.service.create_key("second").wait().unwrap().arn).unwrap();
    let other = Keyring::new().with_key(f.counting.clone(), other_key).with_cache(cache.clone(), hour()).unwrap();
    f.seal(&other, b"data", &ctx("a"), true);
    assert_eq!(f.generated(), 4, "another key never gets the first keyring's data key");

    let same_keys_other_binding = f.keyring().with_cache(cache, hour()).unwrap();
    f.seal(&same_keys_other_binding, b"data", &ctx("a"), true);
    assert_eq!(f.generated(), 5, "each binding has its own partition, as each caching CMM does");
}

#[test]
fn the_message_limit_counts_the_first_message() {
    let f = fixture();
    let limits = CacheLimits { max_messages: 100, ..hour() };
    let keyring = f.keyring().with_cache(Arc::new(DataKeyCache::new(10)), limits).unwrap();
    for _ in 0..1000 {
        f.seal(&keyring, b"m", &ctx("a"), true);
    }
    assert_eq!(f.generated(), 10);
}

#[test]
fn the_byte_limit_is_charged_before_each_message() {
    let f = fixture();
    let limits = CacheLimits { max_bytes: 1000, ..hour() };
    let keyring = f.keyring().with_cache(Arc::new(DataKeyCache::new(10)), limits).unwrap();
    for _ in 0..100 {
        f.seal(&keyring, &[1; 100], &ctx("a"), true);
    }
    assert_eq!(f.generated(), 10, "ten 100-byte messages per data key");
    for _ in 0..3 {
        f.seal(&keyring, &[1; 1001], &ctx("a"), true);
    }
    assert_eq!(f.generated(), 13, "a message over the byte limit is never cached");
}

#[test]
fn messages_of_unknown_length_bypass_the_cache() {
    let f = fixture();
    let keyring = f.keyring().with_cache(Arc::new(DataKeyCache::new(10)), hour()).unwrap();
    for _ in 0..5 {
        f.seal(&keyring, b"streamed", &ctx("a"), false);
    }
    assert_eq!(f.generated(), 5);
}

#[test]
fn entries_expire_after_the_maximum_age() {
    let f = fixture();
    let cache = Arc::new(DataKeyCache::new(10));
    let limits = CacheLimits::new(Duration::from_millis(30));
    let keyring = f.keyring().with_cache(cache.clone(), limits).unwrap();
    let sealed = f.seal(&keyring, b"one", &ctx("a"), true);
    std::thread::sleep(Duration::from_millis(60));
    f.seal(&keyring, b"two", &ctx("a"), true);
    assert_eq!(f.generated(), 2);

    let policy = OpenPolicy::discovery(vec![f.counting.clone()]).with_cache(cache, limits).unwrap();
    open(&policy, &sealed);
    std::thread::sleep(Duration::from_millis(60));
    open(&policy, &sealed);
    assert_eq!(f.counting.counts().decrypt, 2, "an expired opened key is fetched again");
}

#[test]
fn the_least_recently_used_entry_is_evicted() {
    let f = fixture();
    let keyring = f.keyring().with_cache(Arc::new(DataKeyCache::new(2)), hour()).unwrap();
    for job in ["a", "b", "a", "c", "a", "b"] {
        f.seal(&keyring, b"data", &ctx(job), true);
    }
    // a, b miss; a hits; c misses and evicts b; a hits; b misses.
    assert_eq!(f.generated(), 4);
}

#[test]
fn a_strict_policy_does_not_reuse_what_discovery_opened() {
    let f = fixture();
    let cache = Arc::new(DataKeyCache::new(10));
    let sealed = f.seal(&f.keyring(), b"data", &ctx("a"), true);
    let discovery = OpenPolicy::discovery(vec![f.counting.clone()]).with_cache(cache.clone(), hour()).unwrap();
    open(&discovery, &sealed);
    let strict =
        OpenPolicy::strict(vec![f.counting.clone()], vec![f.store.key.clone()]).with_cache(cache, hour()).unwrap();
    open(&strict, &sealed);
    assert_eq!(f.counting.counts().decrypt, 2);
}

#[test]
fn limits_outside_the_sdk_bounds_are_refused() {
    let cache = Arc::new(DataKeyCache::new(1));
    for limits in [
        CacheLimits::new(Duration::ZERO),
        CacheLimits { max_messages: 0, ..hour() },
        CacheLimits { max_messages: MAX_MESSAGES + 1, ..hour() },
        CacheLimits { max_bytes: MAX_BYTES + 1, ..hour() },
    ] {
        assert!(Keyring::new().with_cache(cache.clone(), limits).is_err(), "{limits:?}");
    }
}

/// Callers that miss the same entry at once make one key service call between them: the
/// first fills the entry, the others wait for it (eight threads released together).
#[test]
fn concurrent_misses_of_one_entry_make_one_call() {
    let f = fixture();
    let cache = Arc::new(DataKeyCache::new(10));
    let keyring = f.keyring().with_cache(cache.clone(), hour()).unwrap();
    let context = ctx("parallel");
    let start = std::sync::Barrier::new(8);
    let sealed: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8u8)
            .map(|i| {
                let (f, keyring, context, start) = (&f, &keyring, &context, &start);
                scope.spawn(move || {
                    start.wait();
                    f.seal(keyring, &[i; 100], context, true)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(f.generated(), 1, "one GenerateDataKey for eight concurrent seals");

    let policy = OpenPolicy::discovery(vec![f.counting.clone()]).with_cache(cache, hour()).unwrap();
    std::thread::scope(|scope| {
        for (i, message) in sealed.iter().enumerate() {
            let (policy, start) = (&policy, &start);
            scope.spawn(move || {
                start.wait();
                assert_eq!(open(policy, message), vec![i as u8; 100]);
            });
        }
    });
    assert_eq!(f.counting.counts().decrypt, 1, "one Decrypt for eight concurrent opens");
}
