//! Entry point for the `key_pair` fuzz target; compiled only under `--cfg fuzzing` (cargo fuzz).

use std::sync::OnceLock;

use zeroize::Zeroizing;

use super::key_pair;
use crate::kms::{KeySpec, RsaEncryptionAlgorithm};

/// A key pair of each spec: spec, private key (PKCS#8), public key (SubjectPublicKeyInfo).
type Pair = (KeySpec, Zeroizing<Vec<u8>>, Vec<u8>);

fn pairs() -> &'static [Pair] {
    static PAIRS: OnceLock<Vec<Pair>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        [KeySpec::Rsa2048, KeySpec::EccNistP256, KeySpec::EccNistP384, KeySpec::EccNistP521, KeySpec::EccSecgP256k1]
            .into_iter()
            .map(|spec| {
                let private = key_pair::generate(spec).ok().flatten().expect("a key-pair spec");
                let public = key_pair::public_key(spec, &private).expect("a fresh pair");
                (spec, private, public)
            })
            .collect()
    })
}

/// What callers hand Verify, Decrypt with RSA keys and (from a damaged store) GetPublicKey:
/// signatures, RSA-OAEP ciphertexts, public keys. The first byte picks the key and the
/// algorithm; none of it may panic.
pub fn untrusted_inputs(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else { return };
    let pairs = pairs();
    let (spec, private, public) = &pairs[usize::from(pick) % pairs.len()];
    let algorithms = spec.signing_algorithms();
    let algorithm = algorithms[usize::from(pick / 8) % algorithms.len()];
    let digest = key_pair::digest(algorithm, b"fuzz");
    let _ = key_pair::verify_digest(*spec, public, algorithm, &digest, rest);
    let _ = key_pair::verify_digest(*spec, rest, algorithm, &digest, rest);
    let _ = key_pair::public_key(*spec, rest);
    if *spec == KeySpec::Rsa2048 {
        for algorithm in [RsaEncryptionAlgorithm::RsaesOaepSha1, RsaEncryptionAlgorithm::RsaesOaepSha256] {
            let _ = key_pair::rsa_decrypt(*spec, private, algorithm, rest);
        }
    }
}
