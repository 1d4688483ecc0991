//! GenerateDataKey and Decrypt per second through PKCS#11 (SoftHSM2): one token, and a
//! cluster of three served round-robin, from one thread and from one thread per core; and, in
//! the same run, the token's own rate: `C_EncryptInit` + `C_Encrypt` of 32 bytes under AES-GCM
//! with one held session and key handle, the limit the backend's calls are compared with.
//!
//! `cargo bench -p envcrypt-pkcs11 --bench hsm`; `cargo test` runs each once as a smoke test.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::Attribute;
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
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

/// The token alone: one session, one AES-256 key handle, GCM encryption of a 32-byte data key
/// with a fresh IV each time (what a GenerateDataKey asks of the token).
fn raw_token(c: &mut Criterion) {
    let hsm = SoftHsm::new(&["raw"]);
    let pkcs11 = Pkcs11::new(hsm.module()).unwrap();
    pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).unwrap();
    let slot = pkcs11.get_slots_with_initialized_token().unwrap()[0];
    let session = pkcs11.open_rw_session(slot).unwrap();
    session.login(UserType::User, Some(&AuthPin::new(USER_PIN.into()))).unwrap();
    let aad = [7u8; 64];
    let mut group = c.benchmark_group("pkcs11");
    group.throughput(Throughput::Elements(1)).measurement_time(Duration::from_secs(3));
    // A token object (persistent, as master keys are) and a session object (in memory only).
    for (kind, persistent) in [("token key", true), ("session key", false)] {
        let template = [Attribute::Token(persistent), Attribute::Encrypt(true), Attribute::ValueLen(32.into())];
        let key = session.generate_key(&Mechanism::AesKeyGen, &template).unwrap();
        group.bench_function(format!("raw C_EncryptInit+C_Encrypt AES-GCM, {kind}/1 token(s)"), |b| {
            let mut counter = 0u64;
            b.iter(|| {
                counter += 1;
                let mut iv = [0u8; 12];
                iv[..8].copy_from_slice(&counter.to_be_bytes());
                let params = GcmParams::new(&mut iv, &aad, 128.into()).unwrap();
                session.encrypt(&Mechanism::AesGcm(params), key, &[1u8; 32]).unwrap()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, raw_token, operations);
criterion_main!(benches);
