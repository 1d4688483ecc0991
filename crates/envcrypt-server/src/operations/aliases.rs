//! CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

use serde_json::{json, Value};

use super::context::{kms, Context};
use super::members::key_id_or_arn;
use super::paging::{page, paged};
use crate::decode::Input;
use crate::protocol::{self, Failure, Reply};

/// `AliasName`: 1 to 256 of `[a-zA-Z0-9:/_-]`, as the model constrains it.
fn alias_name(input: &Input) -> Result<&str, Failure> {
    let name = input.required_string("AliasName", 1, 256)?;
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b)) {
        return Err(Failure::validation(format!(
            "1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: Member must \
             satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        )));
    }
    Ok(name)
}

pub(super) async fn create_alias(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let name = alias_name(input)?;
    let target = key_id_or_arn(input, "TargetKeyId")?;
    cx.admin("CreateAlias")?.create_alias(name, &target).await.map_err(kms)?;
    Ok(protocol::empty())
}

pub(super) async fn update_alias(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let name = alias_name(input)?;
    let target = key_id_or_arn(input, "TargetKeyId")?;
    cx.admin("UpdateAlias")?.update_alias(name, &target).await.map_err(kms)?;
    Ok(protocol::empty())
}

pub(super) async fn delete_alias(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let name = alias_name(input)?;
    cx.admin("DeleteAlias")?.delete_alias(name).await.map_err(kms)?;
    Ok(protocol::empty())
}

pub(super) async fn list_aliases(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let admin = cx.admin("ListAliases")?;
    // With KeyId, only that key's aliases; the key must exist.
    let only = match input.string("KeyId")? {
        Some(_) => {
            let key = key_id_or_arn(input, "KeyId")?;
            Some(admin.describe_key(&key).await.map_err(kms)?.key_id)
        }
        None => None,
    };
    let mut aliases = admin.list_aliases().await.map_err(kms)?;
    aliases.retain(|a| only.as_ref().is_none_or(|id| a.target_key_id == *id));
    let (aliases, next) = page(input, aliases, 50, 100)?;
    let entries: Vec<Value> = aliases
        .iter()
        .map(|a| {
            json!({
                "AliasName": a.alias_name,
                "AliasArn": cx.alias_arn(&a.alias_name),
                "TargetKeyId": a.target_key_id,
            })
        })
        .collect();
    Ok(Reply::Json(paged(json!({ "Aliases": entries }), next)))
}
