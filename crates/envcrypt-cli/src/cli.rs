//! The command line: the subcommands, and running the one given. Each subcommand's arguments
//! sit next to its `exec` in `commands/`; the global and shared flags are in `flags`.

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands::{
    audit, completions, conformance, credentials, hsm, inspect, key, kms, man, open, rewrap, seal, serve,
};
use crate::error::CliError;
use crate::flags::GlobalArgs;

#[derive(Debug, Parser)]
#[command(
    name = "envcrypt",
    version,
    about = "Envelope encryption with KMS-style keys: seal and open files, manage keys",
    after_help = "\
Examples:
  envcrypt seal report.pdf                 # writes report.pdf.enc with the default key
  envcrypt open report.pdf.enc             # writes report.pdf
  envcrypt seal *.log                      # each to its own .enc, on every core
  tar c dir | envcrypt seal -o dir.tar.enc
  envcrypt key create --alias alias/backup
  envcrypt seal --key alias/backup --context team=ops db.dump
  envcrypt --principal admin key create --policy policy.json --alias alias/payroll
  envcrypt audit list --principal role/rewrapper --since 1h

Exit codes:
  0  success
  1  input/output or environment error (file not found, output exists, store unreadable)
  2  usage error (bad arguments, bad key reference or context pair)
  3  the key service refused (key not found, disabled, pending deletion, wrong key, access denied)
  4  the data failed its checks (altered, truncated, wrong encryption context)
  5  `conformance` found a difference from documented AWS KMS behaviour
With several inputs, the status is that of the first input that failed."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Seal(seal::Args),
    Open(open::Args),
    Inspect(inspect::Args),
    #[command(subcommand)]
    Key(key::Command),
    #[command(subcommand)]
    Kms(kms::Command),
    Rewrap(rewrap::Args),
    #[command(subcommand)]
    Hsm(hsm::Command),
    #[command(subcommand)]
    Audit(audit::Command),
    Conformance(conformance::Args),
    /// Serve the local store (or the HSM cluster) as an AWS KMS endpoint, with SigV4.
    Serve(serve::Args),
    /// Create, list or revoke the access keys of the KMS endpoint (`envcrypt serve`).
    #[command(subcommand)]
    Credentials(credentials::Command),
    Completions(completions::Args),
    Man(man::Args),
}

/// Runs the command given.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let global = &cli.global;
    match &cli.command {
        Command::Seal(args) => seal::exec(args, global),
        Command::Open(args) => open::exec(args, global),
        Command::Inspect(args) => inspect::exec(args, global),
        Command::Key(command) => key::exec(command, global),
        Command::Kms(command) => kms::exec(command, global),
        Command::Rewrap(args) => rewrap::exec(args, global),
        Command::Hsm(command) => hsm::exec(command, global),
        Command::Audit(command) => audit::exec(command, global),
        Command::Conformance(args) => conformance::exec(args, global),
        Command::Serve(args) => serve::exec(args, global),
        Command::Credentials(command) => credentials::exec(command, global),
        Command::Completions(args) => completions::exec(args, Cli::command()),
        Command::Man(args) => man::exec(args, Cli::command()),
    }
}
