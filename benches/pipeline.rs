//! Library benchmarks: the frame pipeline per frame size and thread count, and small-message
//! sealing with and without the data-key cache.
//!
//! `cargo bench -p envcrypt --bench pipeline`; `cargo test` runs each once as a smoke test.

use std::hint::black_box;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use envcrypt::keyring::cache::{CacheLimits, DataKeyCache};
use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::kms::EncryptionContext;
use envcrypt::stream::{self, OpenOptions, SealOptions};
use envcrypt_testkit::TempStore;

const INPUT: usize = 64 << 20;
const FRAME_SIZES: [u32; 6] = [16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20];

fn keyring(store: &TempStore) -> Keyring {
    Keyring::new().with_key(store.service.clone(), store.key.clone())
}

fn pipeline(c: &mut Criterion) {
    let store = TempStore::new();
    let keyring = keyring(&store);
    let context = EncryptionContext::new();
    let data: Vec<u8> = (0..INPUT).map(|i| (i * 31) as u8).collect();
    let threads = [1, std::thread::available_parallelism().map_or(1, usize::from)];
    let policy = OpenPolicy::discovery(store.services());

    let mut seal = c.benchmark_group("seal 64 MiB");
    seal.throughput(Throughput::Bytes(INPUT as u64)).sample_size(10).measurement_time(Duration::from_secs(3));
    for frame_length in FRAME_SIZES {
        for threads in threads {
            let options = SealOptions { frame_length, threads, ..SealOptions::default() };
            seal.bench_with_input(BenchmarkId::new(format!("{threads} threads"), frame_length), &options, |b, o| {
                b.iter(|| stream::seal(&data[..], io::sink(), &keyring, &context, o).unwrap());
            });
        }
    }
    seal.finish();

    let mut open = c.benchmark_group("open 64 MiB");
    open.throughput(Throughput::Bytes(INPUT as u64)).sample_size(10).measurement_time(Duration::from_secs(3));
    for frame_length in FRAME_SIZES {
        let mut sealed = Vec::with_capacity(INPUT + (1 << 20));
        let options = SealOptions { frame_length, ..SealOptions::default() };
        stream::seal(&data[..], &mut sealed, &keyring, &context, &options).unwrap();
        for threads in threads {
            let options = OpenOptions { threads, ..OpenOptions::default() };
            open.bench_with_input(BenchmarkId::new(format!("{threads} threads"), frame_length), &options, |b, o| {
                b.iter(|| stream::open(&sealed[..], io::sink(), &policy, o).unwrap());
            });
        }
    }
    open.finish();
}

fn small_messages(c: &mut Criterion) {
    let store = TempStore::new();
    let uncached = keyring(&store);
    let context: EncryptionContext = [("job".to_owned(), "bench".to_owned())].into_iter().collect();
    let message = [7u8; 1024];
    let options = SealOptions { plaintext_length: Some(1024), threads: 1, ..SealOptions::default() };
    let cached = uncached
        .clone()
        .with_cache(Arc::new(DataKeyCache::new(16)), CacheLimits::new(Duration::from_secs(600)))
        .unwrap();

    let mut group = c.benchmark_group("seal 1 KiB");
    group.throughput(Throughput::Elements(1));
    for (name, keyring) in [("local store, no cache", &uncached), ("local store, cache", &cached)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut sealed = Vec::with_capacity(2048);
                stream::seal(&message[..], &mut sealed, keyring, &context, &options).unwrap();
                black_box(sealed)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, pipeline, small_messages);
criterion_main!(benches);
