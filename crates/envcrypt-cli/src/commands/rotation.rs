//! `envcrypt key rotation ...`: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
//! ListKeyRotations. (`envcrypt key rotate` rotates on demand.)

use envcrypt::kms::{KeyRotation, KmsError, RotationStatus};
use serde_json::json;

use crate::error::CliError;
use crate::flags::{key_ref, GlobalArgs};
use crate::print;

/// Turn automatic rotation on or off, show the schedule, list past rotations.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Rotate a key's material automatically, every --period-days from today.
    #[command(after_help = "\
Examples:
  envcrypt key rotation enable alias/backup
  envcrypt key rotation enable --period-days 90 alias/backup

Data sealed before a rotation still opens. Run again with another --period-days to change
the period; the next rotation is then counted from the same date. The managed default key
(alias/envcrypt/default) rotates every 365 days and cannot be changed.")]
    Enable {
        /// The key (key id or key ARN).
        key: String,
        /// Days between rotations, 90 to 2560.
        #[arg(long, value_name = "DAYS", default_value_t = envcrypt::kms::DEFAULT_ROTATION_PERIOD_DAYS)]
        period_days: u32,
    },
    /// Stop rotating a key automatically (on-demand `key rotate` still works).
    #[command(after_help = "Example:\n  envcrypt key rotation disable alias/backup")]
    Disable {
        /// The key (key id or key ARN).
        key: String,
    },
    /// Show whether a key rotates automatically, and when next.
    #[command(after_help = "Example:\n  envcrypt key rotation status alias/backup")]
    Status {
        /// Key id, key ARN, alias/NAME or alias ARN.
        key: String,
    },
    /// List a key's completed rotations, oldest first.
    #[command(after_help = "Example:\n  envcrypt key rotation list --json alias/backup")]
    List {
        /// Key id, key ARN, alias/NAME or alias ARN.
        key: String,
    },
}

/// The key a rotation command names.
pub fn key_of(command: &Command) -> &str {
    match command {
        Command::Enable { key, .. } | Command::Disable { key } | Command::Status { key } | Command::List { key } => key,
    }
}

pub fn exec(command: &Command, rotation: &dyn KeyRotation, global: &GlobalArgs) -> Result<(), CliError> {
    let key = key_of(command);
    let target = key_ref(key)?;
    let failed = |op: &'static str| move |e: KmsError| CliError::kms(format!("cannot {op} {key}"), &e);
    match command {
        Command::Enable { period_days, .. } => {
            rotation.enable_key_rotation(&target, Some(*period_days)).wait().map_err(failed("enable rotation of"))?;
        }
        Command::Disable { .. } => {
            rotation.disable_key_rotation(&target).wait().map_err(failed("disable rotation of"))?;
        }
        Command::Status { .. } => {}
        Command::List { .. } => {
            let rotations = rotation.list_key_rotations(&target).wait().map_err(failed("list the rotations of"))?;
            return if global.json {
                let entries: Vec<_> = rotations
                    .iter()
                    .map(|r| {
                        json!({
                            "KeyId": r.key_id,
                            "RotationDate": print::timestamp(r.rotation_date),
                            "RotationType": r.rotation_type.as_str(),
                        })
                    })
                    .collect();
                print::json(&json!({ "Rotations": entries }))
            } else {
                let mut lines = vec![format!("{:<20}  {}", "ROTATED", "TYPE")];
                lines.extend(
                    rotations
                        .iter()
                        .map(|r| format!("{:<20}  {}", print::timestamp(r.rotation_date), r.rotation_type.as_str())),
                );
                print::lines(&lines)
            };
        }
    }
    // After a change, the schedule is shown if the caller may read it; the change stands either way.
    let status = match (rotation.get_key_rotation_status(&target).wait(), command) {
        (Ok(status), _) => status,
        (Err(_), Command::Enable { period_days, .. }) => {
            return print::line(&format!("rotation of {key} enabled, every {period_days} days"))
        }
        (Err(_), Command::Disable { .. }) => return print::line(&format!("rotation of {key} disabled")),
        (Err(e), _) => return Err(failed("get the rotation status of")(e)),
    };
    if global.json {
        print::json(&status_json(&status))
    } else {
        print::lines(&status_lines(&status))
    }
}

fn status_json(s: &RotationStatus) -> serde_json::Value {
    json!({
        "KeyId": s.key_arn,
        "KeyRotationEnabled": s.enabled,
        "RotationPeriodInDays": s.period_days,
        "NextRotationDate": s.next_rotation_date.map(print::timestamp),
    })
}

fn status_lines(s: &RotationStatus) -> Vec<String> {
    let mut lines = vec![format!("key:            {}", s.key_arn)];
    match (s.period_days, s.next_rotation_date) {
        (Some(days), Some(next)) => {
            lines.push(format!("rotation:       every {days} days"));
            lines.push(format!("next rotation:  {}", print::timestamp(next)));
        }
        _ => lines.push("rotation:       off".to_owned()),
    }
    lines
}
