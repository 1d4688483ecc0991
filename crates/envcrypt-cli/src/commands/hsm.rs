//! `envcrypt hsm status|init-cluster`: the PKCS#11 cluster's tokens.

use crate::backends::{pkcs11_config, Backends};
use crate::error::{CliError, Exit};
use crate::flags::GlobalArgs;
use crate::{print, prompts, terminal};

/// Show the HSM cluster, or set it up as its security officer.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Each token's health, key count and, for a token that is down, why.
    #[command(after_help = "\
Example:
  ENVCRYPT_PKCS11_PIN=1234 envcrypt --pkcs11-module /usr/lib/softhsm/libsofthsm2.so \\
      --pkcs11-token az-a --pkcs11-token az-b --pkcs11-token az-c hsm status

Connecting copies any missing key to every token that answers. A trusted cluster key that a
token lacks is named on stderr (run init-cluster). Exits 1 if a token is down.")]
    Status,
    /// Set up the cluster's trusted wrapping key, as its security officer (once per cluster,
    /// and again after adding a token).
    #[command(after_help = "\
Example:
  ENVCRYPT_PKCS11_SO_PIN=5678 envcrypt --pkcs11-module /usr/lib/softhsm/libsofthsm2.so \\
      --pkcs11-token az-a --pkcs11-token az-b --pkcs11-token az-c hsm init-cluster

Keys are copied between the tokens only wrapped under this key, and only the security officer
can make it (PKCS#11 lets only the SO mark a key trusted): so a holder of the user PIN can use
every key but export none. The SO PIN comes from ENVCRYPT_PKCS11_SO_PIN or a prompt, never
from the command line. Tokens that hold the key keep it; every token must be reachable.")]
    InitCluster,
}

pub fn exec(command: &Command, global: &GlobalArgs) -> Result<(), CliError> {
    match command {
        Command::InitCluster => {
            let what = "cannot set up the PKCS#11 cluster";
            let cluster = pkcs11_config(global)?;
            let so_pin = prompts::so_pin(&cluster.tokens).map_err(|e| CliError::kms(what, &e))?;
            let report = envcrypt_pkcs11::init_cluster(&cluster, &so_pin).map_err(|e| CliError::kms(what, &e))?;
            if global.json {
                return print::json(&serde_json::to_value(&report).expect("the report serializes"));
            }
            let mut lines = vec![format!("{:<32}  CLUSTER KEY", "TOKEN")];
            lines.extend(report.iter().map(|t| format!("{:<32}  {}", t.label, t.cluster_key)));
            print::lines(&lines)
        }
        Command::Status => {
            let backends = Backends::new(global)?;
            let status = backends.pkcs11()?.status();
            if global.json {
                print::json(&serde_json::to_value(&status).expect("the status serializes"))?;
            } else {
                let mut lines = vec![format!("{:<32}  {:<7}  {:>5}  ERROR", "TOKEN", "HEALTH", "KEYS")];
                lines.extend(status.iter().map(|t| {
                    format!(
                        "{:<32}  {:<7}  {:>5}  {}",
                        t.label,
                        if t.healthy { "up" } else { "down" },
                        t.keys.map_or_else(|| "-".to_owned(), |k| k.to_string()),
                        t.error.as_deref().unwrap_or("")
                    )
                }));
                print::lines(&lines)?;
            }
            for token in status.iter().filter(|t| !t.missing_cluster_keys.is_empty()) {
                eprintln!(
                    "envcrypt: token {} lacks {}: keys of those kinds are refused until the security officer runs \
                     `envcrypt hsm init-cluster`",
                    terminal::escape(&token.label),
                    token.missing_cluster_keys.join(", ")
                );
            }
            let down: Vec<&str> = status.iter().filter(|t| !t.healthy).map(|t| t.label.as_str()).collect();
            if down.is_empty() {
                Ok(())
            } else {
                Err(CliError::new(
                    Exit::Io,
                    format!("token(s) down: {}; operations continue on the others", down.join(", ")),
                ))
            }
        }
    }
}
