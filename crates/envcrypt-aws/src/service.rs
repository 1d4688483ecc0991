//! The cryptographic operations on AWS KMS: GenerateDataKey, Encrypt, Decrypt, ReEncrypt.

use aws_sdk_kms::primitives::Blob;
use envcrypt::kms::{
    Arn, Ciphertext, DataKey, DataKeyPairs, DataKeySpec, Decrypted, DryRun, EncryptionContext, KeyAdmin, KeyGovernance,
    KeyImport, KeyMacs, KeyRef, KeyRotation, KeyService, KeySigning, KeyTagging, KmsError, KmsFuture, ReEncryptRequest,
    ReEncrypted, RsaEncryption, SecretBytes,
};
use zeroize::Zeroizing;

use crate::context_map;
use crate::dry_run::DryRunOwned;
use crate::errors::{missing, sdk_error};
use crate::{AwsKmsService, PROVIDER_ID};

fn blob(bytes: Option<&Blob>, operation: &'static str, field: &'static str) -> Result<Vec<u8>, KmsError> {
    bytes.map(|b| b.as_ref().to_vec()).ok_or_else(|| missing(operation, field))
}

fn key_arn(id: Option<&str>, operation: &'static str) -> Result<String, KmsError> {
    id.map(str::to_owned).ok_or_else(|| missing(operation, "KeyId"))
}

impl KeyService for AwsKmsService {
    fn provider_id(&self) -> &str {
        PROVIDER_ID
    }

    fn generate_data_key<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, DataKey> {
        let request = spec_request(self.client.generate_data_key().key_id(key.to_string()), spec)
            .set_encryption_context(context_map(context));
        let key = key.to_string();
        self.spawn(async move {
            let out = request.send().await.map_err(|e| sdk_error("GenerateDataKey", &key, e))?;
            Ok(DataKey {
                plaintext: SecretBytes::new(Zeroizing::new(blob(out.plaintext(), "GenerateDataKey", "Plaintext")?)),
                ciphertext_blob: blob(out.ciphertext_blob(), "GenerateDataKey", "CiphertextBlob")?,
                key_arn: key_arn(out.key_id(), "GenerateDataKey")?,
            })
        })
    }

    fn generate_data_key_without_plaintext<'a>(
        &'a self,
        key: &'a KeyRef,
        spec: DataKeySpec,
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        let builder = self.client.generate_data_key_without_plaintext().key_id(key.to_string());
        let request = match spec {
            DataKeySpec::Aes256 => builder.key_spec(aws_sdk_kms::types::DataKeySpec::Aes256),
            DataKeySpec::Aes128 => builder.key_spec(aws_sdk_kms::types::DataKeySpec::Aes128),
            DataKeySpec::Bytes(n) => builder.number_of_bytes(i32::from(n)),
        }
        .set_encryption_context(context_map(context));
        let key = key.to_string();
        self.spawn(async move {
            let op = "GenerateDataKeyWithoutPlaintext";
            let out = request.send().await.map_err(|e| sdk_error(op, &key, e))?;
            Ok(Ciphertext {
                blob: blob(out.ciphertext_blob(), op, "CiphertextBlob")?,
                key_arn: key_arn(out.key_id(), op)?,
            })
        })
    }

    fn encrypt<'a>(
        &'a self,
        key: &'a KeyRef,
        plaintext: &'a [u8],
        context: &'a EncryptionContext,
    ) -> KmsFuture<'a, Ciphertext> {
        let request = self
            .client
            .encrypt()
            .key_id(key.to_string())
            .plaintext(Blob::new(plaintext.to_vec()))
            .set_encryption_context(context_map(context));
        let key = key.to_string();
        self.spawn(async move {
            let out = request.send().await.map_err(|e| sdk_error("Encrypt", &key, e))?;
            Ok(Ciphertext {
                blob: blob(out.ciphertext_blob(), "Encrypt", "CiphertextBlob")?,
                key_arn: key_arn(out.key_id(), "Encrypt")?,
            })
        })
    }

    fn decrypt<'a>(
        &'a self,
        ciphertext: &'a [u8],
        context: &'a EncryptionContext,
        expected_key: Option<&'a KeyRef>,
    ) -> KmsFuture<'a, Decrypted> {
        let request = self
            .client
            .decrypt()
            .ciphertext_blob(Blob::new(ciphertext.to_vec()))
            .set_encryption_context(context_map(context))
            .set_key_id(expected_key.map(ToString::to_string));
        let key = expected_key.map_or_else(|| "(named by the ciphertext)".to_owned(), ToString::to_string);
        self.spawn(async move {
            let out = request.send().await.map_err(|e| sdk_error("Decrypt", &key, e))?;
            Ok(Decrypted {
                plaintext: SecretBytes::new(Zeroizing::new(blob(out.plaintext(), "Decrypt", "Plaintext")?)),
                key_arn: key_arn(out.key_id(), "Decrypt")?,
            })
        })
    }

    fn re_encrypt<'a>(&'a self, request: ReEncryptRequest<'a>) -> KmsFuture<'a, ReEncrypted> {
        let call = self
            .client
            .re_encrypt()
            .ciphertext_blob(Blob::new(request.blob.to_vec()))
            .set_source_encryption_context(context_map(request.source_context))
            .set_source_key_id(request.source_key.map(ToString::to_string))
            .destination_key_id(request.destination_key.to_string())
            .set_destination_encryption_context(context_map(request.destination_context));
        let key = request.destination_key.to_string();
        self.spawn(async move {
            let out = call.send().await.map_err(|e| sdk_error("ReEncrypt", &key, e))?;
            Ok(ReEncrypted {
                blob: blob(out.ciphertext_blob(), "ReEncrypt", "CiphertextBlob")?,
                key_arn: key_arn(out.key_id(), "ReEncrypt")?,
                source_key_arn: key_arn(out.source_key_id(), "ReEncrypt")?,
            })
        })
    }

    fn generate_random(&self, number_of_bytes: usize) -> KmsFuture<'_, SecretBytes> {
        let count = i32::try_from(number_of_bytes).unwrap_or(i32::MAX);
        let call = self.client.generate_random().number_of_bytes(count);
        self.spawn(async move {
            let out = call.send().await.map_err(|e| sdk_error("GenerateRandom", "", e))?;
            let plaintext = out.plaintext().ok_or_else(|| missing("GenerateRandom", "Plaintext"))?;
            Ok(SecretBytes::from_slice(plaintext.as_ref()))
        })
    }

    fn dry_run<'a>(&'a self, request: DryRun<'a>) -> KmsFuture<'a, ()> {
        match request {
            DryRun::Seal { .. } | DryRun::Decrypt { .. } | DryRun::ReEncrypt(_) => {
                let client = self.client.clone();
                self.spawn(Self::dry_run_call(client, DryRunOwned::from(request)))
            }
            _ => self.dry_run_key_pair(request),
        }
    }

    fn owns(&self, arn: &Arn) -> bool {
        Self::is_aws_arn(arn)
    }

    fn admin(&self) -> Option<&dyn KeyAdmin> {
        Some(self)
    }

    fn governance(&self) -> Option<&dyn KeyGovernance> {
        Some(self)
    }

    fn rotation(&self) -> Option<&dyn KeyRotation> {
        Some(self)
    }

    fn import(&self) -> Option<&dyn KeyImport> {
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

    fn data_key_pairs(&self) -> Option<&dyn DataKeyPairs> {
        Some(self)
    }

    fn rsa_encryption(&self) -> Option<&dyn RsaEncryption> {
        Some(self)
    }
}

fn spec_request(
    builder: aws_sdk_kms::operation::generate_data_key::builders::GenerateDataKeyFluentBuilder,
    spec: DataKeySpec,
) -> aws_sdk_kms::operation::generate_data_key::builders::GenerateDataKeyFluentBuilder {
    match spec {
        DataKeySpec::Aes256 => builder.key_spec(aws_sdk_kms::types::DataKeySpec::Aes256),
        DataKeySpec::Aes128 => builder.key_spec(aws_sdk_kms::types::DataKeySpec::Aes128),
        DataKeySpec::Bytes(n) => builder.number_of_bytes(i32::from(n)),
    }
}
