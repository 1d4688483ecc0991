//! `envcrypt hsm status`: the PKCS#11 cluster's tokens.

use super::{print_json, print_lines};
use crate::backends::Backends;
use crate::cli::{GlobalArgs, HsmCommand};
use crate::error::{CliError, Exit};

pub fn exec(command: &HsmCommand, global: &GlobalArgs) -> Result<(), CliError> {
    match command {
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
