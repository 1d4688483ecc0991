//! `envcrypt man`: the manual pages, generated from the command-line definition
//! (`scripts/man.sh` keeps the copies in `docs/man/` current).

use std::path::PathBuf;

use crate::error::CliError;

/// Print the man page, or write one page per command to a directory.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  envcrypt man | man -l -
  envcrypt man --dir /usr/local/share/man/man1     # envcrypt.1, envcrypt-seal.1, ...")]
pub struct Args {
    /// Write envcrypt.1 and a page per subcommand (envcrypt-seal.1, envcrypt-key-create.1, ...)
    /// into this directory instead.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn exec(args: &Args, command: clap::Command) -> Result<(), CliError> {
    if let Some(dir) = &args.dir {
        let failed = |e| CliError::io(format!("cannot write the man pages to {}", dir.display()), &e);
        std::fs::create_dir_all(dir).map_err(failed)?;
        return clap_mangen::generate_to(command, dir).map_err(failed);
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(command).render(&mut page).map_err(|e| CliError::io("cannot render the man page", &e))?;
    crate::print::bytes(&page)
}
