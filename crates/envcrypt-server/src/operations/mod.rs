//! The KMS operations: each decodes its members from the request body, calls the key service
//! as the caller, and encodes the answer in KMS's response shape. One file per family.
//!
//! Responses carry full key ARNs in the served partition, region and account (the Encryption
//! SDKs require them); `KeyMetadata.KeyId` and list entries carry the bare key id, as in KMS.
//! Requests accept key ids, key ARNs, alias names and alias ARNs exactly where KMS does: the
//! cryptographic operations and DescribeKey take all four, key management only ids and ARNs.

mod aliases;
mod context;
mod crypto;
mod grants;
mod import;
mod key_pairs;
mod keys;
mod members;
mod paging;
mod policies;
mod rotation;
mod tags;

pub use context::Context;

use crate::decode::Input;
use crate::protocol::{Failure, Reply};

/// Every operation served, by its `X-Amz-Target` name.
pub const NAMES: &[&str] = &[
    "CancelKeyDeletion",
    "CreateAlias",
    "CreateGrant",
    "CreateKey",
    "Decrypt",
    "DeleteAlias",
    "DeleteImportedKeyMaterial",
    "DescribeKey",
    "DisableKey",
    "DisableKeyRotation",
    "EnableKey",
    "EnableKeyRotation",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GenerateRandom",
    "GetPublicKey",
    "GetKeyPolicy",
    "GetKeyRotationStatus",
    "GetParametersForImport",
    "ImportKeyMaterial",
    "ListAliases",
    "ListGrants",
    "ListKeyPolicies",
    "ListKeyRotations",
    "ListKeys",
    "ListResourceTags",
    "PutKeyPolicy",
    "ReEncrypt",
    "RetireGrant",
    "RevokeGrant",
    "RotateKeyOnDemand",
    "ScheduleKeyDeletion",
    "Sign",
    "TagResource",
    "UntagResource",
    "UpdateAlias",
    "UpdateKeyDescription",
    "Verify",
    "VerifyMac",
];

/// The prefix of `X-Amz-Target`.
const TARGET_PREFIX: &str = "TrentService.";

/// The operation an `X-Amz-Target` names, or `UnknownOperationException`.
pub fn from_target(target: Option<&str>) -> Result<&'static str, Failure> {
    let name = target.and_then(|t| t.strip_prefix(TARGET_PREFIX)).ok_or_else(Failure::unknown_operation)?;
    NAMES.iter().copied().find(|n| *n == name).ok_or_else(Failure::unknown_operation)
}

/// Runs `operation` (one of [`NAMES`]) with the members of `input`.
pub async fn run(operation: &str, input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    match operation {
        "CreateKey" => keys::create_key(input, cx).await,
        "DescribeKey" => keys::describe_key(input, cx).await,
        "ListKeys" => keys::list_keys(input, cx).await,
        "EnableKey" => keys::enable_key(input, cx).await,
        "DisableKey" => keys::disable_key(input, cx).await,
        "ScheduleKeyDeletion" => keys::schedule_key_deletion(input, cx).await,
        "CancelKeyDeletion" => keys::cancel_key_deletion(input, cx).await,
        "RotateKeyOnDemand" => keys::rotate_key_on_demand(input, cx).await,
        "EnableKeyRotation" => rotation::enable_key_rotation(input, cx).await,
        "DisableKeyRotation" => rotation::disable_key_rotation(input, cx).await,
        "GetKeyRotationStatus" => rotation::get_key_rotation_status(input, cx).await,
        "ListKeyRotations" => rotation::list_key_rotations(input, cx).await,
        "GetParametersForImport" => import::get_parameters_for_import(input, cx).await,
        "ImportKeyMaterial" => import::import_key_material(input, cx).await,
        "DeleteImportedKeyMaterial" => import::delete_imported_key_material(input, cx).await,
        "TagResource" => tags::tag_resource(input, cx).await,
        "UntagResource" => tags::untag_resource(input, cx).await,
        "ListResourceTags" => tags::list_resource_tags(input, cx).await,
        "UpdateKeyDescription" => keys::update_key_description(input, cx).await,
        "CreateAlias" => aliases::create_alias(input, cx).await,
        "UpdateAlias" => aliases::update_alias(input, cx).await,
        "DeleteAlias" => aliases::delete_alias(input, cx).await,
        "ListAliases" => aliases::list_aliases(input, cx).await,
        "GenerateDataKey" => crypto::generate_data_key(input, cx).await,
        "GenerateDataKeyWithoutPlaintext" => crypto::generate_data_key_without_plaintext(input, cx).await,
        "Encrypt" => crypto::encrypt(input, cx).await,
        "Decrypt" => crypto::decrypt(input, cx).await,
        "ReEncrypt" => crypto::re_encrypt(input, cx).await,
        "GenerateRandom" => crypto::generate_random(input, cx).await,
        "GenerateDataKeyPair" => key_pairs::generate_data_key_pair(input, cx).await,
        "GenerateDataKeyPairWithoutPlaintext" => key_pairs::generate_data_key_pair_without_plaintext(input, cx).await,
        "Sign" => key_pairs::sign(input, cx).await,
        "Verify" => key_pairs::verify(input, cx).await,
        "GetPublicKey" => key_pairs::get_public_key(input, cx).await,
        "GenerateMac" => key_pairs::generate_mac(input, cx).await,
        "VerifyMac" => key_pairs::verify_mac(input, cx).await,
        "GetKeyPolicy" => policies::get_key_policy(input, cx).await,
        "PutKeyPolicy" => policies::put_key_policy(input, cx).await,
        "ListKeyPolicies" => policies::list_key_policies(input, cx).await,
        "CreateGrant" => grants::create_grant(input, cx).await,
        "ListGrants" => grants::list_grants(input, cx).await,
        "RetireGrant" => grants::retire_grant(input, cx).await,
        "RevokeGrant" => grants::revoke_grant(input, cx).await,
        _ => Err(Failure::unknown_operation()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_an_operation_of_the_kms_api() {
        assert_eq!(from_target(Some("TrentService.Decrypt")).unwrap(), "Decrypt");
        for bad in [None, Some("Decrypt"), Some("TrentService.Nope"), Some("OtherService.Decrypt")] {
            assert_eq!(from_target(bad).unwrap_err().name, "UnknownOperationException", "{bad:?}");
        }
    }
}
