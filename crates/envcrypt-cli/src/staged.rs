//! Output files that exist under a name only once they are complete.
//!
//! A file being written is created unnamed (`O_TMPFILE`) in its target's directory: the kernel
//! frees it when the process ends, however it ends (an error, any signal, SIGKILL, a power
//! cut), so plaintext that has not finished authenticating is never left behind under any name.
//! [`StagedFile::commit`] syncs it and links it in under its name (or, to replace a file,
//! under a temporary name that is renamed over the old one), then syncs the directory.
//!
//! Where the file system has no unnamed files, the output is a named temporary file
//! (`.envcrypt-*.partial`) that is deleted on error, on drop, and by the signal handler
//! ([`crate::signals`]); only SIGKILL can leave one behind there.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, CWD};
use rustix::io::Errno;

use crate::signals;

/// Why a staged file could not be committed.
#[derive(Debug)]
pub enum CommitError {
    /// The target exists and was not to be replaced.
    AlreadyExists,
    /// A signal arrived first; the output was discarded.
    Interrupted,
    /// The file system refused.
    Io(io::Error),
}

/// An output file being written.
pub struct StagedFile {
    file: File,
    name: Name,
    target: PathBuf,
    dir: PathBuf,
    replace: bool,
}

enum Name {
    /// No name yet: linked in at commit.
    Unnamed,
    /// A temporary name, removed on drop unless persisted, and by the signal handler.
    Temporary { path: tempfile::TempPath, staged: signals::Staged },
}

impl StagedFile {
    /// Stages a new file for `target`; `replace` allows replacing an existing one at commit.
    pub fn create(target: &Path, replace: bool) -> io::Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let flags = OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC;
        let unnamed = if Path::new("/proc/self/fd").is_dir() {
            rustix::fs::openat(CWD, &dir, flags, Mode::from_raw_mode(0o600))
        } else {
            Err(Errno::OPNOTSUPP)
        };
        let (file, name) = match unnamed {
            Ok(fd) => (File::from(fd), Name::Unnamed),
            // No O_TMPFILE on this file system (or an old kernel): a named temporary file.
            Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL) => {
                let temp = tempfile::Builder::new().prefix(".envcrypt-").suffix(".partial").tempfile_in(&dir)?;
                let staged = signals::stage(temp.path());
                let (file, path) = temp.into_parts();
                (file, Name::Temporary { path, staged })
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Self { file, name, target: target.to_path_buf(), dir, replace })
    }

    /// The file to write.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// The file, for its metadata.
    pub fn as_file(&self) -> &File {
        &self.file
    }

    /// Syncs the file, gives it its name, and syncs the directory: after this returns, the
    /// whole output is under its name, durably. A signal before this point discards it.
    pub fn commit(self) -> Result<(), CommitError> {
        self.file.sync_all().map_err(CommitError::Io)?;
        let Self { file, name, target, dir, replace } = self;
        match name {
            Name::Unnamed => {
                let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
                let link = |to: &Path| rustix::fs::linkat(CWD, &proc_path, CWD, to, AtFlags::SYMLINK_FOLLOW);
                if !replace {
                    signals::while_not_interrupted(|| link(&target)).ok_or(CommitError::Interrupted)?.map_err(|e| {
                        match e {
                            Errno::EXIST => CommitError::AlreadyExists,
                            e => CommitError::Io(e.into()),
                        }
                    })?;
                } else {
                    let suffix: String =
                        envcrypt::crypto::random_array::<6>().iter().map(|b| format!("{b:02x}")).collect();
                    let temporary = dir.join(format!(".envcrypt-{suffix}.partial"));
                    let staged = signals::stage(&temporary);
                    signals::commit(staged, || {
                        link(&temporary).map_err(io::Error::from)?;
                        std::fs::rename(&temporary, &target).inspect_err(|_| {
                            let _ = std::fs::remove_file(&temporary);
                        })
                    })
                    .ok_or(CommitError::Interrupted)?
                    .map_err(CommitError::Io)?;
                }
            }
            Name::Temporary { path, staged } => {
                signals::commit(staged, || {
                    if replace {
                        path.persist(&target).map(drop).map_err(|e| e.error)
                    } else {
                        path.persist_noclobber(&target).map(drop).map_err(|e| e.error)
                    }
                })
                .ok_or(CommitError::Interrupted)?
                .map_err(|e| match e.kind() {
                    io::ErrorKind::AlreadyExists => CommitError::AlreadyExists,
                    _ => CommitError::Io(e),
                })?;
            }
        }
        File::open(&dir).and_then(|d| d.sync_all()).map_err(CommitError::Io)
    }
}
