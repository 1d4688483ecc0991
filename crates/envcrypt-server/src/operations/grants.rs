//! CreateGrant, ListGrants, RetireGrant, RevokeGrant.

use std::collections::BTreeMap;

use envcrypt::kms::{CreateGrantRequest, GrantConstraints, GrantDryRun, GrantEntry, GrantOperation, GrantTarget};
use serde_json::{json, Value};

use super::context::{kms, Context};
use super::members::{check_grant_tokens, dry_run_succeeded, is_dry_run, key_id_or_arn, timestamp};
use super::paging::{page, paged};
use crate::decode::Input;
use crate::protocol::{self, Failure, Reply};

/// Answers a request sent with `DryRun`: the key service checks it without carrying it out.
async fn dry_run(cx: &Context<'_>, request: GrantDryRun<'_>) -> Result<Reply, Failure> {
    cx.governance(request.operation())?.dry_run_grant(request).await.map_err(kms)?;
    Err(dry_run_succeeded())
}

fn operations(input: &Input) -> Result<Vec<GrantOperation>, Failure> {
    let names = input.string_list("Operations", usize::MAX)?;
    if names.is_empty() {
        return Err(Failure::validation(
            "1 validation error detected: Value null at 'operations' failed to satisfy constraint: Member must not be null",
        ));
    }
    names
        .iter()
        .map(|name| {
            GrantOperation::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = GrantOperation::ALL.iter().map(|op| op.as_str()).collect();
                Failure::validation(format!(
                    "1 validation error detected: Value '[{name}]' at 'operations' failed to satisfy constraint: \
                     Member must satisfy constraint: [Member must satisfy enum value set: [{}]]",
                    known.join(", ")
                ))
            })
        })
        .collect()
}

fn constraints(input: &Input) -> Result<Option<GrantConstraints>, Failure> {
    let Some(block) = input.structure("Constraints")? else { return Ok(None) };
    let map = |member: &'static str| -> Result<Option<BTreeMap<String, String>>, Failure> {
        let context = block.context(member)?;
        Ok((!context.is_empty()).then(|| context.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()))
    };
    let constraints = GrantConstraints {
        encryption_context_equals: map("EncryptionContextEquals")?,
        encryption_context_subset: map("EncryptionContextSubset")?,
    };
    Ok((!constraints.is_empty()).then_some(constraints))
}

pub(super) async fn create_grant(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let grantee = input.required_string("GranteePrincipal", 1, 256)?;
    let retiring = input.optional_string("RetiringPrincipal", 1, 256)?;
    let operations = operations(input)?;
    let constraints = constraints(input)?;
    let name = input.optional_string("Name", 1, 256)?;
    check_grant_tokens(input)?;
    let request = CreateGrantRequest {
        key: &key,
        grantee_principal: grantee,
        operations: &operations,
        retiring_principal: retiring,
        constraints: constraints.as_ref(),
        name,
    };
    if is_dry_run(input)? {
        return dry_run(cx, GrantDryRun::Create(request)).await;
    }
    let created = cx.governance("CreateGrant")?.create_grant(request).await.map_err(kms)?;
    Ok(Reply::Json(json!({ "GrantToken": created.grant_token, "GrantId": created.grant_id })))
}

fn grant_json(grant: &GrantEntry) -> Value {
    let mut value = json!({
        "KeyId": grant.key_id,
        "GrantId": grant.grant_id,
        "CreationDate": timestamp(grant.creation_date),
        "GranteePrincipal": grant.grantee_principal,
        "IssuingAccount": grant.issuing_account,
        "Operations": grant.operations.iter().map(|op| op.as_str()).collect::<Vec<_>>(),
    });
    if let Some(name) = &grant.name {
        value["Name"] = json!(name);
    }
    if let Some(retiring) = &grant.retiring_principal {
        value["RetiringPrincipal"] = json!(retiring);
    }
    if let Some(constraints) = &grant.constraints {
        value["Constraints"] = json!(constraints);
    }
    value
}

pub(super) async fn list_grants(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let grant_id = input.optional_string("GrantId", 1, 128)?;
    let grantee = input.optional_string("GranteePrincipal", 1, 256)?;
    let mut grants = cx.governance("ListGrants")?.list_grants(&key).await.map_err(kms)?;
    grants.retain(|g| grant_id.is_none_or(|id| g.grant_id == id) && grantee.is_none_or(|p| g.grantee_principal == p));
    let (grants, next) = page(input, grants, 50, 100)?;
    Ok(Reply::Json(paged(json!({ "Grants": grants.iter().map(grant_json).collect::<Vec<_>>() }), next)))
}

pub(super) async fn retire_grant(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let token = input.optional_string("GrantToken", 1, 8192)?;
    let grant_id = input.optional_string("GrantId", 1, 128)?;
    let key = match input.string("KeyId")? {
        Some(_) => Some(key_id_or_arn(input, "KeyId")?),
        None => None,
    };
    let target = match (token, &key, grant_id) {
        (Some(token), _, _) => GrantTarget::Token(token),
        (None, Some(key), Some(grant_id)) => GrantTarget::Id { key, grant_id },
        _ => return Err(Failure::validation("Either GrantToken, or both KeyId and GrantId, must be provided")),
    };
    if is_dry_run(input)? {
        return dry_run(cx, GrantDryRun::Retire(target)).await;
    }
    cx.governance("RetireGrant")?.retire_grant(target).await.map_err(kms)?;
    Ok(protocol::empty())
}

pub(super) async fn revoke_grant(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let grant_id = input.required_string("GrantId", 1, 128)?;
    if is_dry_run(input)? {
        return dry_run(cx, GrantDryRun::Revoke { key: &key, grant_id }).await;
    }
    cx.governance("RevokeGrant")?.revoke_grant(&key, grant_id).await.map_err(kms)?;
    Ok(protocol::empty())
}
