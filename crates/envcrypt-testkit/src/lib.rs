//! Test support: real service stand-ins on loopback ports, never mocks.
//!
//! [`moto_endpoint`] gives the URL of a `moto_server` (AWS KMS and S3). `scripts/test.sh`
//! starts one for the whole run (`scripts/moto.sh`) and passes it in
//! `ENVCRYPT_TEST_MOTO_ENDPOINT`; a test run without it (plain `cargo test`) starts its own from
//! the project's `.venv`, on a free port, and a watchdog stops it when the test process exits.
//! If moto is not installed the tests fail with instructions; they never skip.
//!
//! [`Workdir`] runs the `envcrypt` binary in a fresh directory with a key store of its own.
//!
//! [`CountingProxy`] relays TCP connections on loopback and counts the bytes, to measure what
//! crosses the network. [`CountingKeyService`] passes every call through to a real key service and counts it, so
//! tests can assert how many calls reached the service. [`TempStore`] is a local key store in a
//! temporary directory. [`SoftHsm`] initializes SoftHSM2 tokens in a private directory and can
//! take one offline. [`freed_memory`] is an allocator that finds plaintext left in freed blocks.
//! [`KmsClient`] signs KMS requests with SigV4 and sends them over plain HTTP/1.1, for tests
//! of `envcrypt serve` that need to choose what is signed; [`Served`] runs `envcrypt serve` as a
//! process.

mod counting;
pub mod freed_memory;
mod kms_client;
mod proxy;
mod served;
mod softhsm;
mod store;

pub use counting::{CallCounts, CountingKeyService};
pub use kms_client::{KmsClient, KmsReply, Prepared};
pub use proxy::CountingProxy;
pub use served::Served;
pub use softhsm::{Offline, SoftHsm, SO_PIN, USER_PIN};
pub use store::TempStore;

use std::ffi::OsStr;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The variable `scripts/test.sh` sets to a running moto's URL.
pub const MOTO_ENDPOINT_VAR: &str = "ENVCRYPT_TEST_MOTO_ENDPOINT";

/// Static credentials and region that moto accepts; set them on processes under test.
pub const AWS_TEST_ENV: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "us-east-1"),
    // Never let the SDK look for instance metadata off this machine.
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/dev/null"),
];

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A program installed in the project's `.venv` by `scripts/test.sh` (`python`, `aws`,
/// `aws-encryption-cli`, ...); a missing one fails the test with instructions.
pub fn venv_bin(name: &str) -> PathBuf {
    let path = workspace_root().join(".venv/bin").join(name);
    assert!(path.exists(), "{} is missing: run scripts/test.sh, which installs it", path.display());
    path
}

/// The standard output of a process that must have succeeded; else the test fails with `what`
/// and the process's output.
pub fn succeeded(out: Output, what: &str) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out.stdout
}

/// The URL of a running moto_server on loopback.
pub fn moto_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| match std::env::var(MOTO_ENDPOINT_VAR) {
        Ok(url) => url,
        Err(_) => start_moto(&[]),
    })
}

/// Creates an S3 bucket in the shared moto ([`moto_endpoint`]), with `scripts/moto.sh bucket`.
pub fn create_moto_bucket(name: &str) {
    let out = Command::new(workspace_root().join("scripts/moto.sh"))
        .args(["bucket", name])
        .env(MOTO_ENDPOINT_VAR, moto_endpoint())
        .output()
        .expect("scripts/moto.sh runs");
    assert!(out.status.success(), "cannot create bucket {name}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A moto_server of the caller's own, with `env` set (such as `INITIAL_NO_AUTH_ACTION_COUNT`
/// to make it enforce IAM), stopped when the test process exits.
pub fn start_private_moto(env: &[(&str, &str)]) -> String {
    start_moto(env)
}

#[expect(clippy::zombie_processes, reason = "the watchdog must outlive this process to stop moto after it")]
fn start_moto(env: &[(&str, &str)]) -> String {
    let server = workspace_root().join(".venv/bin/moto_server");
    assert!(
        server.exists(),
        "{} is missing: run scripts/test.sh (or `eval \"$(scripts/moto.sh start)\"`) to install moto",
        server.display()
    );
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port();
    // The watchdog shell stops moto once this test process is gone, however it ends.
    let script = "\"$1\" -H 127.0.0.1 -p \"$2\" >/dev/null 2>&1 & server=$!; \
                  while kill -0 \"$3\" 2>/dev/null; do sleep 1; done; kill $server";
    Command::new("sh")
        .args(["-c", script, "moto-watchdog"])
        .arg(&server)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .spawn()
        .expect("sh starts moto_server");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start on 127.0.0.1:{port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("http://127.0.0.1:{port}")
}

/// A temporary working directory in which a program (the `envcrypt` binary) runs with a key
/// store of its own, no passphrase, and no standard input.
pub struct Workdir {
    dir: tempfile::TempDir,
    program: PathBuf,
    aws: bool,
}

impl Workdir {
    /// A fresh directory for `program` (pass `env!("CARGO_BIN_EXE_envcrypt")`).
    pub fn new(program: &str) -> Self {
        Self { dir: tempfile::tempdir().expect("a temporary directory"), program: program.into(), aws: false }
    }

    /// Commands also get moto's test credentials and region ([`AWS_TEST_ENV`]); the endpoint
    /// is left to each test (`--endpoint-url` or `AWS_ENDPOINT_URL`).
    pub fn with_aws(mut self) -> Self {
        self.aws = true;
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file inside the directory.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("the work directory is writable");
        path
    }

    /// Any program, prepared to run here with this directory's environment.
    pub fn command_for(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.dir.path())
            .env("ENVCRYPT_STORE", self.path("store"))
            .env_remove("ENVCRYPT_PASSPHRASE")
            .env_remove("AWS_ENDPOINT_URL")
            .stdin(Stdio::null());
        if self.aws {
            cmd.envs(AWS_TEST_ENV);
        }
        cmd
    }

    /// The program under test, prepared to run here.
    pub fn command(&self) -> Command {
        self.command_for(&self.program)
    }

    /// Runs the program under test with `args`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("the program under test starts")
    }

    /// Runs it and requires success; returns standard output.
    pub fn ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// An access key for `envcrypt serve`, made with `envcrypt credentials create`.
    pub fn access_key(&self, principal: &str) -> AccessKey {
        let out = self.ok(&["--json", "credentials", "create", "--principal", principal]);
        let created: serde_json::Value = serde_json::from_slice(&out).expect("credentials create prints JSON");
        let field = |name: &str| created[name].as_str().expect("an access key field").to_owned();
        AccessKey { id: field("AccessKeyId"), secret: field("SecretAccessKey") }
    }
}

/// An access key id and its secret.
#[derive(Debug, Clone)]
pub struct AccessKey {
    /// The access key id (`AKIA…`).
    pub id: String,
    /// The secret access key.
    pub secret: String,
}

/// Declares `struct $name(Workdir)` for a test file of the `envcrypt` binary's crate: it
/// dereferences to [`Workdir`] and `$name::new()` makes one for `CARGO_BIN_EXE_envcrypt`,
/// passed through `$setup` (such as [`Workdir::with_aws`]). Each test file then adds its own
/// helpers in an `impl $name` block.
#[macro_export]
macro_rules! envcrypt_workdir {
    ($name:ident) => {
        $crate::envcrypt_workdir!($name, ::std::convert::identity);
    };
    ($name:ident, $setup:expr) => {
        struct $name($crate::Workdir);

        impl ::std::ops::Deref for $name {
            type Target = $crate::Workdir;
            fn deref(&self) -> &$crate::Workdir {
                &self.0
            }
        }

        impl $name {
            fn new() -> Self {
                Self($setup($crate::Workdir::new(env!("CARGO_BIN_EXE_envcrypt"))))
            }
        }
    };
}
