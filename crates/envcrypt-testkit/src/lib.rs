//! Test support: real service stand-ins on loopback ports, never mocks.
//!
//! [`moto_endpoint`] gives the URL of a `moto_server` (AWS KMS and S3). `scripts/test.sh`
//! starts one for the whole run (`scripts/moto.sh`) and passes it in
//! `ENVCRYPT_TEST_MOTO_ENDPOINT`; a test run without it (plain `cargo test`) starts its own from
//! the project's `.venv`, on a free port, and a watchdog stops it when the test process exits.
//! If moto is not installed the tests fail with instructions; they never skip.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
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

/// The URL of a running moto_server on loopback.
pub fn moto_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| match std::env::var(MOTO_ENDPOINT_VAR) {
        Ok(url) => url,
        Err(_) => start_moto(),
    })
}

#[expect(clippy::zombie_processes, reason = "the watchdog must outlive this process to stop moto after it")]
fn start_moto() -> String {
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
