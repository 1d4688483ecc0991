//! `envcrypt audit verify|acknowledge|list`: the local store's audit log.

use std::time::{Duration, SystemTime};

use envcrypt::kms::local::{read_audit_events, Acknowledgment, AuditError, StoreError};
use serde_json::Value;

use crate::backends::{store_dir, Backends};
use crate::error::{CliError, Exit};
use crate::flags::GlobalArgs;
use crate::print;

/// Check and query the local store's audit log (one CloudTrail-shaped event per call).
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check the log's hash chain: catches edited, removed, reordered or appended events.
    #[command(after_help = "\
Example:
  envcrypt audit verify

Prints the number of events and the MAC of the last one. The chain is keyed by the store's
root key, so verifying needs the store (and its passphrase, if it has one). Keep the printed
head somewhere else to catch a later rollback of the log together with its head file.
Exits 4 if the log does not verify.")]
    Verify,
    /// Record events lost from the end of the log (cut off, or a crash mid-write), so that calls
    /// work again; the loss stays in the log for `audit verify` to show.
    #[command(after_help = "\
Example:
  envcrypt audit verify                        # shows what is missing
  envcrypt --principal admin audit acknowledge # records it, as admin, and calls work again

While the log ends before its head file says it should, or ends in an incomplete event, every
call of the store is refused: no key is used without a record. Acknowledging appends an event
naming the lost sequence numbers and who acknowledged them (and removes the bytes of an
incomplete event). It refuses a log that was edited anywhere else: that is not a loss at its
end. Exits 4 if the log does not verify up to its end.")]
    Acknowledge,
    /// List events, oldest first.
    #[command(after_help = "\
Examples:
  envcrypt audit list --key alias/payroll --since 1h
  envcrypt audit list --principal role/rewrapper --json | jq '.[].eventName'
  envcrypt audit list --since 2026-11-23T09:00:00Z --errors")]
    List {
        /// Only events on this key: its id, its ARN, or the alias as the caller gave it.
        #[arg(long)]
        key: Option<String>,
        /// Only events by this principal: NAME, user/NAME, role/NAME or an ARN.
        #[arg(long)]
        principal: Option<String>,
        /// Only events at or after this time: RFC 3339, or a duration ago (`90m`, `2h`, `7d`).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only failed calls (denied, not found, ...).
        #[arg(long)]
        errors: bool,
    },
}

pub fn exec(command: &Command, global: &GlobalArgs) -> Result<(), CliError> {
    let dir = store_dir(global.store.clone()).map_err(|e| CliError::kms("cannot find the key store", &e))?;
    match command {
        Command::Verify => {
            let backends = Backends::new(global)?;
            let summary = backends.existing_local()?.verify_audit_log().map_err(audit_error)?;
            if global.json {
                return print::json(&serde_json::json!({
                    "Log": dir.join("audit.log"),
                    "Events": summary.events,
                    "LastSequence": summary.last_sequence,
                    "HeadMac": summary.head_mac,
                    "Acknowledged": summary.acknowledged,
                }));
            }
            let mut lines = vec![format!(
                "{}: {} events, chain intact; head {}",
                dir.join("audit.log").display(),
                summary.events,
                summary.head_mac
            )];
            lines.extend(summary.acknowledged.iter().map(|a| format!("acknowledged: {}", describe_loss(a))));
            print::lines(&lines)
        }
        Command::Acknowledge => {
            let backends = Backends::new(global)?;
            let acknowledged = backends.existing_local()?.acknowledge_audit_loss().map_err(audit_error)?;
            if global.json {
                return print::json(&serde_json::to_value(&acknowledged).expect("an acknowledgment serializes"));
            }
            print::lines(&[format!("recorded as event {}: {}", acknowledged.sequence, describe_loss(&acknowledged))])
        }
        Command::List { key, principal, since, errors } => {
            let since = since.as_deref().map(parse_since).transpose()?;
            let events: Vec<Value> = read_audit_events(&dir)
                .map_err(audit_error)?
                .into_iter()
                .filter(|e| key.as_deref().is_none_or(|k| on_key(e, k)))
                .filter(|e| principal.as_deref().is_none_or(|p| by_principal(e, p)))
                .filter(|e| since.is_none_or(|t| event_time(e).is_some_and(|time| time >= t)))
                .filter(|e| !errors || e.get("errorCode").is_some())
                .collect();
            if global.json {
                return print::json(&Value::Array(events));
            }
            let mut lines =
                vec![format!("{:<20}  {:<31}  {:<45}  {:<36}  RESULT", "TIME", "EVENT", "PRINCIPAL", "KEY")];
            lines.extend(events.iter().map(|e| {
                let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
                let key = e["resources"][0]["ARN"].as_str().and_then(|arn| arn.rsplit('/').next()).unwrap_or("-");
                format!(
                    "{:<20}  {:<31}  {:<45}  {:<36}  {}",
                    text(&e["eventTime"]),
                    text(&e["eventName"]),
                    text(&e["userIdentity"]["arn"]),
                    key,
                    e.get("errorCode").and_then(Value::as_str).unwrap_or("ok")
                )
            }));
            print::lines(&lines)
        }
    }
}

/// One acknowledged loss, in words.
fn describe_loss(loss: &Acknowledgment) -> String {
    let mut what = match loss.lost {
        Some((from, to)) if from == to => format!("event {from} lost"),
        Some((from, to)) => format!("events {from}-{to} lost"),
        None => "no event lost".to_owned(),
    };
    if loss.incomplete_bytes > 0 {
        what.push_str(&format!(", an incomplete event of {} bytes removed", loss.incomplete_bytes));
    }
    format!("{what} (acknowledged by {} at {})", loss.by, loss.at)
}

fn audit_error(error: AuditError) -> CliError {
    match error {
        AuditError::Store(StoreError::Io { .. }) => CliError::new(Exit::Io, error.to_string()),
        other => CliError::new(Exit::Data, other.to_string()),
    }
}

fn on_key(event: &Value, key: &str) -> bool {
    let resources = event["resources"].as_array().map(Vec::as_slice).unwrap_or_default();
    let matches_arn = |arn: &str| arn == key || arn.strip_suffix(key).is_some_and(|rest| rest.ends_with("key/"));
    resources.iter().filter_map(|r| r["ARN"].as_str()).any(matches_arn)
        || event["requestParameters"].as_object().is_some_and(|params| {
            ["keyId", "destinationKeyId", "sourceKeyId", "targetKeyId", "aliasName"]
                .iter()
                .any(|name| params.get(*name).and_then(Value::as_str) == Some(key))
        })
}

fn by_principal(event: &Value, principal: &str) -> bool {
    let arn = event["userIdentity"]["arn"].as_str().unwrap_or_default();
    let short = if principal.contains('/') || principal.starts_with("arn:") || principal == "root" {
        principal.to_owned()
    } else {
        format!("user/{principal}")
    };
    arn == short || arn.strip_suffix(&short).is_some_and(|rest| rest.ends_with(':'))
}

fn parse_since(text: &str) -> Result<SystemTime, CliError> {
    if let Ok(time) = humantime::parse_rfc3339_weak(text) {
        return Ok(time);
    }
    let ago: Duration = humantime::parse_duration(text).map_err(|_| {
        CliError::usage(format!(
            "--since {text:?}: give an RFC 3339 time (2026-11-23T09:00:00Z) or a duration (90m, 2h, 7d)"
        ))
    })?;
    Ok(SystemTime::now() - ago)
}

fn event_time(event: &Value) -> Option<SystemTime> {
    event["eventTime"].as_str().and_then(|t| humantime::parse_rfc3339(t).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_ids_arns_aliases_and_short_principals() {
        let event = serde_json::json!({
            "userIdentity": { "arn": "arn:envcrypt:iam::000000000000:role/rewrapper" },
            "requestParameters": { "keyId": "alias/payroll" },
            "resources": [{ "ARN": "arn:envcrypt:kms:local:000000000000:key/1234" }],
        });
        for key in ["1234", "arn:envcrypt:kms:local:000000000000:key/1234", "alias/payroll"] {
            assert!(on_key(&event, key), "{key}");
        }
        assert!(!on_key(&event, "234") && !on_key(&event, "alias/other"));
        assert!(by_principal(&event, "role/rewrapper"));
        assert!(by_principal(&event, "arn:envcrypt:iam::000000000000:role/rewrapper"));
        assert!(!by_principal(&event, "rewrapper"), "a bare name is a user");
        assert!(parse_since("2h").unwrap() < SystemTime::now());
        assert!(parse_since("2026-11-23T09:00:00Z").is_ok());
        assert!(parse_since("yesterday").is_err());
    }
}
