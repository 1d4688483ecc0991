//! Opening the key store, and parsing key references and contexts from arguments.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use envcrypt::kms::local::{LocalKeyService, PassphraseFn, StoreError, StoreOptions};
use envcrypt::kms::{EncryptionContext, KeyRef};
use zeroize::Zeroizing;

use crate::cli::GlobalArgs;
use crate::error::CliError;

const PASSPHRASE_VAR: &str = "ENVCRYPT_PASSPHRASE";

/// Opens the local store named by `--store` / `ENVCRYPT_STORE`, or the default one. A new
/// store is protected by `ENVCRYPT_PASSPHRASE` if it is set, else by a root key file.
pub fn open_local_store(global: &GlobalArgs) -> Result<Arc<LocalKeyService>, CliError> {
    let dir = match &global.store {
        Some(dir) => dir.clone(),
        None => StoreOptions::default_dir()
            .ok_or_else(|| CliError::usage("no data directory is known for this user; pass --store DIR"))?,
    };
    let options = StoreOptions::new(&dir)
        .passphrase(passphrase_provider(dir.clone()))
        .protect_new_store_with_passphrase(std::env::var_os(PASSPHRASE_VAR).is_some());
    LocalKeyService::open(options)
        .map(Arc::new)
        .map_err(|e| CliError::kms(format!("cannot open the key store {}", dir.display()), &e))
}

/// `ENVCRYPT_PASSPHRASE`, else a prompt on the terminal; never a command-line argument.
fn passphrase_provider(dir: PathBuf) -> Arc<PassphraseFn> {
    Arc::new(move || {
        if let Ok(passphrase) = std::env::var(PASSPHRASE_VAR) {
            return Ok(Zeroizing::new(passphrase));
        }
        if !std::io::stdin().is_terminal() {
            return Err(StoreError::PassphraseRequired { dir: dir.clone() });
        }
        rpassword::prompt_password(format!("Passphrase for the key store {}: ", dir.display()))
            .map(Zeroizing::new)
            .map_err(|_| StoreError::PassphraseRequired { dir: dir.clone() })
    })
}

/// Parses a key reference given on the command line.
pub fn parse_key(input: &str) -> Result<KeyRef, CliError> {
    let key = KeyRef::parse(input).map_err(|e| CliError::usage(e.to_string()))?;
    if key.arn().is_some_and(|arn| arn.partition.starts_with("aws")) {
        return Err(CliError::usage(format!(
            "{input} is an AWS KMS key; this build of envcrypt only has the local key store"
        )));
    }
    Ok(key)
}

/// Parses `KEY=VALUE` pairs.
pub fn parse_context(pairs: &[String]) -> Result<EncryptionContext, CliError> {
    let mut context = EncryptionContext::new();
    for pair in pairs {
        context.insert_pair(pair).map_err(|e| CliError::usage(e.to_string()))?;
    }
    Ok(context)
}
