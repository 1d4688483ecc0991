//! CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion,
//! CancelKeyDeletion, RotateKeyOnDemand, UpdateKeyDescription.

use envcrypt::kms::{CreateKeyRequest, KeyMetadata, KeySpec, KeyUsage, Origin};
use serde_json::{json, Value};

use super::context::{kms, slow, Context};
use super::members::{any_key, check_grant_tokens, key_id_or_arn, timestamp};
use super::paging::{page, paged};
use crate::decode::Input;
use crate::protocol::{self, Failure, Reply};

const KEY_USAGES: &[&str] = &["SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"];
const KEY_SPECS: &[&str] = &[
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SYMMETRIC_DEFAULT",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
    "ECC_NIST_EDWARDS25519",
];
const ORIGINS: &[&str] = &["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"];

/// `KeyMetadata` as KMS answers it.
pub(super) fn metadata_json(meta: &KeyMetadata, cx: &Context<'_>) -> Value {
    let mut value = json!({
        "AWSAccountId": cx.identity.account,
        "KeyId": meta.key_id,
        "Arn": meta.arn,
        "CreationDate": timestamp(meta.creation_date),
        "Enabled": meta.enabled(),
        "Description": meta.description,
        "KeyUsage": meta.key_usage.as_str(),
        "KeyState": meta.state.as_str(),
        "Origin": meta.origin.as_str(),
        "KeyManager": meta.key_manager.as_str(),
        "CustomerMasterKeySpec": meta.key_spec.as_str(),
        "KeySpec": meta.key_spec.as_str(),
        "MultiRegion": false,
    });
    if !meta.encryption_algorithms().is_empty() {
        value["EncryptionAlgorithms"] = json!(meta.encryption_algorithms());
    }
    if let Some(date) = meta.deletion_date {
        value["DeletionDate"] = timestamp(date);
    }
    if let Some(days) = meta.pending_deletion_window_days {
        value["PendingDeletionWindowInDays"] = json!(days);
    }
    if let Some(model) = meta.expiration_model {
        value["ExpirationModel"] = json!(model.as_str());
    }
    if let Some(date) = meta.valid_to {
        value["ValidTo"] = timestamp(date);
    }
    if !meta.signing_algorithms().is_empty() {
        value["SigningAlgorithms"] = json!(meta.signing_algorithms());
    }
    if !meta.mac_algorithms().is_empty() {
        value["MacAlgorithms"] = json!(meta.mac_algorithms());
    }
    value
}

fn unsupported(what: &str) -> Failure {
    Failure::client("UnsupportedOperationException", format!("{what} is not supported by envcrypt serve yet"))
}

pub(super) async fn create_key(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let policy = input.optional_string("Policy", 1, 131_072)?;
    let description = input.optional_string("Description", 0, 8192)?.unwrap_or("");
    let usage = input.enumerated("KeyUsage", KEY_USAGES)?;
    let spec = input.enumerated("KeySpec", KEY_SPECS)?.or(input.enumerated("CustomerMasterKeySpec", KEY_SPECS)?);
    let origin = input.enumerated("Origin", ORIGINS)?;
    let bypass = input.boolean("BypassPolicyLockoutSafetyCheck")?.unwrap_or(false);
    let usage =
        usage.map(|u| KeyUsage::from_name(u).ok_or_else(|| unsupported(&format!("KeyUsage {u}")))).transpose()?;
    let spec = spec.map(|s| KeySpec::from_name(s).ok_or_else(|| unsupported(&format!("KeySpec {s}")))).transpose()?;
    if input.boolean("MultiRegion")? == Some(true) {
        return Err(unsupported("a multi-Region key"));
    }
    if input.string("CustomKeyStoreId")?.is_some() || input.string("XksKeyId")?.is_some() {
        return Err(unsupported("a custom key store"));
    }
    let tags = super::tags::tags(input)?;
    let mut request = CreateKeyRequest::new(description).tags(&tags);
    if spec.is_some() || usage.is_some() {
        request = request.kind(spec.unwrap_or(KeySpec::SymmetricDefault), usage);
    }
    if let Some(origin) = origin {
        request = request.origin(Origin::from_name(origin).ok_or_else(|| unsupported(&format!("Origin {origin}")))?);
    }
    if let Some(policy) = policy {
        request = request.policy(policy, bypass);
    }
    let admin = cx.admin("CreateKey")?;
    // The local store makes the key pair within the call; AWS KMS's future only waits.
    let created = if spec.is_some_and(KeySpec::is_key_pair) {
        let pending = slow(|| admin.create_key_with(request));
        pending.await
    } else {
        admin.create_key_with(request).await
    }
    .map_err(kms)?;
    Ok(Reply::Json(json!({ "KeyMetadata": metadata_json(&created, cx) })))
}

pub(super) async fn describe_key(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = any_key(input, "KeyId")?;
    check_grant_tokens(input)?;
    let meta = cx.admin("DescribeKey")?.describe_key(&key).await.map_err(kms)?;
    Ok(Reply::Json(json!({ "KeyMetadata": metadata_json(&meta, cx) })))
}

pub(super) async fn list_keys(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let keys = cx.admin("ListKeys")?.list_keys().await.map_err(kms)?;
    let (keys, next) = page(input, keys, 100, 1000)?;
    let entries: Vec<Value> = keys.iter().map(|k| json!({ "KeyId": k.key_id, "KeyArn": k.arn })).collect();
    Ok(Reply::Json(paged(json!({ "Keys": entries }), next)))
}

pub(super) async fn enable_key(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    cx.admin("EnableKey")?.enable_key(&key).await.map_err(kms)?;
    Ok(protocol::empty())
}

pub(super) async fn disable_key(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    cx.admin("DisableKey")?.disable_key(&key).await.map_err(kms)?;
    Ok(protocol::empty())
}

pub(super) async fn schedule_key_deletion(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let days = input.integer("PendingWindowInDays", 1, 365)?.unwrap_or(30);
    let days = u32::try_from(days).unwrap_or(30);
    let meta = cx.admin("ScheduleKeyDeletion")?.schedule_key_deletion(&key, days).await.map_err(kms)?;
    let mut body = json!({ "KeyId": meta.arn, "KeyState": meta.state.as_str(), "PendingWindowInDays": days });
    if let Some(date) = meta.deletion_date {
        body["DeletionDate"] = timestamp(date);
    }
    Ok(Reply::Json(body))
}

pub(super) async fn cancel_key_deletion(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let meta = cx.admin("CancelKeyDeletion")?.cancel_key_deletion(&key).await.map_err(kms)?;
    Ok(Reply::Json(json!({ "KeyId": meta.arn })))
}

pub(super) async fn rotate_key_on_demand(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let meta = cx.admin("RotateKeyOnDemand")?.rotate_key(&key).await.map_err(kms)?;
    Ok(Reply::Json(json!({ "KeyId": meta.arn })))
}

pub(super) async fn update_key_description(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let description = input.required_string("Description", 0, 8192)?;
    cx.admin("UpdateKeyDescription")?.update_key_description(&key, description).await.map_err(kms)?;
    Ok(protocol::empty())
}
