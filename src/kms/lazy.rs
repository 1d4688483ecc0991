//! A key service connected on first use.
//!
//! Connecting can be slow or have side effects (loading the AWS configuration, logging in to
//! HSM tokens, creating a local store), and a command often needs none of the services it
//! could use: [`LazyService`] connects when an operation first reaches it, and answers
//! [`owns`](super::KeyService::owns) without connecting. A failure to connect is remembered
//! and answered by every operation.

use std::sync::{Arc, OnceLock};

use super::{
    Arn, Ciphertext, DataKey, DataKeyPairs, DataKeySpec, Decrypted, DryRun, EncryptionContext, KeyAdmin, KeyGovernance,
    KeyImport, KeyMacs, KeyRef, KeyRotation, KeyService, KeySigning, KeyTagging, KmsError, KmsFuture, ReEncryptRequest,
    ReEncrypted, RsaEncryption, SecretBytes,
};

type Connect<T> = Box<dyn Fn() -> Result<T, KmsError> + Send + Sync>;

/// A key service `T`, connected when first used.
pub struct LazyService<T> {
    provider_id: &'static str,
    owns: fn(&Arn) -> bool,
    connect: Connect<T>,
    cell: OnceLock<Result<Arc<T>, KmsError>>,
}

impl<T> LazyService<T> {
    /// A service writing `provider_id`, owning the ARNs `owns` accepts, made by `connect`.
    pub fn new(
        provider_id: &'static str,
        owns: fn(&Arn) -> bool,
        connect: impl Fn() -> Result<T, KmsError> + Send + Sync + 'static,
    ) -> Self {
        Self { provider_id, owns, connect: Box::new(connect), cell: OnceLock::new() }
    }

    /// The service, connecting now if it is not yet.
    pub fn get(&self) -> Result<&Arc<T>, KmsError> {
        self.cell.get_or_init(|| (self.connect)().map(Arc::new)).as_ref().map_err(Clone::clone)
    }
}

impl<T> std::fmt::Debug for LazyService<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyService").field("provider_id", &self.provider_id).finish_non_exhaustive()
    }
}

impl<T: KeyService> KeyService for LazyService<T> {
    fn provider_id(&self) -> &str {
        self.provider_id
    }

    fn generate_data_key<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKey> {
        match self.get() {
            Ok(s) => s.generate_data_key(key, spec, context),
            Err(e) => KmsFuture::ready(Err(e)),
        }
    }

    fn generate_data_key_without_plaintext<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        match self.get() {
            Ok(s) => s.generate_data_key_without_plaintext(key, spec, context),
            Err(e) => KmsFuture::ready(Err(e)),
        }
    }

    fn encrypt<'a>(
        &'a self,
        key: &'a KeyRef,
        plaintext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        match self.get() {
            Ok(s) => s.encrypt(key, plaintext, context),
            Err(e) => KmsFuture::ready(Err(e)),
        }
    }

    fn decrypt<'a>(
        &'a self,
        blob: &'a [u8],
        context: &'a EncryptionContext,
        expected: Option<&'a KeyRef>,
    ) -> KmsFuture<'a, Decrypted> {
        match self.get() {
            Ok(s) => s.decrypt(blob, context, expected),
            Err(e) => KmsFuture::ready(Err(e)),
        }
    }

    fn re_encrypt<'a>(&'a self, request: ReEncryptRequest<'a>) -> KmsFuture<'a, ReEncrypted> {
        match self.get() {
            Ok(s) => s.re_encrypt(request),
            Err(e) => KmsFuture::ready(Err(e)),
        }
    }

    fn generate_random(&self, number_of_bytes: usize) -> KmsFuture<'_, SecretBytes> {
        match self.get() {
            Ok(s) => s.generate_random(number_of_bytes),
            Err(e) => KmsFuture::ready(Err(e)),
        }
    }

    fn dry_run<'a>(&'a self, request: DryRun<'a>) -> KmsFuture<'a, ()> {
        match self.get() {
            Ok(s) => s.dry_run(request),
            Err(e) => KmsFuture::ready(Err(e)),
        }
    }

    fn owns(&self, arn: &Arn) -> bool {
        (self.owns)(arn)
    }

    fn admin(&self) -> Option<&dyn KeyAdmin> {
        self.get().ok().and_then(|s| s.admin())
    }

    fn governance(&self) -> Option<&dyn KeyGovernance> {
        self.get().ok().and_then(|s| s.governance())
    }

    fn rotation(&self) -> Option<&dyn KeyRotation> {
        self.get().ok().and_then(|s| s.rotation())
    }

    fn import(&self) -> Option<&dyn KeyImport> {
        self.get().ok().and_then(|s| s.import())
    }

    fn tagging(&self) -> Option<&dyn KeyTagging> {
        self.get().ok().and_then(|s| s.tagging())
    }

    fn signing(&self) -> Option<&dyn KeySigning> {
        self.get().ok().and_then(|s| s.signing())
    }

    fn macs(&self) -> Option<&dyn KeyMacs> {
        self.get().ok().and_then(|s| s.macs())
    }

    fn data_key_pairs(&self) -> Option<&dyn DataKeyPairs> {
        self.get().ok().and_then(|s| s.data_key_pairs())
    }

    fn rsa_encryption(&self) -> Option<&dyn RsaEncryption> {
        self.get().ok().and_then(|s| s.rsa_encryption())
    }
}
