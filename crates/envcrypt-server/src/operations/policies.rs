//! GetKeyPolicy, PutKeyPolicy, ListKeyPolicies. A key has one policy, named `default`.

use serde_json::json;

use super::context::{kms, Context};
use super::members::key_id_or_arn;
use super::paging::{page, paged};
use crate::decode::Input;
use crate::protocol::{self, Failure, Reply};

const POLICY_NAME: &str = "default";

/// `PolicyName`: only `default` exists.
fn policy_name(input: &Input, required: bool) -> Result<(), Failure> {
    let name = if required {
        Some(input.required_string("PolicyName", 1, 128)?)
    } else {
        input.optional_string("PolicyName", 1, 128)?
    };
    match name {
        Some(name) if name != POLICY_NAME => {
            Err(Failure::client("NotFoundException", format!("No such policy exists: {name}")))
        }
        _ => Ok(()),
    }
}

pub(super) async fn get_key_policy(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    policy_name(input, false)?;
    let policy = cx.governance("GetKeyPolicy")?.get_key_policy(&key).await.map_err(kms)?;
    Ok(Reply::Json(json!({ "Policy": policy, "PolicyName": POLICY_NAME })))
}

pub(super) async fn put_key_policy(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    policy_name(input, false)?;
    let policy = input.required_string("Policy", 1, 131_072)?;
    let bypass = input.boolean("BypassPolicyLockoutSafetyCheck")?.unwrap_or(false);
    cx.governance("PutKeyPolicy")?.put_key_policy(&key, policy, bypass).await.map_err(kms)?;
    Ok(protocol::empty())
}

pub(super) async fn list_key_policies(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    // The key must exist, and the caller may see its policy.
    cx.governance("ListKeyPolicies")?.get_key_policy(&key).await.map_err(kms)?;
    let (names, next) = page(input, vec![POLICY_NAME], 100, 1000)?;
    Ok(Reply::Json(paged(json!({ "PolicyNames": names }), next)))
}
