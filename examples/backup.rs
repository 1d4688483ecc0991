//! A backup job as a library user would write it: seal a directory tree in parallel into a
//! target directory, with a sealed manifest, and restore it.
//!
//! ```text
//! cargo run --release -p envcrypt --example backup -- seal SOURCE TARGET [--store DIR] [--threads N]
//! cargo run --release -p envcrypt --example backup -- restore TARGET OUT [--store DIR] [--threads N]
//! ```
//!
//! * Every file becomes `TARGET/<path>.enc`, written to a temporary file, synced and renamed
//!   into place, so a killed run never leaves a half-written file under a final name.
//! * Each sealed file is recorded in `TARGET/journal.jsonl` (path, size, mtime, SHA-256) once it
//!   is in place. A re-run reads the journal and skips files that are unchanged, so an
//!   interrupted run continues where it stopped.
//! * At the end the manifest is sealed into `TARGET/manifest.enc` and the journal removed:
//!   restore trusts only the authenticated manifest, and checks every restored file's SHA-256
//!   against it, so files swapped or replaced in the target are caught.
//! * All files share one data key through a [`DataKeyCache`]: the key store is called once per
//!   run, not once per file (the summary line shows the count).
//!
//! Without `--store`, the key store is `ENVCRYPT_STORE` or the default store of `envcrypt`.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use envcrypt::keyring::cache::{CacheLimits, DataKeyCache};
use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::kms::local::{LocalKeyService, StoreOptions};
use envcrypt::kms::{EncryptionContext, KeyService};
use envcrypt::stream::{self, OpenOptions, SealOptions};
use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};

type Error = Box<dyn std::error::Error + Send + Sync>;

const JOURNAL: &str = "journal.jsonl";
const MANIFEST: &str = "manifest.enc";
const SEALED_SUFFIX: &str = ".enc";
const TEMP_SUFFIX: &str = ".partial";

/// One backed-up file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    path: String,
    size: u64,
    mtime_ns: u128,
    sha256: String,
}

struct Job {
    store: Arc<LocalKeyService>,
    cache: Arc<DataKeyCache>,
    threads: usize,
    context: EncryptionContext,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("backup: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let positional: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[i - 1].starts_with("--")))
        .map(|(_, a)| a)
        .collect();
    let [command, from, to] = positional[..] else {
        return Err("usage: backup seal SOURCE TARGET | restore TARGET OUT [--store DIR] [--threads N]".into());
    };
    let store_dir = flag("--store")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("ENVCRYPT_STORE").map(PathBuf::from))
        .or_else(StoreOptions::default_dir)
        .ok_or("no key store: pass --store DIR")?;
    let threads = match flag("--threads") {
        Some(n) => n.parse()?,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let job = Job {
        store: Arc::new(LocalKeyService::open(StoreOptions::new(store_dir))?),
        cache: Arc::new(DataKeyCache::new(16)),
        threads,
        context: [("envcrypt:backup".to_owned(), "v1".to_owned())].into_iter().collect(),
    };
    let started = Instant::now();
    let (files, bytes) = match command.as_str() {
        "seal" => job.seal(Path::new(from), Path::new(to))?,
        "restore" => job.restore(Path::new(from), Path::new(to))?,
        other => return Err(format!("unknown command {other:?}: use seal or restore").into()),
    };
    let stats = job.cache.stats();
    println!(
        "{command}: {files} files, {bytes} bytes in {:.2} s; key store calls: {}, cache hits: {}",
        started.elapsed().as_secs_f64(),
        stats.misses,
        stats.hits
    );
    Ok(())
}

impl Job {
    fn keyring(&self) -> Result<Keyring, Error> {
        let key = self.store.default_key()?;
        let limits = CacheLimits { max_messages: 100_000, ..CacheLimits::new(Duration::from_secs(300)) };
        Ok(Keyring::new().with_key(self.store.clone(), key).with_cache(self.cache.clone(), limits)?)
    }

    fn policy(&self) -> Result<OpenPolicy, Error> {
        let services: Vec<Arc<dyn KeyService>> = vec![self.store.clone()];
        Ok(OpenPolicy::discovery(services)
            .with_cache(self.cache.clone(), CacheLimits::new(Duration::from_secs(300)))?)
    }

    /// Seals every regular file under `source` that the target does not already hold.
    fn seal(&self, source: &Path, target: &Path) -> Result<(usize, u64), Error> {
        fs::create_dir_all(target)?;
        remove_partial_files(target)?;
        let mut done = if target.join(MANIFEST).exists() { self.read_manifest(target)? } else { HashMap::new() };
        done.extend(read_journal(&target.join(JOURNAL))?);
        let mut files = Vec::new();
        walk(source, source, &mut files)?;
        let (unchanged, todo): (Vec<_>, Vec<_>) = files.into_iter().partition(|(path, meta)| {
            done.get(path).is_some_and(|e| e.size == meta.size && e.mtime_ns == meta.mtime_ns)
                && target.join(format!("{path}{SEALED_SUFFIX}")).is_file()
        });
        let journal = Mutex::new(fs::OpenOptions::new().create(true).append(true).open(target.join(JOURNAL))?);
        let keyring = self.keyring()?;
        let sealed = self.in_parallel(&todo, |(path, _)| {
            let entry = self.seal_file(&keyring, source, target, path)?;
            let mut line = serde_json::to_vec(&entry)?;
            line.push(b'\n');
            journal.lock().map_err(|_| "journal lock poisoned")?.write_all(&line)?;
            Ok(entry)
        })?;
        let mut manifest: Vec<Entry> = unchanged.iter().filter_map(|(path, _)| done.remove(path)).collect();
        let bytes = sealed.iter().map(|e| e.size).sum();
        manifest.extend(sealed);
        manifest.sort_by(|a, b| a.path.cmp(&b.path));
        self.write_manifest(target, &manifest, &keyring)?;
        fs::remove_file(target.join(JOURNAL))?;
        Ok((todo.len(), bytes))
    }

    fn seal_file(&self, keyring: &Keyring, source: &Path, target: &Path, path: &str) -> Result<Entry, Error> {
        let input = File::open(source.join(path))?;
        let meta = Meta::of(&input.metadata()?);
        let out_path = target.join(format!("{path}{SEALED_SUFFIX}"));
        let options = SealOptions { plaintext_length: Some(meta.size), threads: 1, ..SealOptions::default() };
        let mut hashing = Hashing { inner: input, hash: Context::new(&SHA256) };
        write_atomically(&out_path, |out| {
            stream::seal(&mut hashing, out, keyring, &self.context, &options)?;
            Ok(())
        })?;
        Ok(Entry { path: path.to_owned(), size: meta.size, mtime_ns: meta.mtime_ns, sha256: hex(hashing.hash) })
    }

    /// Restores every file of the sealed manifest, checking each against its SHA-256.
    fn restore(&self, target: &Path, out: &Path) -> Result<(usize, u64), Error> {
        let manifest = self.read_manifest(target)?;
        let entries: Vec<Entry> = manifest.into_values().collect();
        let policy = self.policy()?;
        let options = OpenOptions { threads: 1, ..OpenOptions::default() };
        let restored = self.in_parallel(&entries, |entry| {
            if !Path::new(&entry.path).components().all(|c| matches!(c, std::path::Component::Normal(_))) {
                return Err(format!("the manifest names a path outside the tree: {}", entry.path).into());
            }
            let sealed = File::open(target.join(format!("{}{SEALED_SUFFIX}", entry.path)))?;
            let dest = out.join(&entry.path);
            write_atomically(&dest, |file| {
                let mut hashing = Hashing { inner: file, hash: Context::new(&SHA256) };
                stream::open(sealed, &mut hashing, &policy, &options)?;
                if hex(hashing.hash) != entry.sha256 {
                    return Err(format!("{} does not match the manifest", entry.path).into());
                }
                Ok(())
            })?;
            Ok(entry.size)
        })?;
        Ok((restored.len(), restored.iter().sum()))
    }

    /// Runs `work` over `items` on `self.threads` threads; the first error stops the others.
    fn in_parallel<T: Sync, R: Send>(
        &self,
        items: &[T],
        work: impl Fn(&T) -> Result<R, Error> + Sync,
    ) -> Result<Vec<R>, Error> {
        let next = AtomicUsize::new(0);
        let failed = Mutex::new(None);
        let results = Mutex::new(Vec::with_capacity(items.len()));
        std::thread::scope(|scope| {
            for _ in 0..self.threads.max(1) {
                scope.spawn(|| {
                    while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
                        match work(item) {
                            Ok(result) => results.lock().expect("no panics hold this lock").push(result),
                            Err(e) => {
                                failed.lock().expect("no panics hold this lock").get_or_insert(e);
                                next.store(items.len(), Ordering::Relaxed);
                            }
                        }
                    }
                });
            }
        });
        match failed.into_inner().expect("no panics hold this lock") {
            Some(e) => Err(e),
            None => Ok(results.into_inner().expect("no panics hold this lock")),
        }
    }

    fn write_manifest(&self, target: &Path, manifest: &[Entry], keyring: &Keyring) -> Result<(), Error> {
        let mut lines = Vec::new();
        for entry in manifest {
            serde_json::to_writer(&mut lines, entry)?;
            lines.push(b'\n');
        }
        let options = SealOptions { plaintext_length: Some(lines.len() as u64), ..SealOptions::default() };
        write_atomically(&target.join(MANIFEST), |out| {
            stream::seal(&lines[..], out, keyring, &self.context, &options)?;
            Ok(())
        })
    }

    fn read_manifest(&self, target: &Path) -> Result<HashMap<String, Entry>, Error> {
        let sealed = File::open(target.join(MANIFEST))?;
        let mut lines = Vec::new();
        stream::open(sealed, &mut lines, &self.policy()?, &OpenOptions::default())?;
        let mut manifest = HashMap::new();
        for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let entry: Entry = serde_json::from_slice(line)?;
            manifest.insert(entry.path.clone(), entry);
        }
        Ok(manifest)
    }
}

/// Size and modification time, to tell whether a file changed since it was sealed.
struct Meta {
    size: u64,
    mtime_ns: u128,
}

impl Meta {
    fn of(meta: &fs::Metadata) -> Self {
        let mtime_ns = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        Self { size: meta.len(), mtime_ns }
    }
}

/// The journal of a run that did not finish; a torn last line (a killed run) is ignored.
fn read_journal(path: &Path) -> Result<HashMap<String, Entry>, Error> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(e.into()),
    };
    let mut entries = HashMap::new();
    for line in BufReader::new(file).lines() {
        if let Ok(entry) = serde_json::from_str::<Entry>(&line?) {
            entries.insert(entry.path.clone(), entry);
        }
    }
    Ok(entries)
}

/// Relative paths and metadata of the regular files under `dir`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Meta)>) -> Result<(), Error> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(root, &entry.path(), out)?;
        } else if kind.is_file() {
            let path = entry.path();
            let relative = path.strip_prefix(root)?.to_str().ok_or("a file name is not UTF-8")?.to_owned();
            out.push((relative, Meta::of(&entry.metadata()?)));
        }
    }
    Ok(())
}

/// Removes the temporary files of a killed run.
fn remove_partial_files(dir: &Path) -> Result<(), Error> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            remove_partial_files(&path)?;
        } else if path.to_string_lossy().ends_with(TEMP_SUFFIX) {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Writes `path` through a synced temporary file renamed into place only if `write` succeeds.
fn write_atomically(path: &Path, write: impl FnOnce(&mut File) -> Result<(), Error>) -> Result<(), Error> {
    let dir = path.parent().ok_or("no parent directory")?;
    fs::create_dir_all(dir)?;
    let mut temp = tempfile::Builder::new().suffix(TEMP_SUFFIX).tempfile_in(dir)?;
    write(temp.as_file_mut())?;
    temp.as_file().sync_all()?;
    temp.persist(path)?;
    Ok(())
}

/// Hashes what passes through it.
struct Hashing<T> {
    inner: T,
    hash: Context,
}

impl<T: Read> Read for Hashing<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

impl<T: Write> Write for Hashing<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hex(hash: Context) -> String {
    hash.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
