//! Sign and Verify per second on the local store, one key per spec, one thread, the audit log
//! on: what `bench/signing.sh` compares with `openssl speed` for the same algorithms. Each
//! call signs or verifies a DIGEST, as `openssl speed` does, so the hash is not counted.
//!
//! Run with `cargo run --release -p envcrypt --example sign_rate -- [SECONDS]` (default 2 per
//! measurement); it prints `SPEC ALGORITHM SIGN/S VERIFY/S PRIMITIVE_SIGN/S PRIMITIVE_VERIFY/S`
//! per line, the last two for the primitive alone (`envcrypt::crypto::key_pair`).

use std::time::{Duration, Instant};

use envcrypt::crypto::key_pair;
use envcrypt::kms::local::{LocalKeyService, StoreOptions};
use envcrypt::kms::{
    CreateKeyRequest, KeyAdmin, KeyRef, KeyService, KeySpec, KeyUsage, MessageType, SignRequest, SigningAlgorithm,
    VerifyRequest,
};

/// How many times `call` runs in `seconds`, per second.
fn rate(seconds: f64, mut call: impl FnMut()) -> f64 {
    let deadline = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < deadline {
        call();
        count += 1;
    }
    count as f64 / start.elapsed().as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: f64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(2.0);
    let dir = tempfile::tempdir()?;
    let store = LocalKeyService::open(StoreOptions::new(dir.path().join("store")))?;
    let signing = store.signing().ok_or("the local store signs")?;
    for (spec, algorithm) in [
        (KeySpec::Rsa2048, SigningAlgorithm::RsassaPkcs1V15Sha256),
        (KeySpec::Rsa3072, SigningAlgorithm::RsassaPkcs1V15Sha256),
        (KeySpec::Rsa4096, SigningAlgorithm::RsassaPkcs1V15Sha256),
        (KeySpec::Rsa2048, SigningAlgorithm::RsassaPssSha256),
        (KeySpec::EccNistP256, SigningAlgorithm::EcdsaSha256),
        (KeySpec::EccNistP384, SigningAlgorithm::EcdsaSha384),
        (KeySpec::EccNistP521, SigningAlgorithm::EcdsaSha512),
        (KeySpec::EccSecgP256k1, SigningAlgorithm::EcdsaSha256),
    ] {
        let request = CreateKeyRequest::new("sign_rate").kind(spec, Some(KeyUsage::SignVerify));
        let key = KeyRef::parse(&store.create_key_with(request).wait()?.arn)?;
        let digest = vec![7u8; algorithm.digest_len()];
        let request = SignRequest { key: &key, message: &digest, message_type: MessageType::Digest, algorithm };
        let signature = signing.sign(request).wait()?.signature;
        let signs = rate(seconds, || {
            signing.sign(request).wait().expect("sign");
        });
        let verifies = rate(seconds, || {
            signing.verify(VerifyRequest { signed: request, signature: &signature }).wait().expect("verify");
        });
        // The primitive alone, on material of the same spec: what the store adds is the rest.
        let material = key_pair::generate(spec)?.ok_or("a key-pair spec")?;
        let public = key_pair::public_key(spec, &material)?;
        let raw_signs = rate(seconds, || {
            key_pair::sign_digest(spec, &material, algorithm, &digest).expect("sign");
        });
        let raw_signature = key_pair::sign_digest(spec, &material, algorithm, &digest)?;
        let raw_verifies = rate(seconds, || {
            assert!(key_pair::verify_digest(spec, &public, algorithm, &digest, &raw_signature).expect("verify"));
        });
        println!("{spec} {algorithm} {signs:.0} {verifies:.0} {raw_signs:.0} {raw_verifies:.0}");
    }
    Ok(())
}
