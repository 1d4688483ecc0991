//! `envcrypt key grant ...`: CreateGrant, ListGrants, RetireGrant, RevokeGrant.

use std::collections::BTreeMap;

use envcrypt::kms::{CreateGrantRequest, GrantConstraints, GrantDryRun, GrantOperation, GrantTarget, KeyGovernance};
use serde_json::json;

use crate::error::CliError;
use crate::flags::{context, key_ref, DryRunArg, GlobalArgs};
use crate::print;

/// Create, list, retire or revoke grants.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Let a principal use a key for some operations; prints the grant id and token.
    #[command(after_help = "\
Examples:
  envcrypt key grant create alias/payroll --grantee role/batch --operation Decrypt
  envcrypt key grant create alias/payroll --grantee role/batch --operation Decrypt \\
      --operation RetireGrant --context-subset job=nightly --name nightly-restore
  envcrypt key grant create alias/payroll --grantee role/batch --operation Decrypt --dry-run

Operations: Decrypt, Encrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext, ReEncryptFrom,
ReEncryptTo, CreateGrant, RetireGrant, DescribeKey. The grant is in force at once.")]
    Create {
        /// The key.
        key: String,
        /// Who may use the grant: NAME, user/NAME, role/NAME or an ARN.
        #[arg(long, value_name = "PRINCIPAL")]
        grantee: String,
        /// An operation the grant allows; repeatable.
        #[arg(long = "operation", value_name = "OPERATION", required = true)]
        operations: Vec<String>,
        /// Who else may retire the grant.
        #[arg(long, value_name = "PRINCIPAL")]
        retiring_principal: Option<String>,
        /// Allow only requests whose context includes this pair; repeatable.
        #[arg(long = "context-subset", value_name = "KEY=VALUE")]
        context_subset: Vec<String>,
        /// Allow only requests whose context is exactly these pairs; repeatable.
        #[arg(long = "context-equals", value_name = "KEY=VALUE", conflicts_with = "context_subset")]
        context_equals: Vec<String>,
        /// A name: creating the same named grant again returns the first one.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
    /// List a key's grants.
    #[command(after_help = "Example:\n  envcrypt key grant list alias/payroll --json")]
    List {
        /// The key.
        key: String,
    },
    /// Retire a grant: by its retiring principal, its grantee (if it allows RetireGrant) or the root.
    #[command(after_help = "\
Examples:
  envcrypt --principal role/batch key grant retire --token \"$TOKEN\"
  envcrypt key grant retire alias/payroll 0c4f...e1
  envcrypt key grant retire alias/payroll 0c4f...e1 --dry-run")]
    Retire {
        /// The key (with GRANT_ID).
        #[arg(required_unless_present = "token", requires = "grant_id")]
        key: Option<String>,
        /// The grant id.
        grant_id: Option<String>,
        /// The grant token `grant create` printed, in place of KEY and GRANT_ID.
        #[arg(long, conflicts_with = "key")]
        token: Option<String>,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
    /// Revoke a grant (needs kms:RevokeGrant in the key policy).
    #[command(after_help = "\
Examples:
  envcrypt key grant revoke alias/payroll 0c4f...e1
  envcrypt key grant revoke alias/payroll 0c4f...e1 --dry-run")]
    Revoke {
        /// The key.
        key: String,
        /// The grant id.
        grant_id: String,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
}

/// The key a grant command acts on (a retire by token names none: the local store's default).
pub fn key_of(command: &Command) -> &str {
    match command {
        Command::Create { key, .. } | Command::List { key } | Command::Revoke { key, .. } => key,
        Command::Retire { key, .. } => key.as_deref().unwrap_or("alias/envcrypt/default"),
    }
}

pub fn exec(command: &Command, governance: &dyn KeyGovernance, global: &GlobalArgs) -> Result<(), CliError> {
    match command {
        Command::Create {
            key,
            grantee,
            operations,
            retiring_principal,
            context_subset,
            context_equals,
            name,
            dry_run,
        } => {
            let operations = operations.iter().map(|op| parse_operation(op)).collect::<Result<Vec<_>, _>>()?;
            let constraints = GrantConstraints {
                encryption_context_subset: pairs(context_subset)?,
                encryption_context_equals: pairs(context_equals)?,
            };
            let key_ref = key_ref(key)?;
            let request = CreateGrantRequest {
                key: &key_ref,
                grantee_principal: grantee,
                operations: &operations,
                retiring_principal: retiring_principal.as_deref(),
                constraints: (!constraints.is_empty()).then_some(&constraints),
                name: name.as_deref(),
            };
            if dry_run.dry_run {
                return check(governance, GrantDryRun::Create(request));
            }
            let created = governance
                .create_grant(request)
                .wait()
                .map_err(|e| CliError::kms(format!("cannot create a grant on {key} for {grantee}"), &e))?;
            if global.json {
                print::json(&json!({ "GrantId": created.grant_id, "GrantToken": created.grant_token }))
            } else {
                print::lines(&[
                    format!("grant id:    {}", created.grant_id),
                    format!("grant token: {}", created.grant_token),
                ])
            }
        }
        Command::List { key } => {
            let grants = governance
                .list_grants(&key_ref(key)?)
                .wait()
                .map_err(|e| CliError::kms(format!("cannot list the grants of {key}"), &e))?;
            if global.json {
                return print::json(&json!({ "Grants": grants }));
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
            print::lines(&lines)
        }
        Command::Retire { key, grant_id, token, dry_run } => {
            let key_ref = key.as_deref().map(key_ref).transpose()?;
            let (target, what) = match (token, &key_ref, grant_id) {
                (Some(token), _, _) => (GrantTarget::Token(token), "the grant of that token".to_owned()),
                (None, Some(key_ref), Some(grant_id)) => {
                    let key = key.as_deref().unwrap_or_default();
                    (GrantTarget::Id { key: key_ref, grant_id }, format!("grant {grant_id} of {key}"))
                }
                _ => return Err(CliError::usage("give --token TOKEN, or KEY and GRANT_ID")),
            };
            if dry_run.dry_run {
                return check(governance, GrantDryRun::Retire(target));
            }
            governance.retire_grant(target).wait().map_err(|e| CliError::kms(format!("cannot retire {what}"), &e))
        }
        Command::Revoke { key, grant_id, dry_run } => {
            let key_ref = key_ref(key)?;
            if dry_run.dry_run {
                return check(governance, GrantDryRun::Revoke { key: &key_ref, grant_id });
            }
            governance
                .revoke_grant(&key_ref, grant_id)
                .wait()
                .map_err(|e| CliError::kms(format!("cannot revoke grant {grant_id} of {key}"), &e))
        }
    }
}

/// `--dry-run`: checks the grant call without making it.
fn check(governance: &dyn KeyGovernance, request: GrantDryRun<'_>) -> Result<(), CliError> {
    print::dry_run(request.operation(), governance.dry_run_grant(request).wait())
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
    let context = context(pairs)?;
    Ok(Some(context.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()))
}
