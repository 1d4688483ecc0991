//! `envcrypt completions SHELL`: tab completion for bash, zsh, fish (and elvish, PowerShell),
//! generated from the command-line definition.

use crate::error::CliError;

/// Print a shell's completion script.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  envcrypt completions bash > ~/.local/share/bash-completion/completions/envcrypt
  envcrypt completions zsh > \"${fpath[1]}/_envcrypt\"
  envcrypt completions fish > ~/.config/fish/completions/envcrypt.fish")]
pub struct Args {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn exec(args: &Args, command: clap::Command) -> Result<(), CliError> {
    let mut script = Vec::new();
    let mut command = command;
    clap_complete::generate(args.shell, &mut command, "envcrypt", &mut script);
    crate::print::bytes(&script)
}
