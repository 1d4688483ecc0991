//! Asymmetric and HMAC keys on the local store: Sign, Verify, GetPublicKey ([`KeySigning`])
//! and GenerateMac, VerifyMac ([`KeyMacs`]). A key's private key or HMAC key is kept wrapped
//! under the root key and unwrapped only for the call; each call is authorized by the key
//! policy and grants, and audited without its message.

use zeroize::Zeroizing;

use super::audit::Call;
use super::disk::key_file;
use super::{key_param, KeyRecord, LocalKeyService, StoreError};
use crate::crypto::key_pair::{self, BadKeyMaterial};
use crate::kms::{
    validate_message, KeyMacs, KeyRef, KeySigning, KeyUsage, KmsError, KmsFuture, Mac, MacRequest, MessageType,
    PublicKey, SignRequest, Signature, VerifyRequest, MAX_SIGNATURE, MAX_SIGN_MESSAGE,
};

impl LocalKeyService {
    /// Reads `key` for `operation`: authorized for `action`, usable, and a key of `usage`
    /// (`InvalidKeyUsageException` otherwise), with its material.
    fn key_with_material(
        &self,
        key: &KeyRef,
        operation: &'static str,
        action: &'static str,
        usage: &[KeyUsage],
        call: &mut Call,
    ) -> Result<(KeyRecord, Zeroizing<Vec<u8>>), KmsError> {
        let txn = self.disk.read()?;
        let key_id = self.resolve(&txn, key)?;
        let record = self.load(&txn, &key_id)?;
        drop(txn);
        let arn = self.arn(&key_id);
        call.resource(&arn);
        self.authorize(&record, action, None)?;
        self.check_usable(&record, operation)?;
        let material = match &record.material {
            Some(wrapped) if usage.contains(&record.key_usage) => self
                .root
                .unwrap_key_material(&record.key_id, wrapped)
                .map_err(|reason| StoreError::corrupt(self.disk.dir().join(key_file(&record.key_id)), reason))?,
            _ => {
                return Err(KmsError::InvalidKeyUsage(format!(
                    "key {arn} is a {} key for {}; {operation} needs a key for {}",
                    record.key_spec,
                    record.key_usage,
                    usage.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(" or ")
                )))
            }
        };
        Ok((record, material))
    }

    fn bad_material(&self, record: &KeyRecord, error: BadKeyMaterial) -> KmsError {
        StoreError::corrupt(self.disk.dir().join(key_file(&record.key_id)), error.to_string()).into()
    }

    /// The digest Sign or Verify signs: the message hashed, or the digest given.
    fn signed_digest(&self, record: &KeyRecord, request: &SignRequest<'_>) -> Result<Vec<u8>, KmsError> {
        if !record.key_spec.signing_algorithms().contains(&request.algorithm) {
            return Err(KmsError::InvalidKeyUsage(format!(
                "{} is not a signing algorithm of key {}, a {} key; it has {}",
                request.algorithm,
                self.arn(&record.key_id),
                record.key_spec,
                record.key_spec.signing_algorithms().iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(match request.message_type {
            MessageType::Raw => key_pair::digest(request.algorithm, request.message),
            MessageType::Digest => request.message.to_vec(),
        })
    }

    fn sign_now(&self, request: &SignRequest<'_>, call: &mut Call) -> Result<Signature, KmsError> {
        validate_message(request.message, request.message_type, request.algorithm.digest_len())?;
        let (record, private_key) =
            self.key_with_material(request.key, "Sign", "kms:Sign", &[KeyUsage::SignVerify], call)?;
        let digest = self.signed_digest(&record, request)?;
        let signature = key_pair::sign_digest(record.key_spec, &private_key, request.algorithm, &digest)
            .map_err(|e| self.bad_material(&record, e))?;
        Ok(Signature { key_arn: self.arn(&record.key_id), signature, algorithm: request.algorithm })
    }

    fn verify_now(&self, request: &VerifyRequest<'_>, call: &mut Call) -> Result<String, KmsError> {
        let signed = &request.signed;
        validate_message(signed.message, signed.message_type, signed.algorithm.digest_len())?;
        if request.signature.is_empty() || request.signature.len() > MAX_SIGNATURE {
            return Err(KmsError::Validation(format!(
                "the signature has {} bytes; it must have 1 to {MAX_SIGNATURE}",
                request.signature.len()
            )));
        }
        let (record, private_key) =
            self.key_with_material(signed.key, "Verify", "kms:Verify", &[KeyUsage::SignVerify], call)?;
        let digest = self.signed_digest(&record, signed)?;
        let public_key =
            key_pair::public_key(record.key_spec, &private_key).map_err(|e| self.bad_material(&record, e))?;
        let valid = key_pair::verify_digest(record.key_spec, &public_key, signed.algorithm, &digest, request.signature)
            .map_err(|e| self.bad_material(&record, e))?;
        if !valid {
            return Err(KmsError::InvalidSignature(format!(
                "the signature is not a valid {} signature of the message under key {}",
                signed.algorithm,
                self.arn(&record.key_id)
            )));
        }
        Ok(self.arn(&record.key_id))
    }

    /// The MAC key of `request`'s key, checked for the request's algorithm.
    fn mac_key(
        &self,
        request: &MacRequest<'_>,
        operation: &'static str,
        action: &'static str,
        call: &mut Call,
    ) -> Result<(KeyRecord, Zeroizing<Vec<u8>>), KmsError> {
        if request.message.is_empty() || request.message.len() > MAX_SIGN_MESSAGE {
            return Err(KmsError::Validation(format!(
                "the message has {} bytes; it must have 1 to {MAX_SIGN_MESSAGE}",
                request.message.len()
            )));
        }
        let (record, key) =
            self.key_with_material(request.key, operation, action, &[KeyUsage::GenerateVerifyMac], call)?;
        if record.key_spec.mac_algorithm() != Some(request.algorithm) {
            return Err(KmsError::InvalidKeyUsage(format!(
                "{} is not the MAC algorithm of key {}, a {} key",
                request.algorithm,
                self.arn(&record.key_id),
                record.key_spec
            )));
        }
        Ok((record, key))
    }
}

impl KeySigning for LocalKeyService {
    fn sign<'a>(&'a self, request: SignRequest<'a>) -> KmsFuture<'a, Signature> {
        let call = Call::new("Sign", false)
            .param("keyId", key_param(request.key))
            .param("messageType", request.message_type.as_str())
            .param("signingAlgorithm", request.algorithm.as_str());
        KmsFuture::ready(self.audited(call, |call| self.sign_now(&request, call)))
    }

    fn verify<'a>(&'a self, request: VerifyRequest<'a>) -> KmsFuture<'a, String> {
        let call = Call::new("Verify", false)
            .param("keyId", key_param(request.signed.key))
            .param("messageType", request.signed.message_type.as_str())
            .param("signingAlgorithm", request.signed.algorithm.as_str());
        KmsFuture::ready(self.audited(call, |call| self.verify_now(&request, call)))
    }

    fn get_public_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, PublicKey> {
        let call = Call::new("GetPublicKey", true).param("keyId", key_param(key));
        KmsFuture::ready(self.audited(call, |call| {
            let txn = self.disk.read()?;
            let record = self.load(&txn, &self.resolve(&txn, key)?)?;
            drop(txn);
            if !record.key_spec.is_key_pair() {
                return Err(KmsError::UnsupportedOperation(format!(
                    "key {} is a {} key, which has no public key",
                    self.arn(&record.key_id),
                    record.key_spec
                )));
            }
            let usages = [KeyUsage::SignVerify, KeyUsage::EncryptDecrypt];
            let (record, private_key) =
                self.key_with_material(key, "GetPublicKey", "kms:GetPublicKey", &usages, call)?;
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
        let call = Call::new("GenerateMac", false)
            .param("keyId", key_param(request.key))
            .param("macAlgorithm", request.algorithm.as_str());
        KmsFuture::ready(self.audited(call, |call| {
            let (record, key) = self.mac_key(&request, "GenerateMac", "kms:GenerateMac", call)?;
            let mac = key_pair::mac(request.algorithm, &key, request.message);
            Ok(Mac { key_arn: self.arn(&record.key_id), mac, algorithm: request.algorithm })
        }))
    }

    fn verify_mac<'a>(&'a self, request: MacRequest<'a>, mac: &'a [u8]) -> KmsFuture<'a, String> {
        let call = Call::new("VerifyMac", false)
            .param("keyId", key_param(request.key))
            .param("macAlgorithm", request.algorithm.as_str());
        KmsFuture::ready(self.audited(call, |call| {
            let (record, key) = self.mac_key(&request, "VerifyMac", "kms:VerifyMac", call)?;
            if !key_pair::verify_mac(request.algorithm, &key, request.message, mac) {
                return Err(KmsError::InvalidMac(format!(
                    "the MAC is not the {} of the message under key {}",
                    request.algorithm,
                    self.arn(&record.key_id)
                )));
            }
            Ok(self.arn(&record.key_id))
        }))
    }
}
