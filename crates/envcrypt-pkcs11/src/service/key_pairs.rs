//! Asymmetric and HMAC keys on the cluster. Sign, GenerateMac, VerifyMac and RSAES-OAEP
//! decryption run inside the tokens, with a private or HMAC key that never leaves them
//! (`CKM_RSA_PKCS_PSS`, `CKM_RSA_PKCS` over the DigestInfo, `CKM_ECDSA`, `CKM_SHA*_HMAC`,
//! `CKM_RSA_PKCS_OAEP`). Verify, RSAES-OAEP encryption and GetPublicKey are public-key
//! operations: they use the public key the token gave when it made the pair, kept with the key's
//! metadata, as KMS lets anyone use a public key outside KMS. Data key pairs are made in this
//! process, as the local store makes them, their private key sealed inside the tokens under a
//! symmetric key.

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use envcrypt::crypto::key_pair;
use envcrypt::kms::SigningAlgorithm::{EcdsaSha256, EcdsaSha384, EcdsaSha512};
use envcrypt::kms::{
    validate_key_pair_spec, validate_mac, validate_mac_message, validate_message, validate_signature, BoundContext,
    Ciphertext, DataKeyPair, DataKeyPairs, Decrypted, DryRun, EncryptionContext, KeyMacs, KeyRef, KeySigning, KeySpec,
    KeyUsage, KmsError, KmsFuture, Mac, MacAlgorithm, MacRequest, PublicKey, RsaEncryption, RsaEncryptionRequest,
    SecretBytes, SignRequest, Signature, SigningAlgorithm, VerifyRequest,
};

use super::Pkcs11KeyService;
use crate::records::KeyMeta;
use crate::token::PublicParts;

impl Pkcs11KeyService {
    /// A usable key of one of `usages` (`InvalidKeyUsageException` for another kind).
    fn usable_for(&self, key: &KeyRef, operation: &'static str, usages: &[KeyUsage]) -> Result<KeyMeta, KmsError> {
        let meta = self.usable(key, operation)?;
        self.profile(&meta, |key| key.check_usage(operation, usages))?;
        Ok(meta)
    }

    /// A key pair's public key, DER SubjectPublicKeyInfo, from its metadata, checked against
    /// the private key in the tokens the first time this process uses it: metadata is writable
    /// by any PIN holder, and a public key of theirs would let Verify accept their signatures and
    /// Encrypt write for their key. An RSA key's modulus and exponent are read from its private
    /// key object; an elliptic-curve key proves it by signing a random digest.
    fn public_key_of(&self, meta: &KeyMeta) -> Result<Vec<u8>, KmsError> {
        let hex = meta.public_key.as_deref().ok_or_else(|| self.damaged(meta, "it has no public key"))?;
        let der = hex::decode(hex).map_err(|e| self.damaged(meta, e))?;
        let proven = (meta.key_id.clone(), meta.key_spec.as_str(), meta.key_usage.as_str(), der.clone());
        if self.proven_public_keys().contains(&proven) {
            return Ok(der);
        }
        let kind = meta.kind();
        let matches = match meta.key_spec.signing_algorithms() {
            [EcdsaSha256 | EcdsaSha384 | EcdsaSha512] => {
                let algorithm = meta.key_spec.signing_algorithms()[0];
                let digest = self.cluster.dispatch(|token| token.random(algorithm.digest_len()))?;
                let signed =
                    self.cluster.dispatch(|token| token.sign(kind, &meta.key_id, &Mechanism::Ecdsa, &digest))?;
                let signature = key_pair::ecdsa_der(meta.key_spec, &signed).map_err(|e| self.damaged(meta, e))?;
                key_pair::verify_digest(meta.key_spec, &der, algorithm, &digest, &signature).unwrap_or(false)
            }
            _ => {
                let parts = self.cluster.dispatch(|token| token.rsa_public_parts(kind, &meta.key_id))?;
                self.public_key_der(meta.key_spec, &meta.key_id, &parts).is_ok_and(|own| own == der)
            }
        };
        if !matches {
            return Err(self.damaged(meta, "its public key is not the key pair's in the tokens"));
        }
        self.proven_public_keys().insert(proven);
        Ok(der)
    }

    /// The public key the token gave for a new key pair, as DER SubjectPublicKeyInfo.
    pub(super) fn public_key_der(&self, spec: KeySpec, key_id: &str, parts: &PublicParts) -> Result<Vec<u8>, KmsError> {
        let der = match parts {
            PublicParts::Rsa { modulus, exponent } => key_pair::rsa_public_key(spec, modulus, exponent),
            PublicParts::Ec { point } => key_pair::ec_public_key(spec, point),
        };
        der.map_err(|e| KmsError::Service {
            name: "KMSInternalException".into(),
            message: format!("the token made key {} with a public key envcrypt cannot read: {e}", self.arn(key_id)),
        })
    }

    /// The checks of Sign and Verify: the message, the key's state and kind, the algorithm.
    /// Answers the key and the digest to sign.
    fn signing_key(&self, request: &SignRequest<'_>, operation: &'static str) -> Result<(KeyMeta, Vec<u8>), KmsError> {
        validate_message(request.message, request.message_type, request.algorithm.digest_len())?;
        let meta = self.usable_for(request.key, operation, &[KeyUsage::SignVerify])?;
        self.profile(&meta, |key| key.check_signing_algorithm(request.algorithm))?;
        Ok((meta, key_pair::signed_digest(request)))
    }

    fn sign_now(&self, request: &SignRequest<'_>) -> Result<Signature, KmsError> {
        let (meta, digest) = self.signing_key(request, "Sign")?;
        // The key's spec, as the metadata says it, is checked against the key in the tokens.
        self.public_key_of(&meta)?;
        let (mechanism, input) = signing_input(request.algorithm, &digest);
        let signed = self.cluster.dispatch(|token| token.sign(meta.kind(), &meta.key_id, &mechanism, &input))?;
        let signature = match request.algorithm {
            SigningAlgorithm::EcdsaSha256 | SigningAlgorithm::EcdsaSha384 | SigningAlgorithm::EcdsaSha512 => {
                key_pair::ecdsa_der(meta.key_spec, &signed).map_err(|e| self.damaged(&meta, e))?
            }
            _ => signed,
        };
        Ok(Signature { key_arn: self.arn(&meta.key_id), signature, algorithm: request.algorithm })
    }

    fn verify_now(&self, request: &VerifyRequest<'_>) -> Result<String, KmsError> {
        let signed = &request.signed;
        validate_signature(request.signature)?;
        let (meta, digest) = self.signing_key(signed, "Verify")?;
        let public_key = self.public_key_of(&meta)?;
        let valid = key_pair::verify_digest(meta.key_spec, &public_key, signed.algorithm, &digest, request.signature)
            .map_err(|e| self.damaged(&meta, e))?;
        if !valid {
            return Err(self.profile(&meta, |key| key.invalid_signature(signed.algorithm)));
        }
        Ok(self.arn(&meta.key_id))
    }

    /// The HMAC key of `request`, usable and of the request's algorithm.
    fn mac_key(&self, request: &MacRequest<'_>, operation: &'static str) -> Result<KeyMeta, KmsError> {
        validate_mac_message(request.message)?;
        let meta = self.usable_for(request.key, operation, &[KeyUsage::GenerateVerifyMac])?;
        self.profile(&meta, |key| key.check_mac_algorithm(request.algorithm))?;
        Ok(meta)
    }

    /// RSAES-OAEP Encrypt, with the public key; the token's OAEP is checked too: nothing could
    /// decrypt what this encrypted without it.
    fn encrypt_rsa_now(&self, request: &RsaEncryptionRequest<'_>) -> Result<Ciphertext, KmsError> {
        let (meta, _) = self.oaep_key(request, "Encrypt")?;
        let public_key = self.public_key_of(&meta)?;
        let encrypted = key_pair::rsa_encrypt(meta.key_spec, &public_key, request.algorithm, request.data)
            .map_err(|e| self.damaged(&meta, e))?
            .ok_or_else(|| self.profile(&meta, |key| key.plaintext_too_long(request.algorithm, request.data.len())))?;
        Ok(Ciphertext { blob: encrypted, key_arn: self.arn(&meta.key_id) })
    }

    /// The RSA key of an Encrypt or Decrypt and the token's RSAES-OAEP for it.
    fn oaep_key(
        &self,
        request: &RsaEncryptionRequest<'_>,
        operation: &'static str,
    ) -> Result<(KeyMeta, Mechanism<'static>), KmsError> {
        let meta = self.usable_for(request.key, operation, &[KeyUsage::EncryptDecrypt])?;
        let mechanism = self.oaep(&meta, request)?;
        Ok((meta, mechanism))
    }

    /// What a DryRun of an operation of asymmetric and HMAC keys checks: the request, and the
    /// key's state, kind and algorithms, as the operation would.
    pub(super) fn dry_run_key_pair(&self, request: &DryRun<'_>) -> Result<(), KmsError> {
        match request {
            // The public key is checked as Sign checks it; Encrypt is done and its result
            // dropped (nothing is kept: it is a computation with the public key).
            DryRun::Sign(r) => self.signing_key(r, "Sign").and_then(|(meta, _)| self.public_key_of(&meta)).map(drop),
            DryRun::Verify(r) => validate_signature(r.signature)
                .and_then(|()| self.signing_key(&r.signed, "Verify"))
                .and_then(|(meta, _)| self.public_key_of(&meta))
                .map(drop),
            DryRun::GenerateMac(r) => self.mac_key(r, "GenerateMac").map(drop),
            DryRun::VerifyMac(r, mac) => validate_mac(mac).and_then(|()| self.mac_key(r, "VerifyMac")).map(drop),
            DryRun::RsaEncrypt(r) => self.encrypt_rsa_now(r).map(drop),
            DryRun::RsaDecrypt(r) => self.oaep_key(r, "Decrypt").map(drop),
            DryRun::DataKeyPair { key, spec, context, .. } => {
                self.data_key_pair_checks(request.operation(), key, *spec, context).map(drop)
            }
            DryRun::Seal { .. } | DryRun::Decrypt { .. } | DryRun::ReEncrypt(_) => {
                unreachable!("symmetric DryRuns are checked with the symmetric operations")
            }
        }
    }

    /// The token's RSAES-OAEP for `request`: `UnsupportedOperationException` where the token
    /// lacks the algorithm's hash (SoftHSM2 and SHA-256).
    fn oaep(&self, meta: &KeyMeta, request: &RsaEncryptionRequest<'_>) -> Result<Mechanism<'static>, KmsError> {
        self.cluster.mechanisms().oaep(request.algorithm).ok_or_else(|| {
            KmsError::UnsupportedOperation(format!(
                "the `{}` HSM tokens do not offer {} (SoftHSM2's RSAES-OAEP takes SHA-1 only), so key {} cannot \
                 decrypt with it; use RSAES_OAEP_SHA_1",
                self.cluster.mechanisms().name(),
                request.algorithm,
                self.arn(&meta.key_id)
            ))
        })
    }

    /// The checks of GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: the pair's
    /// spec, the context, and the symmetric key's state and kind.
    fn data_key_pair_checks(
        &self,
        operation: &'static str,
        key: &KeyRef,
        spec: KeySpec,
        context: &EncryptionContext,
    ) -> Result<BoundContext, KmsError> {
        validate_key_pair_spec(spec)?;
        let context = BoundContext::new(context)?;
        self.usable_symmetric(key, operation)?;
        Ok(context)
    }

    /// GenerateDataKeyPair and its WithoutPlaintext twin: the key checked before the pair is
    /// made (an RSA key takes a while), the private key sealed as Encrypt seals.
    fn data_key_pair_now(
        &self,
        operation: &'static str,
        key: &KeyRef,
        spec: KeySpec,
        context: &EncryptionContext,
    ) -> Result<DataKeyPair, KmsError> {
        let context = self.data_key_pair_checks(operation, key, spec, context)?;
        let with_plaintext = operation == "GenerateDataKeyPair";
        key_pair::new_data_key_pair(spec, with_plaintext, |private_key| {
            self.encrypt_now(key, private_key, &context, operation)
        })
    }
}

/// What the token signs for `algorithm`, and how: PSS over the digest with a salt as long as
/// the hash, PKCS#1 v1.5 over the DigestInfo, ECDSA over the digest.
fn signing_input(algorithm: SigningAlgorithm, digest: &[u8]) -> (Mechanism<'static>, Vec<u8>) {
    use SigningAlgorithm::*;
    let pss = |hash_alg, mgf| {
        let s_len = u64::try_from(digest.len()).expect("a digest length").into();
        (Mechanism::RsaPkcsPss(PkcsPssParams { hash_alg, mgf, s_len }), digest.to_vec())
    };
    match algorithm {
        RsassaPkcs1V15Sha256 | RsassaPkcs1V15Sha384 | RsassaPkcs1V15Sha512 => {
            (Mechanism::RsaPkcs, key_pair::pkcs1v15_digest_info(algorithm, digest))
        }
        EcdsaSha256 | EcdsaSha384 | EcdsaSha512 => (Mechanism::Ecdsa, digest.to_vec()),
        // RSASSA-PSS, with the hash the digest's length names.
        _ => match algorithm.digest_len() {
            32 => pss(MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
            48 => pss(MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
            _ => pss(MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
        },
    }
}

/// The token's HMAC mechanism for `algorithm`.
fn hmac(algorithm: MacAlgorithm) -> Mechanism<'static> {
    match algorithm {
        MacAlgorithm::HmacSha224 => Mechanism::Sha224Hmac,
        MacAlgorithm::HmacSha256 => Mechanism::Sha256Hmac,
        MacAlgorithm::HmacSha384 => Mechanism::Sha384Hmac,
        // HMAC_SHA_512, the last one.
        _ => Mechanism::Sha512Hmac,
    }
}

impl KeySigning for Pkcs11KeyService {
    fn sign<'a>(&'a self, request: SignRequest<'a>) -> KmsFuture<'a, Signature> {
        KmsFuture::ready(self.sign_now(&request))
    }

    fn verify<'a>(&'a self, request: VerifyRequest<'a>) -> KmsFuture<'a, String> {
        KmsFuture::ready(self.verify_now(&request))
    }

    fn get_public_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, PublicKey> {
        KmsFuture::ready((|| {
            let meta = self.usable(key, "GetPublicKey")?;
            if !meta.key_spec.is_key_pair() {
                return Err(KmsError::UnsupportedOperation(format!(
                    "key {} is a {} key, which has no public key",
                    self.arn(&meta.key_id),
                    meta.key_spec
                )));
            }
            Ok(PublicKey {
                key_arn: self.arn(&meta.key_id),
                der: self.public_key_of(&meta)?,
                key_spec: meta.key_spec,
                key_usage: meta.key_usage,
            })
        })())
    }
}

impl KeyMacs for Pkcs11KeyService {
    fn generate_mac<'a>(&'a self, request: MacRequest<'a>) -> KmsFuture<'a, Mac> {
        KmsFuture::ready((|| {
            let meta = self.mac_key(&request, "GenerateMac")?;
            let mechanism = hmac(request.algorithm);
            let mac =
                self.cluster.dispatch(|token| token.sign(meta.kind(), &meta.key_id, &mechanism, request.message))?;
            Ok(Mac { key_arn: self.arn(&meta.key_id), mac, algorithm: request.algorithm })
        })())
    }

    fn verify_mac<'a>(&'a self, request: MacRequest<'a>, mac: &'a [u8]) -> KmsFuture<'a, String> {
        KmsFuture::ready((|| {
            validate_mac(mac)?;
            let meta = self.mac_key(&request, "VerifyMac")?;
            let mechanism = hmac(request.algorithm);
            let valid = self
                .cluster
                .dispatch(|token| token.verify(meta.kind(), &meta.key_id, &mechanism, request.message, mac))?;
            if !valid {
                return Err(self.profile(&meta, |key| key.invalid_mac(request.algorithm)));
            }
            Ok(self.arn(&meta.key_id))
        })())
    }
}

impl RsaEncryption for Pkcs11KeyService {
    fn encrypt_rsa<'a>(&'a self, request: RsaEncryptionRequest<'a>) -> KmsFuture<'a, Ciphertext> {
        KmsFuture::ready(self.encrypt_rsa_now(&request))
    }

    fn decrypt_rsa<'a>(&'a self, request: RsaEncryptionRequest<'a>) -> KmsFuture<'a, Decrypted> {
        KmsFuture::ready((|| {
            let (meta, mechanism) = self.oaep_key(&request, "Decrypt")?;
            let plaintext = self
                .cluster
                .dispatch(|token| token.decrypt_with(meta.kind(), &meta.key_id, &mechanism, request.data))?
                .ok_or_else(|| self.profile(&meta, |key| key.undecryptable(request.algorithm)))?;
            Ok(Decrypted { plaintext: SecretBytes::new(plaintext), key_arn: self.arn(&meta.key_id) })
        })())
    }
}

impl DataKeyPairs for Pkcs11KeyService {
    fn generate_data_key_pair<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: KeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKeyPair> {
        KmsFuture::ready(self.data_key_pair_now("GenerateDataKeyPair", key, spec, context))
    }

    fn generate_data_key_pair_without_plaintext<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: KeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKeyPair> {
        KmsFuture::ready(self.data_key_pair_now("GenerateDataKeyPairWithoutPlaintext", key, spec, context))
    }
}
