//! SIGINT, SIGTERM and SIGHUP: the process ends with the conventional status (128 + the
//! signal's number) and leaves no half-written output behind.
//!
//! Outputs are staged in unnamed files that no termination can leave behind
//! ([`crate::staged`]); on file systems without those, in named temporary files that register
//! here. A thread waits for the signals; when one arrives it deletes every registered file
//! (emptied first, so no plaintext lingers in the page cache either) and exits. A staged file
//! gets its name only under the same lock ([`commit`], [`while_not_interrupted`]), so a signal
//! either comes before that and the output is discarded, or after it: never half of each.
//!
//! Work that must be undone elsewhere first (an S3 multipart upload, aborted so that no parts
//! stay behind) asks for a cooperative stop instead ([`cooperative_stop`]): the first signal
//! sets its flag and the command winds down, a second one exits at once.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Temporary files holding output not yet committed.
static STAGED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// The flag of the cooperative stop in progress, if any.
static COOPERATIVE: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);
/// The signal that interrupted the command (0 while none has).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
static INSTALLED: OnceLock<()> = OnceLock::new();

fn staged() -> MutexGuard<'static, Vec<PathBuf>> {
    STAGED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts the thread that handles the signals; later calls do nothing.
pub fn install() -> std::io::Result<()> {
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new().name("envcrypt-signals".into()).spawn(move || {
        for signal in signals.forever() {
            handle(signal);
        }
    })?;
    let _ = INSTALLED.set(());
    Ok(())
}

fn handle(signal: i32) {
    let first = RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst).is_ok();
    let mut files = staged();
    for path in files.drain(..) {
        discard(&path);
    }
    let cooperative = COOPERATIVE.lock().unwrap_or_else(PoisonError::into_inner).clone();
    match cooperative {
        Some(stop) if first => stop.store(true, Ordering::SeqCst),
        // Exiting while holding the staging lock: no commit can start after this point.
        _ => std::process::exit(exit_status(signal)),
    }
}

/// Empties and removes a staged file.
fn discard(path: &Path) {
    if let Ok(file) = OpenOptions::new().write(true).open(path) {
        let _ = file.set_len(0);
    }
    let _ = std::fs::remove_file(path);
}

/// The exit status for `signal`: 128 + its number, as shells report a process it ended.
pub fn exit_status(signal: i32) -> i32 {
    128 + signal
}

/// The signal that interrupted the command, if one did.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// Registers a temporary output file; it is deleted if a signal arrives before [`commit`]
/// or the returned guard's drop.
pub fn stage(path: &Path) -> Staged {
    staged().push(path.to_path_buf());
    Staged(path.to_path_buf())
}

/// A registered temporary file; dropping it forgets the registration (the file itself is
/// the caller's to delete, as `tempfile` does).
#[derive(Debug)]
pub struct Staged(PathBuf);

impl Drop for Staged {
    fn drop(&mut self) {
        staged().retain(|p| *p != self.0);
    }
}

/// Runs `work` under the staging lock unless a signal already arrived (`None` then): a signal
/// that arrives meanwhile waits for it, so `work` runs whole or not at all.
pub fn while_not_interrupted<T>(work: impl FnOnce() -> T) -> Option<T> {
    let _files = staged();
    if received().is_some() {
        return None;
    }
    Some(work())
}

/// Runs `rename` (which moves the staged file into place) as [`while_not_interrupted`] does,
/// and forgets the file's registration in the same step.
pub fn commit<T>(staged_file: Staged, rename: impl FnOnce() -> T) -> Option<T> {
    let mut files = staged();
    if received().is_some() {
        return None;
    }
    let result = rename();
    files.retain(|p| *p != staged_file.0);
    drop(files);
    drop(staged_file);
    Some(result)
}

/// A flag the first signal sets instead of exiting, for work that must be undone first; the
/// command then ends with [`received`]'s status. The flag is armed until the guard drops, and
/// is set in the signal handler itself, so that work that checks it never misses a signal
/// that arrived before the check.
pub fn cooperative_stop() -> CooperativeStop {
    let flag = Arc::new(AtomicBool::new(false));
    *COOPERATIVE.lock().unwrap_or_else(PoisonError::into_inner) = Some(flag.clone());
    let ids = [SIGINT, SIGTERM, SIGHUP]
        .into_iter()
        .filter_map(|signal| signal_hook::flag::register(signal, flag.clone()).ok())
        .collect();
    CooperativeStop { flag, ids }
}

/// An armed cooperative stop.
pub struct CooperativeStop {
    flag: Arc<AtomicBool>,
    ids: Vec<signal_hook::SigId>,
}

impl CooperativeStop {
    /// The flag to watch.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.flag.clone()
    }

    /// For work whose normal end is a signal (a server): the stop it asked for is not an
    /// interruption, so the command ends with its own status rather than 128 + the signal's.
    pub fn completed(self) {
        RECEIVED.store(0, Ordering::SeqCst);
    }
}

impl Drop for CooperativeStop {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
        *COOPERATIVE.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}
