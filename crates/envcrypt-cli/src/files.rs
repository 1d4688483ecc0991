//! Local inputs and outputs: files and stdin/stdout, outputs staged until complete, progress.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{CliError, Exit};
use crate::location::Location;
use crate::staged::{CommitError, StagedFile};

/// Inputs at least this large get a progress bar on a terminal.
const PROGRESS_THRESHOLD: u64 = 64 * 1024 * 1024;

/// An opened input and how to name it in messages.
pub struct Input {
    pub reader: Box<dyn Read + Send>,
    pub name: String,
    /// The length of a regular file (unknown for pipes).
    pub len: Option<u64>,
}

impl Input {
    /// A local input: stdin or a file (an S3 object is read by the S3 layer).
    pub fn open(location: &Location, progress: bool) -> Result<Self, CliError> {
        match location {
            Location::Stdio => Self::stdin(),
            Location::File(path) => Self::file(path, progress),
            Location::S3(url) => Err(CliError::usage(format!("{url}: an S3 object cannot be read here"))),
        }
    }

    fn stdin() -> Result<Self, CliError> {
        // A plain descriptor, as for stdout: Rust's `Stdin` is a locked, buffered handle
        // that cannot move to the threads of the frame pipeline.
        let fd = io::stdin().as_fd().try_clone_to_owned().map_err(|e| CliError::io("cannot use stdin", &e))?;
        Ok(Self { reader: Box::new(File::from(fd)), name: "stdin".into(), len: None })
    }

    /// A file; a large one shows a progress bar on a terminal if `progress`.
    fn file(path: &Path, progress: bool) -> Result<Self, CliError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| CliError::io(format!("cannot read {name}"), &e))?;
        let metadata = file.metadata().map_err(|e| CliError::io(format!("cannot read {name}"), &e))?;
        let len = metadata.is_file().then_some(metadata.len());
        let size = len.unwrap_or(0);
        let reader: Box<dyn Read + Send> = if progress && size >= PROGRESS_THRESHOLD && io::stderr().is_terminal() {
            let bar = ProgressBar::new(size).with_style(
                ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                    .expect("the progress template is valid"),
            );
            Box::new(bar.wrap_read(file))
        } else {
            Box::new(file)
        };
        Ok(Self { reader, name, len })
    }
}

/// Where output goes: stdout as it is produced, or a staged file that gets its name only at
/// [`Output::commit`] ([`crate::staged`]): whatever ends the process before, no output is left.
pub enum Output {
    /// Standard output as a plain file descriptor: Rust's `Stdout` is line-buffered, which
    /// would scan every frame of binary data for newlines and split its writes.
    Stdout(File),
    File(StagedFile),
}

impl Output {
    /// A local output: stdout or a file that must not exist unless `force`.
    pub fn create(location: &Location, force: bool) -> Result<Self, CliError> {
        match location {
            Location::Stdio => Self::stdout(),
            Location::File(path) => Self::file(path, force),
            Location::S3(url) => Err(CliError::usage(format!("{url}: an S3 object cannot be written here"))),
        }
    }

    fn stdout() -> Result<Self, CliError> {
        let fd = io::stdout().as_fd().try_clone_to_owned().map_err(|e| CliError::io("cannot use stdout", &e))?;
        Ok(Self::Stdout(File::from(fd)))
    }

    fn file(target: &Path, force: bool) -> Result<Self, CliError> {
        let shown = target.display();
        if !force && target.symlink_metadata().is_ok() {
            return Err(CliError::new(Exit::Io, format!("{shown} already exists; use --force to replace it")));
        }
        StagedFile::create(target, force)
            .map(Self::File)
            .map_err(|e| CliError::io(format!("cannot create {shown}"), &e))
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Stdout(out) if out.is_terminal())
    }

    pub fn writer(&mut self) -> &mut File {
        match self {
            Self::Stdout(out) => out,
            Self::File(staged) => staged.file(),
        }
    }

    /// Gives a file output the permissions of the file it replaces.
    pub fn copy_permissions_from(&self, original: &std::fs::Metadata) -> Result<(), CliError> {
        match self {
            Self::Stdout(_) => Ok(()),
            Self::File(staged) => staged
                .as_file()
                .set_permissions(original.permissions())
                .map_err(|e| CliError::io("cannot set the output's permissions", &e)),
        }
    }

    /// Makes a file output durable and gives it its name.
    pub fn commit(self, shown: &dyn std::fmt::Display) -> Result<(), CliError> {
        match self {
            Self::Stdout(mut out) => out.flush().map_err(|e| CliError::io("cannot write to stdout", &e)),
            Self::File(staged) => staged.commit().map_err(|e| match e {
                CommitError::AlreadyExists => {
                    CliError::new(Exit::Io, format!("{shown} already exists; use --force to replace it"))
                }
                CommitError::Interrupted => CliError::new(Exit::Io, format!("interrupted: {shown} was not written")),
                CommitError::Io(e) => CliError::io(format!("cannot write {shown}"), &e),
            }),
        }
    }
}

/// Whether an I/O error is a closed pipe on stdout (`envcrypt open x | head`), which is a
/// normal way for the reader to stop.
pub fn is_broken_pipe(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::BrokenPipe
}
