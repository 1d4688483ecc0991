//! Raw wrapping keys: keys the caller holds (from a secret store, or an RSA key pair for
//! escrow), used without a key service, byte for byte as the Encryption SDKs' raw AES and raw
//! RSA keyrings.
//!
//! ```text
//! raw AES: provider id = namespace
//!          provider info = name ‖ tag length in bits (u32, 128) ‖ IV length (u32, 12) ‖ IV (12)
//!          ciphertext = AES-GCM(data key, AAD = serialized encryption context) ‖ tag (16)
//! raw RSA: provider id = namespace, provider info = name,
//!          ciphertext = RSA encryption of the data key (PKCS#1 v1.5 or OAEP with MGF1)
//! ```
//! The raw AES wrapping binds the encryption context; RSA wrapping cannot, so what binds an
//! RSA-wrapped message's context is its header tag.
//!
//! RSA unwrapping never says whether a ciphertext decrypted: a ciphertext that does not (bad
//! padding, or a data key of the wrong length) yields a pseudo-random key derived from the
//! private key and the ciphertext ("implicit rejection"), which then fails the message's key
//! commitment or header tag exactly as a forged key would. Without it, the difference between
//! "does not decrypt" and "decrypts to a wrong key" is a padding oracle (Bleichenbacher) on
//! PKCS#1 v1.5. RSA decryption uses RustCrypto's `rsa`, which is not constant-time
//! (RUSTSEC-2023-0071); SECURITY.md says what that means for a private key used here.
//!
//! ```
//! use std::sync::Arc;
//! use envcrypt::keyring::raw::RawKey;
//! use envcrypt::keyring::{Keyring, OpenPolicy};
//! use envcrypt::kms::EncryptionContext;
//! use envcrypt::stream::{self, OpenOptions, SealOptions};
//!
//! // A key from your own secret store: 16, 24 or 32 bytes.
//! let key = Arc::new(RawKey::aes("vault", "backup-2026", &[7u8; 32])?);
//! let context: EncryptionContext = [("purpose".to_owned(), "backup".to_owned())].into_iter().collect();
//! let mut sealed = Vec::new();
//! let keyring = Keyring::new().with_raw_key(key.clone());
//! stream::seal(&b"nightly dump"[..], &mut sealed, &keyring, &context, &SealOptions::default())?;
//!
//! let mut opened = Vec::new();
//! let policy = OpenPolicy::discovery(Vec::new()).with_raw_keys(vec![key]);
//! stream::open(&sealed[..], &mut opened, &policy, &OpenOptions::default())?;
//! assert_eq!(opened, b"nightly dump");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{Oaep, Pkcs1v15Encrypt, RsaPrivateKey, RsaPublicKey};
use zeroize::Zeroizing;

use crate::crypto::{self, ContentCipher, HkdfHash, NONCE_LEN, TAG_LEN};
use crate::kms::SecretBytes;
use crate::message::{EncryptedDataKey, AWS_KMS_PROVIDER_PREFIX};

/// The tag length the raw AES keyring writes, in bits, as its provider info records it.
const AES_TAG_BITS: u32 = (TAG_LEN * 8) as u32;
/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// Why a raw key could not be configured, or could not wrap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RawKeyError {
    /// The namespace is reserved for AWS KMS.
    #[error("namespace {0:?} is reserved: raw keys may not use a namespace starting with aws-kms")]
    ReservedNamespace(String),
    /// A wrapping key of a length AES does not have.
    #[error("raw AES key {name}: the key is {len} bytes; it must be exactly 16, 24 or 32")]
    AesKeyLength {
        /// The key's name.
        name: String,
        /// Its length.
        len: usize,
    },
    /// The PEM is not an RSA key envcrypt reads.
    #[error("raw RSA key {name}: {reason}")]
    RsaKey {
        /// The key's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// An RSA padding scheme of the raw RSA keyring (OAEP uses MGF1 with the same hash and an
/// empty label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaPadding {
    /// RSAES-PKCS1-v1_5.
    Pkcs1,
    /// OAEP with SHA-1.
    OaepSha1,
    /// OAEP with SHA-256.
    OaepSha256,
    /// OAEP with SHA-384.
    OaepSha384,
    /// OAEP with SHA-512.
    OaepSha512,
}

impl RsaPadding {
    /// Every padding, by the names the CLI uses.
    pub const ALL: [(&'static str, Self); 5] = [
        ("pkcs1", Self::Pkcs1),
        ("oaep-sha1", Self::OaepSha1),
        ("oaep-sha256", Self::OaepSha256),
        ("oaep-sha384", Self::OaepSha384),
        ("oaep-sha512", Self::OaepSha512),
    ];
}

/// A wrapping key the caller holds.
pub enum RawKey {
    /// An AES key (16, 24 or 32 bytes) used with AES-GCM.
    Aes(RawAesKey),
    /// An RSA key pair, or only its public half (which seals but cannot open).
    Rsa(Box<RawRsaKey>),
}

/// A raw AES wrapping key.
pub struct RawAesKey {
    namespace: String,
    name: String,
    cipher: ContentCipher,
}

/// A raw RSA wrapping key.
pub struct RawRsaKey {
    namespace: String,
    name: String,
    padding: RsaPadding,
    public: RsaPublicKey,
    private: Option<RsaPrivate>,
}

/// The private half of a raw RSA key, and the secret its implicit rejections derive from.
struct RsaPrivate {
    key: RsaPrivateKey,
    rejection_secret: Zeroizing<[u8; 32]>,
}

fn check_namespace(namespace: &str) -> Result<(), RawKeyError> {
    if namespace.starts_with(AWS_KMS_PROVIDER_PREFIX) {
        return Err(RawKeyError::ReservedNamespace(namespace.to_owned()));
    }
    Ok(())
}

impl RawKey {
    /// A raw AES key; `key` must be 16, 24 or 32 bytes.
    pub fn aes(namespace: &str, name: &str, key: &[u8]) -> Result<Self, RawKeyError> {
        check_namespace(namespace)?;
        let cipher = ContentCipher::new(key)
            .ok_or_else(|| RawKeyError::AesKeyLength { name: name.to_owned(), len: key.len() })?;
        Ok(Self::Aes(RawAesKey { namespace: namespace.to_owned(), name: name.to_owned(), cipher }))
    }

    /// A raw RSA key from a PEM: a public key (SubjectPublicKeyInfo or PKCS#1), which seals
    /// only, or a private key (PKCS#8 or PKCS#1), which seals and opens.
    pub fn rsa_pem(namespace: &str, name: &str, pem: &str, padding: RsaPadding) -> Result<Self, RawKeyError> {
        check_namespace(namespace)?;
        let invalid = |reason: &str| RawKeyError::RsaKey { name: name.to_owned(), reason: reason.to_owned() };
        let private = if pem.contains("PRIVATE KEY-----") {
            let key = RsaPrivateKey::from_pkcs8_pem(pem)
                .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
                .map_err(|_| invalid("the PEM is not a PKCS#8 or PKCS#1 RSA private key"))?;
            Some(key)
        } else {
            None
        };
        let public =
            match &private {
                Some(key) => key.to_public_key(),
                None => RsaPublicKey::from_public_key_pem(pem).or_else(|_| RsaPublicKey::from_pkcs1_pem(pem)).map_err(
                    |_| invalid("the PEM is not an RSA public key (SubjectPublicKeyInfo or PKCS#1) or private key"),
                )?,
            };
        let bits = rsa::traits::PublicKeyParts::size(&public) * 8;
        if bits < MIN_RSA_BITS {
            return Err(invalid(&format!(
                "the key has {bits} bits; envcrypt takes RSA keys of {MIN_RSA_BITS} bits or more"
            )));
        }
        let private = private.map(|key| {
            let exponent = Zeroizing::new(rsa::traits::PrivateKeyParts::d(&key).to_bytes_be());
            let mut rejection_secret = Zeroizing::new([0u8; 32]);
            let label: &[u8] = b"envcrypt raw RSA implicit rejection";
            crypto::hkdf(HkdfHash::Sha256, &exponent, &[], &[label], &mut *rejection_secret);
            RsaPrivate { key, rejection_secret }
        });
        Ok(Self::Rsa(Box::new(RawRsaKey {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            padding,
            public,
            private,
        })))
    }

    /// The namespace: the provider id of the encrypted data keys it writes.
    pub fn namespace(&self) -> &str {
        match self {
            Self::Aes(key) => &key.namespace,
            Self::Rsa(key) => &key.namespace,
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        match self {
            Self::Aes(key) => &key.name,
            Self::Rsa(key) => &key.name,
        }
    }

    /// Wraps `data_key`; `context` is the serialized encryption context (bound by AES only).
    pub fn wrap(&self, data_key: &[u8], context: &[u8]) -> Result<EncryptedDataKey, RawKeyError> {
        match self {
            Self::Aes(key) => Ok(key.wrap(data_key, context)),
            Self::Rsa(key) => key.wrap(data_key),
        }
    }

    /// Whether `edk` names this key (namespace, name, and for AES the provider info's shape).
    pub fn owns(&self, edk: &EncryptedDataKey) -> bool {
        if edk.provider_id != self.namespace() {
            return false;
        }
        match self {
            Self::Aes(key) => key.iv_of(&edk.provider_info).is_some(),
            Self::Rsa(key) => edk.provider_info == key.name.as_bytes(),
        }
    }

    /// Unwraps a `data_key_len`-byte data key this key [`owns`](Self::owns); `None` if it
    /// does not open (an AES key: wrong key, altered data key or context; an RSA key without
    /// its private half). An RSA key always answers a key of the length asked for: the data key,
    /// or an implicit rejection (see the module docs) that the message's checks then refuse.
    pub fn unwrap(&self, edk: &EncryptedDataKey, context: &[u8], data_key_len: usize) -> Option<SecretBytes> {
        match self {
            Self::Aes(key) => key.unwrap(edk, context),
            Self::Rsa(key) => key.unwrap(edk, data_key_len),
        }
    }
}

impl fmt::Debug for RawKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for RawKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Self::Aes(_) => "raw AES",
            Self::Rsa(_) => "raw RSA",
        };
        write!(f, "{kind} key {}/{}", self.namespace(), self.name())
    }
}

impl RawAesKey {
    fn wrap(&self, data_key: &[u8], context: &[u8]) -> EncryptedDataKey {
        let iv: [u8; NONCE_LEN] = crypto::random_array();
        let mut ciphertext = data_key.to_vec();
        let tag = self.cipher.seal_detached(iv, context, &mut ciphertext);
        ciphertext.extend_from_slice(&tag);
        let mut provider_info = self.name.as_bytes().to_vec();
        provider_info.extend_from_slice(&AES_TAG_BITS.to_be_bytes());
        provider_info.extend_from_slice(&(NONCE_LEN as u32).to_be_bytes());
        provider_info.extend_from_slice(&iv);
        EncryptedDataKey { provider_id: self.namespace.clone(), provider_info, ciphertext }
    }

    /// The IV in `provider_info`, if it is this key's name followed by the fields the raw AES
    /// keyring writes.
    fn iv_of(&self, provider_info: &[u8]) -> Option<[u8; NONCE_LEN]> {
        let rest = provider_info.strip_prefix(self.name.as_bytes())?;
        let (tag_bits, rest) = rest.split_first_chunk::<4>()?;
        let (iv_len, iv) = rest.split_first_chunk::<4>()?;
        let fits = u32::from_be_bytes(*tag_bits) == AES_TAG_BITS && u32::from_be_bytes(*iv_len) == NONCE_LEN as u32;
        if !fits {
            return None;
        }
        iv.try_into().ok()
    }

    fn unwrap(&self, edk: &EncryptedDataKey, context: &[u8]) -> Option<SecretBytes> {
        let iv = self.iv_of(&edk.provider_info)?;
        let split = edk.ciphertext.len().checked_sub(TAG_LEN)?;
        let (ciphertext, tag) = edk.ciphertext.split_at(split);
        let mut data_key = Zeroizing::new(ciphertext.to_vec());
        self.cipher.open_detached(iv, context, &mut data_key, tag.try_into().ok()?).ok()?;
        Some(SecretBytes::new(data_key))
    }
}

/// The name of the raw AES key that wrote `edk`, if its provider info has the raw AES shape
/// (name ‖ 128 ‖ 12 ‖ IV): for describing headers, not for deciding anything.
pub fn aes_key_name(edk: &EncryptedDataKey) -> Option<&str> {
    let info = &edk.provider_info;
    let name_len = info.len().checked_sub(4 + 4 + NONCE_LEN)?;
    let (name, fields) = info.split_at(name_len);
    let shape = [&AES_TAG_BITS.to_be_bytes()[..], &(NONCE_LEN as u32).to_be_bytes()].concat();
    (fields[..8] == shape[..]).then(|| std::str::from_utf8(name).ok()).flatten()
}

impl RawRsaKey {
    fn wrap(&self, data_key: &[u8]) -> Result<EncryptedDataKey, RawKeyError> {
        let mut rng = rsa::rand_core::OsRng;
        let encrypted = match self.padding {
            RsaPadding::Pkcs1 => self.public.encrypt(&mut rng, Pkcs1v15Encrypt, data_key),
            RsaPadding::OaepSha1 => self.public.encrypt(&mut rng, Oaep::new::<sha1::Sha1>(), data_key),
            RsaPadding::OaepSha256 => self.public.encrypt(&mut rng, Oaep::new::<sha2::Sha256>(), data_key),
            RsaPadding::OaepSha384 => self.public.encrypt(&mut rng, Oaep::new::<sha2::Sha384>(), data_key),
            RsaPadding::OaepSha512 => self.public.encrypt(&mut rng, Oaep::new::<sha2::Sha512>(), data_key),
        };
        let ciphertext =
            encrypted.map_err(|e| RawKeyError::RsaKey { name: self.name.clone(), reason: e.to_string() })?;
        Ok(EncryptedDataKey {
            provider_id: self.namespace.clone(),
            provider_info: self.name.as_bytes().to_vec(),
            ciphertext,
        })
    }

    fn unwrap(&self, edk: &EncryptedDataKey, data_key_len: usize) -> Option<SecretBytes> {
        let private = self.private.as_ref()?;
        let ciphertext = &edk.ciphertext;
        let decrypted = match self.padding {
            RsaPadding::Pkcs1 => private.key.decrypt(Pkcs1v15Encrypt, ciphertext),
            RsaPadding::OaepSha1 => private.key.decrypt(Oaep::new::<sha1::Sha1>(), ciphertext),
            RsaPadding::OaepSha256 => private.key.decrypt(Oaep::new::<sha2::Sha256>(), ciphertext),
            RsaPadding::OaepSha384 => private.key.decrypt(Oaep::new::<sha2::Sha384>(), ciphertext),
            RsaPadding::OaepSha512 => private.key.decrypt(Oaep::new::<sha2::Sha512>(), ciphertext),
        };
        let mut rejection = Zeroizing::new(vec![0u8; data_key_len]);
        crypto::hkdf(HkdfHash::Sha256, &*private.rejection_secret, &[], &[ciphertext], &mut rejection);
        let data_key = match decrypted.map(Zeroizing::new) {
            Ok(key) if key.len() == data_key_len => key,
            _ => rejection,
        };
        Some(SecretBytes::new(data_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_aes_wrapping_opens_only_with_its_key_and_context() {
        let key = RawKey::aes("backup", "k1", &[7u8; 32]).unwrap();
        let edk = key.wrap(&[1u8; 32], b"context").unwrap();
        assert_eq!(edk.provider_id, "backup");
        assert_eq!(edk.provider_info.len(), 2 + 4 + 4 + 12);
        assert_eq!(&edk.provider_info[2..10], &[0, 0, 0, 0x80, 0, 0, 0, 0x0c]);
        assert_eq!(edk.ciphertext.len(), 32 + 16);
        assert_eq!(aes_key_name(&edk), Some("k1"));
        assert!(key.owns(&edk));
        assert_eq!(key.unwrap(&edk, b"context", 32).unwrap().expose_secret(), &[1u8; 32]);
        assert!(key.unwrap(&edk, b"other context", 32).is_none());
        let other = RawKey::aes("backup", "k1", &[8u8; 32]).unwrap();
        assert!(other.unwrap(&edk, b"context", 32).is_none());
        assert!(!RawKey::aes("backup", "k2", &[7u8; 32]).unwrap().owns(&edk));
        assert!(!RawKey::aes("other", "k1", &[7u8; 32]).unwrap().owns(&edk));
    }

    #[test]
    fn raw_keys_refuse_reserved_namespaces_and_wrong_key_lengths() {
        assert!(matches!(RawKey::aes("aws-kms", "k", &[0; 32]), Err(RawKeyError::ReservedNamespace(_))));
        assert!(matches!(RawKey::aes("aws-kms-mrk", "k", &[0; 32]), Err(RawKeyError::ReservedNamespace(_))));
        for len in [0, 15, 17, 31, 33, 64] {
            assert!(matches!(RawKey::aes("ns", "k", &vec![0; len]), Err(RawKeyError::AesKeyLength { .. })), "{len}");
        }
        assert!(RawKey::rsa_pem("ns", "k", "not a pem", RsaPadding::Pkcs1).is_err());
    }
}
