//! `envcrypt credentials create|list|revoke`: the access keys `envcrypt serve` checks request
//! signatures against.

use serde_json::json;

use super::serve::IdentityArgs;
use crate::error::CliError;
use crate::flags::GlobalArgs;
use crate::print;

/// Create, list or revoke the access keys of the KMS endpoint (`envcrypt serve`).
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create an access key for a principal; prints its id and secret, the secret only now.
    #[command(after_help = "\
Examples:
  envcrypt --store ./kms credentials create --principal user/app
  envcrypt --store ./kms --json credentials create --principal role/batch

The principal is user/NAME, role/NAME, NAME (a user) or an IAM ARN in the store's account;
requests signed with the key act as it, for key policies, grants and the audit log. The secret
is stored encrypted under the store's root key and cannot be shown again. A running server
accepts the key at once.")]
    Create {
        /// Who requests signed with the key act as.
        #[arg(long, value_name = "PRINCIPAL")]
        principal: String,
        #[command(flatten)]
        identity: IdentityArgs,
    },
    /// List the access keys (never their secrets).
    #[command(after_help = "Example:\n  envcrypt --store ./kms credentials list")]
    List,
    /// Revoke an access key: no request signed with it is accepted again, at once.
    #[command(after_help = "Example:\n  envcrypt --store ./kms credentials revoke AKIAEXAMPLEEXAMPLE12")]
    Revoke {
        /// The access key id.
        access_key_id: String,
    },
}

pub fn exec(command: &Command, global: &GlobalArgs) -> Result<(), CliError> {
    let open = |identity: &IdentityArgs| identity.open_store(global);
    match command {
        Command::Create { principal, identity } => {
            let store = open(identity)?;
            let created = store
                .create_access_key(principal)
                .map_err(|e| CliError::kms(format!("cannot create an access key for {principal}"), &e))?;
            if global.json {
                return print::json(&json!({
                    "AccessKeyId": created.key.access_key_id,
                    "SecretAccessKey": created.secret_access_key.as_str(),
                    "Principal": created.key.principal,
                }));
            }
            print::lines(&[
                format!("access key id:     {}", created.key.access_key_id),
                format!("secret access key: {}", created.secret_access_key.as_str()),
                format!("principal:         {}", created.key.principal),
                "The secret is shown only now.".to_owned(),
            ])
        }
        Command::List => {
            let store = open(&IdentityArgs { account: None, partition: None })?;
            let keys = store.list_access_keys().map_err(|e| CliError::kms("cannot list the access keys", &e))?;
            if global.json {
                return print::json(&keys);
            }
            let mut lines = vec![format!("{:<20}  {:<8}  {:<20}  PRINCIPAL", "ACCESS KEY ID", "STATE", "CREATED")];
            lines.extend(keys.iter().map(|k| {
                let state = if k.revoked.is_some() { "revoked" } else { "active" };
                format!("{:<20}  {state:<8}  {:<20}  {}", k.access_key_id, print::timestamp(k.created), k.principal)
            }));
            print::lines(&lines)
        }
        Command::Revoke { access_key_id } => {
            let store = open(&IdentityArgs { account: None, partition: None })?;
            store
                .revoke_access_key(access_key_id)
                .map_err(|e| CliError::kms(format!("cannot revoke {access_key_id}"), &e))?;
            Ok(())
        }
    }
}
