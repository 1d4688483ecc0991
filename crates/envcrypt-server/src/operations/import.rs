//! GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use envcrypt::kms::{ImportRequest, MaterialExpiry, WrappingAlgorithm, WrappingKeySpec};
use serde_json::json;

use super::context::{kms, slow, Context};
use super::members::{key_id_or_arn, timestamp};
use crate::decode::Input;
use crate::protocol::{self, Failure, Reply};

const ALGORITHMS: &[&str] = &[
    "RSAES_PKCS1_V1_5",
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "RSA_AES_KEY_WRAP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256",
    "SM2PKE",
];
const WRAPPING_KEY_SPECS: &[&str] = &["RSA_2048", "RSA_3072", "RSA_4096", "SM2"];
const EXPIRATION_MODELS: &[&str] = &["KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE"];
/// The largest `ImportToken` and `EncryptedKeyMaterial` KMS takes.
const MAX_CIPHERTEXT: usize = 6144;

fn unsupported(what: &str) -> Failure {
    Failure::client("UnsupportedOperationException", format!("{what} is not supported"))
}

pub(super) async fn get_parameters_for_import(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let algorithm = input.required_enumerated("WrappingAlgorithm", ALGORITHMS)?;
    let spec = input.required_enumerated("WrappingKeySpec", WRAPPING_KEY_SPECS)?;
    let algorithm = WrappingAlgorithm::from_name(algorithm)
        .ok_or_else(|| unsupported(&format!("The wrapping algorithm {algorithm}")))?;
    let spec = WrappingKeySpec::from_name(spec).ok_or_else(|| unsupported(&format!("The wrapping key spec {spec}")))?;
    let import = cx.import("GetParametersForImport")?;
    // The local store makes the RSA wrapping key within the call.
    let pending = slow(|| import.get_parameters_for_import(&key, algorithm, spec));
    let parameters = pending.await.map_err(kms)?;
    Ok(Reply::Json(json!({
        "KeyId": parameters.key_arn,
        "ImportToken": B64.encode(&parameters.import_token),
        "PublicKey": B64.encode(&parameters.public_key),
        "ParametersValidTo": timestamp(parameters.parameters_valid_to),
    })))
}

pub(super) async fn import_key_material(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let token = input.required_blob("ImportToken", 1, MAX_CIPHERTEXT)?;
    let material = input.required_blob("EncryptedKeyMaterial", 1, MAX_CIPHERTEXT)?;
    let model = input.enumerated("ExpirationModel", EXPIRATION_MODELS)?.unwrap_or("KEY_MATERIAL_EXPIRES");
    let valid_to = input.timestamp("ValidTo")?;
    let expiry = match (model, valid_to) {
        ("KEY_MATERIAL_EXPIRES", Some(date)) => MaterialExpiry::At(date),
        ("KEY_MATERIAL_EXPIRES", None) => {
            return Err(Failure::validation(
                "A ValidTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
            ))
        }
        (_, None) => MaterialExpiry::Never,
        (_, Some(_)) => {
            return Err(Failure::validation(
                "A ValidTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE",
            ))
        }
    };
    let request = ImportRequest { key: &key, encrypted_key_material: &material, import_token: &token, expiry };
    cx.import("ImportKeyMaterial")?.import_key_material(request).await.map_err(kms)?;
    Ok(protocol::empty())
}

pub(super) async fn delete_imported_key_material(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    cx.import("DeleteImportedKeyMaterial")?.delete_imported_key_material(&key).await.map_err(kms)?;
    Ok(protocol::empty())
}
