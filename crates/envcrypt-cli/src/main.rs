//! `envcrypt`: seal and open files with envelope encryption. All cryptography lives in the
//! `envcrypt` library; this binary parses arguments, moves bytes and reports errors.

mod backends;
mod cli;
mod commands;
mod error;
mod files;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("envcrypt: {}", error.message);
            error.exit_code()
        }
    }
}
