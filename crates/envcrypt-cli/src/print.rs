//! What commands print on stdout: JSON documents and text lines, with anything that could
//! steer a terminal escaped ([`crate::terminal`]). A closed pipe (`envcrypt ... | head`) ends
//! the output quietly.

use std::io::{self, Write};

use crate::error::CliError;
use crate::files::is_broken_pipe;
use crate::terminal;

/// Prints what a dry run found: that `operation` would have succeeded, or why it would not.
pub fn dry_run(operation: &str, result: Result<(), envcrypt::kms::KmsError>) -> Result<(), CliError> {
    match result {
        Ok(()) => json(&serde_json::json!({ "DryRun": format!("{operation} would have succeeded") })),
        Err(e) => Err(CliError::kms(format!("{operation} (dry run)"), &e)),
    }
}

/// Prints a JSON value, with terminal-steering characters in its strings escaped.
pub fn json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    let formatter = terminal::SteeringEscaped(serde_json::ser::PrettyFormatter::new());
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    finish(value.serialize(&mut serializer).map_err(io::Error::from).and_then(|()| writeln!(out)))
}

/// A time (seconds since the Unix epoch) as commands print it: RFC 3339, to the second (or
/// the seconds, past the year 9999, which RFC 3339 cannot write).
pub fn timestamp(secs: u64) -> String {
    const LAST_RFC3339_SECOND: u64 = 253_402_300_799;
    if secs > LAST_RFC3339_SECOND {
        return format!("{secs} seconds since the Unix epoch");
    }
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)).to_string()
}

/// Prints text lines.
pub fn lines(lines: &[String]) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    finish(lines.iter().try_for_each(|line| writeln!(out, "{}", terminal::escape(line))))
}

/// Prints a JSON document (a key policy): the same document, with terminal-steering
/// characters in its strings escaped.
pub fn document(text: &str) -> Result<(), CliError> {
    finish(writeln!(io::stdout().lock(), "{}", terminal::escape_json_document(text)))
}

/// Prints one line and flushes it at once (a server's first line, read by whoever started it).
pub fn line(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    finish(writeln!(out, "{}", terminal::escape(text)).and_then(|()| out.flush()))
}

/// Prints bytes as they are (a completion script, a man page).
pub fn bytes(bytes: &[u8]) -> Result<(), CliError> {
    finish(io::stdout().lock().write_all(bytes))
}

fn finish(written: io::Result<()>) -> Result<(), CliError> {
    match written {
        Err(e) if !is_broken_pipe(&e) => Err(CliError::io("cannot write to stdout", &e)),
        _ => Ok(()),
    }
}
