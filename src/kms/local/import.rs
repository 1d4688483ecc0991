//! Imported key material on the local store (Origin EXTERNAL): GetParametersForImport,
//! ImportKeyMaterial, DeleteImportedKeyMaterial, and material that expires.
//!
//! A key created with origin EXTERNAL waits in `PendingImport` with no material. Each
//! GetParametersForImport makes a fresh RSA wrapping key, kept (its private half wrapped under
//! the root key) with a random token until its 24 hours pass; the token names the key and that
//! wrapping key, so material wrapped for another key or under older parameters is refused.
//! The first import keeps a check value (a known text sealed under the material) so that
//! later imports are known to be the same material without the store keeping it once it is
//! deleted. Material that expires is deleted the first time a call finds it past its
//! `ValidTo` (under the exclusive lock, recorded as a `DeleteExpiredKeyMaterial` service
//! event); its ciphertexts then fail until the same material is imported again.

use aes_kw::KekAes256;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPrivateKey};
use serde_json::json;
use zeroize::Zeroizing;

use super::audit::{rfc3339, Call};
use super::record::{BackingKeyRecord, ImportParameters as StoredParameters, ImportRecord, KeyRecord};
use super::{key_param, LocalKeyService};
use crate::crypto::{self, key_pair, Aes256Gcm, KEY_LEN};
use crate::kms::{
    ExpirationModel, ImportParameters, ImportRequest, KeyId, KeyImport, KeyRef, KeyState, KmsError, KmsFuture,
    MaterialExpiry, WrappingAlgorithm, WrappingKeySpec, IMPORT_PARAMETERS_VALID_SECS,
};

const CHECK_TEXT: &[u8] = b"envcrypt imported key material check v1";
const TOKEN_RANDOM_LEN: usize = 16;
/// How far ahead imported material may expire, as KMS allows: 365 days.
const MAX_VALID_SECS: u64 = 365 * 86_400;

impl LocalKeyService {
    /// Makes a new key record one that waits for imported material.
    pub(super) fn await_import(&self, record: &mut KeyRecord) {
        record.backing_keys.clear();
        record.state = KeyState::PendingImport;
        record.import = Some(ImportRecord::default());
    }

    /// Deletes a key's imported material once its `ValidTo` has passed, and records it; drops
    /// import parameters past their 24 hours (the wrapping private key with them).
    pub(super) fn expire_material(&self, record: &mut KeyRecord) -> Result<bool, KmsError> {
        let now = self.now();
        let stale_parameters = record.import_parameters_expired(now);
        if let Some(parameters) =
            record.import.as_mut().and_then(|i| i.parameters.as_mut()).filter(|_| stale_parameters)
        {
            parameters.private_key = None;
        }
        if !record.material_expired(now) {
            return Ok(stale_parameters);
        }
        let valid_to = record.import.as_ref().and_then(|i| i.valid_to).unwrap_or(now);
        self.record_store_event(
            Call::new("DeleteExpiredKeyMaterial", false).param("validTo", rfc3339(valid_to)),
            &record.key_id,
        )?;
        delete_material(record);
        Ok(true)
    }

    /// Refuses `operation` early, under the shared lock, unless the caller may perform it on
    /// `key` and the key takes imported material.
    fn check_import_allowed(&self, key: &KeyRef, operation: &'static str) -> Result<(), KmsError> {
        let txn = self.disk.read()?;
        let mut record = self.load(&txn, &self.resolve(&txn, key)?)?;
        drop(txn);
        self.authorize(&record, &format!("kms:{operation}"), None)?;
        self.imported(&mut record, operation).map(drop)
    }

    /// The import record of a key with origin EXTERNAL; any other key refuses `operation`.
    fn imported<'r>(
        &self,
        record: &'r mut KeyRecord,
        operation: &'static str,
    ) -> Result<&'r mut ImportRecord, KmsError> {
        let arn = self.arn(&record.key_id);
        if record.state == KeyState::PendingDeletion && operation != "DeleteImportedKeyMaterial" {
            return Err(KmsError::InvalidState { key: arn, state: record.state.to_string(), operation });
        }
        record.import.as_mut().ok_or_else(|| {
            KmsError::UnsupportedOperation(format!(
                "key {arn} does not take imported key material (its origin is not EXTERNAL): {operation} is not valid for it"
            ))
        })
    }

    fn unwrap_material(
        &self,
        record: &KeyRecord,
        parameters: &StoredParameters,
        encrypted: &[u8],
    ) -> Result<Zeroizing<[u8; KEY_LEN]>, KmsError> {
        let corrupt = |reason: String| {
            KmsError::Store(super::StoreError::corrupt(self.dir().join(super::disk::key_file(&record.key_id)), reason))
        };
        let wrapped = parameters
            .private_key
            .as_deref()
            .ok_or_else(|| corrupt("the import parameters have no wrapping key".into()))?;
        let der = self.root.unwrap_import_key(&record.key_id, &parameters.token, wrapped).map_err(corrupt)?;
        let private =
            RsaPrivateKey::from_pkcs8_der(&der).map_err(|e| corrupt(format!("the import wrapping key: {e}")))?;
        let algorithm = WrappingAlgorithm::from_name(&parameters.wrapping_algorithm)
            .ok_or_else(|| corrupt(format!("unknown wrapping algorithm {}", parameters.wrapping_algorithm)))?;
        let undecryptable = || {
            KmsError::InvalidCiphertext(format!(
                "the key material does not unwrap with the wrapping key of this import token ({}, {})",
                parameters.wrapping_key_spec, parameters.wrapping_algorithm
            ))
        };
        let oaep = |bytes: &[u8]| -> Result<Zeroizing<Vec<u8>>, KmsError> {
            let padding = match algorithm {
                WrappingAlgorithm::RsaesOaepSha1 | WrappingAlgorithm::RsaAesKeyWrapSha1 => Oaep::new::<sha1::Sha1>(),
                _ => Oaep::new::<sha2::Sha256>(),
            };
            // Blinded, so that its timing says nothing about the private key to whoever sends
            // the ciphertexts (RUSTSEC-2023-0071).
            private
                .decrypt_blinded(&mut rsa::rand_core::OsRng, padding, bytes)
                .map(Zeroizing::new)
                .map_err(|_| undecryptable())
        };
        let material = match algorithm {
            WrappingAlgorithm::RsaAesKeyWrapSha1 | WrappingAlgorithm::RsaAesKeyWrapSha256 => {
                let split = private.size();
                if encrypted.len() <= split {
                    return Err(undecryptable());
                }
                let (wrapped_key, wrapped_material) = encrypted.split_at(split);
                let aes_key = oaep(wrapped_key)?;
                let aes_key: &[u8; 32] = aes_key.as_slice().try_into().map_err(|_| undecryptable())?;
                let kek = KekAes256::from(*aes_key);
                Zeroizing::new(kek.unwrap_with_padding_vec(wrapped_material).map_err(|_| undecryptable())?)
            }
            _ => oaep(encrypted)?,
        };
        let material: [u8; KEY_LEN] = material.as_slice().try_into().map_err(|_| {
            KmsError::IncorrectKeyMaterial(format!(
                "the key material is {} bytes; a symmetric key's is {KEY_LEN}",
                material.len()
            ))
        })?;
        Ok(Zeroizing::new(material))
    }
}

/// Deletes a key's material: it waits for the same material again (a key pending deletion
/// stays so).
fn delete_material(record: &mut KeyRecord) {
    record.backing_keys.clear();
    if let Some(import) = &mut record.import {
        import.expiration_model = None;
        import.valid_to = None;
    }
    if record.state != KeyState::PendingDeletion {
        record.state = KeyState::PendingImport;
    }
}

fn check_aad(key_id: &str) -> Vec<u8> {
    [CHECK_TEXT, b"/", key_id.as_bytes()].concat()
}

fn material_check(key_id: &str, material: &[u8; KEY_LEN]) -> String {
    hex::encode(Aes256Gcm::new(material).seal_random_nonce(&check_aad(key_id), CHECK_TEXT))
}

fn is_same_material(key_id: &str, material: &[u8; KEY_LEN], check: &str) -> bool {
    let Ok(sealed) = hex::decode(check) else { return false };
    Aes256Gcm::new(material)
        .open_random_nonce(&check_aad(key_id), &sealed)
        .is_ok_and(|text| text.as_slice() == CHECK_TEXT)
}

/// The token's random part, if it names `key_id`.
fn token_for(key_id: &str, token: &[u8]) -> Option<String> {
    let id = KeyId::parse(key_id)?;
    let (named, random) = token.split_at_checked(16)?;
    (named == id.as_bytes() && random.len() == TOKEN_RANDOM_LEN).then(|| hex::encode(random))
}

/// Makes an RSA wrapping key pair: its private half (PKCS#8 DER) and its public half (DER
/// SubjectPublicKeyInfo), with every other RSA key the process makes, one at a time
/// ([`key_pair::new_rsa_key`]).
fn wrapping_key_pair(spec: WrappingKeySpec) -> Result<(rsa::pkcs8::SecretDocument, Vec<u8>), KmsError> {
    let failed = |e: &dyn std::fmt::Display| KmsError::Service {
        name: "KMSInternalException".into(),
        message: format!("making the {spec} wrapping key failed: {e}"),
    };
    let private = key_pair::new_rsa_key(spec.bits()).map_err(KmsError::from)?;
    let der = private.to_pkcs8_der().map_err(|e| failed(&e))?;
    let public = private.to_public_key().to_public_key_der().map_err(|e| failed(&e))?;
    Ok((der, public.into_vec()))
}

impl KeyImport for LocalKeyService {
    fn get_parameters_for_import<'a>(
        &'a self,
        key: &'a KeyRef,
        algorithm: WrappingAlgorithm,
        spec: WrappingKeySpec,
    ) -> KmsFuture<'a, ImportParameters> {
        let call = Call::new("GetParametersForImport", false)
            .param("keyId", key_param(key))
            .param("wrappingAlgorithm", algorithm.as_str())
            .param("wrappingKeySpec", spec.as_str());
        KmsFuture::ready(self.audited(call, |call| {
            // The caller's right and the key's origin are checked before the key pair is made
            // (a 4096-bit one takes seconds), and again under the lock, which the making does
            // not hold.
            self.check_import_allowed(key, "GetParametersForImport")?;
            let (private, public) = wrapping_key_pair(spec)?;
            self.change_key(key, "GetParametersForImport", call, |record, call| {
                let random = crypto::random_array::<TOKEN_RANDOM_LEN>();
                let token = hex::encode(random);
                let valid_to = self.now() + IMPORT_PARAMETERS_VALID_SECS;
                let wrapped = self.root.wrap_import_key(&record.key_id, &token, private.as_bytes());
                let key_id = KeyId::parse(&record.key_id).ok_or_else(|| {
                    KmsError::Store(super::StoreError::corrupt(
                        self.dir().join(super::disk::key_file(&record.key_id)),
                        "the record's key id is not a UUID",
                    ))
                })?;
                let import = self.imported(record, "GetParametersForImport")?;
                import.parameters = Some(StoredParameters {
                    token,
                    wrapping_key_spec: spec.as_str().to_owned(),
                    wrapping_algorithm: algorithm.as_str().to_owned(),
                    private_key: Some(wrapped),
                    valid_to,
                });
                call.respond(json!({ "parametersValidTo": rfc3339(valid_to) }));
                Ok(ImportParameters {
                    key_arn: self.arn(&record.key_id),
                    public_key: public,
                    import_token: [key_id.as_bytes().as_slice(), &random].concat(),
                    parameters_valid_to: valid_to,
                })
            })
        }))
    }

    fn import_key_material<'a>(&'a self, request: ImportRequest<'a>) -> KmsFuture<'a, ()> {
        let (model, valid_to) = match request.expiry {
            MaterialExpiry::At(date) => (ExpirationModel::KeyMaterialExpires, Some(date)),
            MaterialExpiry::Never => (ExpirationModel::KeyMaterialDoesNotExpire, None),
        };
        let mut call = Call::new("ImportKeyMaterial", false)
            .param("keyId", key_param(request.key))
            .param("expirationModel", model.as_str());
        if let Some(date) = valid_to {
            call = call.param("validTo", rfc3339(date));
        }
        KmsFuture::ready(self.update_key(request.key, call, |record, _| {
            let now = self.now();
            if let Some(date) = valid_to.filter(|date| *date <= now || *date > now + MAX_VALID_SECS) {
                return Err(KmsError::Validation(format!(
                    "ValidTo {} must be in the future and at most 365 days away",
                    rfc3339(date)
                )));
            }
            let arn = self.arn(&record.key_id);
            let random = token_for(&record.key_id, request.import_token)
                .ok_or_else(|| KmsError::InvalidImportToken(format!("the import token is not one of key {arn}'s")))?;
            let parameters = self.imported(record, "ImportKeyMaterial")?.parameters.clone();
            let parameters = parameters.filter(|p| p.token == random).ok_or_else(|| {
                KmsError::InvalidImportToken(format!(
                    "the import token is not from key {arn}'s latest GetParametersForImport"
                ))
            })?;
            if parameters.valid_to <= now {
                return Err(KmsError::ExpiredImportToken(format!(
                    "the import token of key {arn} expired at {}: call GetParametersForImport again",
                    rfc3339(parameters.valid_to)
                )));
            }
            let material = self.unwrap_material(record, &parameters, request.encrypted_key_material)?;
            let key_id = record.key_id.clone();
            let import = self.imported(record, "ImportKeyMaterial")?;
            match &import.check {
                Some(check) if !is_same_material(&key_id, &material, check) => {
                    return Err(KmsError::IncorrectKeyMaterial(format!(
                        "key {arn} had other key material: only the same material can be imported again"
                    )))
                }
                Some(_) => {}
                None => import.check = Some(material_check(&key_id, &material)),
            }
            import.expiration_model = Some(model);
            import.valid_to = valid_to;
            record.backing_keys = vec![BackingKeyRecord {
                number: 1,
                creation_date: now,
                wrapped: self.root.wrap_backing_key(&key_id, 1, &material),
                rotation: None,
                due: None,
            }];
            if record.state == KeyState::PendingImport {
                record.state = KeyState::Enabled;
            }
            Ok(())
        }))
    }

    fn delete_imported_key_material<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()> {
        let call = Call::new("DeleteImportedKeyMaterial", false);
        KmsFuture::ready(self.update_key(key, call, |record, _| {
            self.imported(record, "DeleteImportedKeyMaterial")?;
            delete_material(record);
            Ok(())
        }))
    }
}
