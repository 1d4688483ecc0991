//! `envcrypt key grant ...`: CreateGrant, ListGrants, RetireGrant, RevokeGrant.

use std::collections::BTreeMap;

use envcrypt::kms::{CreateGrantRequest, GrantConstraints, GrantOperation, GrantTarget, KeyGovernance};
use serde_json::json;

use super::{print_json, print_lines};
use crate::backends::parse_key;
use crate::cli::{GlobalArgs, GrantCommand};
use crate::error::CliError;

/// The key a grant command acts on (a retire by token names none: the local store's default).
pub fn key_of(command: &GrantCommand) -> &str {
    match command {
        GrantCommand::Create { key, .. } | GrantCommand::List { key } | GrantCommand::Revoke { key, .. } => key,
        GrantCommand::Retire { key, .. } => key.as_deref().unwrap_or("alias/envcrypt/default"),
    }
}

pub fn exec(command: &GrantCommand, governance: &dyn KeyGovernance, global: &GlobalArgs) -> Result<(), CliError> {
    match command {
        GrantCommand::Create { key, grantee, operations, retiring_principal, context_subset, context_equals, name } => {
            let operations = operations.iter().map(|op| parse_operation(op)).collect::<Result<Vec<_>, _>>()?;
            let constraints = GrantConstraints {
                encryption_context_subset: pairs(context_subset)?,
                encryption_context_equals: pairs(context_equals)?,
            };
            let created = governance
                .create_grant(CreateGrantRequest {
                    key: &parse_key(key)?,
                    grantee_principal: grantee,
                    operations: &operations,
                    retiring_principal: retiring_principal.as_deref(),
                    constraints: (!constraints.is_empty()).then_some(&constraints),
                    name: name.as_deref(),
                })
                .wait()
                .map_err(|e| CliError::kms(format!("cannot create a grant on {key} for {grantee}"), &e))?;
            if global.json {
                print_json(&json!({ "GrantId": created.grant_id, "GrantToken": created.grant_token }))
            } else {
                print_lines(&[
                    format!("grant id:    {}", created.grant_id),
                    format!("grant token: {}", created.grant_token),
                ])
            }
        }
        GrantCommand::List { key } => {
            let grants = governance
                .list_grants(&parse_key(key)?)
                .wait()
                .map_err(|e| CliError::kms(format!("cannot list the grants of {key}"), &e))?;
            if global.json {
                return print_json(&json!({ "Grants": grants }));
            }
            let mut lines = vec![format!("{:<64}  {:<40}  OPERATIONS / CONSTRAINTS", "GRANT ID", "GRANTEE")];
            lines.extend(grants.iter().map(|g| {
                let operations: Vec<&str> = g.operations.iter().map(|op| op.as_str()).collect();
                let constraints = g
                    .constraints
                    .as_ref()
                    .map_or(String::new(), |c| serde_json::to_string(c).map(|c| format!("  {c}")).unwrap_or_default());
                format!("{:<64}  {:<40}  {}{constraints}", g.grant_id, g.grantee_principal, operations.join(","))
            }));
            print_lines(&lines)
        }
        GrantCommand::Retire { key, grant_id, token } => {
            let (target, what) = match (token, key, grant_id) {
                (Some(token), _, _) => (GrantTarget::Token(token), "the grant of that token".to_owned()),
                (None, Some(key), Some(grant_id)) => {
                    let key_ref = parse_key(key)?;
                    return governance
                        .retire_grant(GrantTarget::Id { key: &key_ref, grant_id })
                        .wait()
                        .map_err(|e| CliError::kms(format!("cannot retire grant {grant_id} of {key}"), &e));
                }
                _ => return Err(CliError::usage("give --token TOKEN, or KEY and GRANT_ID")),
            };
            governance.retire_grant(target).wait().map_err(|e| CliError::kms(format!("cannot retire {what}"), &e))
        }
        GrantCommand::Revoke { key, grant_id } => governance
            .revoke_grant(&parse_key(key)?, grant_id)
            .wait()
            .map_err(|e| CliError::kms(format!("cannot revoke grant {grant_id} of {key}"), &e)),
    }
}

fn parse_operation(name: &str) -> Result<GrantOperation, CliError> {
    GrantOperation::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = GrantOperation::ALL.iter().map(|op| op.as_str()).collect();
        CliError::usage(format!("unknown grant operation {name:?}; give one of {}", known.join(", ")))
    })
}

fn pairs(pairs: &[String]) -> Result<Option<BTreeMap<String, String>>, CliError> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let context = crate::backends::parse_context(pairs)?;
    Ok(Some(context.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()))
}
