use std::time::{Duration, UNIX_EPOCH};

use envcrypt::kms::{KeyAdmin, KeyMetadata, KeyRef, KmsError};
use serde_json::json;

use super::{print_document, print_json, print_lines, read_text};
use crate::backends::{parse_key, Backends};
use crate::cli::{AliasCommand, GlobalArgs, KeyCommand};
use crate::error::CliError;

pub fn exec(command: &KeyCommand, global: &GlobalArgs) -> Result<(), CliError> {
    let backends = Backends::new(global)?;
    let kind = match command {
        KeyCommand::Describe { key }
        | KeyCommand::Rotate { key }
        | KeyCommand::Enable { key }
        | KeyCommand::Disable { key }
        | KeyCommand::ScheduleDeletion { key, .. }
        | KeyCommand::CancelDeletion { key }
        | KeyCommand::GetPolicy { key }
        | KeyCommand::PutPolicy { key, .. } => backends.kind_of(&parse_key(key)?),
        KeyCommand::Grant(grant) => backends.kind_of(&parse_key(super::grant::key_of(grant))?),
        KeyCommand::Create { .. } | KeyCommand::List | KeyCommand::Alias(_) => backends.default_kind(),
    };
    let admin = backends.admin(kind)?;
    let with_key = |key: &str, op: &str, f: &dyn Fn(&KeyRef) -> Result<KeyMetadata, KmsError>| {
        let key_ref = parse_key(key)?;
        f(&key_ref).map_err(|e| CliError::kms(format!("cannot {op} {key}"), &e))
    };
    let metadata = match command {
        KeyCommand::Create { description, alias, policy, lockout } => {
            let created = match policy {
                Some(file) => {
                    let text = read_text(file, "the key policy")?;
                    backends
                        .governance(kind)?
                        .create_key_with_policy(description, &text, lockout.bypass_policy_lockout_safety_check)
                        .wait()
                }
                None => admin.create_key(description).wait(),
            }
            .map_err(|e| CliError::kms("cannot create a key", &e))?;
            if let Some(alias) = alias {
                let target = parse_key(&created.key_id)?;
                admin.create_alias(alias, &target).wait().map_err(|e| {
                    CliError::kms(format!("created key {} but cannot create alias {alias}", created.arn), &e)
                })?;
            }
            admin
                .describe_key(&parse_key(&created.key_id)?)
                .wait()
                .map_err(|e| CliError::kms("cannot describe the new key", &e))?
        }
        KeyCommand::List => {
            let keys = admin.list_keys().wait().map_err(|e| CliError::kms("cannot list keys", &e))?;
            return if global.json {
                print_json(&json!(keys.iter().map(key_json).collect::<Vec<_>>()))
            } else {
                let mut lines =
                    vec![format!("{:<36}  {:<15}  {:>7}  {}", "KEY ID", "STATE", "BACKING", "ALIASES / DESCRIPTION")];
                lines.extend(keys.iter().map(|k| {
                    format!(
                        "{:<36}  {:<15}  {:>7}  {} {}",
                        k.key_id,
                        k.state,
                        backing(k),
                        k.aliases.join(","),
                        k.description
                    )
                }));
                print_lines(&lines)
            };
        }
        KeyCommand::Describe { key } => with_key(key, "describe", &|k| admin.describe_key(k).wait())?,
        KeyCommand::Alias(alias) => return exec_alias(alias, admin, global),
        KeyCommand::GetPolicy { key } => {
            let policy = backends
                .governance(kind)?
                .get_key_policy(&parse_key(key)?)
                .wait()
                .map_err(|e| CliError::kms(format!("cannot get the policy of {key}"), &e))?;
            return if global.json {
                print_json(&json!({ "Policy": policy, "PolicyName": "default" }))
            } else {
                print_document(&policy)
            };
        }
        KeyCommand::PutPolicy { key, policy, lockout } => {
            let text = read_text(policy, "the key policy")?;
            return backends
                .governance(kind)?
                .put_key_policy(&parse_key(key)?, &text, lockout.bypass_policy_lockout_safety_check)
                .wait()
                .map_err(|e| CliError::kms(format!("cannot set the policy of {key}"), &e));
        }
        KeyCommand::Grant(grant) => return super::grant::exec(grant, backends.governance(kind)?, global),
        KeyCommand::Rotate { key } => with_key(key, "rotate", &|k| admin.rotate_key(k).wait())?,
        KeyCommand::Enable { key } => {
            with_key(key, "enable", &|k| admin.enable_key(k).wait().and_then(|()| admin.describe_key(k).wait()))?
        }
        KeyCommand::Disable { key } => {
            with_key(key, "disable", &|k| admin.disable_key(k).wait().and_then(|()| admin.describe_key(k).wait()))?
        }
        KeyCommand::ScheduleDeletion { key, days } => {
            with_key(key, "schedule the deletion of", &|k| admin.schedule_key_deletion(k, *days).wait())?
        }
        KeyCommand::CancelDeletion { key } => {
            with_key(key, "cancel the deletion of", &|k| admin.cancel_key_deletion(k).wait())?
        }
    };
    if global.json {
        print_json(&key_json(&metadata))
    } else {
        print_lines(&describe_lines(&metadata))
    }
}

fn exec_alias(command: &AliasCommand, admin: &dyn KeyAdmin, global: &GlobalArgs) -> Result<(), CliError> {
    match command {
        AliasCommand::Create { alias, key } => {
            admin.create_alias(alias, &parse_key(key)?).wait().map_err(|e| alias_error(alias, &e))
        }
        AliasCommand::Update { alias, key } => {
            admin.update_alias(alias, &parse_key(key)?).wait().map_err(|e| alias_error(alias, &e))
        }
        AliasCommand::Delete { alias } => admin.delete_alias(alias).wait().map_err(|e| alias_error(alias, &e)),
        AliasCommand::List => {
            let aliases = admin.list_aliases().wait().map_err(|e| CliError::kms("cannot list aliases", &e))?;
            if global.json {
                print_json(&json!(aliases))
            } else {
                print_lines(
                    &aliases.iter().map(|a| format!("{}  {}", a.alias_name, a.target_key_id)).collect::<Vec<_>>(),
                )
            }
        }
    }
}

fn alias_error(alias: &str, error: &KmsError) -> CliError {
    CliError::kms(format!("alias {alias}"), error)
}

fn key_json(k: &KeyMetadata) -> serde_json::Value {
    json!({
        "KeyId": k.key_id,
        "Arn": k.arn,
        "Description": k.description,
        "KeyState": k.state.as_str(),
        "CreationDate": timestamp(k.creation_date),
        "DeletionDate": k.deletion_date.map(timestamp),
        "BackingKeys": k.backing_keys,
        "Aliases": k.aliases,
    })
}

fn describe_lines(k: &KeyMetadata) -> Vec<String> {
    let mut lines = vec![
        format!("key id:       {}", k.key_id),
        format!("arn:          {}", k.arn),
        format!("state:        {}", k.state),
        format!("created:      {}", timestamp(k.creation_date)),
        format!("backing keys: {}", backing(k)),
    ];
    if let Some(date) = k.deletion_date {
        lines.push(format!("deletion:     {}", timestamp(date)));
    }
    if !k.aliases.is_empty() {
        lines.push(format!("aliases:      {}", k.aliases.join(", ")));
    }
    if !k.description.is_empty() {
        lines.push(format!("description:  {}", k.description));
    }
    lines
}

fn backing(k: &KeyMetadata) -> String {
    k.backing_keys.map_or_else(|| "-".to_owned(), |n| n.to_string())
}

fn timestamp(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}
