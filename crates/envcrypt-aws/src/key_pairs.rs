//! Asymmetric and HMAC keys on AWS KMS: the [`KeySigning`], [`KeyMacs`], [`RsaEncryption`] and
//! [`DataKeyPairs`] calls, passed through, and their DryRuns. Each request is built once
//! (`*_call`), then sent as it is or with `DryRun`.

use aws_sdk_kms::operation::decrypt::builders::DecryptFluentBuilder;
use aws_sdk_kms::operation::encrypt::builders::EncryptFluentBuilder;
use aws_sdk_kms::operation::generate_data_key_pair::builders::GenerateDataKeyPairFluentBuilder;
use aws_sdk_kms::operation::generate_data_key_pair_without_plaintext::builders::GenerateDataKeyPairWithoutPlaintextFluentBuilder;
use aws_sdk_kms::operation::generate_mac::builders::GenerateMacFluentBuilder;
use aws_sdk_kms::operation::sign::builders::SignFluentBuilder;
use aws_sdk_kms::operation::verify::builders::VerifyFluentBuilder;
use aws_sdk_kms::operation::verify_mac::builders::VerifyMacFluentBuilder;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeyPairSpec, EncryptionAlgorithmSpec, MacAlgorithmSpec, MessageType as AwsMessageType, SigningAlgorithmSpec,
};
use aws_sdk_kms::Client;
use envcrypt::kms::{
    Ciphertext, DataKeyPair, DataKeyPairs, Decrypted, DryRun, EncryptionContext, KeyMacs, KeyRef, KeySigning, KeySpec,
    KeyUsage, KmsError, KmsFuture, Mac, MacRequest, PublicKey, RsaEncryption, RsaEncryptionRequest, SecretBytes,
    SignRequest, Signature, VerifyRequest,
};
use zeroize::Zeroizing;

use crate::dry_run::would_succeed;
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

fn sign_call(client: &Client, request: &SignRequest<'_>) -> SignFluentBuilder {
    client
        .sign()
        .message(Blob::new(request.message.to_vec()))
        .message_type(AwsMessageType::from(request.message_type.as_str()))
        .signing_algorithm(SigningAlgorithmSpec::from(request.algorithm.as_str()))
}

fn verify_call(client: &Client, request: &VerifyRequest<'_>) -> VerifyFluentBuilder {
    let signed = &request.signed;
    client
        .verify()
        .message(Blob::new(signed.message.to_vec()))
        .message_type(AwsMessageType::from(signed.message_type.as_str()))
        .signature(Blob::new(request.signature.to_vec()))
        .signing_algorithm(SigningAlgorithmSpec::from(signed.algorithm.as_str()))
}

fn generate_mac_call(client: &Client, request: &MacRequest<'_>) -> GenerateMacFluentBuilder {
    client
        .generate_mac()
        .message(Blob::new(request.message.to_vec()))
        .mac_algorithm(MacAlgorithmSpec::from(request.algorithm.as_str()))
}

fn verify_mac_call(client: &Client, request: &MacRequest<'_>, mac: &[u8]) -> VerifyMacFluentBuilder {
    client
        .verify_mac()
        .message(Blob::new(request.message.to_vec()))
        .mac(Blob::new(mac.to_vec()))
        .mac_algorithm(MacAlgorithmSpec::from(request.algorithm.as_str()))
}

fn encrypt_call(client: &Client, request: &RsaEncryptionRequest<'_>) -> EncryptFluentBuilder {
    client
        .encrypt()
        .plaintext(Blob::new(request.data.to_vec()))
        .encryption_algorithm(EncryptionAlgorithmSpec::from(request.algorithm.as_str()))
}

fn decrypt_call(client: &Client, request: &RsaEncryptionRequest<'_>) -> DecryptFluentBuilder {
    client
        .decrypt()
        .ciphertext_blob(Blob::new(request.data.to_vec()))
        .encryption_algorithm(EncryptionAlgorithmSpec::from(request.algorithm.as_str()))
}

fn data_key_pair_call(client: &Client, spec: KeySpec, context: &EncryptionContext) -> GenerateDataKeyPairFluentBuilder {
    client
        .generate_data_key_pair()
        .key_pair_spec(DataKeyPairSpec::from(spec.as_str()))
        .set_encryption_context(context_map(context))
}

fn data_key_pair_without_plaintext_call(
    client: &Client,
    spec: KeySpec,
    context: &EncryptionContext,
) -> GenerateDataKeyPairWithoutPlaintextFluentBuilder {
    client
        .generate_data_key_pair_without_plaintext()
        .key_pair_spec(DataKeyPairSpec::from(spec.as_str()))
        .set_encryption_context(context_map(context))
}

/// Sends `$call` (a request built without its key) under `$key` with `DryRun`, reading KMS's
/// DryRunOperationException as "it would succeed".
macro_rules! dry_run {
    ($service:expr, $key:expr, $operation:expr, $call:expr) => {{
        let (call, operation) = ($call, $operation);
        $service.key_call($key, move |_, key| async move {
            let sent = call.key_id(&key).dry_run(true).send().await;
            would_succeed(sent.map(drop).map_err(|e| sdk_error(operation, &key, e)))
        })
    }};
}

impl AwsKmsService {
    /// DryRun of an operation of asymmetric and HMAC keys, sent to KMS.
    pub(crate) fn dry_run_key_pair<'a>(&'a self, request: DryRun<'a>) -> KmsFuture<'a, ()> {
        let (client, operation) = (&self.client, request.operation());
        match request {
            DryRun::Sign(r) => dry_run!(self, r.key, operation, sign_call(client, &r)),
            DryRun::Verify(r) => dry_run!(self, r.signed.key, operation, verify_call(client, &r)),
            DryRun::GenerateMac(r) => dry_run!(self, r.key, operation, generate_mac_call(client, &r)),
            DryRun::VerifyMac(r, mac) => dry_run!(self, r.key, operation, verify_mac_call(client, &r, mac)),
            DryRun::RsaEncrypt(r) => dry_run!(self, r.key, operation, encrypt_call(client, &r)),
            DryRun::RsaDecrypt(r) => dry_run!(self, r.key, operation, decrypt_call(client, &r)),
            DryRun::DataKeyPair { plaintext: true, key, spec, context } => {
                dry_run!(self, key, operation, data_key_pair_call(client, spec, context))
            }
            DryRun::DataKeyPair { plaintext: false, key, spec, context } => {
                dry_run!(self, key, operation, data_key_pair_without_plaintext_call(client, spec, context))
            }
            DryRun::Seal { .. } | DryRun::Decrypt { .. } | DryRun::ReEncrypt(_) => {
                unreachable!("symmetric DryRuns are sent by dry_run_call")
            }
        }
    }
}

impl KeySigning for AwsKmsService {
    fn sign<'a>(&'a self, request: SignRequest<'a>) -> KmsFuture<'a, Signature> {
        let (call, algorithm) = (sign_call(&self.client, &request), request.algorithm);
        self.key_call(request.key, move |_, key| async move {
            let out = call.key_id(&key).send().await.map_err(|e| sdk_error("Sign", &key, e))?;
            Ok(Signature {
                key_arn: out.key_id().ok_or_else(|| missing("Sign", "KeyId"))?.to_owned(),
                signature: out.signature().ok_or_else(|| missing("Sign", "Signature"))?.as_ref().to_vec(),
                algorithm,
            })
        })
    }

    fn verify<'a>(&'a self, request: VerifyRequest<'a>) -> KmsFuture<'a, String> {
        let call = verify_call(&self.client, &request);
        self.key_call(request.signed.key, move |_, key| async move {
            let out = call.key_id(&key).send().await.map_err(|e| sdk_error("Verify", &key, e))?;
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
        let (call, algorithm) = (generate_mac_call(&self.client, &request), request.algorithm);
        self.key_call(request.key, move |_, key| async move {
            let out = call.key_id(&key).send().await.map_err(|e| sdk_error("GenerateMac", &key, e))?;
            Ok(Mac {
                key_arn: out.key_id().ok_or_else(|| missing("GenerateMac", "KeyId"))?.to_owned(),
                mac: out.mac().ok_or_else(|| missing("GenerateMac", "Mac"))?.as_ref().to_vec(),
                algorithm,
            })
        })
    }

    fn verify_mac<'a>(&'a self, request: MacRequest<'a>, mac: &'a [u8]) -> KmsFuture<'a, String> {
        let call = verify_mac_call(&self.client, &request, mac);
        self.key_call(request.key, move |_, key| async move {
            let out = call.key_id(&key).send().await.map_err(|e| sdk_error("VerifyMac", &key, e))?;
            if !out.mac_valid() {
                return Err(unexpected_false("VerifyMac", "MacValid"));
            }
            Ok(out.key_id().ok_or_else(|| missing("VerifyMac", "KeyId"))?.to_owned())
        })
    }
}

/// Sends GenerateDataKeyPair or GenerateDataKeyPairWithoutPlaintext (`$call`, built without
/// its key) and reads the answer; the two differ only in the plaintext (`$plaintext`).
macro_rules! data_key_pair {
    ($service:expr, $key:expr, $spec:expr, $operation:literal, $call:expr, $plaintext:expr) => {{
        let (spec, call) = ($spec, $call);
        $service.key_call($key, move |_, key| async move {
            let out = call.key_id(&key).send().await.map_err(|e| sdk_error($operation, &key, e))?;
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
        let call = data_key_pair_call(&self.client, spec, context);
        data_key_pair!(self, key, spec, "GenerateDataKeyPair", call, plaintext)
    }

    fn generate_data_key_pair_without_plaintext<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: KeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKeyPair> {
        let plaintext = |_: &_| Ok::<_, KmsError>(None);
        let call = data_key_pair_without_plaintext_call(&self.client, spec, context);
        data_key_pair!(self, key, spec, "GenerateDataKeyPairWithoutPlaintext", call, plaintext)
    }
}

impl RsaEncryption for AwsKmsService {
    fn encrypt_rsa<'a>(&'a self, request: RsaEncryptionRequest<'a>) -> KmsFuture<'a, Ciphertext> {
        let call = encrypt_call(&self.client, &request);
        self.key_call(request.key, move |_, key| async move {
            let out = call.key_id(&key).send().await.map_err(|e| sdk_error("Encrypt", &key, e))?;
            Ok(Ciphertext {
                blob: out.ciphertext_blob().ok_or_else(|| missing("Encrypt", "CiphertextBlob"))?.as_ref().to_vec(),
                key_arn: out.key_id().ok_or_else(|| missing("Encrypt", "KeyId"))?.to_owned(),
            })
        })
    }

    fn decrypt_rsa<'a>(&'a self, request: RsaEncryptionRequest<'a>) -> KmsFuture<'a, Decrypted> {
        let call = decrypt_call(&self.client, &request);
        self.key_call(request.key, move |_, key| async move {
            let out = call.key_id(&key).send().await.map_err(|e| sdk_error("Decrypt", &key, e))?;
            let plaintext = out.plaintext().ok_or_else(|| missing("Decrypt", "Plaintext"))?;
            Ok(Decrypted {
                plaintext: SecretBytes::new(Zeroizing::new(plaintext.as_ref().to_vec())),
                key_arn: out.key_id().ok_or_else(|| missing("Decrypt", "KeyId"))?.to_owned(),
            })
        })
    }
}
