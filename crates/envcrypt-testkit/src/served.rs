//! An `envcrypt serve` process for tests and benchmarks: started from a prepared command, its
//! URL read from the first line it prints, and stopped (or killed) on demand or when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a server may take to print where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `envcrypt serve`.
#[derive(Debug)]
pub struct Served {
    child: Child,
    url: String,
    announcement: String,
}

impl Served {
    /// Starts `command` (an `envcrypt … serve …` command line) and waits for its first line on
    /// stdout: `listening on URL …` or, with `--json`, an object with `url`.
    pub fn start(mut command: Command) -> Self {
        let mut child = command.stdout(Stdio::piped()).spawn().expect("envcrypt serve starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        // The rest of stdout is drained so that the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            lines.for_each(drop);
        });
        let announcement = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                let status = child.wait();
                panic!("envcrypt serve did not say where it listens ({other:?}, exit {status:?})");
            }
        };
        let url = match serde_json::from_str::<serde_json::Value>(&announcement) {
            Ok(object) => object["url"].as_str().expect("the JSON announcement has a url").to_owned(),
            Err(_) => announcement
                .strip_prefix("listening on ")
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or_else(|| panic!("unexpected first line from envcrypt serve: {announcement}"))
                .to_owned(),
        };
        Self { child, url, announcement }
    }

    /// Where the server listens, such as `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The first line the server printed.
    pub fn announcement(&self) -> &str {
        &self.announcement
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (a graceful stop) and waits for the process to end.
    pub fn stop(self) -> ExitStatus {
        self.terminate();
        self.wait()
    }

    /// Sends SIGTERM without waiting: the server stops accepting and finishes what is in flight.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Waits for the process to end.
    pub fn wait(mut self) -> ExitStatus {
        self.child.wait().expect("envcrypt serve can be waited for")
    }

    /// Kills the process with SIGKILL, as a crash would, and waits for it.
    pub fn kill(mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status();
        assert!(status.is_ok_and(|s| s.success()), "cannot send SIG{name} to envcrypt serve");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
