//! Thin adapters over ring: AES-GCM, HKDF, the system RNG and constant-time comparison
//! (AES-192-GCM, which ring does not offer, from RustCrypto's `aes-gcm`). Nothing here
//! implements a primitive; it fixes the parameters envcrypt uses and gives every caller the
//! same error type. The primitives of asymmetric and HMAC keys are in [`key_pair`].

#[cfg(fuzzing)]
pub mod fuzzing;
pub mod key_pair;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};

/// AES-GCM nonce length.
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// AES-256 key length.
pub const KEY_LEN: usize = 32;

/// An AEAD or key-derivation failure; deliberately says nothing about why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("authentication failed")]
pub struct Unauthenticated;

/// An AES-256-GCM key. Callers supply nonces; each caller documents why its nonces are unique.
pub struct Aes256Gcm(LessSafeKey);

impl Aes256Gcm {
    /// A key from 32 bytes.
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        let unbound = UnboundKey::new(&AES_256_GCM, key).expect("AES-256 takes a 32-byte key");
        Self(LessSafeKey::new(unbound))
    }

    /// Encrypts `in_out` in place and returns the tag.
    pub fn seal_detached(&self, nonce: [u8; NONCE_LEN], aad: &[u8], in_out: &mut [u8]) -> [u8; TAG_LEN] {
        ring_seal(&self.0, nonce, aad, in_out)
    }

    /// Decrypts `in_out` in place if `tag` authenticates it with `aad`. On failure the buffer
    /// holds no plaintext (ring leaves it as ciphertext or zeroes it).
    pub fn open_detached(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Unauthenticated> {
        ring_open(&self.0, nonce, aad, in_out, tag)
    }

    /// Encrypts `plaintext` under a fresh random nonce: returns nonce ‖ ciphertext ‖ tag.
    pub fn seal_random_nonce(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = random_array();
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self.seal_detached(nonce, aad, &mut out[NONCE_LEN..]);
        out.extend_from_slice(&tag);
        out
    }

    /// Opens what [`seal_random_nonce`](Self::seal_random_nonce) produced.
    pub fn open_random_nonce(&self, aad: &[u8], sealed: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, Unauthenticated> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(Unauthenticated);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
        let mut plaintext = zeroize::Zeroizing::new(body.to_vec());
        self.open_detached(
            nonce.try_into().expect("split at NONCE_LEN"),
            aad,
            &mut plaintext,
            tag.try_into().expect("split at TAG_LEN"),
        )?;
        Ok(plaintext)
    }
}

/// The AES-GCM key of a message's content, of any of the three AES key lengths.
pub enum ContentCipher {
    /// AES-128 or AES-256, through ring (boxed, as the other variant is: a key schedule is
    /// large and one is made per message).
    Ring(Box<LessSafeKey>),
    /// AES-192, through RustCrypto's `aes-gcm`.
    Aes192(Box<aes_gcm::AesGcm<aes_gcm::aes::Aes192, aes_gcm::aead::consts::U12>>),
}

impl ContentCipher {
    /// A key from 16, 24 or 32 bytes; `None` for any other length.
    pub fn new(key: &[u8]) -> Option<Self> {
        use aes_gcm::aead::KeyInit;
        match key.len() {
            16 => Some(Self::Ring(Box::new(LessSafeKey::new(UnboundKey::new(&AES_128_GCM, key).ok()?)))),
            24 => Some(Self::Aes192(Box::new(aes_gcm::AesGcm::new_from_slice(key).ok()?))),
            32 => Some(Self::Ring(Box::new(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?)))),
            _ => None,
        }
    }

    /// Encrypts `in_out` in place and returns the tag.
    pub fn seal_detached(&self, nonce: [u8; NONCE_LEN], aad: &[u8], in_out: &mut [u8]) -> [u8; TAG_LEN] {
        match self {
            Self::Ring(key) => ring_seal(key, nonce, aad, in_out),
            Self::Aes192(key) => {
                use aes_gcm::aead::AeadInPlace;
                let tag = key
                    .encrypt_in_place_detached(&nonce.into(), aad, in_out)
                    .expect("AES-GCM seals any input shorter than 64 GiB");
                tag.into()
            }
        }
    }

    /// Decrypts `in_out` in place if `tag` authenticates it with `aad`. On failure the buffer
    /// holds no plaintext (both libraries check the tag before they decrypt, or zero it).
    pub fn open_detached(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Unauthenticated> {
        match self {
            Self::Ring(key) => ring_open(key, nonce, aad, in_out, tag),
            Self::Aes192(key) => {
                use aes_gcm::aead::AeadInPlace;
                key.decrypt_in_place_detached(&nonce.into(), aad, in_out, tag.into()).map_err(|_| Unauthenticated)
            }
        }
    }
}

fn ring_seal(key: &LessSafeKey, nonce: [u8; NONCE_LEN], aad: &[u8], in_out: &mut [u8]) -> [u8; TAG_LEN] {
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), in_out)
        .expect("AES-GCM seals any input shorter than 64 GiB");
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(tag.as_ref());
    out
}

fn ring_open(
    key: &LessSafeKey,
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    in_out: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), Unauthenticated> {
    key.open_in_place_separate_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        ring::aead::Tag::from(*tag),
        in_out,
        0..,
    )
    .map(|_| ())
    .map_err(|_| Unauthenticated)
}

/// The hash of an HKDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HkdfHash {
    /// HKDF-SHA-256.
    Sha256,
    /// HKDF-SHA-384.
    Sha384,
    /// HKDF-SHA-512.
    Sha512,
}

/// HKDF (extract with `salt`, expand with `info`) into `out`; an empty salt is the hash
/// length of zero bytes, as RFC 5869 says.
pub fn hkdf(hash: HkdfHash, ikm: &[u8], salt: &[u8], info: &[&[u8]], out: &mut [u8]) {
    struct Len(usize);
    impl ring::hkdf::KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    let algorithm = match hash {
        HkdfHash::Sha256 => ring::hkdf::HKDF_SHA256,
        HkdfHash::Sha384 => ring::hkdf::HKDF_SHA384,
        HkdfHash::Sha512 => ring::hkdf::HKDF_SHA512,
    };
    let prk = ring::hkdf::Salt::new(algorithm, salt).extract(ikm);
    prk.expand(info, Len(out.len())).and_then(|okm| okm.fill(out)).expect("HKDF output is at most 255 hash lengths");
}

/// HKDF-SHA-512 (extract with `salt`, expand with `info`) into `out`.
pub fn hkdf_sha512(ikm: &[u8], salt: &[u8], info: &[&[u8]], out: &mut [u8]) {
    hkdf(HkdfHash::Sha512, ikm, salt, info, out);
}

/// Fills `out` from the operating system's CSPRNG.
pub fn fill_random(out: &mut [u8]) {
    SystemRandom::new().fill(out).expect("the system RNG is available");
}

/// A fresh random array.
pub fn random_array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    fill_random(&mut out);
    out
}

/// The curve of an ECDSA signature, and the hash signed with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureCurve {
    /// ECDSA over P-256 with SHA-256.
    P256,
    /// ECDSA over P-384 with SHA-384.
    P384,
}

impl SignatureCurve {
    /// The hash whose digest is signed.
    pub fn digest_algorithm(self) -> &'static ring::digest::Algorithm {
        match self {
            Self::P256 => &ring::digest::SHA256,
            Self::P384 => &ring::digest::SHA384,
        }
    }
}

/// Verifies a DER ECDSA signature over a digest the caller computed while the data streamed
/// past. ring verifies only whole messages, so this uses RustCrypto's `p256` and `p384`; the
/// public key is a SEC1 point (compressed or not). Any valid DER length and either `s` are
/// accepted, as the official SDKs' verifiers do.
pub fn ecdsa_verify_prehash(
    curve: SignatureCurve,
    public_key: &[u8],
    digest: &[u8],
    der_signature: &[u8],
) -> Result<(), Unauthenticated> {
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    match curve {
        SignatureCurve::P256 => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| Unauthenticated)?;
            let signature = p256::ecdsa::Signature::from_der(der_signature).map_err(|_| Unauthenticated)?;
            key.verify_prehash(digest, &signature).map_err(|_| Unauthenticated)
        }
        SignatureCurve::P384 => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| Unauthenticated)?;
            let signature = p384::ecdsa::Signature::from_der(der_signature).map_err(|_| Unauthenticated)?;
            key.verify_prehash(digest, &signature).map_err(|_| Unauthenticated)
        }
    }
}

/// A fresh ECDSA key pair for one signed message; the private key is zeroized when dropped.
pub enum EcdsaSigningKey {
    /// P-256.
    P256(p256::ecdsa::SigningKey),
    /// P-384.
    P384(p384::ecdsa::SigningKey),
}

impl EcdsaSigningKey {
    /// Generates a key pair on `curve` from the system RNG.
    pub fn generate(curve: SignatureCurve) -> Self {
        // A uniformly random field element is a valid scalar with overwhelming probability;
        // the loop takes the next one in the rare case it is zero or not below the order.
        loop {
            let mut bytes = zeroize::Zeroizing::new([0u8; 48]);
            let generated = match curve {
                SignatureCurve::P256 => {
                    fill_random(&mut bytes[..32]);
                    p256::ecdsa::SigningKey::from_slice(&bytes[..32]).map(Self::P256)
                }
                SignatureCurve::P384 => {
                    fill_random(&mut bytes[..]);
                    p384::ecdsa::SigningKey::from_slice(&bytes[..]).map(Self::P384)
                }
            };
            if let Ok(key) = generated {
                return key;
            }
        }
    }

    /// The public key as a compressed SEC1 point (33 or 49 bytes).
    pub fn public_key_compressed(&self) -> Vec<u8> {
        match self {
            Self::P256(key) => key.verifying_key().to_encoded_point(true).as_bytes().to_vec(),
            Self::P384(key) => key.verifying_key().to_encoded_point(true).as_bytes().to_vec(),
        }
    }

    /// Signs a digest (SHA-256 for P-256, SHA-384 for P-384); returns the DER signature.
    pub fn sign_prehash(&self, digest: &[u8]) -> Vec<u8> {
        use p384::ecdsa::signature::hazmat::PrehashSigner;
        match self {
            Self::P256(key) => {
                let signature: p256::ecdsa::Signature = key.sign_prehash(digest).expect("a digest is a valid prehash");
                signature.to_der().as_bytes().to_vec()
            }
            Self::P384(key) => {
                let signature: p384::ecdsa::Signature = key.sign_prehash(digest).expect("a digest is a valid prehash");
                signature.to_der().as_bytes().to_vec()
            }
        }
    }
}

/// Compares secrets without a timing side channel.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_gcm_known_answer() {
        // NIST GCM test case 14 (AES-256, 16 zero bytes of plaintext, zero key and IV).
        let key = Aes256Gcm::new(&[0u8; 32]);
        let mut data = [0u8; 16];
        let tag = key.seal_detached([0u8; 12], &[], &mut data);
        assert_eq!(hex::encode(data), "cea7403d4d606b6e074ec5d3baf39d18");
        assert_eq!(hex::encode(tag), "d0d1c8a799996bf0265b98b5d48ab919");
        key.open_detached([0u8; 12], &[], &mut data, &tag).unwrap();
        assert_eq!(data, [0u8; 16]);
    }

    #[test]
    fn a_flipped_bit_fails_and_leaves_no_plaintext() {
        let key = Aes256Gcm::new(&[7u8; 32]);
        let sealed = key.seal_random_nonce(b"aad", b"secret message");
        assert_eq!(&*key.open_random_nonce(b"aad", &sealed).unwrap(), b"secret message");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert_eq!(key.open_random_nonce(b"aad", &bad), Err(Unauthenticated));
        }
        assert!(key.open_random_nonce(b"other", &sealed).is_err());
    }

    #[test]
    fn hkdf_sha512_rfc_style_vector() {
        // Cross-checked with Python's cryptography HKDF(SHA512).
        let mut out = [0u8; 32];
        hkdf_sha512(&[0x0b; 22], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], &[b"\xf0\xf1\xf2"], &mut out);
        assert_eq!(hex::encode(out), HKDF_EXPECTED);
    }

    const HKDF_EXPECTED: &str = "f2fcf7c5c08479351749eb125e9febb6ead03efddc210067de2932bdcc4cbdbc";
}
