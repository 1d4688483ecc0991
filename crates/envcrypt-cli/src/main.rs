//! `envcrypt`: seal and open files with envelope encryption. All cryptography lives in the
//! `envcrypt` library; this binary parses arguments, moves bytes and reports errors.

mod backends;
mod batch;
mod cli;
mod commands;
mod error;
mod files;
mod flags;
mod location;
mod print;
mod prompts;
mod signals;
mod staged;
mod terminal;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // No core dump of a process that holds plaintext and keys (a crash, or SIGQUIT).
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    if let Err(e) = signals::install() {
        eprintln!("envcrypt: cannot install the signal handlers: {e}");
        return ExitCode::from(error::Exit::Io as u8);
    }
    let result = cli::run(cli);
    // A command that wound down after a signal (an aborted upload) ends as the signal would.
    if let Some(signal) = signals::received() {
        if let Err(error) = &result {
            eprintln!("envcrypt: {}", terminal::escape(&error.message));
        }
        std::process::exit(signals::exit_status(signal));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("envcrypt: {}", terminal::escape(&error.message));
            error.exit_code()
        }
    }
}
