//! `envcrypt key ...`: master keys (create, describe, list, states, rotation, deletion) and
//! their key policies; aliases, grants and rotation schedules are in `alias`, `grant` and
//! `rotation`.

use std::io;

use envcrypt::kms::{CreateKeyRequest, KeyMetadata, KeyRef, KeySpec, KeyUsage, KmsError, Origin, Tag};
use serde_json::json;

use super::{alias, grant, import, rotation, tags};
use crate::backends::Backends;
use crate::error::CliError;
use crate::flags::{key_ref, GlobalArgs};
use crate::print;

/// Manage master keys: create, aliases, states, rotation, deletion, key policies and grants.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a master key (an AES-256 CMK unless --key-spec says otherwise) in --backend's key
    /// service, else the local store.
    #[command(after_help = "\
Examples:
  envcrypt key create --description \"nightly backups\" --alias alias/backup
  envcrypt --principal admin key create --policy payroll-policy.json --alias alias/payroll
  envcrypt key create --key-spec ECC_NIST_P256 --key-usage SIGN_VERIFY --alias alias/release-signing
  envcrypt key create --key-spec HMAC_256 --key-usage GENERATE_VERIFY_MAC --alias alias/tokens

Key specs: SYMMETRIC_DEFAULT, RSA_2048, RSA_3072, RSA_4096 (ENCRYPT_DECRYPT or SIGN_VERIFY),
ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1 (SIGN_VERIFY), HMAC_224, HMAC_256,
HMAC_384, HMAC_512 (GENERATE_VERIFY_MAC).

Without --policy the key gets the default key policy: the account root may do anything, and
the creator (--principal, else the OS user) is both key administrator and key user.")]
    Create {
        /// A description kept with the key.
        #[arg(short, long, default_value = "")]
        description: String,
        /// Also create this alias for the key.
        #[arg(short, long, value_name = "alias/NAME")]
        alias: Option<String>,
        /// The key policy: a JSON file, or - for stdin.
        #[arg(long, value_name = "FILE")]
        policy: Option<String>,
        #[command(flatten)]
        lockout: LockoutArg,
        /// Where the key material comes from: aws-kms (the key service makes it) or external
        /// (you import it: `key import-params`, then `key import`).
        #[arg(long, value_enum, default_value = "aws-kms")]
        origin: OriginArg,
        /// A tag, KEY=VALUE (repeatable).
        #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = tags::tag)]
        tags: Vec<Tag>,
        /// The kind of key [default: SYMMETRIC_DEFAULT].
        #[arg(long, value_name = "SPEC", value_parser = key_spec)]
        key_spec: Option<KeySpec>,
        /// What the key is for: ENCRYPT_DECRYPT (the default), SIGN_VERIFY or GENERATE_VERIFY_MAC.
        #[arg(long, value_name = "USAGE", value_parser = key_usage)]
        key_usage: Option<KeyUsage>,
    },
    /// Change a key's description.
    #[command(
        after_help = "Example:\n  envcrypt key update-description alias/backup \"nightly backups, kept 90 days\""
    )]
    UpdateDescription {
        /// The key (key id or key ARN).
        key: String,
        /// The new description (up to 8192 characters).
        description: String,
    },
    /// Add, remove or list a key's tags.
    #[command(subcommand)]
    Tags(tags::Command),
    /// Get a wrapping key and import token to import key material into an external key.
    #[command(after_help = "\
Example:
  envcrypt key create --origin external --alias alias/byok
  envcrypt key import-params alias/byok --wrapping-spec RSA_4096 --wrapping-algorithm RSAES_OAEP_SHA_256
  openssl pkeyutl -encrypt -pubin -keyform DER -inkey wrapping-key.der -in material.bin -out material.enc \\
    -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256
  envcrypt key import alias/byok --material material.enc --token import-token.bin --valid-to 90d

The wrapping key and token are valid for 24 hours; asking again makes new ones.")]
    ImportParams(import::ParamsArgs),
    /// Import key material into an external key (it becomes enabled).
    #[command(after_help = "\
Example:
  envcrypt key import alias/byok --material material.enc --token import-token.bin --valid-to 2027-06-30T00:00:00Z

Once a key has had material, only the same material is taken again (IncorrectKeyMaterialException).
When material expires, data under the key cannot be opened until it is imported again.")]
    Import(import::ImportArgs),
    /// Delete a key's imported material: its data cannot be opened until it is imported again.
    #[command(after_help = "Example:\n  envcrypt key delete-material alias/byok")]
    DeleteMaterial(import::DeleteMaterialArgs),
    /// Print a key's policy.
    #[command(after_help = "Example:\n  envcrypt key get-policy alias/payroll > policy.json")]
    GetPolicy {
        /// The key.
        key: String,
    },
    /// Replace a key's policy.
    #[command(after_help = "\
Example:
  envcrypt key put-policy alias/payroll policy.json

The policy must still let you change it later, unless --bypass-policy-lockout-safety-check.")]
    PutPolicy {
        /// The key.
        key: String,
        /// The key policy: a JSON file, or - for stdin.
        #[arg(value_name = "FILE")]
        policy: String,
        #[command(flatten)]
        lockout: LockoutArg,
    },
    /// Create, list, retire or revoke grants.
    #[command(subcommand)]
    Grant(grant::Command),
    /// List the keys, with their state and aliases.
    #[command(after_help = "Example:\n  envcrypt key list --json")]
    List,
    /// Show one key.
    #[command(after_help = "Example:\n  envcrypt key describe alias/backup")]
    Describe {
        /// Key id, key ARN, alias/NAME or alias ARN.
        key: String,
    },
    /// Create, repoint, delete or list aliases.
    #[command(subcommand)]
    Alias(alias::Command),
    /// Rotate a key now (on demand): a new backing key; data sealed before still opens.
    #[command(after_help = "\
Example:
  envcrypt key rotate alias/backup

A key rotates on demand at most 10 times, as in KMS; for a schedule, see `key rotation`.")]
    Rotate {
        /// The key.
        key: String,
    },
    /// Rotate a key automatically on a schedule; show the schedule and past rotations.
    #[command(subcommand)]
    Rotation(rotation::Command),
    /// Enable a disabled key.
    #[command(after_help = "Example:\n  envcrypt key enable alias/backup")]
    Enable {
        /// The key.
        key: String,
    },
    /// Disable a key: it refuses every cryptographic operation until enabled.
    #[command(after_help = "Example:\n  envcrypt key disable alias/backup")]
    Disable {
        /// The key.
        key: String,
    },
    /// Schedule a key's deletion after a waiting period of 7 to 30 days.
    #[command(
        after_help = "Example:\n  envcrypt key schedule-deletion --days 7 alias/old\n\nData sealed only under a deleted key can never be opened again."
    )]
    ScheduleDeletion {
        /// The key.
        key: String,
        /// The waiting period in days (7 to 30).
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// Cancel a scheduled deletion; the key returns disabled.
    #[command(after_help = "Example:\n  envcrypt key cancel-deletion alias/old && envcrypt key enable alias/old")]
    CancelDeletion {
        /// The key.
        key: String,
    },
}

/// `--origin`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OriginArg {
    /// The key service makes the material.
    AwsKms,
    /// You import the material.
    External,
}

#[derive(Debug, clap::Args)]
pub struct LockoutArg {
    /// Set a policy that does not let the caller change it later (KMS's
    /// BypassPolicyLockoutSafetyCheck).
    #[arg(long)]
    pub bypass_policy_lockout_safety_check: bool,
}

pub fn exec(command: &Command, global: &GlobalArgs) -> Result<(), CliError> {
    let backends = Backends::new(global)?;
    let kind = match command {
        Command::Describe { key }
        | Command::Rotate { key }
        | Command::Enable { key }
        | Command::Disable { key }
        | Command::ScheduleDeletion { key, .. }
        | Command::CancelDeletion { key }
        | Command::GetPolicy { key }
        | Command::PutPolicy { key, .. } => backends.kind_of(&key_ref(key)?),
        Command::Grant(grant) => backends.kind_of(&key_ref(grant::key_of(grant))?),
        Command::Rotation(command) => backends.kind_of(&key_ref(rotation::key_of(command))?),
        Command::Tags(command) => backends.kind_of(&key_ref(tags::key_of(command))?),
        Command::UpdateDescription { key, .. } => backends.kind_of(&key_ref(key)?),
        Command::ImportParams(import::ParamsArgs { key, .. })
        | Command::Import(import::ImportArgs { key, .. })
        | Command::DeleteMaterial(import::DeleteMaterialArgs { key }) => backends.kind_of(&key_ref(key)?),
        Command::Create { .. } | Command::List | Command::Alias(_) => backends.default_kind(),
    };
    let admin = backends.admin(kind)?;
    let with_key = |key: &str, op: &str, f: &dyn Fn(&KeyRef) -> Result<KeyMetadata, KmsError>| {
        let key_ref = key_ref(key)?;
        f(&key_ref).map_err(|e| CliError::kms(format!("cannot {op} {key}"), &e))
    };
    let metadata = match command {
        Command::Create { description, alias, policy, lockout, origin, tags, key_spec, key_usage } => {
            let text = policy.as_deref().map(|file| read_text(file, "the key policy")).transpose()?;
            let mut request = CreateKeyRequest::new(description).tags(tags);
            if let Some(spec) = key_spec {
                request = request.kind(*spec, *key_usage);
            } else if let Some(usage) = key_usage {
                request = request.kind(KeySpec::SymmetricDefault, Some(*usage));
            }
            if let Some(text) = &text {
                request = request.policy(text, lockout.bypass_policy_lockout_safety_check);
            }
            if let OriginArg::External = origin {
                request = request.origin(Origin::External);
            }
            let created =
                admin.create_key_with(request).wait().map_err(|e| CliError::kms("cannot create a key", &e))?;
            if let Some(alias) = alias {
                let target = key_ref(&created.key_id)?;
                admin.create_alias(alias, &target).wait().map_err(|e| {
                    CliError::kms(format!("created key {} but cannot create alias {alias}", created.arn), &e)
                })?;
            }
            admin
                .describe_key(&key_ref(&created.key_id)?)
                .wait()
                .map_err(|e| CliError::kms("cannot describe the new key", &e))?
        }
        Command::List => {
            let keys = admin.list_keys().wait().map_err(|e| CliError::kms("cannot list keys", &e))?;
            return if global.json {
                print::json(&json!(keys.iter().map(key_json).collect::<Vec<_>>()))
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
                print::lines(&lines)
            };
        }
        Command::Describe { key } => with_key(key, "describe", &|k| admin.describe_key(k).wait())?,
        Command::Alias(command) => return alias::exec(command, admin, global),
        Command::GetPolicy { key } => {
            let policy = backends
                .governance(kind)?
                .get_key_policy(&key_ref(key)?)
                .wait()
                .map_err(|e| CliError::kms(format!("cannot get the policy of {key}"), &e))?;
            return if global.json {
                print::json(&json!({ "Policy": policy, "PolicyName": "default" }))
            } else {
                print::document(&policy)
            };
        }
        Command::PutPolicy { key, policy, lockout } => {
            let text = read_text(policy, "the key policy")?;
            return backends
                .governance(kind)?
                .put_key_policy(&key_ref(key)?, &text, lockout.bypass_policy_lockout_safety_check)
                .wait()
                .map_err(|e| CliError::kms(format!("cannot set the policy of {key}"), &e));
        }
        Command::Grant(grant) => return grant::exec(grant, backends.governance(kind)?, global),
        Command::Rotation(command) => return rotation::exec(command, backends.rotation(kind)?, global),
        Command::Tags(command) => return tags::exec(command, backends.tagging(kind)?, global),
        Command::UpdateDescription { key, description } => with_key(key, "update the description of", &|k| {
            admin.update_key_description(k, description).wait().and_then(|()| admin.describe_key(k).wait())
        })?,
        Command::ImportParams(args) => return import::params(args, backends.import(kind)?, global),
        Command::Import(args) => {
            import::import(args, backends.import(kind)?)?;
            with_key(&args.key, "describe", &|k| admin.describe_key(k).wait())?
        }
        Command::DeleteMaterial(args) => {
            import::delete_material(args, backends.import(kind)?)?;
            with_key(&args.key, "describe", &|k| admin.describe_key(k).wait())?
        }
        Command::Rotate { key } => with_key(key, "rotate", &|k| admin.rotate_key(k).wait())?,
        Command::Enable { key } => {
            with_key(key, "enable", &|k| admin.enable_key(k).wait().and_then(|()| admin.describe_key(k).wait()))?
        }
        Command::Disable { key } => {
            with_key(key, "disable", &|k| admin.disable_key(k).wait().and_then(|()| admin.describe_key(k).wait()))?
        }
        Command::ScheduleDeletion { key, days } => {
            with_key(key, "schedule the deletion of", &|k| admin.schedule_key_deletion(k, *days).wait())?
        }
        Command::CancelDeletion { key } => {
            with_key(key, "cancel the deletion of", &|k| admin.cancel_key_deletion(k).wait())?
        }
    };
    if global.json {
        print::json(&key_json(&metadata))
    } else {
        print::lines(&describe_lines(&metadata))
    }
}

fn key_json(k: &KeyMetadata) -> serde_json::Value {
    json!({
        "KeyId": k.key_id,
        "Arn": k.arn,
        "Description": k.description,
        "KeyState": k.state.as_str(),
        "Enabled": k.enabled(),
        "KeySpec": k.key_spec.as_str(),
        "KeyUsage": k.key_usage.as_str(),
        "Origin": k.origin.as_str(),
        "KeyManager": k.key_manager.as_str(),
        "EncryptionAlgorithms": k.encryption_algorithms(),
        "SigningAlgorithms": k.signing_algorithms(),
        "MacAlgorithms": k.mac_algorithms(),
        "CreationDate": print::timestamp(k.creation_date),
        "DeletionDate": k.deletion_date.map(print::timestamp),
        "PendingDeletionWindowInDays": k.pending_deletion_window_days,
        "ExpirationModel": k.expiration_model.map(|m| m.as_str()),
        "ValidTo": k.valid_to.map(print::timestamp),
        "BackingKeys": k.backing_keys,
        "Aliases": k.aliases,
    })
}

fn describe_lines(k: &KeyMetadata) -> Vec<String> {
    let mut lines = vec![
        format!("key id:       {}", k.key_id),
        format!("arn:          {}", k.arn),
        format!("state:        {}", k.state),
        format!("spec:         {} ({}), origin {}", k.key_spec, k.key_usage, k.origin),
        format!("created:      {}", print::timestamp(k.creation_date)),
        format!("backing keys: {}", backing(k)),
    ];
    if let Some(date) = k.deletion_date {
        let window = k.pending_deletion_window_days.map(|d| format!(" ({d}-day window)")).unwrap_or_default();
        lines.push(format!("deletion:     {}{window}", print::timestamp(date)));
    }
    match (k.expiration_model, k.valid_to) {
        (_, Some(date)) => lines.push(format!("material:     imported, expires {}", print::timestamp(date))),
        (Some(_), None) => lines.push("material:     imported, does not expire".to_owned()),
        (None, None) => {}
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

/// Reads a text file named on the command line, or stdin for `-`.
fn read_text(path: &str, what: &str) -> Result<String, CliError> {
    let result = if path == "-" { io::read_to_string(io::stdin()) } else { std::fs::read_to_string(path) };
    result.map_err(|e| CliError::io(format!("cannot read {what} from {path}"), &e))
}

/// `--key-spec`: a KMS key spec name.
fn key_spec(name: &str) -> Result<KeySpec, String> {
    KeySpec::from_name(name).ok_or_else(|| {
        "give a KMS key spec: SYMMETRIC_DEFAULT, RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, \
         ECC_NIST_P521, ECC_SECG_P256K1, HMAC_224, HMAC_256, HMAC_384 or HMAC_512"
            .into()
    })
}

/// `--key-usage`: a KMS key usage name.
fn key_usage(name: &str) -> Result<KeyUsage, String> {
    KeyUsage::from_name(name).ok_or_else(|| "give ENCRYPT_DECRYPT, SIGN_VERIFY or GENERATE_VERIFY_MAC".into())
}
