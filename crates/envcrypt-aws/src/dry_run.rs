//! DryRun on AWS KMS: each operation sent with `DryRun`, KMS's `DryRunOperationException`
//! read as "it would succeed".

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec as AwsDataKeySpec;
use envcrypt::kms::{DryRun, KmsError, Sealing};

use crate::errors::sdk_error;
use crate::{context_map, AwsKmsService};

/// `Ok` for the DryRunOperationException a DryRun answers when the call would succeed.
pub(crate) fn would_succeed(result: Result<(), KmsError>) -> Result<(), KmsError> {
    match result {
        Err(e) if e.kms_name() == "DryRunOperationException" => Ok(()),
        Ok(()) => Err(KmsError::Service {
            name: "KMSInternalException".into(),
            message: "AWS KMS carried out a request sent with DryRun".into(),
        }),
        Err(e) => Err(e),
    }
}

impl AwsKmsService {
    pub(crate) async fn dry_run_call(client: aws_sdk_kms::Client, request: DryRunOwned) -> Result<(), KmsError> {
        let result = match request {
            DryRunOwned::Seal { operation: Sealing::Encrypt, key, context } => client
                .encrypt()
                .key_id(&key)
                .plaintext(Blob::new(vec![0]))
                .set_encryption_context(context)
                .dry_run(true)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("Encrypt", &key, e)),
            DryRunOwned::Seal { operation: Sealing::GenerateDataKey, key, context } => client
                .generate_data_key()
                .key_id(&key)
                .key_spec(AwsDataKeySpec::Aes256)
                .set_encryption_context(context)
                .dry_run(true)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("GenerateDataKey", &key, e)),
            DryRunOwned::Seal { operation: Sealing::GenerateDataKeyWithoutPlaintext, key, context } => client
                .generate_data_key_without_plaintext()
                .key_id(&key)
                .key_spec(AwsDataKeySpec::Aes256)
                .set_encryption_context(context)
                .dry_run(true)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("GenerateDataKeyWithoutPlaintext", &key, e)),
            DryRunOwned::Decrypt { blob, context, key } => client
                .decrypt()
                .ciphertext_blob(Blob::new(blob))
                .set_encryption_context(context)
                .set_key_id(key.clone())
                .dry_run(true)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("Decrypt", key.as_deref().unwrap_or_default(), e)),
            DryRunOwned::ReEncrypt { blob, source_context, source_key, destination_key, destination_context } => client
                .re_encrypt()
                .ciphertext_blob(Blob::new(blob))
                .set_source_encryption_context(source_context)
                .set_source_key_id(source_key)
                .destination_key_id(&destination_key)
                .set_destination_encryption_context(destination_context)
                .dry_run(true)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("ReEncrypt", &destination_key, e)),
        };
        would_succeed(result)
    }
}

/// A [`DryRun`] with its parts owned, to send from the client's runtime.
pub(crate) enum DryRunOwned {
    Seal {
        operation: Sealing,
        key: String,
        context: Option<std::collections::HashMap<String, String>>,
    },
    Decrypt {
        blob: Vec<u8>,
        context: Option<std::collections::HashMap<String, String>>,
        key: Option<String>,
    },
    ReEncrypt {
        blob: Vec<u8>,
        source_context: Option<std::collections::HashMap<String, String>>,
        source_key: Option<String>,
        destination_key: String,
        destination_context: Option<std::collections::HashMap<String, String>>,
    },
}

impl From<DryRun<'_>> for DryRunOwned {
    fn from(request: DryRun<'_>) -> Self {
        match request {
            DryRun::Seal { operation, key, context } => {
                Self::Seal { operation, key: key.to_string(), context: context_map(context) }
            }
            DryRun::Decrypt { blob, context, expected_key } => Self::Decrypt {
                blob: blob.to_vec(),
                context: context_map(context),
                key: expected_key.map(ToString::to_string),
            },
            DryRun::ReEncrypt(r) => Self::ReEncrypt {
                blob: r.blob.to_vec(),
                source_context: context_map(r.source_context),
                source_key: r.source_key.map(ToString::to_string),
                destination_key: r.destination_key.to_string(),
                destination_context: context_map(r.destination_context),
            },
            other => unreachable!("{} is sent by dry_run_key_pair", other.operation()),
        }
    }
}
