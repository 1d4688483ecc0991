//! `envcrypt` with s3:// objects against a real moto_server (S3 and KMS) on loopback.

use std::process::{Output, Stdio};

use envcrypt_testkit::{create_moto_bucket, envcrypt_workdir, moto_endpoint, Workdir};

envcrypt_workdir!(Env, Workdir::with_aws);

impl Env {
    /// A fresh bucket named after the test.
    fn bucket(&self, name: &str) -> String {
        let bucket = format!("{name}-{}", std::process::id());
        create_moto_bucket(&bucket);
        bucket
    }

    fn s3(&self, args: &[&str]) -> Output {
        self.command().args(["--endpoint-url", moto_endpoint()]).args(args).output().expect("envcrypt runs")
    }

    fn s3_ok(&self, args: &[&str]) -> String {
        let out = self.s3(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn s3_fails(&self, args: &[&str], code: i32) -> String {
        let out = self.s3(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        stderr
    }
}

fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect()
}

#[test]
fn seal_inspect_open_and_rewrap_an_object_from_a_file_and_from_stdin() {
    let env = Env::new();
    let bucket = env.bucket("cli");
    let data = bytes(11 * 1024 * 1024 + 7);
    env.write("db.dump", &data);
    let url = format!("s3://{bucket}/db.dump.enc");
    env.s3_ok(&["seal", "db.dump", "-o", &url, "--context", "team=ops", "--part-size", "5MiB"]);

    let inspected = env.s3_ok(&["inspect", &url]);
    assert!(inspected.contains("team=ops") && inspected.contains("envcrypt-plaintext-length: 11534343"), "{inspected}");
    let json: serde_json::Value = serde_json::from_str(&env.s3_ok(&["--json", "inspect", &url])).unwrap();
    assert_eq!(json["metadata"]["envcrypt-format"], "aws-encryption-sdk-v2");

    std::fs::remove_file(env.path("db.dump")).unwrap();
    env.s3_ok(&["open", &url]);
    assert_eq!(std::fs::read(env.path("db.dump")).unwrap(), data, "opened under the key's name without .enc");
    env.s3_ok(&["open", &url, "-o", "restored", "--context", "team=ops"]);
    assert_eq!(std::fs::read(env.path("restored")).unwrap(), data);
    env.s3_fails(&["open", &url, "-o", "wrong", "--context", "team=dev"], 4);
    assert!(!env.path("wrong").exists(), "no output file after a failed open");

    let mut child = env
        .command()
        .args(["--endpoint-url", moto_endpoint(), "seal", "-", "-o", &format!("s3://{bucket}/stdin.enc")])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &data).unwrap();
    assert!(child.wait().unwrap().success());
    let out = env.s3(&["open", &format!("s3://{bucket}/stdin.enc"), "-o", "-"]);
    assert!(out.status.success());
    assert_eq!(out.stdout, data);

    let key = env.ok(&["key", "create", "--alias", "alias/next"]);
    assert!(!key.is_empty());
    let report = env.s3_ok(&["--json", "rewrap", "--to", "alias/next", &url]);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(report[0]["bytes_uploaded"].as_u64().unwrap() < 7 * 1024 * 1024, "{report}");
    env.s3_ok(&["open", &url, "-o", "after-rewrap", "--key", "alias/next"]);
    assert_eq!(std::fs::read(env.path("after-rewrap")).unwrap(), data);
}

#[test]
fn s3ec_objects_round_trip_and_rewrap_with_a_metadata_copy() {
    let env = Env::new();
    let bucket = env.bucket("s3ec");
    env.write("report.pdf", &bytes(300_000));
    for format in ["s3ec", "s3ec-v2"] {
        let url = format!("s3://{bucket}/report-{format}");
        env.s3_ok(&["seal", "report.pdf", "-o", &url, "--format", format]);
        let inspected = env.s3_ok(&["inspect", &url]);
        assert!(inspected.contains("Amazon S3 Encryption Client"), "{inspected}");
        let out = env.s3(&["open", &url, "-o", "-"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, bytes(300_000));
    }
    env.ok(&["key", "create", "--alias", "alias/other"]);
    let url = format!("s3://{bucket}/report-s3ec");
    let report: serde_json::Value =
        serde_json::from_str(&env.s3_ok(&["--json", "rewrap", "--to", "alias/other", &url])).unwrap();
    assert_eq!(report[0]["bytes_uploaded"], 0);
    env.s3_ok(&["open", &url, "-o", "report.out", "--key", "alias/other"]);
    let err = env.s3_fails(
        &[
            "seal",
            "report.pdf",
            "-o",
            &url,
            "--format",
            "s3ec",
            "--key",
            "alias/other",
            "--key",
            "alias/envcrypt/default",
        ],
        2,
    );
    assert!(err.contains("exactly one key"), "{err}");
}

#[test]
fn failures_name_the_bucket_or_object_and_what_went_wrong() {
    let env = Env::new();
    let bucket = env.bucket("fail");
    env.write("x", b"some data");
    let err = env.s3_fails(&["seal", "x", "-o", "s3://no-such-bucket-here/x.enc"], 1);
    assert!(err.contains("no-such-bucket-here does not exist"), "{err}");
    let err = env.s3_fails(&["open", &format!("s3://{bucket}/absent.enc")], 1);
    assert!(err.contains(&format!("s3://{bucket}/absent.enc does not exist")), "{err}");
    env.s3_ok(&["seal", "x", "-o", &format!("s3://{bucket}/x.enc")]);
    let err = env.s3_fails(&["open", &format!("s3://{bucket}/x.enc"), "--key", "alias/envcrypt/missing", "-o", "y"], 3);
    assert!(err.contains(&format!("s3://{bucket}/x.enc")), "{err}");
    let err = env.s3_fails(&["seal", "x", "-o", "s3://UPPER/x"], 2);
    assert!(err.contains("not an S3 object address"), "{err}");
    let err = env.s3_fails(&["seal", "x", "-o", &format!("s3://{bucket}/y"), "--part-size", "1MiB"], 2);
    assert!(err.contains("5 MiB"), "{err}");
    let err = env.s3_fails(&["seal", "x", "--format", "s3ec"], 2);
    assert!(err.contains("s3://"), "{err}");
}
