//! The primitives of asymmetric and HMAC keys, from RustCrypto: `rsa` (PSS and PKCS#1 v1.5
//! signatures and OAEP encryption, blinded), `p256`, `p384`, `p521` and `k256` (ECDSA, deterministic nonces per
//! RFC 6979), `hmac` with `sha2`. Nothing here implements a primitive; it fixes the parameters
//! KMS documents (a PSS salt as long as the hash, DER ECDSA signatures, PKCS#8 private keys and
//! SubjectPublicKeyInfo public keys) and gives every caller one error type.

use hmac::Mac as _;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::rand_core::OsRng;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use signature::hazmat::{PrehashSigner, PrehashVerifier, RandomizedPrehashSigner};
use zeroize::Zeroizing;

use crate::kms::{
    Ciphertext, DataKeyPair, KeySpec, KmsError, MacAlgorithm, MessageType, RsaEncryptionAlgorithm, SecretBytes,
    SignRequest, SigningAlgorithm,
};

/// A fresh data key pair of `spec` (GenerateDataKeyPair): its public key, its private key
/// sealed by `seal` (under a symmetric key, as Encrypt seals), and the private key itself too
/// if `with_plaintext`.
pub fn new_data_key_pair(
    spec: KeySpec,
    with_plaintext: bool,
    seal: impl FnOnce(&[u8]) -> Result<Ciphertext, KmsError>,
) -> Result<DataKeyPair, KmsError> {
    let private_key = generate(spec)?.expect("a key-pair spec makes a key pair");
    let public_key = public_key(spec, &private_key).expect("a fresh key pair has a public key");
    let sealed = seal(&private_key)?;
    Ok(DataKeyPair {
        key_arn: sealed.key_arn,
        key_pair_spec: spec,
        public_key,
        private_key_plaintext: with_plaintext.then(|| SecretBytes::new(private_key)),
        private_key_ciphertext_blob: sealed.blob,
    })
}

/// Key material that cannot be used as the spec says (a damaged record, a wrong import).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadKeyMaterial(String);

fn bad(what: impl std::fmt::Display) -> BadKeyMaterial {
    BadKeyMaterial(what.to_string())
}

/// Too many RSA keys are being made at once; the caller should try again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{MAX_RSA_WAITING} RSA keys are being made already; try again shortly")]
pub struct Busy;

/// `ThrottlingException`, as KMS answers a caller who should slow down.
impl From<Busy> for crate::kms::KmsError {
    fn from(busy: Busy) -> Self {
        Self::Service { name: "ThrottlingException".into(), message: busy.to_string() }
    }
}

/// How many RSA key generations may run or wait at once in a process; more are refused
/// ([`Busy`]) rather than queued, so that requests a caller gave up on cannot pile up behind
/// the ones that are still wanted.
pub const MAX_RSA_WAITING: usize = 4;

/// A fresh RSA private key of `bits`. RSA generation takes up to seconds of one core: one at a
/// time per process, at most [`MAX_RSA_WAITING`] waiting.
pub fn new_rsa_key(bits: usize) -> Result<rsa::RsaPrivateKey, Busy> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static WAITING: AtomicUsize = AtomicUsize::new(0);
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    struct Waiting;
    impl Drop for Waiting {
        fn drop(&mut self) {
            WAITING.fetch_sub(1, Ordering::SeqCst);
        }
    }
    if WAITING.fetch_add(1, Ordering::SeqCst) >= MAX_RSA_WAITING {
        WAITING.fetch_sub(1, Ordering::SeqCst);
        return Err(Busy);
    }
    let _waiting = Waiting;
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(rsa::RsaPrivateKey::new(&mut OsRng, bits).expect("RSA key generation"))
}

/// Fresh key material of `spec`: a key pair as PKCS#8 DER, or an HMAC key's bytes; `None` for
/// a symmetric encryption key, which is not made here.
pub fn generate(spec: KeySpec) -> Result<Option<Zeroizing<Vec<u8>>>, Busy> {
    let pkcs8 = |document: Result<rsa::pkcs8::SecretDocument, rsa::pkcs8::Error>| {
        Zeroizing::new(document.expect("a fresh key encodes as PKCS#8").as_bytes().to_vec())
    };
    let rsa = |bits| new_rsa_key(bits).map(|key| pkcs8(key.to_pkcs8_der()));
    Ok(Some(match spec {
        KeySpec::Rsa2048 => rsa(2048)?,
        KeySpec::Rsa3072 => rsa(3072)?,
        KeySpec::Rsa4096 => rsa(4096)?,
        KeySpec::EccNistP256 => pkcs8(p256::SecretKey::random(&mut OsRng).to_pkcs8_der()),
        KeySpec::EccNistP384 => pkcs8(p384::SecretKey::random(&mut OsRng).to_pkcs8_der()),
        KeySpec::EccNistP521 => pkcs8(p521::SecretKey::random(&mut OsRng).to_pkcs8_der()),
        KeySpec::EccSecgP256k1 => pkcs8(k256::SecretKey::random(&mut OsRng).to_pkcs8_der()),
        KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => {
            let mut key = Zeroizing::new(vec![0u8; hmac_key_len(spec)]);
            super::fill_random(&mut key);
            key
        }
        _ => return Ok(None),
    }))
}

/// An HMAC key's length in bytes: as long as its hash's output, as KMS makes them.
pub fn hmac_key_len(spec: KeySpec) -> usize {
    match spec {
        KeySpec::Hmac224 => 28,
        KeySpec::Hmac384 => 48,
        KeySpec::Hmac512 => 64,
        _ => 32,
    }
}

/// Checks what can be checked of stored material without using it: an HMAC key's length.
/// (A key pair's PKCS#8 is checked against its spec when it is parsed.)
pub fn check_material(spec: KeySpec, material: &[u8]) -> Result<(), BadKeyMaterial> {
    if spec.mac_algorithm().is_some() && material.len() != hmac_key_len(spec) {
        return Err(bad(format!("a {spec} key has {} bytes, not {}", material.len(), hmac_key_len(spec))));
    }
    Ok(())
}

/// The public key (DER SubjectPublicKeyInfo) of a key pair given as PKCS#8 DER.
pub fn public_key(spec: KeySpec, private_key: &[u8]) -> Result<Vec<u8>, BadKeyMaterial> {
    let document = match spec {
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
            rsa_private(spec, private_key)?.to_public_key().to_public_key_der()
        }
        KeySpec::EccNistP256 => {
            p256::SecretKey::from_pkcs8_der(private_key).map_err(bad)?.public_key().to_public_key_der()
        }
        KeySpec::EccNistP384 => {
            p384::SecretKey::from_pkcs8_der(private_key).map_err(bad)?.public_key().to_public_key_der()
        }
        KeySpec::EccNistP521 => {
            p521::SecretKey::from_pkcs8_der(private_key).map_err(bad)?.public_key().to_public_key_der()
        }
        KeySpec::EccSecgP256k1 => {
            k256::SecretKey::from_pkcs8_der(private_key).map_err(bad)?.public_key().to_public_key_der()
        }
        _ => return Err(bad(format!("a {spec} key has no public key"))),
    };
    Ok(document.map_err(bad)?.into_vec())
}

fn rsa_private(spec: KeySpec, der: &[u8]) -> Result<rsa::RsaPrivateKey, BadKeyMaterial> {
    let key = rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(bad)?;
    check_rsa_size(spec, rsa::traits::PublicKeyParts::size(&key))?;
    Ok(key)
}

fn check_rsa_size(spec: KeySpec, bytes: usize) -> Result<(), BadKeyMaterial> {
    let expected = match spec {
        KeySpec::Rsa2048 => 256,
        KeySpec::Rsa3072 => 384,
        _ => 512,
    };
    if bytes != expected {
        return Err(bad(format!("a {spec} key has a {}-bit modulus", bytes * 8)));
    }
    Ok(())
}

/// The public key (DER SubjectPublicKeyInfo) of an RSA key from its modulus and public
/// exponent (big-endian), as a PKCS#11 token gives them.
pub fn rsa_public_key(spec: KeySpec, modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>, BadKeyMaterial> {
    let key = rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(modulus), rsa::BigUint::from_bytes_be(exponent))
        .map_err(bad)?;
    check_rsa_size(spec, rsa::traits::PublicKeyParts::size(&key))?;
    Ok(key.to_public_key_der().map_err(bad)?.into_vec())
}

/// The public key (DER SubjectPublicKeyInfo) of an elliptic-curve key from its point as a
/// PKCS#11 token gives it (`CKA_EC_POINT`: a DER OCTET STRING around the SEC1 point).
pub fn ec_public_key(spec: KeySpec, ec_point: &[u8]) -> Result<Vec<u8>, BadKeyMaterial> {
    use rsa::pkcs8::der::{asn1::OctetStringRef, Decode};
    let point = OctetStringRef::from_der(ec_point).map_err(bad)?;
    let point = point.as_bytes();
    let document = match spec {
        KeySpec::EccNistP256 => p256::PublicKey::from_sec1_bytes(point).map_err(bad)?.to_public_key_der(),
        KeySpec::EccNistP384 => p384::PublicKey::from_sec1_bytes(point).map_err(bad)?.to_public_key_der(),
        KeySpec::EccNistP521 => p521::PublicKey::from_sec1_bytes(point).map_err(bad)?.to_public_key_der(),
        KeySpec::EccSecgP256k1 => k256::PublicKey::from_sec1_bytes(point).map_err(bad)?.to_public_key_der(),
        _ => return Err(bad(format!("a {spec} key is not an elliptic-curve key"))),
    };
    Ok(document.map_err(bad)?.into_vec())
}

/// The DER of an elliptic-curve spec's named curve (its object identifier), as PKCS#11's
/// `CKA_EC_PARAMS` takes it.
pub fn ec_curve(spec: KeySpec) -> Option<Vec<u8>> {
    use rsa::pkcs8::der::{oid::AssociatedOid, Encode};
    let oid = match spec {
        KeySpec::EccNistP256 => p256::NistP256::OID,
        KeySpec::EccNistP384 => p384::NistP384::OID,
        KeySpec::EccNistP521 => p521::NistP521::OID,
        KeySpec::EccSecgP256k1 => k256::Secp256k1::OID,
        _ => return None,
    };
    Some(oid.to_der().expect("an object identifier encodes"))
}

/// An ECDSA signature as KMS returns it (DER) from the fixed-width `r || s` a PKCS#11 token
/// returns.
pub fn ecdsa_der(spec: KeySpec, fixed: &[u8]) -> Result<Vec<u8>, BadKeyMaterial> {
    let der = match spec {
        KeySpec::EccNistP256 => p256::ecdsa::Signature::from_slice(fixed).map_err(bad)?.to_der().as_bytes().to_vec(),
        KeySpec::EccNistP384 => p384::ecdsa::Signature::from_slice(fixed).map_err(bad)?.to_der().as_bytes().to_vec(),
        KeySpec::EccNistP521 => p521::ecdsa::Signature::from_slice(fixed).map_err(bad)?.to_der().as_bytes().to_vec(),
        KeySpec::EccSecgP256k1 => k256::ecdsa::Signature::from_slice(fixed).map_err(bad)?.to_der().as_bytes().to_vec(),
        _ => return Err(bad(format!("a {spec} key does not make ECDSA signatures"))),
    };
    Ok(der)
}

/// What RSASSA-PKCS1-v1_5 signs for `digest`: the DigestInfo of RFC 8017 §9.2 (the hash's
/// prefix, from `rsa`, and the digest), for a token's raw `CKM_RSA_PKCS`.
pub fn pkcs1v15_digest_info(algorithm: SigningAlgorithm, digest: &[u8]) -> Vec<u8> {
    let scheme = match algorithm.digest_len() {
        32 => rsa::Pkcs1v15Sign::new::<Sha256>(),
        48 => rsa::Pkcs1v15Sign::new::<Sha384>(),
        _ => rsa::Pkcs1v15Sign::new::<Sha512>(),
    };
    [&scheme.prefix[..], digest].concat()
}

/// The digest a Sign or Verify request signs: its message hashed, or the digest it gives.
pub fn signed_digest(request: &SignRequest<'_>) -> Vec<u8> {
    match request.message_type {
        MessageType::Raw => digest(request.algorithm, request.message),
        MessageType::Digest => request.message.to_vec(),
    }
}

/// The digest of `message` that `algorithm` signs.
pub fn digest(algorithm: SigningAlgorithm, message: &[u8]) -> Vec<u8> {
    match algorithm.digest_len() {
        32 => Sha256::digest(message).to_vec(),
        48 => Sha384::digest(message).to_vec(),
        _ => Sha512::digest(message).to_vec(),
    }
}

/// Signs a digest with a key pair given as PKCS#8 DER. The caller has checked that the
/// algorithm is one of the spec's and that the digest is as long as its hash.
pub fn sign_digest(
    spec: KeySpec,
    private_key: &[u8],
    algorithm: SigningAlgorithm,
    digest: &[u8],
) -> Result<Vec<u8>, BadKeyMaterial> {
    use SigningAlgorithm::*;
    macro_rules! ecdsa {
        ($curve:ident) => {{
            let key = $curve::ecdsa::SigningKey::from($curve::SecretKey::from_pkcs8_der(private_key).map_err(bad)?);
            let signature: $curve::ecdsa::Signature = key.sign_prehash(digest).map_err(bad)?;
            Ok(signature.to_der().as_bytes().to_vec())
        }};
    }
    match (spec, algorithm) {
        (KeySpec::EccNistP256, EcdsaSha256) => ecdsa!(p256),
        (KeySpec::EccNistP384, EcdsaSha384) => ecdsa!(p384),
        (KeySpec::EccSecgP256k1, EcdsaSha256) => ecdsa!(k256),
        (KeySpec::EccNistP521, EcdsaSha512) => {
            let secret = p521::SecretKey::from_pkcs8_der(private_key).map_err(bad)?;
            let key = p521::ecdsa::SigningKey::from_bytes(&secret.to_bytes()).map_err(bad)?;
            // p521's signing key offers only the randomized form (RFC 6979 with added entropy).
            let signature: p521::ecdsa::Signature = key.sign_prehash_with_rng(&mut OsRng, digest).map_err(bad)?;
            Ok(signature.to_der().as_bytes().to_vec())
        }
        (KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096, _) => {
            let key = rsa_private(spec, private_key)?;
            let signed = match algorithm {
                RsassaPssSha256 => key.sign_with_rng(&mut OsRng, rsa::Pss::new::<Sha256>(), digest),
                RsassaPssSha384 => key.sign_with_rng(&mut OsRng, rsa::Pss::new::<Sha384>(), digest),
                RsassaPssSha512 => key.sign_with_rng(&mut OsRng, rsa::Pss::new::<Sha512>(), digest),
                // Blinded: rsa applies blinding whenever it is given an RNG.
                RsassaPkcs1V15Sha256 => key.sign_with_rng(&mut OsRng, rsa::Pkcs1v15Sign::new::<Sha256>(), digest),
                RsassaPkcs1V15Sha384 => key.sign_with_rng(&mut OsRng, rsa::Pkcs1v15Sign::new::<Sha384>(), digest),
                RsassaPkcs1V15Sha512 => key.sign_with_rng(&mut OsRng, rsa::Pkcs1v15Sign::new::<Sha512>(), digest),
                _ => return Err(bad(format!("{algorithm} is not an RSA signing algorithm"))),
            };
            signed.map_err(bad)
        }
        _ => Err(bad(format!("{algorithm} is not a signing algorithm of a {spec} key"))),
    }
}

/// Whether `signature` is `algorithm`'s signature of `digest` under a public key given as DER
/// SubjectPublicKeyInfo. ECDSA signatures must be DER; either `s` is accepted, as OpenSSL
/// accepts it. An unreadable public key is an error; an unreadable signature is `false`.
pub fn verify_digest(
    spec: KeySpec,
    public_key: &[u8],
    algorithm: SigningAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<bool, BadKeyMaterial> {
    use SigningAlgorithm::*;
    macro_rules! ecdsa {
        ($curve:ident) => {{
            let key =
                $curve::ecdsa::VerifyingKey::from($curve::PublicKey::from_public_key_der(public_key).map_err(bad)?);
            let Ok(signature) = $curve::ecdsa::Signature::from_der(signature) else { return Ok(false) };
            let signature = signature.normalize_s().unwrap_or(signature);
            Ok(key.verify_prehash(digest, &signature).is_ok())
        }};
    }
    match (spec, algorithm) {
        (KeySpec::EccNistP256, EcdsaSha256) => ecdsa!(p256),
        (KeySpec::EccNistP384, EcdsaSha384) => ecdsa!(p384),
        (KeySpec::EccSecgP256k1, EcdsaSha256) => ecdsa!(k256),
        (KeySpec::EccNistP521, EcdsaSha512) => {
            let point = p521::PublicKey::from_public_key_der(public_key).map_err(bad)?;
            let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(point.to_sec1_bytes().as_ref()).map_err(bad)?;
            let Ok(signature) = p521::ecdsa::Signature::from_der(signature) else { return Ok(false) };
            let signature = signature.normalize_s().unwrap_or(signature);
            Ok(key.verify_prehash(digest, &signature).is_ok())
        }
        (KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096, _) => {
            let key = rsa::RsaPublicKey::from_public_key_der(public_key).map_err(bad)?;
            check_rsa_size(spec, rsa::traits::PublicKeyParts::size(&key))?;
            let verified = match algorithm {
                RsassaPssSha256 => key.verify(rsa::Pss::new::<Sha256>(), digest, signature),
                RsassaPssSha384 => key.verify(rsa::Pss::new::<Sha384>(), digest, signature),
                RsassaPssSha512 => key.verify(rsa::Pss::new::<Sha512>(), digest, signature),
                RsassaPkcs1V15Sha256 => key.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), digest, signature),
                RsassaPkcs1V15Sha384 => key.verify(rsa::Pkcs1v15Sign::new::<Sha384>(), digest, signature),
                RsassaPkcs1V15Sha512 => key.verify(rsa::Pkcs1v15Sign::new::<Sha512>(), digest, signature),
                _ => return Err(bad(format!("{algorithm} is not an RSA signing algorithm"))),
            };
            Ok(verified.is_ok())
        }
        _ => Err(bad(format!("{algorithm} is not a signing algorithm of a {spec} key"))),
    }
}

/// RSAES-OAEP encryption under an RSA public key given as DER SubjectPublicKeyInfo. `None` if
/// the plaintext is longer than the key and algorithm allow.
pub fn rsa_encrypt(
    spec: KeySpec,
    public_key: &[u8],
    algorithm: RsaEncryptionAlgorithm,
    plaintext: &[u8],
) -> Result<Option<Vec<u8>>, BadKeyMaterial> {
    let key = rsa::RsaPublicKey::from_public_key_der(public_key).map_err(bad)?;
    let size = rsa::traits::PublicKeyParts::size(&key);
    check_rsa_size(spec, size)?;
    if plaintext.len() > size - 2 * algorithm.hash_len() - 2 {
        return Ok(None);
    }
    let encrypted = match algorithm {
        RsaEncryptionAlgorithm::RsaesOaepSha1 => key.encrypt(&mut OsRng, rsa::Oaep::new::<sha1::Sha1>(), plaintext),
        RsaEncryptionAlgorithm::RsaesOaepSha256 => key.encrypt(&mut OsRng, rsa::Oaep::new::<Sha256>(), plaintext),
    };
    encrypted.map(Some).map_err(bad)
}

/// RSAES-OAEP decryption, blinded; `None` if the ciphertext does not decrypt.
pub fn rsa_decrypt(
    spec: KeySpec,
    private_key: &[u8],
    algorithm: RsaEncryptionAlgorithm,
    ciphertext: &[u8],
) -> Result<Option<Zeroizing<Vec<u8>>>, BadKeyMaterial> {
    let key = rsa_private(spec, private_key)?;
    let decrypted = match algorithm {
        RsaEncryptionAlgorithm::RsaesOaepSha1 => {
            key.decrypt_blinded(&mut OsRng, rsa::Oaep::new::<sha1::Sha1>(), ciphertext)
        }
        RsaEncryptionAlgorithm::RsaesOaepSha256 => {
            key.decrypt_blinded(&mut OsRng, rsa::Oaep::new::<Sha256>(), ciphertext)
        }
    };
    Ok(decrypted.ok().map(Zeroizing::new))
}

/// The HMAC of `message` under `key`.
pub fn mac(algorithm: MacAlgorithm, key: &[u8], message: &[u8]) -> Vec<u8> {
    macro_rules! hmac {
        ($hash:ty) => {{
            let mut mac = hmac::Hmac::<$hash>::new_from_slice(key).expect("HMAC takes a key of any length");
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }};
    }
    match algorithm {
        MacAlgorithm::HmacSha224 => hmac!(Sha224),
        MacAlgorithm::HmacSha256 => hmac!(Sha256),
        MacAlgorithm::HmacSha384 => hmac!(Sha384),
        MacAlgorithm::HmacSha512 => hmac!(Sha512),
    }
}

/// Whether `tag` is the HMAC of `message` under `key`, compared in constant time.
pub fn verify_mac(algorithm: MacAlgorithm, key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    super::constant_time_eq(&mac(algorithm, key, message), tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_pair_spec_signs_what_it_verifies_and_nothing_else() {
        for spec in
            [KeySpec::Rsa2048, KeySpec::EccNistP256, KeySpec::EccNistP384, KeySpec::EccNistP521, KeySpec::EccSecgP256k1]
        {
            let private_key = generate(spec).unwrap().unwrap();
            let public = public_key(spec, &private_key).unwrap();
            for &algorithm in spec.signing_algorithms() {
                let digest = digest(algorithm, b"message");
                let signature = sign_digest(spec, &private_key, algorithm, &digest).unwrap();
                assert!(verify_digest(spec, &public, algorithm, &digest, &signature).unwrap(), "{spec} {algorithm}");
                let other = super::digest(algorithm, b"messagf");
                assert!(!verify_digest(spec, &public, algorithm, &other, &signature).unwrap(), "{spec} {algorithm}");
            }
        }
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        let message = b"what do ya want for nothing?";
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(hex::encode(mac(MacAlgorithm::HmacSha256, b"Jefe", message)), expected);
        let expected = "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44";
        assert_eq!(hex::encode(mac(MacAlgorithm::HmacSha224, b"Jefe", message)), expected);
        assert!(!verify_mac(MacAlgorithm::HmacSha256, b"Jefe", message, &[0; 32]));
    }
}
