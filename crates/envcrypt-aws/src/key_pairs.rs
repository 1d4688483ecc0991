//! Asymmetric and HMAC keys on AWS KMS: the [`KeySigning`], [`KeyMacs`], [`RsaEncryption`] and
//! [`DataKeyPairs`] calls, passed through.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeyPairSpec, EncryptionAlgorithmSpec, MacAlgorithmSpec, MessageType as AwsMessageType, SigningAlgorithmSpec,
};
use envcrypt::kms::{
    Ciphertext, DataKeyPair, DataKeyPairs, Decrypted, EncryptionContext, KeyMacs, KeyRef, KeySigning, KeySpec,
    KeyUsage, KmsError, KmsFuture, Mac, MacRequest, PublicKey, RsaEncryption, RsaEncryptionRequest, SecretBytes,
    SignRequest, Signature, VerifyRequest,
};

use zeroize::Zeroizing;

use crate::errors::{missing, sdk_error};
use crate::{context_map, AwsKmsService};

/// A KMS enumeration's value in an answer, read into envcrypt's type.
fn answered<T>(
    operation: &'static str,
    member: &'static str,
    name: Option<&str>,
    from_name: fn(&str) -> Option<T>,
) -> Result<T, KmsError> {
    name.and_then(from_name).ok_or_else(|| missing(operation, member))
}

/// A `false` where KMS documents an exception instead.
fn unexpected_false(operation: &str, member: &str) -> KmsError {
    KmsError::Service {
        name: "KMSInternalException".into(),
        message: format!("the endpoint answered {operation} with {member} false, where AWS KMS fails instead"),
    }
}

impl KeySigning for AwsKmsService {
    fn sign<'a>(&'a self, request: SignRequest<'a>) -> KmsFuture<'a, Signature> {
        let message = Blob::new(request.message.to_vec());
        let message_type = AwsMessageType::from(request.message_type.as_str());
        let algorithm = request.algorithm;
        self.key_call(request.key, move |client, key| async move {
            let out = client
                .sign()
                .key_id(&key)
                .message(message)
                .message_type(message_type)
                .signing_algorithm(SigningAlgorithmSpec::from(algorithm.as_str()))
                .send()
                .await
                .map_err(|e| sdk_error("Sign", &key, e))?;
            Ok(Signature {
                key_arn: out.key_id().ok_or_else(|| missing("Sign", "KeyId"))?.to_owned(),
                signature: out.signature().ok_or_else(|| missing("Sign", "Signature"))?.as_ref().to_vec(),
                algorithm,
            })
        })
    }

    fn verify<'a>(&'a self, request: VerifyRequest<'a>) -> KmsFuture<'a, String> {
        let signed = request.signed;
        let message = Blob::new(signed.message.to_vec());
        let signature = Blob::new(request.signature.to_vec());
        let message_type = AwsMessageType::from(signed.message_type.as_str());
        let algorithm = SigningAlgorithmSpec::from(signed.algorithm.as_str());
        self.key_call(signed.key, move |client, key| async move {
            let out = client
                .verify()
                .key_id(&key)
                .message(message)
                .message_type(message_type)
                .signature(signature)
                .signing_algorithm(algorithm)
                .send()
                .await
                .map_err(|e| sdk_error("Verify", &key, e))?;
            // KMS answers an invalid signature with KMSInvalidSignatureException, never with
            // `false`; a stand-in that does is reported, not trusted either way.
            if !out.signature_valid() {
                return Err(unexpected_false("Verify", "SignatureValid"));
            }
            Ok(out.key_id().ok_or_else(|| missing("Verify", "KeyId"))?.to_owned())
        })
    }

    fn get_public_key<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, PublicKey> {
        self.key_call(key, |client, key| async move {
            let out =
                client.get_public_key().key_id(&key).send().await.map_err(|e| sdk_error("GetPublicKey", &key, e))?;
            Ok(PublicKey {
                key_arn: out.key_id().ok_or_else(|| missing("GetPublicKey", "KeyId"))?.to_owned(),
                der: out.public_key().ok_or_else(|| missing("GetPublicKey", "PublicKey"))?.as_ref().to_vec(),
                key_spec: answered("GetPublicKey", "KeySpec", out.key_spec().map(|s| s.as_str()), KeySpec::from_name)?,
                key_usage: answered(
                    "GetPublicKey",
                    "KeyUsage",
                    out.key_usage().map(|u| u.as_str()),
                    KeyUsage::from_name,
                )?,
            })
        })
    }
}

impl KeyMacs for AwsKmsService {
    fn generate_mac<'a>(&'a self, request: MacRequest<'a>) -> KmsFuture<'a, Mac> {
        let message = Blob::new(request.message.to_vec());
        let algorithm = request.algorithm;
        self.key_call(request.key, move |client, key| async move {
            let out = client
                .generate_mac()
                .key_id(&key)
                .message(message)
                .mac_algorithm(MacAlgorithmSpec::from(algorithm.as_str()))
                .send()
                .await
                .map_err(|e| sdk_error("GenerateMac", &key, e))?;
            Ok(Mac {
                key_arn: out.key_id().ok_or_else(|| missing("GenerateMac", "KeyId"))?.to_owned(),
                mac: out.mac().ok_or_else(|| missing("GenerateMac", "Mac"))?.as_ref().to_vec(),
                algorithm,
            })
        })
    }

    fn verify_mac<'a>(&'a self, request: MacRequest<'a>, mac: &'a [u8]) -> KmsFuture<'a, String> {
        let message = Blob::new(request.message.to_vec());
        let mac = Blob::new(mac.to_vec());
        let algorithm = MacAlgorithmSpec::from(request.algorithm.as_str());
        self.key_call(request.key, move |client, key| async move {
            let out = client
                .verify_mac()
                .key_id(&key)
                .message(message)
                .mac(mac)
                .mac_algorithm(algorithm)
                .send()
                .await
                .map_err(|e| sdk_error("VerifyMac", &key, e))?;
            if !out.mac_valid() {
                return Err(unexpected_false("VerifyMac", "MacValid"));
            }
            Ok(out.key_id().ok_or_else(|| missing("VerifyMac", "KeyId"))?.to_owned())
        })
    }
}

/// Sends GenerateDataKeyPair or GenerateDataKeyPairWithoutPlaintext (`$call`, the client's
/// builder) and reads the answer; the two differ only in the plaintext (`$plaintext`).
macro_rules! data_key_pair {
    ($service:expr, $key:expr, $spec:expr, $context:expr, $operation:literal, $call:ident, $plaintext:expr) => {{
        let (spec, context) = ($spec, context_map($context));
        $service.key_call($key, move |client, key| async move {
            let out = client
                .$call()
                .key_id(&key)
                .key_pair_spec(DataKeyPairSpec::from(spec.as_str()))
                .set_encryption_context(context)
                .send()
                .await
                .map_err(|e| sdk_error($operation, &key, e))?;
            let blob = |member, value: Option<&Blob>| {
                value.map(|b| b.as_ref().to_vec()).ok_or_else(|| missing($operation, member))
            };
            Ok(DataKeyPair {
                key_arn: out.key_id().ok_or_else(|| missing($operation, "KeyId"))?.to_owned(),
                key_pair_spec: spec,
                public_key: blob("PublicKey", out.public_key())?,
                private_key_plaintext: $plaintext(&out)?,
                private_key_ciphertext_blob: blob("PrivateKeyCiphertextBlob", out.private_key_ciphertext_blob())?,
            })
        })
    }};
}

impl DataKeyPairs for AwsKmsService {
    fn generate_data_key_pair<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: KeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKeyPair> {
        let plaintext = |out: &aws_sdk_kms::operation::generate_data_key_pair::GenerateDataKeyPairOutput| {
            let bytes =
                out.private_key_plaintext().ok_or_else(|| missing("GenerateDataKeyPair", "PrivateKeyPlaintext"))?;
            Ok::<_, KmsError>(Some(SecretBytes::new(Zeroizing::new(bytes.as_ref().to_vec()))))
        };
        data_key_pair!(self, key, spec, context, "GenerateDataKeyPair", generate_data_key_pair, plaintext)
    }

    fn generate_data_key_pair_without_plaintext<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: KeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKeyPair> {
        let plaintext = |_: &_| Ok::<_, KmsError>(None);
        data_key_pair!(
            self,
            key,
            spec,
            context,
            "GenerateDataKeyPairWithoutPlaintext",
            generate_data_key_pair_without_plaintext,
            plaintext
        )
    }
}

impl RsaEncryption for AwsKmsService {
    fn encrypt_rsa<'a>(&'a self, request: RsaEncryptionRequest<'a>) -> KmsFuture<'a, Ciphertext> {
        let plaintext = Blob::new(request.data.to_vec());
        let algorithm = EncryptionAlgorithmSpec::from(request.algorithm.as_str());
        self.key_call(request.key, move |client, key| async move {
            let out = client
                .encrypt()
                .key_id(&key)
                .plaintext(plaintext)
                .encryption_algorithm(algorithm)
                .send()
                .await
                .map_err(|e| sdk_error("Encrypt", &key, e))?;
            Ok(Ciphertext {
                blob: out.ciphertext_blob().ok_or_else(|| missing("Encrypt", "CiphertextBlob"))?.as_ref().to_vec(),
                key_arn: out.key_id().ok_or_else(|| missing("Encrypt", "KeyId"))?.to_owned(),
            })
        })
    }

    fn decrypt_rsa<'a>(&'a self, request: RsaEncryptionRequest<'a>) -> KmsFuture<'a, Decrypted> {
        let blob = Blob::new(request.data.to_vec());
        let algorithm = EncryptionAlgorithmSpec::from(request.algorithm.as_str());
        self.key_call(request.key, move |client, key| async move {
            let out = client
                .decrypt()
                .key_id(&key)
                .ciphertext_blob(blob)
                .encryption_algorithm(algorithm)
                .send()
                .await
                .map_err(|e| sdk_error("Decrypt", &key, e))?;
            let plaintext = out.plaintext().ok_or_else(|| missing("Decrypt", "Plaintext"))?;
            Ok(Decrypted {
                plaintext: SecretBytes::new(Zeroizing::new(plaintext.as_ref().to_vec())),
                key_arn: out.key_id().ok_or_else(|| missing("Decrypt", "KeyId"))?.to_owned(),
            })
        })
    }
}
