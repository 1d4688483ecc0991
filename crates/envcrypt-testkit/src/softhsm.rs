//! SoftHSM2 tokens in a private directory, for the PKCS#11 tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

/// The user PIN of every test token.
pub const USER_PIN: &str = "1234";
/// The security officer PIN of every test token.
pub const SO_PIN: &str = "5678";
/// Where Debian's `softhsm2` package puts the module.
const MODULE_PATHS: [&str; 2] = ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"];

/// A PKCS#11 module holds its state per process, and SoftHSM2 reads `SOFTHSM2_CONF` when it is
/// initialized: one set of test tokens at a time per test process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// SoftHSM2 tokens, initialized in a temporary directory and named by label; the process's
/// `SOFTHSM2_CONF` points at them while this value lives.
pub struct SoftHsm {
    dir: tempfile::TempDir,
    module: PathBuf,
    _turn: MutexGuard<'static, ()>,
}

impl SoftHsm {
    /// Initializes one token per label (user PIN [`USER_PIN`]).
    pub fn new(labels: &[&str]) -> Self {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let module = MODULE_PATHS.iter().map(PathBuf::from).find(|p| p.exists()).unwrap_or_else(|| {
            panic!(
                "SoftHSM2 is not installed ({}); scripts/test.sh installs it (apt-get install softhsm2)",
                MODULE_PATHS[0]
            )
        });
        let dir = tempfile::tempdir().expect("a temporary directory");
        let tokens = dir.path().join("tokens");
        fs::create_dir(&tokens).expect("the token directory");
        let conf = dir.path().join("softhsm2.conf");
        fs::write(
            &conf,
            format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", tokens.display()),
        )
        .expect("the SoftHSM2 configuration");
        // Only tests holding ONE_AT_A_TIME change the environment.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        for label in labels {
            let out = Command::new("softhsm2-util")
                .args(["--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", USER_PIN])
                .env("SOFTHSM2_CONF", &conf)
                .output()
                .expect("softhsm2-util runs (apt-get install softhsm2)");
            assert!(
                out.status.success(),
                "softhsm2-util --init-token {label}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Self { dir, module, _turn: turn }
    }

    /// The PKCS#11 module.
    pub fn module(&self) -> &Path {
        &self.module
    }

    /// The SoftHSM2 configuration file (`SOFTHSM2_CONF`) naming the token directory.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("softhsm2.conf")
    }

    fn token_dir(&self, label: &str) -> PathBuf {
        let tokens = self.dir.path().join("tokens");
        let entries = fs::read_dir(&tokens).expect("the token directory");
        entries
            .map(|e| e.expect("a token directory entry").path())
            .find(|dir| {
                fs::read(dir.join("token.object"))
                    .is_ok_and(|bytes| bytes.windows(label.len()).any(|w| w == label.as_bytes()))
            })
            .unwrap_or_else(|| panic!("no token directory for {label}"))
    }

    /// Makes a token disappear, as an HSM that loses power does; it returns when the value
    /// is dropped or [`Offline::restore`]d.
    pub fn take_offline(&self, label: &str) -> Offline {
        let dir = self.token_dir(label);
        let away = self.dir.path().join(format!("offline-{label}"));
        fs::rename(&dir, &away).expect("the token directory moves");
        Offline { dir, away }
    }
}

/// A token taken offline.
pub struct Offline {
    dir: PathBuf,
    away: PathBuf,
}

impl Offline {
    /// Brings the token back.
    pub fn restore(self) {}
}

impl Drop for Offline {
    fn drop(&mut self) {
        let _ = fs::rename(&self.away, &self.dir);
    }
}
