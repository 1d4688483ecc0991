//! A key service wrapper that counts calls, for tests that check how often a path reaches
//! the key service (data-key caching, one Decrypt per message).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use envcrypt::kms::{
    Arn, Ciphertext, DataKey, DataKeySpec, Decrypted, DryRun, EncryptionContext, KeyRef, KeyService, KmsFuture,
    ReEncryptRequest, ReEncrypted, SecretBytes,
};

/// A [`KeyService`] that forwards every call to `inner` and counts the calls per operation.
#[derive(Debug)]
pub struct CountingKeyService {
    inner: Arc<dyn KeyService>,
    generate_data_key: AtomicU64,
    encrypt: AtomicU64,
    decrypt: AtomicU64,
    re_encrypt: AtomicU64,
}

/// How many calls of each operation went through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// GenerateDataKey and GenerateDataKeyWithoutPlaintext.
    pub generate_data_key: u64,
    /// Encrypt.
    pub encrypt: u64,
    /// Decrypt.
    pub decrypt: u64,
    /// ReEncrypt.
    pub re_encrypt: u64,
}

impl CountingKeyService {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn KeyService>) -> Self {
        Self {
            inner,
            generate_data_key: AtomicU64::new(0),
            encrypt: AtomicU64::new(0),
            decrypt: AtomicU64::new(0),
            re_encrypt: AtomicU64::new(0),
        }
    }

    /// The calls so far.
    pub fn counts(&self) -> CallCounts {
        CallCounts {
            generate_data_key: self.generate_data_key.load(Ordering::SeqCst),
            encrypt: self.encrypt.load(Ordering::SeqCst),
            decrypt: self.decrypt.load(Ordering::SeqCst),
            re_encrypt: self.re_encrypt.load(Ordering::SeqCst),
        }
    }
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::SeqCst);
}

impl KeyService for CountingKeyService {
    fn provider_id(&self) -> &str {
        self.inner.provider_id()
    }

    fn can_decrypt(&self, provider_id: &str, provider_info: &[u8]) -> bool {
        self.inner.can_decrypt(provider_id, provider_info)
    }

    fn generate_data_key<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKey> {
        count(&self.generate_data_key);
        self.inner.generate_data_key(key, spec, context)
    }

    fn generate_data_key_without_plaintext<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        count(&self.generate_data_key);
        self.inner.generate_data_key_without_plaintext(key, spec, context)
    }

    fn encrypt<'a>(
        &'a self,
        key: &'a KeyRef,
        plaintext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        count(&self.encrypt);
        self.inner.encrypt(key, plaintext, context)
    }

    fn decrypt<'a>(
        &'a self,
        blob: &'a [u8],
        context: &'a EncryptionContext,
        expected_key: Option<&'a KeyRef>,
    ) -> KmsFuture<'a, Decrypted> {
        count(&self.decrypt);
        self.inner.decrypt(blob, context, expected_key)
    }

    fn re_encrypt<'a>(&'a self, request: ReEncryptRequest<'a>) -> KmsFuture<'a, ReEncrypted> {
        count(&self.re_encrypt);
        self.inner.re_encrypt(request)
    }

    fn generate_random(&self, number_of_bytes: usize) -> KmsFuture<'_, SecretBytes> {
        self.inner.generate_random(number_of_bytes)
    }

    fn dry_run<'a>(&'a self, request: DryRun<'a>) -> KmsFuture<'a, ()> {
        self.inner.dry_run(request)
    }

    fn owns(&self, arn: &Arn) -> bool {
        self.inner.owns(arn)
    }
}
