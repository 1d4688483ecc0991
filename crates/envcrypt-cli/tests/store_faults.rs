//! The local store under faults: processes killed mid-write, many writers at once, and
//! damaged files. No acknowledged change may be lost, and damage must be reported, not hidden.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use envcrypt_testkit::envcrypt_workdir;

envcrypt_workdir!(Env);

impl Env {
    fn store(&self) -> PathBuf {
        self.path("store")
    }

    fn command_with(&self, args: &[&str]) -> Command {
        let mut cmd = self.command();
        cmd.args(args);
        cmd
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn keys(&self) -> BTreeMap<String, serde_json::Value> {
        let listed = self.json(&["--json", "key", "list"]);
        listed.as_array().unwrap().iter().map(|k| (k["KeyId"].as_str().unwrap().to_owned(), k.clone())).collect()
    }
}

/// A small deterministic generator, so a failing run can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// Starts `args`, kills it with SIGKILL after `delay` unless it finished, and reports
/// whether it finished successfully first (the change was acknowledged).
fn run_and_kill(env: &Env, args: &[&str], delay: Duration) -> Option<Vec<u8>> {
    let mut child = env.command_with(args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + delay;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = Vec::new();
            std::io::Read::read_to_end(child.stdout.as_mut().unwrap(), &mut out).unwrap();
            return status.success().then_some(out);
        }
        if Instant::now() >= deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn sigkill_at_random_points_loses_no_acknowledged_change() {
    let env = Env::new();
    std::fs::write(env.dir().join("data"), b"sealed before the faults").unwrap();
    let rotating = env.json(&["--json", "key", "create"])["KeyId"].as_str().unwrap().to_owned();
    assert!(env.run(&["seal", "--key", &rotating, "data"]).status.success());

    // Kill delays spread over twice a typical operation's time, so kills land before, during
    // and after the write whatever the machine's speed.
    let started = Instant::now();
    for _ in 0..5 {
        env.run(&["key", "rotate", &rotating]);
    }
    let typical = started.elapsed().as_micros() as u64 / 5;
    let mut rng = Lcg(0x5eed);
    let mut created: Vec<String> = Vec::new();
    let mut acked_rotations = 5u64;
    let mut scheduled: Vec<String> = Vec::new();
    let (mut runs, mut killed) = (0, 0);
    for _ in 0..300 {
        let delay = Duration::from_micros(rng.next(2 * typical + 1));
        let op = rng.next(3);
        let candidate = created.iter().find(|k| !scheduled.contains(k)).cloned();
        let outcome = match (op, &candidate) {
            (1, _) => run_and_kill(&env, &["key", "rotate", &rotating], delay).map(|_| acked_rotations += 1),
            (2, Some(key)) => run_and_kill(&env, &["key", "schedule-deletion", "--days", "7", key], delay)
                .map(|_| scheduled.push(key.clone())),
            _ => run_and_kill(&env, &["--json", "key", "create"], delay).map(|out| {
                let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
                created.push(v["KeyId"].as_str().unwrap().to_owned());
            }),
        };
        runs += 1;
        killed += usize::from(outcome.is_none());
        // The store reopens after every kill.
        let list = env.run(&["--json", "key", "list"]);
        assert!(list.status.success(), "run {runs}: {}", String::from_utf8_lossy(&list.stderr));
    }
    assert!(killed > 20 && killed < runs - 20, "kills should land both before and after completion: {killed}/{runs}");

    let keys = env.keys();
    for key in &created {
        let meta = keys.get(key).unwrap_or_else(|| panic!("acknowledged key {key} was lost"));
        // A schedule that was killed may still have landed; an acknowledged one must have.
        if scheduled.contains(key) {
            assert_eq!(meta["KeyState"], "PendingDeletion", "{key}");
        }
    }
    let backing = keys[&rotating]["BackingKeys"].as_u64().unwrap();
    assert!(backing > acked_rotations, "{backing} backing keys, {acked_rotations} acknowledged rotations");
    let opened = env.run(&["open", "-o", "-", "data.enc"]);
    assert_eq!(opened.stdout, b"sealed before the faults", "{}", String::from_utf8_lossy(&opened.stderr));
    eprintln!("{runs} runs, {killed} killed mid-operation, {} keys acknowledged", created.len());
}

#[test]
fn eight_processes_times_200_mixed_operations_match_what_was_acknowledged() {
    let env = Env::new();
    env.json(&["--json", "key", "list"]);
    let models: Vec<BTreeMap<String, (u64, &'static str)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|worker| {
                let env = &env;
                s.spawn(move || {
                    let mut rng = Lcg(worker as u64 + 1);
                    // key id → (backing keys, state), as acknowledged to this worker.
                    let mut model: BTreeMap<String, (u64, &'static str)> = BTreeMap::new();
                    for step in 0..200 {
                        let keys: Vec<String> = model.keys().cloned().collect();
                        let pick = (!keys.is_empty()).then(|| keys[rng.next(keys.len() as u64) as usize].clone());
                        match (rng.next(5), pick) {
                            (0, Some(k)) => {
                                let ok = env.run(&["key", "rotate", &k]).status.success();
                                let entry = model.get_mut(&k).unwrap();
                                assert_eq!(ok, entry.1 == "Enabled", "rotate {k} in state {}", entry.1);
                                entry.0 += u64::from(ok);
                            }
                            (1, Some(k)) => {
                                let ok = env.run(&["key", "disable", &k]).status.success();
                                assert!(ok);
                                model.get_mut(&k).unwrap().1 = "Disabled";
                            }
                            (2, Some(k)) => {
                                assert!(env.run(&["key", "enable", &k]).status.success());
                                model.get_mut(&k).unwrap().1 = "Enabled";
                            }
                            (3, Some(k)) => {
                                let alias = format!("alias/w{worker}/s{step}");
                                assert!(env.run(&["key", "alias", "create", &alias, &k]).status.success());
                            }
                            _ => {
                                let v = env.json(&["--json", "key", "create"]);
                                model.insert(v["KeyId"].as_str().unwrap().to_owned(), (1, "Enabled"));
                            }
                        }
                    }
                    model
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let keys = env.keys();
    let mut total = 0;
    for model in &models {
        for (key, (backing, state)) in model {
            let meta = &keys[key];
            assert_eq!(meta["BackingKeys"].as_u64().unwrap(), *backing, "{key}");
            assert_eq!(meta["KeyState"], *state, "{key}");
            total += 1;
        }
    }
    assert_eq!(keys.len(), total, "no key appeared that no worker created");
    let aliases = env.json(&["--json", "key", "alias", "list"]);
    assert!(aliases.as_array().unwrap().iter().all(|a| keys.contains_key(a["target_key_id"].as_str().unwrap())));
}

#[test]
fn damaged_store_files_are_reported_with_their_path() {
    let cases: [(&str, &[u8], &str); 4] = [
        ("store.json", b"{\"format\": 1, \"regi", "store.json is corrupt"),
        ("aliases.json", b"[not json", "aliases.json is corrupt"),
        ("root.key", b"short", "root.key is corrupt"),
        ("store.json", b"", "store.json is corrupt"),
    ];
    for (file, content, expected) in cases {
        let env = Env::new();
        env.json(&["--json", "key", "create"]);
        std::fs::write(env.store().join(file), content).unwrap();
        let out = env.run(&["key", "describe", "alias/envcrypt/default"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{file}: damage went unnoticed");
        assert!(stderr.contains(expected), "{file}: {stderr}");
    }
}

#[test]
fn a_key_record_swapped_for_another_is_detected() {
    let env = Env::new();
    let a = env.json(&["--json", "key", "create"])["KeyId"].as_str().unwrap().to_owned();
    let b = env.json(&["--json", "key", "create"])["KeyId"].as_str().unwrap().to_owned();
    let keys = env.store().join("keys");
    std::fs::copy(keys.join(format!("{b}.json")), keys.join(format!("{a}.json"))).unwrap();
    let out = env.run(&["key", "describe", &a]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("names another key"));
}
