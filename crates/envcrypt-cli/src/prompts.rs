//! Secrets the CLI asks for: the local store's passphrase and the HSM PINs. Each comes from
//! its environment variable, else a prompt on the terminal; never from a command-line
//! argument, which other users can read in the process list.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use envcrypt::kms::local::{PassphraseFn, StoreError};
use envcrypt::kms::KmsError;
use zeroize::Zeroizing;

/// The local store's passphrase.
pub const PASSPHRASE_VAR: &str = "ENVCRYPT_PASSPHRASE";
/// The HSM user PIN.
pub const PIN_VAR: &str = "ENVCRYPT_PKCS11_PIN";
/// The HSM security officer PIN.
pub const SO_PIN_VAR: &str = "ENVCRYPT_PKCS11_SO_PIN";

/// Whether a passphrase is given in the environment (a new store is then protected by it).
pub fn passphrase_given() -> bool {
    std::env::var_os(PASSPHRASE_VAR).is_some()
}

/// The store's passphrase, asked for only when the store needs it.
pub fn passphrase_provider(dir: PathBuf) -> Arc<PassphraseFn> {
    Arc::new(move || {
        let required = || StoreError::PassphraseRequired { dir: dir.clone() };
        if let Ok(passphrase) = std::env::var(PASSPHRASE_VAR) {
            return Ok(Zeroizing::new(passphrase));
        }
        if !std::io::stdin().is_terminal() {
            return Err(required());
        }
        rpassword::prompt_password(format!("Passphrase for the key store {}: ", dir.display()))
            .map(Zeroizing::new)
            .map_err(|_| required())
    })
}

/// The user PIN of the HSM tokens `labels`.
pub fn user_pin(labels: &[String]) -> Result<Zeroizing<String>, KmsError> {
    let prompt = format!("User PIN for the PKCS#11 tokens {}: ", labels.join(", "));
    secret(PIN_VAR, &prompt, "the HSM user PIN")
}

/// The security officer PIN of the HSM tokens `labels`.
pub fn so_pin(labels: &[String]) -> Result<Zeroizing<String>, KmsError> {
    let prompt = format!("Security officer PIN for the PKCS#11 tokens {}: ", labels.join(", "));
    secret(SO_PIN_VAR, &prompt, "the security officer PIN")
}

fn secret(variable: &str, prompt: &str, what: &str) -> Result<Zeroizing<String>, KmsError> {
    if let Ok(secret) = std::env::var(variable) {
        return Ok(Zeroizing::new(secret));
    }
    let missing = || KmsError::Validation(format!("{what} is needed: set {variable} or run on a terminal"));
    if !std::io::stdin().is_terminal() {
        return Err(missing());
    }
    rpassword::prompt_password(prompt).map(Zeroizing::new).map_err(|_| missing())
}
