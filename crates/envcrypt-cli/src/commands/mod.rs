//! One module per subcommand; each `exec` turns arguments into library calls.

mod audit;
mod conformance;
mod grant;
mod hsm;
mod inspect;
mod key;
mod kms;
mod open;
mod rewrap;
mod s3;
mod seal;

use std::io::{self, Write};

use crate::cli::{Cli, Command};
use crate::error::CliError;
use crate::files::is_broken_pipe;
use crate::terminal;

pub fn run(cli: Cli) -> Result<(), CliError> {
    let global = &cli.global;
    match &cli.command {
        Command::Seal(args) => seal::exec(args, global),
        Command::Open(args) => open::exec(args, global),
        Command::Inspect(args) => inspect::exec(args, global),
        Command::Key(command) => key::exec(command, global),
        Command::Kms(command) => kms::exec(command, global),
        Command::Conformance(args) => conformance::exec(args, global),
        Command::Audit(command) => audit::exec(command, global),
        Command::Hsm(command) => hsm::exec(command, global),
        Command::Rewrap(args) => rewrap::exec(args, global),
    }
}

/// Reads a text file named on the command line, or stdin for `-`.
fn read_text(path: &str, what: &str) -> Result<String, CliError> {
    let result = if path == "-" { io::read_to_string(io::stdin()) } else { std::fs::read_to_string(path) };
    result.map_err(|e| CliError::io(format!("cannot read {what} from {path}"), &e))
}

/// Prints a JSON value on stdout, with terminal-steering characters in its strings escaped.
fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    let formatter = terminal::SteeringEscaped(serde_json::ser::PrettyFormatter::new());
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer).map_err(io::Error::from).and_then(|()| writeln!(out)).or_else(|e| {
        if is_broken_pipe(&e) {
            Ok(())
        } else {
            Err(CliError::io("cannot write to stdout", &e))
        }
    })
}

/// Prints text lines on stdout, with anything that could steer a terminal escaped.
fn print_lines(lines: &[String]) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    for line in lines {
        if let Err(e) = writeln!(out, "{}", terminal::escape(line)) {
            return if is_broken_pipe(&e) { Ok(()) } else { Err(CliError::io("cannot write to stdout", &e)) };
        }
    }
    Ok(())
}

/// Prints a JSON document (a key policy): the same document, with terminal-steering
/// characters in its strings escaped.
fn print_document(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    writeln!(out, "{}", terminal::escape_json_document(text)).or_else(|e| {
        if is_broken_pipe(&e) {
            Ok(())
        } else {
            Err(CliError::io("cannot write to stdout", &e))
        }
    })
}
