//! `envcrypt hsm status|init-cluster`: the PKCS#11 cluster's tokens.

use super::{print_json, print_lines};
use crate::backends::{pkcs11_config, secret_from_env_or_prompt, Backends};
use crate::cli::{GlobalArgs, HsmCommand};
use crate::error::{CliError, Exit};

const SO_PIN_VAR: &str = "ENVCRYPT_PKCS11_SO_PIN";

pub fn exec(command: &HsmCommand, global: &GlobalArgs) -> Result<(), CliError> {
    match command {
        HsmCommand::InitCluster => {
            let what = "cannot set up the PKCS#11 cluster";
            let cluster = pkcs11_config(global).map_err(|e| CliError::kms(what, &e))?;
            let prompt = format!("Security officer PIN for the PKCS#11 tokens {}: ", cluster.tokens.join(", "));
            let so_pin = secret_from_env_or_prompt(SO_PIN_VAR, &prompt, "the security officer PIN")
                .map_err(|e| CliError::kms(what, &e))?;
            let report = envcrypt_pkcs11::init_cluster(&cluster, &so_pin).map_err(|e| CliError::kms(what, &e))?;
            if global.json {
                return print_json(&serde_json::to_value(&report).expect("the report serializes"));
            }
            let mut lines = vec![format!("{:<32}  CLUSTER KEY", "TOKEN")];
            lines.extend(report.iter().map(|t| format!("{:<32}  {}", t.label, t.cluster_key)));
            print_lines(&lines)
        }
        HsmCommand::Status => {
            let backends = Backends::new(global)?;
            let status = backends.pkcs11()?.status();
            if global.json {
                print_json(&serde_json::to_value(&status).expect("the status serializes"))?;
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
                print_lines(&lines)?;
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
