//! `examples/backup.rs` as a user runs it: seal a tree, kill a run midway and continue it,
//! restore, and catch a tampered target.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use envcrypt::keyring::OpenPolicy;
use envcrypt::kms::local::{LocalKeyService, StoreOptions};
use envcrypt::stream::{self, OpenOptions};

/// The example binary: plain `cargo test` builds it next to the test binaries; with
/// `--all-targets` build it first with `cargo build --examples` (as `scripts/test.sh` does).
fn backup_binary() -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let binary = deps.parent().unwrap().join("examples").join("backup");
    assert!(
        binary.is_file(),
        "{} is missing: build it with cargo build --examples (same profile as the tests)",
        binary.display()
    );
    binary
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(backup_binary()).current_dir(dir).args(args).args(["--store", "store"]).output().unwrap()
}

fn make_tree(root: &Path, files: usize) {
    for i in 0..files {
        let dir = root.join(format!("d{}", i % 13)).join(format!("e{}", i % 3));
        fs::create_dir_all(&dir).unwrap();
        let len = (i * 37) % 3000;
        fs::write(dir.join(format!("f{i}")), (0..len).map(|j| (i + j * 7) as u8).collect::<Vec<_>>()).unwrap();
    }
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn assert_same_tree(a: &Path, b: &Path) {
    let relative = |root: &Path| -> Vec<PathBuf> {
        files_under(root).iter().map(|p| p.strip_prefix(root).unwrap().to_path_buf()).collect()
    };
    assert_eq!(relative(a), relative(b));
    for path in relative(a) {
        assert_eq!(fs::read(a.join(&path)).unwrap(), fs::read(b.join(&path)).unwrap(), "{}", path.display());
    }
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The number after `label` in the summary line.
fn figure(summary: &str, label: &str) -> u64 {
    let at = summary.find(label).unwrap_or_else(|| panic!("{label} not in {summary}")) + label.len();
    summary[at..].trim_start().split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

#[test]
fn a_tree_seals_and_restores_with_a_constant_number_of_key_store_calls() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(&dir.path().join("src"), 600);
    let sealed = stdout(&run(dir.path(), &["seal", "src", "target", "--threads", "2"]));
    assert_eq!(figure(&sealed, "seal:"), 600);
    assert!(figure(&sealed, "key store calls:") <= 4, "{sealed}");
    assert!(!dir.path().join("target/journal.jsonl").exists(), "the journal is gone once the manifest is sealed");

    let again = stdout(&run(dir.path(), &["seal", "src", "target"]));
    assert_eq!(figure(&again, "seal:"), 0, "an unchanged tree is not sealed again");

    let restored = stdout(&run(dir.path(), &["restore", "target", "out", "--threads", "2"]));
    assert_eq!(figure(&restored, "restore:"), 600);
    assert!(figure(&restored, "key store calls:") <= 4, "{restored}");
    assert_same_tree(&dir.path().join("src"), &dir.path().join("out"));
}

#[test]
fn a_killed_run_leaves_only_whole_files_and_the_next_run_continues() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(&dir.path().join("src"), 3000);
    let target = dir.path().join("target");
    let store = Arc::new(LocalKeyService::open(StoreOptions::new(dir.path().join("store"))).unwrap());
    store.default_key().unwrap();
    let policy = OpenPolicy::discovery(vec![store]);

    // Kill runs at growing delays until one dies with part of the tree sealed.
    let mut delay = Duration::from_millis(20);
    let sealed_before = loop {
        let _ = fs::remove_dir_all(&target);
        let mut child = Command::new(backup_binary())
            .current_dir(dir.path())
            .args(["seal", "src", "target", "--threads", "2", "--store", "store"])
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let sealed = files_under(&target).iter().filter(|p| p.extension().is_some_and(|e| e == "enc")).count();
        if !status.success() && sealed > 0 && !target.join("manifest.enc").exists() {
            break sealed;
        }
        assert!(delay < Duration::from_secs(10), "never caught a run in the middle");
        delay += delay / 2;
    };

    // Every file under its final name is a whole, authentic message.
    for path in files_under(&target).iter().filter(|p| p.extension().is_some_and(|e| e == "enc")) {
        let options = OpenOptions { threads: 1, ..OpenOptions::default() };
        stream::open(fs::File::open(path).unwrap(), std::io::sink(), &policy, &options)
            .unwrap_or_else(|e| panic!("{} is not whole: {e}", path.display()));
    }

    let resumed = stdout(&run(dir.path(), &["seal", "src", "target"]));
    assert!(figure(&resumed, "seal:") < 3000, "the second run started over: {resumed} ({sealed_before} were sealed)");
    assert!(files_under(&target).iter().all(|p| !p.to_string_lossy().ends_with(".partial")), "temporary files remain");
    stdout(&run(dir.path(), &["restore", "target", "out"]));
    assert_same_tree(&dir.path().join("src"), &dir.path().join("out"));
}

#[test]
fn restore_catches_swapped_files_and_an_edited_manifest() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(&dir.path().join("src"), 30);
    stdout(&run(dir.path(), &["seal", "src", "target"]));
    let target = dir.path().join("target");

    let (a, b) = (target.join("d1/e1/f1.enc"), target.join("d2/e2/f2.enc"));
    let (bytes_a, bytes_b) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
    fs::write(&a, &bytes_b).unwrap();
    fs::write(&b, &bytes_a).unwrap();
    let out = run(dir.path(), &["restore", "target", "out1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match the manifest"), "{out:?}");
    fs::write(&a, &bytes_a).unwrap();
    fs::write(&b, &bytes_b).unwrap();

    let manifest = target.join("manifest.enc");
    let mut edited = fs::read(&manifest).unwrap();
    let last = edited.len() - 20;
    edited[last] ^= 1;
    fs::write(&manifest, edited).unwrap();
    let out = run(dir.path(), &["restore", "target", "out2"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("failed authentication"), "{out:?}");
}
