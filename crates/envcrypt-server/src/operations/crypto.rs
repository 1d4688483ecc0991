//! GenerateDataKey, GenerateDataKeyWithoutPlaintext, Encrypt, Decrypt, ReEncrypt,
//! GenerateRandom. Plaintexts travel only in wiped buffers (`Reply::Secret`).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use envcrypt::kms::{
    DataKeySpec, DryRun, EncryptionContext, ReEncryptRequest, RsaEncryptionAlgorithm, RsaEncryptionRequest, Sealing,
};
use serde_json::json;
use zeroize::Zeroizing;

use super::context::{kms, Context};
use super::members::{any_key, check_grant_tokens, dry_run_succeeded, is_dry_run};
use crate::decode::Input;
use crate::protocol::{Failure, PlaintextResponse, Reply};

const SYMMETRIC_DEFAULT: &str = "SYMMETRIC_DEFAULT";
const ENCRYPTION_ALGORITHMS: &[&str] = &["SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"];
/// The largest ciphertext blob KMS accepts.
const MAX_CIPHERTEXT: usize = 6144;

/// `EncryptionAlgorithm` of Encrypt and Decrypt: `None` for `SYMMETRIC_DEFAULT` (a symmetric
/// key), an RSAES-OAEP algorithm for an RSA key.
fn rsa_algorithm(input: &Input, context: &EncryptionContext) -> Result<Option<RsaEncryptionAlgorithm>, Failure> {
    let algorithm = match input.enumerated("EncryptionAlgorithm", ENCRYPTION_ALGORITHMS)? {
        None | Some(SYMMETRIC_DEFAULT) => return Ok(None),
        Some(name) => RsaEncryptionAlgorithm::from_name(name).ok_or_else(|| {
            Failure::client("InvalidKeyUsageException", format!("{name} is not supported by envcrypt serve"))
        })?,
    };
    if !context.is_empty() {
        return Err(Failure::validation(format!(
            "{algorithm} takes no encryption context: only symmetric encryption keys do"
        )));
    }
    Ok(Some(algorithm))
}

/// `EncryptionAlgorithm`-like members: symmetric keys take only `SYMMETRIC_DEFAULT`.
fn check_algorithm(input: &Input, member: &'static str) -> Result<(), Failure> {
    match input.enumerated(member, ENCRYPTION_ALGORITHMS)? {
        None | Some(SYMMETRIC_DEFAULT) => Ok(()),
        Some(other) => Err(Failure::client(
            "InvalidKeyUsageException",
            format!("{other} is not a valid encryption algorithm for a symmetric encryption key"),
        )),
    }
}

/// Answers a request sent with `DryRun`: the key service checks it without carrying it out.
pub(super) async fn dry_run(cx: &Context<'_>, request: DryRun<'_>) -> Result<Reply, Failure> {
    cx.service.dry_run(request).await.map_err(kms)?;
    Err(dry_run_succeeded())
}

fn no_recipient(input: &Input) -> Result<(), Failure> {
    match input.structure("Recipient")? {
        Some(_) => Err(Failure::client(
            "UnsupportedOperationException",
            "Recipient (a Nitro Enclaves attestation) is not supported by envcrypt serve",
        )),
        None => Ok(()),
    }
}

fn data_key_spec(input: &Input) -> Result<DataKeySpec, Failure> {
    let bytes = input.integer("NumberOfBytes", 1, 1024)?;
    let spec = input.enumerated("KeySpec", &["AES_256", "AES_128"])?;
    match (spec, bytes) {
        (Some("AES_256"), None) => Ok(DataKeySpec::Aes256),
        (Some(_), None) => Ok(DataKeySpec::Aes128),
        (None, Some(n)) => Ok(DataKeySpec::Bytes(u16::try_from(n).unwrap_or(1024))),
        _ => Err(Failure::validation("Please specify either number of bytes or key spec.")),
    }
}

pub(super) async fn generate_data_key(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = any_key(input, "KeyId")?;
    let context = input.context("EncryptionContext")?;
    let spec = data_key_spec(input)?;
    check_grant_tokens(input)?;
    no_recipient(input)?;
    if is_dry_run(input)? {
        return dry_run(cx, DryRun::Seal { operation: Sealing::GenerateDataKey, key: &key, context: &context }).await;
    }
    let data_key = cx.service.generate_data_key(&key, spec, &context).await.map_err(kms)?;
    let plaintext = Zeroizing::new(B64.encode(data_key.plaintext.expose_secret()));
    Ok(Reply::secret(&PlaintextResponse {
        ciphertext_blob: Some(B64.encode(&data_key.ciphertext_blob)),
        plaintext: &plaintext,
        key_id: Some(&data_key.key_arn),
        encryption_algorithm: None,
    }))
}

pub(super) async fn generate_data_key_without_plaintext(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = any_key(input, "KeyId")?;
    let context = input.context("EncryptionContext")?;
    let spec = data_key_spec(input)?;
    check_grant_tokens(input)?;
    if is_dry_run(input)? {
        let operation = Sealing::GenerateDataKeyWithoutPlaintext;
        return dry_run(cx, DryRun::Seal { operation, key: &key, context: &context }).await;
    }
    let sealed = cx.service.generate_data_key_without_plaintext(&key, spec, &context).await.map_err(kms)?;
    Ok(Reply::Json(json!({ "CiphertextBlob": B64.encode(&sealed.blob), "KeyId": sealed.key_arn })))
}

pub(super) async fn encrypt(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = any_key(input, "KeyId")?;
    let plaintext = input.required_blob("Plaintext", 1, 4096)?;
    let context = input.context("EncryptionContext")?;
    check_grant_tokens(input)?;
    if let Some(algorithm) = rsa_algorithm(input, &context)? {
        let request = RsaEncryptionRequest { key: &key, data: &plaintext, algorithm };
        if is_dry_run(input)? {
            return dry_run(cx, DryRun::RsaEncrypt(request)).await;
        }
        let sealed = cx.rsa_encryption("Encrypt")?.encrypt_rsa(request).await.map_err(kms)?;
        return Ok(Reply::Json(json!({
            "CiphertextBlob": B64.encode(&sealed.blob),
            "KeyId": sealed.key_arn,
            "EncryptionAlgorithm": algorithm.as_str(),
        })));
    }
    if is_dry_run(input)? {
        return dry_run(cx, DryRun::Seal { operation: Sealing::Encrypt, key: &key, context: &context }).await;
    }
    let sealed = cx.service.encrypt(&key, &plaintext, &context).await.map_err(kms)?;
    Ok(Reply::Json(json!({
        "CiphertextBlob": B64.encode(&sealed.blob),
        "KeyId": sealed.key_arn,
        "EncryptionAlgorithm": SYMMETRIC_DEFAULT,
    })))
}

pub(super) async fn decrypt(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let blob = input.required_blob("CiphertextBlob", 1, MAX_CIPHERTEXT)?;
    let context = input.context("EncryptionContext")?;
    let key = match input.string("KeyId")? {
        Some(_) => Some(any_key(input, "KeyId")?),
        None => None,
    };
    check_grant_tokens(input)?;
    no_recipient(input)?;
    if let Some(algorithm) = rsa_algorithm(input, &context)? {
        let key = key.ok_or_else(|| Failure::validation(format!("Decrypt with {algorithm} needs the KeyId")))?;
        let request = RsaEncryptionRequest { key: &key, data: &blob, algorithm };
        if is_dry_run(input)? {
            return dry_run(cx, DryRun::RsaDecrypt(request)).await;
        }
        let opened = cx.rsa_encryption("Decrypt")?.decrypt_rsa(request).await.map_err(kms)?;
        let plaintext = Zeroizing::new(B64.encode(opened.plaintext.expose_secret()));
        return Ok(Reply::secret(&PlaintextResponse {
            ciphertext_blob: None,
            plaintext: &plaintext,
            key_id: Some(&opened.key_arn),
            encryption_algorithm: Some(algorithm.as_str()),
        }));
    }
    if is_dry_run(input)? {
        return dry_run(cx, DryRun::Decrypt { blob: &blob, context: &context, expected_key: key.as_ref() }).await;
    }
    let opened = cx.service.decrypt(&blob, &context, key.as_ref()).await.map_err(kms)?;
    let plaintext = Zeroizing::new(B64.encode(opened.plaintext.expose_secret()));
    Ok(Reply::secret(&PlaintextResponse {
        ciphertext_blob: None,
        plaintext: &plaintext,
        key_id: Some(&opened.key_arn),
        encryption_algorithm: Some(SYMMETRIC_DEFAULT),
    }))
}

pub(super) async fn re_encrypt(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let blob = input.required_blob("CiphertextBlob", 1, MAX_CIPHERTEXT)?;
    let source_context = input.context("SourceEncryptionContext")?;
    let source_key = match input.string("SourceKeyId")? {
        Some(_) => Some(any_key(input, "SourceKeyId")?),
        None => None,
    };
    let destination_key = any_key(input, "DestinationKeyId")?;
    let destination_context = input.context("DestinationEncryptionContext")?;
    check_algorithm(input, "SourceEncryptionAlgorithm")?;
    check_algorithm(input, "DestinationEncryptionAlgorithm")?;
    check_grant_tokens(input)?;
    let request = ReEncryptRequest {
        blob: &blob,
        source_context: &source_context,
        source_key: source_key.as_ref(),
        destination_key: &destination_key,
        destination_context: &destination_context,
    };
    if is_dry_run(input)? {
        return dry_run(cx, DryRun::ReEncrypt(request)).await;
    }
    let moved = cx.service.re_encrypt(request).await.map_err(kms)?;
    Ok(Reply::Json(json!({
        "CiphertextBlob": B64.encode(&moved.blob),
        "SourceKeyId": moved.source_key_arn,
        "KeyId": moved.key_arn,
        "SourceEncryptionAlgorithm": SYMMETRIC_DEFAULT,
        "DestinationEncryptionAlgorithm": SYMMETRIC_DEFAULT,
    })))
}

/// GenerateRandom: bytes from the system RNG; no key is involved.
pub(super) async fn generate_random(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let count =
        input.integer("NumberOfBytes", 1, 1024)?.ok_or_else(|| Failure::validation("NumberOfBytes is required."))?;
    if input.string("CustomKeyStoreId")?.is_some() {
        return Err(Failure::client("UnsupportedOperationException", "custom key stores are not supported"));
    }
    no_recipient(input)?;
    let bytes = cx.service.generate_random(usize::try_from(count).unwrap_or(1024)).await.map_err(kms)?;
    let plaintext = Zeroizing::new(B64.encode(bytes.expose_secret()));
    Ok(Reply::secret(&PlaintextResponse {
        ciphertext_blob: None,
        plaintext: &plaintext,
        key_id: None,
        encryption_algorithm: None,
    }))
}
