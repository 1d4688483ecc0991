//! One module per subcommand: its clap arguments next to its `exec`, which turns them into
//! library calls.

pub mod alias;
pub mod audit;
pub mod completions;
pub mod conformance;
pub mod grant;
pub mod hsm;
pub mod inspect;
pub mod key;
pub mod kms;
pub mod man;
pub mod open;
pub mod rewrap;
pub mod seal;

use crate::cli::{Cli, Command};
use crate::error::CliError;

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
        Command::Completions(args) => completions::exec(args),
        Command::Man(args) => man::exec(args),
    }
}
