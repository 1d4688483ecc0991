//! GenerateDataKey and Decrypt per second through PKCS#11 (SoftHSM2): one token, and a
//! cluster of three served round-robin, from one thread and from one thread per core (each
//! token has one session, so a cluster serves concurrent callers in parallel).
//!
//! `cargo bench -p envcrypt-pkcs11 --bench hsm`; `cargo test` runs each once as a smoke test.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use envcrypt::kms::{DataKeySpec, EncryptionContext, KeyAdmin, KeyRef, KeyService};
use envcrypt_pkcs11::{init_cluster, Pkcs11KeyService, Pkcs11Options};
use envcrypt_testkit::{SoftHsm, SO_PIN, USER_PIN};
use zeroize::Zeroizing;

fn operations(c: &mut Criterion) {
    let mut group = c.benchmark_group("pkcs11");
    group.throughput(Throughput::Elements(1)).measurement_time(Duration::from_secs(3));
    let context: EncryptionContext = [("purpose".to_owned(), "bench".to_owned())].into_iter().collect();
    for tokens in [&["az-a"][..], &["az-a", "az-b", "az-c"][..]] {
        let hsm = SoftHsm::new(tokens);
        let labels = tokens.iter().map(|t| t.to_string()).collect();
        let options = Pkcs11Options::new(hsm.module(), labels, Zeroizing::new(USER_PIN.into()));
        init_cluster(&options.cluster, &Zeroizing::new(SO_PIN.into())).unwrap();
        let service = Pkcs11KeyService::connect(options).unwrap();
        let key = KeyRef::parse(&service.create_key("bench").wait().unwrap().arn).unwrap();
        let label = format!("{} token(s)", tokens.len());
        group.bench_function(format!("GenerateDataKey/{label}"), |b| {
            b.iter(|| service.generate_data_key(&key, DataKeySpec::Aes256, &context).wait().unwrap());
        });
        let blob = service.generate_data_key(&key, DataKeySpec::Aes256, &context).wait().unwrap().ciphertext_blob;
        group.bench_function(format!("Decrypt/{label}"), |b| {
            b.iter(|| service.decrypt(&blob, &context, None).wait().unwrap());
        });
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        group.bench_function(format!("Decrypt, {threads} threads/{label}"), |b| {
            b.iter_custom(|iters| {
                let start = std::time::Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..threads {
                        scope.spawn(|| {
                            for _ in 0..iters.div_ceil(threads as u64) {
                                service.decrypt(&blob, &context, None).wait().unwrap();
                            }
                        });
                    }
                });
                start.elapsed()
            });
        });
        drop(service);
    }
    group.finish();
}

criterion_group!(benches, operations);
criterion_main!(benches);
