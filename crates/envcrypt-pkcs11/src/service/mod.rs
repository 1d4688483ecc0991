//! The cluster as a key service: the KMS operations (GenerateDataKey, Encrypt, Decrypt,
//! ReEncrypt) run inside the tokens, on keys whose metadata and aliases the tokens keep
//! ([`records`](crate::records)); key management is in `admin`, tags in `tags`, asymmetric and
//! HMAC keys in `key_pairs`.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use envcrypt::kms::{
    validate_random_len, Arn, ArnPrefix, BoundContext, Ciphertext, DataKey, DataKeyPairs, DataKeySpec, Decrypted,
    DryRun, EncryptionContext, KeyAdmin, KeyId, KeyMacs, KeyManager, KeyMetadata, KeyProfile, KeyRef, KeyService,
    KeySigning, KeySpec, KeyState, KeyTagging, KmsError, KmsFuture, Origin, ReEncryptRequest, ReEncrypted,
    RsaEncryption, SecretBytes, MAX_ENCRYPT_PLAINTEXT,
};
use zeroize::Zeroizing;

mod admin;
mod key_pairs;
mod tags;

use crate::cluster::{Cluster, TokenStatus};
use crate::records::{self, AliasTable, KeyMeta, ALIASES};
use crate::{blob, Pkcs11Options, PROVIDER_ID};

/// A key pair's public key checked against its private key: key id, spec, usage, DER.
type ProvenPublicKey = (String, &'static str, &'static str, Vec<u8>);

/// A cluster of PKCS#11 tokens as an envcrypt key service.
pub struct Pkcs11KeyService {
    cluster: Cluster,
    prefix: ArnPrefix,
    /// Key pairs' public keys checked against their private keys, with the key id, spec and
    /// usage the metadata gave when they were.
    proven_public_keys: Mutex<HashSet<ProvenPublicKey>>,
}

impl std::fmt::Debug for Pkcs11KeyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11KeyService").field("cluster", &self.cluster).finish()
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Pkcs11KeyService {
    /// The ARNs of the cluster's keys: `arn:envcrypt:kms:pkcs11:000000000000:key/<id>`.
    pub fn arn_prefix() -> ArnPrefix {
        ArnPrefix::new("envcrypt", "pkcs11", "000000000000")
    }

    /// Loads the module, logs in to every token, checks that they share the trusted cluster key
    /// (see [`init_cluster`](crate::init_cluster)), and copies every key to every token.
    pub fn connect(options: Pkcs11Options) -> Result<Self, KmsError> {
        Ok(Self {
            cluster: Cluster::connect(options)?,
            prefix: Self::arn_prefix(),
            proven_public_keys: Mutex::default(),
        })
    }

    /// Each token's health and key count.
    pub fn status(&self) -> Vec<TokenStatus> {
        self.cluster.status()
    }

    /// Tries every down token again now, whatever its back-off (after an operator fixed one).
    pub fn retry_now(&self) {
        self.cluster.retry_now();
    }

    fn proven_public_keys(&self) -> MutexGuard<'_, HashSet<ProvenPublicKey>> {
        self.proven_public_keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn arn(&self, key_id: &str) -> String {
        self.prefix.key_arn(key_id)
    }

    fn aliases(&self) -> Result<AliasTable, KmsError> {
        let value = self.cluster.dispatch(|token| token.read_data(ALIASES))?;
        Ok(value.and_then(|v| serde_json::from_slice(&v).ok()).unwrap_or_default())
    }

    fn resolve(&self, key: &KeyRef) -> Result<String, KmsError> {
        if let Some(arn) = key.arn() {
            if !self.prefix.contains(arn) {
                return Err(KmsError::NotFound(format!("{key} is not a key of the PKCS#11 cluster")));
            }
        }
        if let Some(id) = key.key_id() {
            return Ok(id.to_owned());
        }
        let alias = key.alias_name().expect("a key reference without a key id is an alias");
        self.aliases()?.aliases.remove(alias).ok_or_else(|| KmsError::NotFound(format!("alias {alias} does not exist")))
    }

    fn meta(&self, key_id: &str) -> Result<KeyMeta, KmsError> {
        let name = records::meta_name(key_id);
        let value = self.cluster.dispatch(|token| token.read_data(&name))?;
        let meta: KeyMeta = value
            .and_then(|v| serde_json::from_slice(&v).ok())
            .ok_or_else(|| KmsError::NotFound(format!("key {} does not exist", self.arn(key_id))))?;
        if let Some(damage) = meta.damage(key_id) {
            return Err(self.damaged(&meta, damage));
        }
        if meta.state == KeyState::PendingDeletion && meta.deletion_date.is_some_and(|d| d <= now()) {
            self.cluster.destroy_everywhere(key_id, meta.versions)?;
            return Err(KmsError::NotFound(format!("key {} does not exist", self.arn(key_id))));
        }
        Ok(meta)
    }

    /// Metadata on the tokens that does not hold what the key needs: a PIN holder edited it, or
    /// it is damaged.
    fn damaged(&self, meta: &KeyMeta, what: impl std::fmt::Display) -> KmsError {
        KmsError::Service {
            name: "KMSInternalException".into(),
            message: format!("the metadata of key {} on the HSM tokens is damaged: {what}", self.arn(&meta.key_id)),
        }
    }

    fn save(&self, mut meta: KeyMeta) -> Result<KeyMeta, KmsError> {
        meta.revision += 1;
        self.cluster.write_everywhere(
            &records::meta_name(&meta.key_id),
            &serde_json::to_vec(&meta).expect("metadata serializes"),
        )?;
        Ok(meta)
    }

    fn usable(&self, key: &KeyRef, operation: &'static str) -> Result<KeyMeta, KmsError> {
        let meta = self.meta(&self.resolve(key)?)?;
        self.check_usable(&meta, operation)?;
        Ok(meta)
    }

    /// A usable symmetric encryption key (`InvalidKeyUsageException` for another kind).
    fn usable_symmetric(&self, key: &KeyRef, operation: &'static str) -> Result<KeyMeta, KmsError> {
        let meta = self.usable(key, operation)?;
        self.profile(&meta, |key| key.check_symmetric(operation))?;
        Ok(meta)
    }

    /// Runs `check` on the key as KMS's checks see it.
    fn profile<T>(&self, meta: &KeyMeta, check: impl FnOnce(KeyProfile<'_>) -> T) -> T {
        check(KeyProfile { arn: &self.arn(&meta.key_id), spec: meta.key_spec, usage: meta.key_usage })
    }

    fn check_usable(&self, meta: &KeyMeta, operation: &'static str) -> Result<(), KmsError> {
        meta.state.check_usable(&self.arn(&meta.key_id), operation)
    }

    fn metadata(&self, meta: &KeyMeta) -> Result<KeyMetadata, KmsError> {
        let aliases = self.aliases()?;
        Ok(KeyMetadata {
            key_id: meta.key_id.clone(),
            arn: self.arn(&meta.key_id),
            description: meta.description.clone(),
            state: meta.state,
            creation_date: meta.creation_date,
            deletion_date: meta.deletion_date,
            pending_deletion_window_days: meta.deletion_window_days.filter(|_| meta.state == KeyState::PendingDeletion),
            key_spec: meta.key_spec,
            key_usage: meta.key_usage,
            origin: Origin::AwsCloudHsm,
            key_manager: KeyManager::Customer,
            expiration_model: None,
            valid_to: None,
            backing_keys: (meta.key_spec == KeySpec::SymmetricDefault).then_some(meta.versions),
            aliases: aliases.aliases.iter().filter(|(_, id)| **id == meta.key_id).map(|(a, _)| a.clone()).collect(),
        })
    }

    fn encrypt_now(
        &self,
        key: &KeyRef,
        plaintext: &[u8],
        context: &BoundContext,
        operation: &'static str,
    ) -> Result<Ciphertext, KmsError> {
        if plaintext.is_empty() || plaintext.len() > MAX_ENCRYPT_PLAINTEXT {
            return Err(KmsError::Validation(format!(
                "plaintext is {} bytes; it must be between 1 and {MAX_ENCRYPT_PLAINTEXT}",
                plaintext.len()
            )));
        }
        let meta = self.usable_symmetric(key, operation)?;
        let id = *key_id_of(&meta.key_id)?.as_bytes();
        let aad = aad(&id, meta.versions, context);
        let (iv, sealed) =
            self.cluster.dispatch(|token| token.encrypt(&meta.key_id, meta.versions, &aad, plaintext))?;
        Ok(Ciphertext { blob: blob::encode(&id, meta.versions, &iv, &sealed), key_arn: self.arn(&meta.key_id) })
    }

    /// The blob's parts and its key, which must be `expected` if given and usable.
    fn usable_for_blob<'b>(
        &self,
        ciphertext: &'b [u8],
        expected: Option<&KeyRef>,
        operation: &'static str,
    ) -> Result<(blob::Blob<'b>, KeyMeta), KmsError> {
        let parsed = blob::decode(ciphertext).map_err(|why| KmsError::InvalidCiphertext(why.into()))?;
        let key_id = KeyId::from_bytes(parsed.key_id).to_string();
        if let Some(expected) = expected {
            if self.resolve(expected)? != key_id {
                return Err(KmsError::IncorrectKey { expected: expected.to_string(), actual: self.arn(&key_id) });
            }
        }
        let meta = self.meta(&key_id)?;
        self.check_usable(&meta, operation)?;
        self.profile(&meta, |key| key.check_symmetric(operation))?;
        Ok((parsed, meta))
    }

    fn decrypt_now(
        &self,
        ciphertext: &[u8],
        context: &BoundContext,
        expected: Option<&KeyRef>,
        operation: &'static str,
    ) -> Result<Decrypted, KmsError> {
        let (parsed, meta) = self.usable_for_blob(ciphertext, expected, operation)?;
        let key_id = meta.key_id.clone();
        if parsed.version > meta.versions {
            return Err(KmsError::InvalidCiphertext(format!(
                "key {} has no version {}",
                self.arn(&key_id),
                parsed.version
            )));
        }
        let aad = aad(&parsed.key_id, parsed.version, context);
        let plaintext = self
            .cluster
            .dispatch(|token| token.decrypt(&key_id, parsed.version, &parsed.iv, &aad, parsed.sealed))
            .map_err(|e| match e {
                KmsError::InvalidCiphertext(_) => KmsError::InvalidCiphertext(format!(
                    "the ciphertext does not authenticate under key {}: it was altered, or the encryption context differs",
                    self.arn(&key_id)
                )),
                other => other,
            })?;
        Ok(Decrypted { plaintext: SecretBytes::new(plaintext), key_arn: self.arn(&key_id) })
    }

    fn generate_now(
        &self,
        key: &KeyRef,
        spec: DataKeySpec,
        context: &EncryptionContext,
        operation: &'static str,
    ) -> Result<(Zeroizing<Vec<u8>>, Ciphertext), KmsError> {
        let context = BoundContext::new(context)?;
        let len = spec.key_len().map_err(KmsError::Validation)?;
        let plaintext = self.cluster.dispatch(|token| token.random(len))?;
        let sealed = self.encrypt_now(key, &plaintext, &context, operation)?;
        Ok((plaintext, sealed))
    }
}

fn aad(key_id: &[u8; 16], version: u32, context: &BoundContext) -> Vec<u8> {
    [&blob::aad_prefix(key_id, version)[..], context.as_bytes()].concat()
}

fn key_id_of(key_id: &str) -> Result<KeyId, KmsError> {
    KeyId::parse(key_id).ok_or_else(|| KmsError::NotFound(format!("{key_id} is not a key id")))
}

impl KeyService for Pkcs11KeyService {
    fn provider_id(&self) -> &str {
        PROVIDER_ID
    }

    fn generate_data_key<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKey> {
        KmsFuture::ready(self.generate_now(key, spec, context, "GenerateDataKey").map(|(plaintext, sealed)| DataKey {
            plaintext: SecretBytes::new(plaintext),
            ciphertext_blob: sealed.blob,
            key_arn: sealed.key_arn,
        }))
    }

    fn generate_data_key_without_plaintext<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        KmsFuture::ready(
            self.generate_now(key, spec, context, "GenerateDataKeyWithoutPlaintext").map(|(_, sealed)| sealed),
        )
    }

    fn encrypt<'a>(
        &'a self,
        key: &'a KeyRef,
        plaintext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        KmsFuture::ready(
            BoundContext::new(context).and_then(|context| self.encrypt_now(key, plaintext, &context, "Encrypt")),
        )
    }

    fn decrypt<'a>(
        &'a self,
        blob: &'a [u8],
        context: &'a EncryptionContext,
        expected_key: Option<&'a KeyRef>,
    ) -> KmsFuture<'a, Decrypted> {
        KmsFuture::ready(
            BoundContext::new(context).and_then(|context| self.decrypt_now(blob, &context, expected_key, "Decrypt")),
        )
    }

    fn dry_run<'a>(&'a self, request: DryRun<'a>) -> KmsFuture<'a, ()> {
        KmsFuture::ready(match request {
            DryRun::Seal { operation, key, context } => {
                BoundContext::new(context).and_then(|_| self.usable_symmetric(key, operation.as_str())).map(drop)
            }
            DryRun::Decrypt { blob, context, expected_key } => {
                BoundContext::new(context).and_then(|_| self.usable_for_blob(blob, expected_key, "Decrypt")).map(drop)
            }
            DryRun::ReEncrypt(r) => BoundContext::new(r.source_context)
                .and_then(|_| BoundContext::new(r.destination_context))
                .and_then(|_| self.usable_for_blob(r.blob, r.source_key, "ReEncrypt"))
                .and_then(|_| self.usable_symmetric(r.destination_key, "ReEncrypt"))
                .map(drop),
            other => self.dry_run_key_pair(&other),
        })
    }

    fn generate_random(&self, number_of_bytes: usize) -> KmsFuture<'_, SecretBytes> {
        KmsFuture::ready(validate_random_len(number_of_bytes).and_then(|()| {
            let bytes = self.cluster.dispatch(|token| token.random(number_of_bytes))?;
            Ok(SecretBytes::new(bytes))
        }))
    }

    fn re_encrypt<'a>(&'a self, request: ReEncryptRequest<'a>) -> KmsFuture<'a, ReEncrypted> {
        KmsFuture::ready((|| {
            let source_context = BoundContext::new(request.source_context)?;
            let destination_context = BoundContext::new(request.destination_context)?;
            let source = self.decrypt_now(request.blob, &source_context, request.source_key, "ReEncrypt")?;
            let sealed = self.encrypt_now(
                request.destination_key,
                source.plaintext.expose_secret(),
                &destination_context,
                "ReEncrypt",
            )?;
            Ok(ReEncrypted { blob: sealed.blob, key_arn: sealed.key_arn, source_key_arn: source.key_arn })
        })())
    }

    fn owns(&self, arn: &Arn) -> bool {
        self.prefix.contains(arn)
    }

    fn admin(&self) -> Option<&dyn KeyAdmin> {
        Some(self)
    }

    fn tagging(&self) -> Option<&dyn KeyTagging> {
        Some(self)
    }

    fn signing(&self) -> Option<&dyn KeySigning> {
        Some(self)
    }

    fn macs(&self) -> Option<&dyn KeyMacs> {
        Some(self)
    }

    fn rsa_encryption(&self) -> Option<&dyn RsaEncryption> {
        Some(self)
    }

    fn data_key_pairs(&self) -> Option<&dyn DataKeyPairs> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use envcrypt_testkit::{SoftHsm, USER_PIN};
    use serde_json::Value;

    use super::*;

    fn bytes(value: &Value) -> Vec<u8> {
        hex::decode(value.as_str().expect("a hex string")).expect("hex")
    }

    /// The blobs `vectors/generate.py` makes with Python's AES-GCM decrypt inside a token
    /// holding the same key material, and decode and encode byte for byte.
    #[test]
    fn blobs_match_the_known_answer_vectors() {
        let hsm = SoftHsm::new(&["vectors"]);
        let options = Pkcs11Options::new(hsm.module(), vec!["vectors".into()], Zeroizing::new(USER_PIN.into()));
        let service = Pkcs11KeyService::connect(options).unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../vectors/pkcs11-blobs.json");
        let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cases = vectors["cases"].as_array().unwrap();
        assert!(cases.len() >= 4);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let key_id = case["key_id"].as_str().unwrap();
            let version = u32::try_from(case["key_version"].as_u64().unwrap()).unwrap();
            service
                .cluster
                .on_first_token(|token| {
                    token.destroy_key(key_id, 2).and_then(|()| token.import_key(key_id, version, &bytes(&case["key"])))
                })
                .unwrap();
            let meta = KeyMeta {
                key_id: key_id.to_owned(),
                description: name.to_owned(),
                creation_date: 0,
                state: KeyState::Enabled,
                deletion_date: None,
                deletion_window_days: None,
                versions: version,
                key_spec: KeySpec::SymmetricDefault,
                key_usage: envcrypt::kms::KeyUsage::EncryptDecrypt,
                public_key: None,
                tags: Default::default(),
                revision: 0,
            };
            service.save(meta).unwrap();

            let blob = bytes(&case["blob"]);
            let parsed = blob::decode(&blob).unwrap();
            assert_eq!(
                (KeyId::from_bytes(parsed.key_id).to_string(), parsed.version),
                (key_id.to_owned(), version),
                "{name}"
            );
            assert_eq!(parsed.iv.to_vec(), bytes(&case["iv"]), "{name}");
            assert_eq!(blob::encode(&parsed.key_id, parsed.version, &parsed.iv, parsed.sealed), blob, "{name}");
            let context: EncryptionContext = case["encryption_context"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            let opened = service.decrypt(&blob, &context, None).wait().unwrap();
            assert_eq!(opened.plaintext.expose_secret(), bytes(&case["plaintext"]), "{name}");
            let mut other = context.clone();
            other.insert("extra", "pair").unwrap();
            assert_eq!(
                service.decrypt(&blob, &other, None).wait().unwrap_err().kms_name(),
                "InvalidCiphertextException"
            );
        }
    }
}
