//! Asymmetric and HMAC keys on the local store: Sign, Verify, GetPublicKey ([`KeySigning`]),
//! GenerateMac, VerifyMac ([`KeyMacs`]), and data key pairs made under a symmetric key
//! ([`DataKeyPairs`]), and RSAES-OAEP with RSA encryption keys ([`RsaEncryption`]). A key's private key or HMAC key is kept wrapped
//! under the root key and unwrapped only for the call; each call is authorized by the key
//! policy and grants, and audited without its message.

use zeroize::Zeroizing;

use super::audit::Call;
use super::disk::key_file;
use super::{context_param, key_param, seal_with_record, KeyRecord, LocalKeyService, StoreError, Use};
use crate::crypto::key_pair::{self, BadKeyMaterial};
use crate::kms::{
    validate_key_pair_spec, validate_mac, validate_mac_message, validate_message, validate_signature, Ciphertext,
    DataKeyPair, DataKeyPairs, Decrypted, DryRun, EncryptionContext, KeyMacs, KeyRef, KeySigning, KeySpec, KeyUsage,
    KmsError, KmsFuture, Mac, MacRequest, PublicKey, RsaEncryption, RsaEncryptionRequest, SecretBytes, SignRequest,
    Signature, VerifyRequest,
};

impl LocalKeyService {
    /// Reads `key` for `operation`: authorized for `action` before anything else is looked
    /// at, then usable.
    fn authorized(
        &self,
        key: &KeyRef,
        operation: &'static str,
        action: &'static str,
        call: &mut Call,
    ) -> Result<KeyRecord, KmsError> {
        let txn = self.disk.read()?;
        let key_id = self.resolve(&txn, key)?;
        let record = self.load(&txn, &key_id)?;
        drop(txn);
        call.resource(&self.arn(&key_id));
        self.authorize(&record, action, None)?;
        self.check_usable(&record, operation)?;
        Ok(record)
    }

    /// An asymmetric or HMAC key's material, unwrapped; a key of that kind without it, or with
    /// material that is not its own, is a damaged store.
    fn material(&self, record: &KeyRecord) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let corrupt = |reason: String| StoreError::corrupt(self.disk.dir().join(key_file(&record.key_id)), reason);
        let wrapped = record
            .material
            .as_deref()
            .ok_or_else(|| corrupt(format!("the {} key has no key material", record.key_spec)))?;
        let material = self
            .root
            .unwrap_key_material(&record.key_id, record.key_spec, record.key_usage, wrapped)
            .map_err(corrupt)?;
        key_pair::check_material(record.key_spec, &material).map_err(|e| corrupt(e.to_string()))?;
        Ok(material)
    }

    /// Reads `key` for `operation` ([`Self::authorized`]), a key of `usage`
    /// (`InvalidKeyUsageException` otherwise).
    fn key_for(
        &self,
        key: &KeyRef,
        operation: &'static str,
        action: &'static str,
        usage: &[KeyUsage],
        call: &mut Call,
    ) -> Result<KeyRecord, KmsError> {
        let record = self.authorized(key, operation, action, call)?;
        record.profile(&self.arn(&record.key_id)).check_usage(operation, usage)?;
        Ok(record)
    }

    /// [`Self::key_for`], with the key's material.
    fn key_with_material(
        &self,
        key: &KeyRef,
        operation: &'static str,
        action: &'static str,
        usage: &[KeyUsage],
        call: &mut Call,
    ) -> Result<(KeyRecord, Zeroizing<Vec<u8>>), KmsError> {
        let record = self.key_for(key, operation, action, usage, call)?;
        let material = self.material(&record)?;
        Ok((record, material))
    }

    /// What a DryRun of an operation of asymmetric and HMAC keys checks: the request, the
    /// caller's rights, and the key's state, kind and algorithms, as the operation would.
    pub(super) fn dry_run_key_pair(&self, request: &DryRun<'_>, call: &mut Call) -> Result<(), KmsError> {
        let sign = |request: &SignRequest<'_>, operation, action, call: &mut Call| {
            validate_message(request.message, request.message_type, request.algorithm.digest_len())?;
            let record = self.key_for(request.key, operation, action, &[KeyUsage::SignVerify], call)?;
            record.profile(&self.arn(&record.key_id)).check_signing_algorithm(request.algorithm)
        };
        let mac = |request: &MacRequest<'_>, operation, action, call: &mut Call| {
            validate_mac_message(request.message)?;
            let record = self.key_for(request.key, operation, action, &[KeyUsage::GenerateVerifyMac], call)?;
            record.profile(&self.arn(&record.key_id)).check_mac_algorithm(request.algorithm)
        };
        let rsa = |request: &RsaEncryptionRequest<'_>, operation, action, call: &mut Call| {
            self.key_for(request.key, operation, action, &[KeyUsage::EncryptDecrypt], call).map(drop)
        };
        match request {
            DryRun::Sign(r) => sign(r, "Sign", "kms:Sign", call),
            DryRun::Verify(r) => {
                validate_signature(r.signature)?;
                sign(&r.signed, "Verify", "kms:Verify", call)
            }
            DryRun::GenerateMac(r) => mac(r, "GenerateMac", "kms:GenerateMac", call),
            DryRun::VerifyMac(r, tag) => {
                validate_mac(tag)?;
                mac(r, "VerifyMac", "kms:VerifyMac", call)
            }
            // Done and dropped: the plaintext's length is checked as Encrypt checks it, and a
            // computation with the public key keeps nothing.
            DryRun::RsaEncrypt(r) => self.encrypt_rsa_now(r, call).map(drop),
            DryRun::RsaDecrypt(r) => rsa(r, "Decrypt", "kms:Decrypt", call),
            DryRun::DataKeyPair { key, spec, context, .. } => {
                self.data_key_pair_use(request.operation(), key, *spec, context, call).map(drop)
            }
            DryRun::Seal { .. } | DryRun::Decrypt { .. } | DryRun::ReEncrypt(_) => {
                unreachable!("symmetric DryRuns are checked by the store's own operations")
            }
        }
    }

    fn bad_material(&self, record: &KeyRecord, error: BadKeyMaterial) -> KmsError {
        StoreError::corrupt(self.disk.dir().join(key_file(&record.key_id)), error.to_string()).into()
    }

    fn sign_now(&self, request: &SignRequest<'_>, call: &mut Call) -> Result<Signature, KmsError> {
        validate_message(request.message, request.message_type, request.algorithm.digest_len())?;
        let (record, private_key) =
            self.key_with_material(request.key, "Sign", "kms:Sign", &[KeyUsage::SignVerify], call)?;
        record.profile(&self.arn(&record.key_id)).check_signing_algorithm(request.algorithm)?;
        let digest = key_pair::signed_digest(request);
        let signature = key_pair::sign_digest(record.key_spec, &private_key, request.algorithm, &digest)
            .map_err(|e| self.bad_material(&record, e))?;
        Ok(Signature { key_arn: self.arn(&record.key_id), signature, algorithm: request.algorithm })
    }

    fn verify_now(&self, request: &VerifyRequest<'_>, call: &mut Call) -> Result<String, KmsError> {
        let signed = &request.signed;
        validate_message(signed.message, signed.message_type, signed.algorithm.digest_len())?;
        validate_signature(request.signature)?;
        let (record, private_key) =
            self.key_with_material(signed.key, "Verify", "kms:Verify", &[KeyUsage::SignVerify], call)?;
        let arn = self.arn(&record.key_id);
        let profile = record.profile(&arn);
        profile.check_signing_algorithm(signed.algorithm)?;
        let digest = key_pair::signed_digest(signed);
        let public_key =
            key_pair::public_key(record.key_spec, &private_key).map_err(|e| self.bad_material(&record, e))?;
        let valid = key_pair::verify_digest(record.key_spec, &public_key, signed.algorithm, &digest, request.signature)
            .map_err(|e| self.bad_material(&record, e))?;
        if !valid {
            return Err(profile.invalid_signature(signed.algorithm));
        }
        Ok(arn)
    }

    /// The MAC key of `request`'s key, checked for the request's algorithm.
    fn mac_key(
        &self,
        request: &MacRequest<'_>,
        operation: &'static str,
        action: &'static str,
        call: &mut Call,
    ) -> Result<(KeyRecord, Zeroizing<Vec<u8>>), KmsError> {
        validate_mac_message(request.message)?;
        let (record, key) =
            self.key_with_material(request.key, operation, action, &[KeyUsage::GenerateVerifyMac], call)?;
        record.profile(&self.arn(&record.key_id)).check_mac_algorithm(request.algorithm)?;
        Ok((record, key))
    }
}

impl KeySigning for LocalKeyService {
    fn sign<'a>(&'a self, request: SignRequest<'a>) -> KmsFuture<'a, Signature> {
        let call = Call::new("Sign", true)
            .param("keyId", key_param(request.key))
            .param("messageType", request.message_type.as_str())
            .param("signingAlgorithm", request.algorithm.as_str());
        KmsFuture::ready(self.audited(call, |call| self.sign_now(&request, call)))
    }

    fn verify<'a>(&'a self, request: VerifyRequest<'a>) -> KmsFuture<'a, String> {
        let call = Call::new("Verify", true)
            .param("keyId", key_param(request.signed.key))
            .param("messageType", request.signed.message_type.as_str())
            .param("signingAlgorithm", request.signed.algorithm.as_str());
        KmsFuture::ready(self.audited(call, |call| self.verify_now(&request, call)))
    }

    fn get_public_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, PublicKey> {
        let call = Call::new("GetPublicKey", true).param("keyId", key_param(key));
        KmsFuture::ready(self.audited(call, |call| {
            let record = self.authorized(key, "GetPublicKey", "kms:GetPublicKey", call)?;
            if !record.key_spec.is_key_pair() {
                return Err(KmsError::UnsupportedOperation(format!(
                    "key {} is a {} key, which has no public key",
                    self.arn(&record.key_id),
                    record.key_spec
                )));
            }
            let private_key = self.material(&record)?;
            let der = key_pair::public_key(record.key_spec, &private_key).map_err(|e| self.bad_material(&record, e))?;
            Ok(PublicKey {
                key_arn: self.arn(&record.key_id),
                der,
                key_spec: record.key_spec,
                key_usage: record.key_usage,
            })
        }))
    }
}

impl KeyMacs for LocalKeyService {
    fn generate_mac<'a>(&'a self, request: MacRequest<'a>) -> KmsFuture<'a, Mac> {
        let call = Call::new("GenerateMac", true)
            .param("keyId", key_param(request.key))
            .param("macAlgorithm", request.algorithm.as_str());
        KmsFuture::ready(self.audited(call, |call| {
            let (record, key) = self.mac_key(&request, "GenerateMac", "kms:GenerateMac", call)?;
            let mac = key_pair::mac(request.algorithm, &key, request.message);
            Ok(Mac { key_arn: self.arn(&record.key_id), mac, algorithm: request.algorithm })
        }))
    }

    fn verify_mac<'a>(&'a self, request: MacRequest<'a>, mac: &'a [u8]) -> KmsFuture<'a, String> {
        let call = Call::new("VerifyMac", true)
            .param("keyId", key_param(request.key))
            .param("macAlgorithm", request.algorithm.as_str());
        KmsFuture::ready(self.audited(call, |call| {
            validate_mac(mac)?;
            let (record, key) = self.mac_key(&request, "VerifyMac", "kms:VerifyMac", call)?;
            let arn = self.arn(&record.key_id);
            if !key_pair::verify_mac(request.algorithm, &key, request.message, mac) {
                return Err(record.profile(&arn).invalid_mac(request.algorithm));
            }
            Ok(arn)
        }))
    }
}

impl LocalKeyService {
    /// RSAES-OAEP Encrypt with the key's public key.
    fn encrypt_rsa_now(&self, request: &RsaEncryptionRequest<'_>, call: &mut Call) -> Result<Ciphertext, KmsError> {
        let (record, private_key) =
            self.key_with_material(request.key, "Encrypt", "kms:Encrypt", &[KeyUsage::EncryptDecrypt], call)?;
        let public_key =
            key_pair::public_key(record.key_spec, &private_key).map_err(|e| self.bad_material(&record, e))?;
        let encrypted = key_pair::rsa_encrypt(record.key_spec, &public_key, request.algorithm, request.data)
            .map_err(|e| self.bad_material(&record, e))?
            .ok_or_else(|| {
                record.profile(&self.arn(&record.key_id)).plaintext_too_long(request.algorithm, request.data.len())
            })?;
        Ok(Ciphertext { blob: encrypted, key_arn: self.arn(&record.key_id) })
    }

    /// The symmetric key of GenerateDataKeyPair[WithoutPlaintext], authorized and usable, and
    /// the use it is put to.
    fn data_key_pair_use<'c>(
        &self,
        operation: &'static str,
        key: &KeyRef,
        spec: KeySpec,
        context: &'c EncryptionContext,
        call: &mut Call,
    ) -> Result<(KeyRecord, Use<'c>), KmsError> {
        validate_key_pair_spec(spec)?;
        let use_ = Use::new(operation, context)?;
        let txn = self.disk.read()?;
        let key_id = self.resolve(&txn, key)?;
        let record = self.load_for_use(txn, &key_id, &use_, call)?;
        Ok((record, use_))
    }

    /// GenerateDataKeyPair[WithoutPlaintext]: authorized and checked before the pair is made
    /// (an RSA key takes a while), its private key sealed as Encrypt seals.
    fn data_key_pair_now(
        &self,
        operation: &'static str,
        key: &KeyRef,
        spec: KeySpec,
        context: &EncryptionContext,
        call: &mut Call,
    ) -> Result<DataKeyPair, KmsError> {
        let (record, use_) = self.data_key_pair_use(operation, key, spec, context, call)?;
        let with_plaintext = operation == "GenerateDataKeyPair";
        key_pair::new_data_key_pair(spec, with_plaintext, |private_key| {
            seal_with_record(self, &record, private_key, &use_.bound)
        })
    }

    fn data_key_pair_call(operation: &'static str, key: &KeyRef, spec: KeySpec, context: &EncryptionContext) -> Call {
        Call::new(operation, true)
            .param("keyId", key_param(key))
            .param("keyPairSpec", spec.as_str())
            .param("encryptionContext", context_param(context))
    }
}

impl DataKeyPairs for LocalKeyService {
    fn generate_data_key_pair<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: KeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKeyPair> {
        let operation = "GenerateDataKeyPair";
        KmsFuture::ready(self.audited(Self::data_key_pair_call(operation, key, spec, context), |call| {
            self.data_key_pair_now(operation, key, spec, context, call)
        }))
    }

    fn generate_data_key_pair_without_plaintext<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: KeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKeyPair> {
        let operation = "GenerateDataKeyPairWithoutPlaintext";
        KmsFuture::ready(self.audited(Self::data_key_pair_call(operation, key, spec, context), |call| {
            self.data_key_pair_now(operation, key, spec, context, call)
        }))
    }
}

impl RsaEncryption for LocalKeyService {
    fn encrypt_rsa<'a>(&'a self, request: RsaEncryptionRequest<'a>) -> KmsFuture<'a, Ciphertext> {
        let call = Call::new("Encrypt", true)
            .param("keyId", key_param(request.key))
            .param("encryptionAlgorithm", request.algorithm.as_str());
        KmsFuture::ready(self.audited(call, |call| self.encrypt_rsa_now(&request, call)))
    }

    fn decrypt_rsa<'a>(&'a self, request: RsaEncryptionRequest<'a>) -> KmsFuture<'a, Decrypted> {
        let call = Call::new("Decrypt", true)
            .param("keyId", key_param(request.key))
            .param("encryptionAlgorithm", request.algorithm.as_str());
        KmsFuture::ready(self.audited(call, |call| {
            let (record, private_key) =
                self.key_with_material(request.key, "Decrypt", "kms:Decrypt", &[KeyUsage::EncryptDecrypt], call)?;
            let plaintext = key_pair::rsa_decrypt(record.key_spec, &private_key, request.algorithm, request.data)
                .map_err(|e| self.bad_material(&record, e))?
                .ok_or_else(|| record.profile(&self.arn(&record.key_id)).undecryptable(request.algorithm))?;
            Ok(Decrypted { plaintext: SecretBytes::new(plaintext), key_arn: self.arn(&record.key_id) })
        }))
    }
}
