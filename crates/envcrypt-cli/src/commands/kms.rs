use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use envcrypt::kms::{DataKeySpec, ReEncryptRequest};
use serde_json::json;
use zeroize::Zeroizing;

use super::print_json;
use crate::backends::{parse_context, parse_key, Backends};
use crate::cli::{GenerateDataKeyArgs, GlobalArgs, KmsCommand};
use crate::error::CliError;

pub fn exec(command: &KmsCommand, global: &GlobalArgs) -> Result<(), CliError> {
    let backends = Backends::new(global)?;
    // The key named, if any, picks the backend; a bare Decrypt uses --backend.
    let key_arg = match command {
        KmsCommand::GenerateDataKey(args) | KmsCommand::GenerateDataKeyWithoutPlaintext(args) => Some(&args.key),
        KmsCommand::Encrypt { key, .. } => Some(key),
        KmsCommand::Decrypt { key, .. } => key.as_ref(),
        KmsCommand::ReEncrypt { destination_key, .. } => Some(destination_key),
    };
    let kind = match key_arg {
        Some(key) => backends.kind_of(&parse_key(key)?),
        None => backends.default_kind(),
    };
    let service = backends.service(kind);
    let output = match command {
        KmsCommand::GenerateDataKey(args) => {
            let (key, spec, context) = data_key_args(args)?;
            let out = service
                .generate_data_key(&key, spec, &context)
                .wait()
                .map_err(|e| CliError::kms(format!("GenerateDataKey with {key}"), &e))?;
            let plaintext = Zeroizing::new(B64.encode(out.plaintext.expose_secret()));
            return print_json(&WithPlaintext {
                ciphertext_blob: Some(B64.encode(&out.ciphertext_blob)),
                plaintext: &plaintext,
                key_id: &out.key_arn,
                encryption_algorithm: None,
            });
        }
        KmsCommand::GenerateDataKeyWithoutPlaintext(args) => {
            let (key, spec, context) = data_key_args(args)?;
            let out = service
                .generate_data_key_without_plaintext(&key, spec, &context)
                .wait()
                .map_err(|e| CliError::kms(format!("GenerateDataKeyWithoutPlaintext with {key}"), &e))?;
            json!({ "CiphertextBlob": B64.encode(&out.blob), "KeyId": out.key_arn })
        }
        KmsCommand::Encrypt { key, plaintext, context } => {
            let key = parse_key(key)?;
            let plaintext = Zeroizing::new(decode("--plaintext", plaintext)?);
            let context = parse_context(&context.context)?;
            let out = service
                .encrypt(&key, &plaintext, &context)
                .wait()
                .map_err(|e| CliError::kms(format!("Encrypt with {key}"), &e))?;
            json!({ "CiphertextBlob": B64.encode(&out.blob), "KeyId": out.key_arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT" })
        }
        KmsCommand::Decrypt { ciphertext_blob, key, context } => {
            let blob = decode("--ciphertext-blob", ciphertext_blob)?;
            let key = key.as_deref().map(parse_key).transpose()?;
            let context = parse_context(&context.context)?;
            let out =
                service.decrypt(&blob, &context, key.as_ref()).wait().map_err(|e| CliError::kms("Decrypt", &e))?;
            let plaintext = Zeroizing::new(B64.encode(out.plaintext.expose_secret()));
            return print_json(&WithPlaintext {
                ciphertext_blob: None,
                plaintext: &plaintext,
                key_id: &out.key_arn,
                encryption_algorithm: Some("SYMMETRIC_DEFAULT"),
            });
        }
        KmsCommand::ReEncrypt { ciphertext_blob, destination_key, source_key, source_context, destination_context } => {
            let blob = decode("--ciphertext-blob", ciphertext_blob)?;
            let destination_key = parse_key(destination_key)?;
            let source_key = source_key.as_deref().map(parse_key).transpose()?;
            let source_context = parse_context(source_context)?;
            let destination_context = parse_context(destination_context)?;
            let out = service
                .re_encrypt(ReEncryptRequest {
                    blob: &blob,
                    source_context: &source_context,
                    source_key: source_key.as_ref(),
                    destination_key: &destination_key,
                    destination_context: &destination_context,
                })
                .wait()
                .map_err(|e| CliError::kms(format!("ReEncrypt to {destination_key}"), &e))?;
            json!({ "CiphertextBlob": B64.encode(&out.blob), "KeyId": out.key_arn, "SourceKeyId": out.source_key_arn })
        }
    };
    print_json(&output)
}

/// A response that carries a plaintext: the plaintext is borrowed from a buffer wiped on drop,
/// never copied into a JSON value.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct WithPlaintext<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    ciphertext_blob: Option<String>,
    plaintext: &'a str,
    key_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption_algorithm: Option<&'static str>,
}

fn data_key_args(
    args: &GenerateDataKeyArgs,
) -> Result<(envcrypt::kms::KeyRef, DataKeySpec, envcrypt::kms::EncryptionContext), CliError> {
    let spec = match (args.key_spec.as_deref(), args.number_of_bytes) {
        (Some("AES_256"), None) | (None, None) => DataKeySpec::Aes256,
        (Some("AES_128"), None) => DataKeySpec::Aes128,
        (None, Some(n)) => DataKeySpec::Bytes(n),
        (Some(other), _) => return Err(CliError::usage(format!("--key-spec {other} is not AES_256 or AES_128"))),
    };
    Ok((parse_key(&args.key)?, spec, parse_context(&args.context.context)?))
}

fn decode(flag: &str, value: &str) -> Result<Vec<u8>, CliError> {
    B64.decode(value.trim()).map_err(|e| CliError::usage(format!("{flag} is not valid base64: {e}")))
}
