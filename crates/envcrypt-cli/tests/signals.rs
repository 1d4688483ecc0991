//! The claim "an interrupted output leaves no plaintext", attacked with signals in the middle
//! of a write: SIGINT, SIGTERM and SIGHUP (which envcrypt handles: it exits with 128 + the
//! signal's number), and SIGQUIT, SIGUSR1 and SIGKILL (which end it outright), sent to
//! `envcrypt open -o FILE`, `seal -o FILE` and the staged open of S3 objects (sealed and S3
//! Encryption Client) while the output is half written. None leaves the output or any
//! temporary file. An upload to S3 is aborted, leaving no object.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use envcrypt_testkit::{create_moto_bucket, envcrypt_workdir, moto_endpoint, CountingProxy, Workdir};

envcrypt_workdir!(Env, Workdir::with_aws);

/// Each signal, its number, and whether envcrypt handles it (exiting with 128 + the number)
/// or is ended by it.
const SIGNALS: [(&str, i32, bool); 6] = [
    ("INT", 2, true),
    ("TERM", 15, true),
    ("HUP", 1, true),
    ("QUIT", 3, false),
    ("USR1", 10, false),
    ("KILL", 9, false),
];

/// Whether `status` is how a process ends on `number`: 128 + it if handled, killed by it if not.
fn ended_by(status: ExitStatus, number: i32, handled: bool) -> bool {
    if handled {
        status.code() == Some(128 + number)
    } else {
        status.signal() == Some(number) && !status.core_dumped()
    }
}

fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

/// The named temporary files in `dir`.
fn partials(dir: &Path) -> Vec<(String, u64)> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name.starts_with(".envcrypt-") && name.ends_with(".partial")).then(|| (name, e.metadata().unwrap().len()))
        })
        .collect()
}

/// Bytes of output `pid` has staged in `dir`: in named temporary files, or in unnamed ones it
/// holds open (`O_TMPFILE`, which /proc shows as deleted files of the directory).
fn staged_bytes(pid: u32, dir: &Path) -> u64 {
    let dir = dir.canonicalize().unwrap();
    let named: u64 = partials(&dir).iter().map(|(_, len)| len).sum();
    let unnamed: u64 = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| target.starts_with(&dir) && target.to_string_lossy().ends_with(" (deleted)"))
        })
        .map(|fd| std::fs::metadata(fd.path()).map_or(0, |m| m.len()))
        .sum();
    named + unnamed
}

/// Waits until `child` has staged output in `dir`, then sends `signal` and returns how it ended.
fn interrupt_mid_write(mut child: Child, dir: &Path, signal: &str) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    while staged_bytes(child.id(), dir) == 0 {
        assert!(child.try_wait().unwrap().is_none(), "the command ended before it was interrupted");
        assert!(Instant::now() < deadline, "no output was staged");
        std::thread::sleep(Duration::from_millis(10));
    }
    let sent = std::process::Command::new("kill").args(["-s", signal, &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    // `Child::wait` would close stdin first, and an end of input could race the signal.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the command did not end after SIG{signal}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn an_interrupted_open_or_seal_to_a_file_leaves_no_output_and_no_temporary_file() {
    let env = Env::new();
    let plaintext = bytes(24 * 1024 * 1024);
    env.write("secret.bin", &plaintext);
    env.ok(&["seal", "secret.bin", "--frame-size", "65536"]);
    let sealed = std::fs::read(env.path("secret.bin.enc")).unwrap();

    for (name, number, handled) in SIGNALS {
        for command in ["open", "seal"] {
            let output = format!("{command}-{name}.out");
            let mut child = env
                .command()
                .args([command, "-", "-o", &output, "--threads", "1"])
                .stdin(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // Half the input, and the pipe held open: the command waits mid-write.
            let input = if command == "open" { &sealed } else { &plaintext };
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(&input[..input.len() / 2]).unwrap();
            child.stdin = Some(stdin);
            let status = interrupt_mid_write(child, env.dir(), &format!("SIG{name}"));
            assert!(ended_by(status, number, handled), "{command} interrupted by SIG{name}: {status}");
            assert!(partials(env.dir()).is_empty(), "{command}, SIG{name}: {:?}", partials(env.dir()));
            assert!(!env.path(&output).exists(), "{command}, SIG{name}: the output exists");
        }
    }
}

#[test]
fn an_interrupted_staged_open_of_an_s3_object_leaves_no_output_and_no_temporary_file() {
    let env = Env::new();
    let bucket = format!("signals-{}", std::process::id());
    create_moto_bucket(&bucket);
    env.write("object.bin", &bytes(16 * 1024 * 1024));
    let proxy = CountingProxy::start(moto_endpoint());
    for format in ["sealed", "s3ec"] {
        let url = format!("s3://{bucket}/object-{format}");
        let out = env
            .command()
            .args(["--endpoint-url", moto_endpoint(), "seal", "object.bin", "-o", &url, "--format", format])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        for (name, number, handled) in SIGNALS {
            proxy.hold_downloads_after(proxy.received() + 6 * 1024 * 1024);
            let output = format!("{format}-{name}.out");
            let child = env
                .command()
                .args(["--endpoint-url", proxy.endpoint(), "open", &url, "-o", &output])
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let status = interrupt_mid_write(child, env.dir(), &format!("SIG{name}"));
            assert!(ended_by(status, number, handled), "{format} interrupted by SIG{name}: {status}");
            assert!(partials(env.dir()).is_empty(), "{format}, SIG{name}: {:?}", partials(env.dir()));
            assert!(!env.path(&output).exists());
        }
    }
}

#[test]
fn an_interrupted_upload_is_aborted_and_ends_as_the_signal_would() {
    let env = Env::new();
    let bucket = format!("signals-up-{}", std::process::id());
    create_moto_bucket(&bucket);
    let url = format!("s3://{bucket}/upload.enc");
    let mut child = env
        .command()
        .args(["--endpoint-url", moto_endpoint(), "seal", "-", "-o", &url, "--part-size", "5MiB"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&bytes(12 * 1024 * 1024)).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let sent = std::process::Command::new("kill").args(["-s", "TERM", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    // The producer ends too (as a pipeline does on Ctrl-C): the upload stops at its next write.
    std::thread::sleep(Duration::from_millis(200));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("aborted"), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = env.command().args(["--endpoint-url", moto_endpoint(), "inspect", &url]).output().unwrap();
    assert!(!listed.status.success(), "no object was stored");
}
