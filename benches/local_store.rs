//! Local store operations per second, with the audit log on and off: what policy evaluation
//! and one audit append per call cost on the hot path.
//!
//! `cargo bench -p envcrypt --bench local_store`; `cargo test` runs each once as a smoke test.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use envcrypt::kms::local::{LocalKeyService, StoreOptions};
use envcrypt::kms::{DataKeySpec, EncryptionContext, KeyService};

fn operations(c: &mut Criterion) {
    let mut group = c.benchmark_group("local store");
    group.throughput(Throughput::Elements(1)).measurement_time(Duration::from_secs(3));
    let context: EncryptionContext = [("purpose".to_owned(), "bench".to_owned())].into_iter().collect();
    for audit in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalKeyService::open(StoreOptions::new(dir.path().join("store")).audit_log(audit)).unwrap();
        let key = store.default_key().unwrap();
        let label = if audit { "audit on" } else { "audit off" };
        group.bench_function(format!("GenerateDataKey/{label}"), |b| {
            b.iter(|| store.generate_data_key(&key, DataKeySpec::Aes256, &context).wait().unwrap());
        });
        let blob = store.generate_data_key(&key, DataKeySpec::Aes256, &context).wait().unwrap().ciphertext_blob;
        group.bench_function(format!("Decrypt/{label}"), |b| {
            b.iter(|| store.decrypt(&blob, &context, None).wait().unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, operations);
criterion_main!(benches);
