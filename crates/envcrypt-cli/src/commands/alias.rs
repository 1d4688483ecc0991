//! `envcrypt key alias ...`: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

use envcrypt::kms::{KeyAdmin, KmsError};
use serde_json::json;

use crate::error::CliError;
use crate::flags::{key_ref, GlobalArgs};
use crate::print;

/// Create, repoint, delete or list aliases.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create an alias for a key.
    #[command(after_help = "Example:\n  envcrypt key alias create alias/backup 1234abcd-12ab-34cd-56ef-1234567890ab")]
    Create {
        /// alias/NAME (alias/aws/ is reserved).
        alias: String,
        /// Key id or key ARN.
        key: String,
    },
    /// Point an existing alias at another key.
    #[command(after_help = "Example:\n  envcrypt key alias update alias/backup 1234abcd-12ab-34cd-56ef-1234567890ab")]
    Update {
        /// alias/NAME.
        alias: String,
        /// Key id or key ARN.
        key: String,
    },
    /// Delete an alias (the key stays).
    #[command(after_help = "Example:\n  envcrypt key alias delete alias/backup")]
    Delete {
        /// alias/NAME.
        alias: String,
    },
    /// List aliases, all of them or one key's.
    #[command(after_help = "\
Examples:
  envcrypt key alias list
  envcrypt key alias list --key 1234abcd-12ab-34cd-56ef-1234567890ab")]
    List {
        /// Only the aliases of this key (key id, key ARN or one of its aliases).
        #[arg(long)]
        key: Option<String>,
    },
}

pub fn exec(command: &Command, admin: &dyn KeyAdmin, global: &GlobalArgs) -> Result<(), CliError> {
    match command {
        Command::Create { alias, key } => {
            admin.create_alias(alias, &key_ref(key)?).wait().map_err(|e| alias_error(alias, &e))
        }
        Command::Update { alias, key } => {
            admin.update_alias(alias, &key_ref(key)?).wait().map_err(|e| alias_error(alias, &e))
        }
        Command::Delete { alias } => admin.delete_alias(alias).wait().map_err(|e| alias_error(alias, &e)),
        Command::List { key } => {
            let mut aliases = admin.list_aliases().wait().map_err(|e| CliError::kms("cannot list aliases", &e))?;
            if let Some(key) = key {
                let target = admin
                    .describe_key(&key_ref(key)?)
                    .wait()
                    .map_err(|e| CliError::kms(format!("cannot list the aliases of {key}"), &e))?
                    .key_id;
                aliases.retain(|a| a.target_key_id == target);
            }
            if global.json {
                print::json(&json!(aliases))
            } else {
                print::lines(
                    &aliases.iter().map(|a| format!("{}  {}", a.alias_name, a.target_key_id)).collect::<Vec<_>>(),
                )
            }
        }
    }
}

fn alias_error(alias: &str, error: &KmsError) -> CliError {
    CliError::kms(format!("alias {alias}"), error)
}
