//! `envcrypt serve` with the clients people already have, unchanged: the AWS CLI, boto3, the
//! official `aws-encryption-cli` (both ways with `envcrypt open` and `seal`), the S3 Encryption
//! Client for Python (KMS served, S3 on moto), over plain HTTP on loopback and over TLS with a
//! self-signed certificate; and the refusal of plain HTTP off loopback.

use std::path::Path;
use std::process::{Command, Output};

use envcrypt_testkit::{
    create_moto_bucket, envcrypt_workdir, moto_endpoint, succeeded, venv_bin, workspace_root, AccessKey, Served,
};
use serde_json::Value;

envcrypt_workdir!(Env);

impl Env {
    fn serve(&self, args: &[&str]) -> Served {
        let mut command = self.command();
        command.args(["serve", "--listen", "127.0.0.1:0"]).args(args);
        Served::start(command)
    }

    /// `program` as a client of the server, signing with `credentials`; the AWS tools take
    /// the KMS endpoint from AWS_ENDPOINT_URL_KMS.
    fn client(&self, program: impl AsRef<std::ffi::OsStr>, credentials: &AccessKey, url: &str) -> Command {
        let mut command = self.command_for(program);
        command
            .env("AWS_ACCESS_KEY_ID", &credentials.id)
            .env("AWS_SECRET_ACCESS_KEY", &credentials.secret)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_ENDPOINT_URL_KMS", url);
        command
    }

    /// `aws kms ARGS` with JSON output.
    fn aws(&self, credentials: &AccessKey, url: &str, args: &[&str]) -> Output {
        let mut command = self.client(venv_bin("aws"), credentials, url);
        command.args(["--endpoint-url", url, "--output", "json", "kms"]).args(args);
        command.output().unwrap()
    }

    fn aws_ok(&self, credentials: &AccessKey, url: &str, args: &[&str]) -> Value {
        let out = succeeded(self.aws(credentials, url, args), &format!("aws kms {args:?}"));
        if out.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&out).unwrap()
    }
}

fn fails_with(out: Output, exception: &str, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains(exception), "{what}: expected {exception}, got {stderr}");
}

fn base64(value: &Value) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(value.as_str().unwrap()).unwrap()
}

#[test]
fn the_aws_cli_uses_the_served_store_unchanged() {
    let env = Env::new();
    let app = env.access_key("user/app");
    let other = env.access_key("user/other");
    let served = env.serve(&[]);
    let url = served.url();

    let key = env.aws_ok(&app, url, &["create-key", "--description", "aws cli"])["KeyMetadata"].clone();
    let arn = key["Arn"].as_str().unwrap();
    let id = key["KeyId"].as_str().unwrap();
    assert!(arn.starts_with("arn:aws:kms:us-east-1:111122223333:key/"), "{arn}");
    env.aws_ok(&app, url, &["create-alias", "--alias-name", "alias/cli", "--target-key-id", id]);

    let data_key = env.aws_ok(&app, url, &["generate-data-key", "--key-id", "alias/cli", "--key-spec", "AES_256"]);
    assert_eq!(base64(&data_key["Plaintext"]).len(), 32);
    assert_eq!(data_key["KeyId"], arn);

    env.write("plain", b"served by envcrypt");
    let context = ["--encryption-context", "purpose=cli"];
    let sealed = env.aws_ok(
        &app,
        url,
        &[&["encrypt", "--key-id", "alias/cli", "--plaintext", "fileb://plain"][..], &context].concat(),
    );
    env.write("sealed", &base64(&sealed["CiphertextBlob"]));
    let opened = env.aws_ok(&app, url, &[&["decrypt", "--ciphertext-blob", "fileb://sealed"][..], &context].concat());
    assert_eq!(base64(&opened["Plaintext"]), b"served by envcrypt");
    assert_eq!(opened["KeyId"], arn);
    fails_with(
        env.aws(&app, url, &["decrypt", "--ciphertext-blob", "fileb://sealed"]),
        "InvalidCiphertextException",
        "decrypt without the context",
    );

    let second = env.aws_ok(&app, url, &["create-key"])["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();
    let moved = env.aws_ok(
        &app,
        url,
        &[
            "re-encrypt",
            "--ciphertext-blob",
            "fileb://sealed",
            "--source-encryption-context",
            "purpose=cli",
            "--destination-key-id",
            &second,
        ],
    );
    assert_eq!(moved["SourceKeyId"], arn);
    env.write("moved", &base64(&moved["CiphertextBlob"]));
    let reopened = env.aws_ok(&app, url, &["decrypt", "--ciphertext-blob", "fileb://moved"]);
    assert_eq!(
        (base64(&reopened["Plaintext"]), reopened["KeyId"].as_str().unwrap()),
        (b"served by envcrypt".to_vec(), &*second)
    );

    env.aws_ok(&app, url, &["disable-key", "--key-id", id]);
    fails_with(
        env.aws(&app, url, &["encrypt", "--key-id", id, "--plaintext", "fileb://plain"]),
        "DisabledException",
        "encrypt under a disabled key",
    );
    env.aws_ok(&app, url, &["enable-key", "--key-id", id]);

    env.aws_ok(&app, url, &["enable-key-rotation", "--key-id", id, "--rotation-period-in-days", "90"]);
    let status = env.aws_ok(&app, url, &["get-key-rotation-status", "--key-id", id]);
    assert_eq!(
        (&status["KeyRotationEnabled"], &status["RotationPeriodInDays"]),
        (&Value::Bool(true), &Value::from(90))
    );
    assert!(!status["NextRotationDate"].is_null(), "{status}");
    env.aws_ok(&app, url, &["rotate-key-on-demand", "--key-id", id]);
    let rotations = env.aws_ok(&app, url, &["list-key-rotations", "--key-id", id]);
    assert_eq!(rotations["Rotations"][0]["RotationType"], "ON_DEMAND", "{rotations}");

    // The second credentials may use the key while its policy allows them, and not once it
    // denies them; the first still may.
    let policy = |deny_other: bool| {
        let mut statements = vec![serde_json::json!({
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::111122223333:user/app", "arn:aws:iam::111122223333:user/other"]},
            "Action": "kms:*",
            "Resource": "*"
        })];
        if deny_other {
            statements.push(serde_json::json!({
                "Effect": "Deny",
                "Principal": {"AWS": "arn:aws:iam::111122223333:user/other"},
                "Action": "kms:*",
                "Resource": "*"
            }));
        }
        env.write(
            "policy.json",
            serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string().as_bytes(),
        );
        env.aws_ok(
            &app,
            url,
            &["put-key-policy", "--key-id", id, "--policy-name", "default", "--policy", "file://policy.json"],
        );
    };
    policy(false);
    env.aws_ok(&other, url, &["encrypt", "--key-id", id, "--plaintext", "fileb://plain"]);
    policy(true);
    fails_with(
        env.aws(&other, url, &["encrypt", "--key-id", id, "--plaintext", "fileb://plain"]),
        "AccessDeniedException",
        "the denied credentials",
    );
    env.aws_ok(&app, url, &["encrypt", "--key-id", id, "--plaintext", "fileb://plain"]);

    let deletion = env.aws_ok(&app, url, &["schedule-key-deletion", "--key-id", id, "--pending-window-in-days", "7"]);
    assert_eq!(deletion["KeyState"], "PendingDeletion");
    assert_eq!(
        env.aws_ok(&app, url, &["describe-key", "--key-id", "alias/cli"])["KeyMetadata"]["KeyState"],
        "PendingDeletion"
    );

    // Each request is in the store's audit log under its signer.
    let audit = String::from_utf8(env.ok(&["--json", "audit", "list"])).unwrap();
    assert!(audit.contains("arn:aws:iam::111122223333:user/other") && audit.contains(&other.id), "{audit}");
    assert!(served.stop().success(), "a graceful stop exits 0");
}

#[test]
fn boto3_uses_the_served_store_unchanged() {
    let env = Env::new();
    let app = env.access_key("user/app");
    let other = env.access_key("user/other");
    let served = env.serve(&[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/serve/boto3_flow.py");
    let mut command = env.client(venv_bin("python"), &app, served.url());
    command.arg(script).args([served.url(), &other.id, &other.secret]);
    assert_eq!(succeeded(command.output().unwrap(), "boto3_flow.py"), b"ok\n");
}

#[test]
fn the_official_encryption_cli_and_envcrypt_open_each_others_files_through_serve() {
    let env = Env::new();
    let app = env.access_key("user/app");
    let served = env.serve(&[]);
    let url = served.url();
    let key = env.aws_ok(&app, url, &["create-key"])["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();
    let plain: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    env.write("plain", &plain);

    let official = |args: &[&str]| {
        let mut command = env.client(venv_bin("aws-encryption-cli"), &app, url);
        command.args(args).args(["--commitment-policy", "require-encrypt-require-decrypt", "-S"]);
        command.output().unwrap()
    };
    let envcrypt = |args: &[&str]| {
        let mut command = env.client(env!("CARGO_BIN_EXE_envcrypt"), &app, url);
        command.args(["--backend", "aws"]).args(args);
        command.output().unwrap()
    };

    let wrapping = format!("key={key}");
    succeeded(
        official(&[
            "--encrypt",
            "-i",
            "plain",
            "-o",
            "by-official",
            "--wrapping-keys",
            &wrapping,
            "-c",
            "purpose=interop",
        ]),
        "aws-encryption-cli encrypt",
    );
    succeeded(
        envcrypt(&["open", "--context", "purpose=interop", "-o", "opened-by-envcrypt", "by-official"]),
        "envcrypt open",
    );
    assert_eq!(std::fs::read(env.path("opened-by-envcrypt")).unwrap(), plain);

    succeeded(
        envcrypt(&["seal", "--key", &key, "--context", "purpose=interop", "-o", "by-envcrypt", "plain"]),
        "envcrypt seal",
    );
    succeeded(
        official(&[
            "--decrypt",
            "-i",
            "by-envcrypt",
            "-o",
            "opened-by-official",
            "--wrapping-keys",
            &wrapping,
            "-c",
            "purpose=interop",
        ]),
        "aws-encryption-cli decrypt",
    );
    assert_eq!(std::fs::read(env.path("opened-by-official")).unwrap(), plain);

    succeeded(
        official(&["--decrypt", "-i", "by-official", "-o", "round-trip", "--wrapping-keys", &wrapping]),
        "aws-encryption-cli round trip",
    );
    assert_eq!(std::fs::read(env.path("round-trip")).unwrap(), plain);
}

#[test]
fn the_s3_encryption_client_uses_served_kms_with_s3_on_moto() {
    let env = Env::new();
    let app = env.access_key("user/app");
    let served = env.serve(&[]);
    let key = env.aws_ok(&app, served.url(), &["create-key"])["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();
    let bucket = format!("served-kms-{}", std::process::id());
    create_moto_bucket(&bucket);
    let plain: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    env.write("plain", &plain);

    // The official client puts and gets through the served KMS; envcrypt opens what it put.
    let peer = |action: &str, file: &str| {
        let script = workspace_root().join("crates/envcrypt-s3/tests/s3ec_peer.py");
        let mut command = env.client(venv_bin("python"), &app, served.url());
        command.env("S3EC_PEER_KMS_ENDPOINT", served.url());
        command.arg(script).args([action, moto_endpoint(), &key, "v3", &bucket, "object", file, "purpose=s3ec"]);
        succeeded(command.output().unwrap(), &format!("s3ec_peer.py {action}"));
    };
    peer("put", "plain");
    peer("get", "got");
    assert_eq!(std::fs::read(env.path("got")).unwrap(), plain);

    let mut command = env.client(env!("CARGO_BIN_EXE_envcrypt"), &app, served.url());
    command
        .env("AWS_ENDPOINT_URL_S3", moto_endpoint())
        .args(["--backend", "aws", "open", "--context", "purpose=s3ec", "-o", "opened"])
        .arg(format!("s3://{bucket}/object"));
    succeeded(command.output().unwrap(), "envcrypt open of the client's object");
    assert_eq!(std::fs::read(env.path("opened")).unwrap(), plain);
}

#[test]
fn tls_with_a_self_signed_certificate_serves_the_aws_cli() {
    let env = Env::new();
    let app = env.access_key("user/app");
    let served = env.serve(&["--tls-self-signed", "--json"]);
    let announced: Value = serde_json::from_str(served.announcement()).unwrap();
    let url = served.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let pem = announced["certificate"].as_str().unwrap();

    // The announced fingerprint is the certificate's, as openssl computes it.
    let openssl =
        Command::new("openssl").args(["x509", "-noout", "-fingerprint", "-sha256", "-in", pem]).output().unwrap();
    let computed: String = String::from_utf8(succeeded(openssl, "openssl x509"))
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap()
        .trim()
        .replace(':', "")
        .to_lowercase();
    assert_eq!(announced["fingerprint_sha256"], computed);

    let mut command = env.client(venv_bin("aws"), &app, url);
    command.args(["--endpoint-url", url, "--ca-bundle", pem, "--output", "json", "kms", "create-key"]);
    let created: Value =
        serde_json::from_slice(&succeeded(command.output().unwrap(), "aws kms create-key over TLS")).unwrap();
    assert_eq!(created["KeyMetadata"]["KeyState"], "Enabled");

    // A client that does not trust the certificate is refused by its own TLS check.
    let mut untrusting = env.client(venv_bin("aws"), &app, url);
    untrusting.args(["--endpoint-url", url, "kms", "list-keys"]);
    fails_with(untrusting.output().unwrap(), "SSL", "a client without the certificate");
}

#[test]
fn plain_http_is_refused_off_loopback_unless_asked_for() {
    let env = Env::new();
    let out = env.run(&["serve", "--listen", "0.0.0.0:0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("--tls-self-signed"), "{stderr}");

    let mut command = env.command();
    command.args(["serve", "--listen", "0.0.0.0:0", "--insecure-http"]);
    let served = Served::start(command);
    assert!(served.url().starts_with("http://0.0.0.0:"), "{}", served.url());
    assert!(served.stop().success());
}

#[test]
fn conformance_through_serve_is_as_documented_with_no_deviation() {
    let env = Env::new();
    let served = env.serve(&[]);
    let mut command = env.command();
    command
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .args(["--json", "conformance", "--backend", "aws", "--endpoint-url", served.url(), "--served-store"])
        .arg(env.path("store"));
    let report: Value = serde_json::from_slice(&succeeded(command.output().unwrap(), "envcrypt conformance")).unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert!(rows.len() >= 60, "{} scenarios", rows.len());
    for row in rows {
        assert_eq!(row["results"][0][1], "as_documented", "{row}");
    }
    // Every access key the run made (one per principal) is revoked once it is over.
    let keys: Value = serde_json::from_slice(&env.ok(&["--json", "credentials", "list"])).unwrap();
    let keys = keys.as_array().unwrap();
    assert!(keys.len() >= 3 && keys.iter().all(|k| !k["revoked"].is_null()), "{keys:?}");
}

/// What one client got acknowledged: key ids, and ciphertexts with their plaintext; and how
/// many of its requests got no answer.
#[derive(Default)]
struct Acknowledged {
    keys: Vec<String>,
    ciphertexts: Vec<(String, String)>,
    unanswered: usize,
}

#[test]
fn acknowledged_keys_and_ciphertexts_survive_sigkill_of_the_server() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine;
    use envcrypt_testkit::KmsClient;

    let env = Env::new();
    let app = env.access_key("user/app");
    let served = env.serve(&[]);
    let url = served.url().to_owned();
    let listen = url.trim_start_matches("http://").to_owned();
    let done = Arc::new(AtomicBool::new(false));

    // 32 clients over keep-alive, creating keys and encrypting under them; a request that got
    // no answer (the server died under it) is simply not counted as acknowledged.
    let clients: Vec<_> = (0..32)
        .map(|n| {
            let (url, done, id, secret) = (url.clone(), done.clone(), app.id.clone(), app.secret.clone());
            std::thread::spawn(move || {
                let mut client = KmsClient::new(&url, "us-east-1", &id, &secret);
                let mut acknowledged = Acknowledged::default();
                let mut key = None;
                for i in 0.. {
                    if done.load(Ordering::SeqCst) {
                        break;
                    }
                    let reply = match &key {
                        None => client.call("CreateKey", &serde_json::json!({"Description": format!("client {n}")})),
                        Some(key) => {
                            let plaintext = BASE64.encode(format!("client {n} message {i}"));
                            let reply =
                                client.call("Encrypt", &serde_json::json!({"KeyId": key, "Plaintext": plaintext}));
                            if let Ok(reply) = &reply {
                                if reply.status == 200 {
                                    let blob = reply.body["CiphertextBlob"].as_str().unwrap().to_owned();
                                    acknowledged.ciphertexts.push((blob, plaintext));
                                }
                            }
                            reply
                        }
                    };
                    match reply {
                        Ok(reply) if reply.status == 200 && key.is_none() => {
                            let id = reply.body["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
                            acknowledged.keys.push(id.clone());
                            key = Some(id);
                        }
                        Ok(reply) => assert_eq!(reply.status, 200, "client {n}: {:?}", reply.body),
                        Err(_) => {
                            acknowledged.unanswered += 1;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                    // Every 20 messages a client moves on to a new key.
                    if i % 20 == 19 {
                        key = None;
                    }
                }
                acknowledged
            })
        })
        .collect();
    // Meanwhile, CLI processes create keys in the same store.
    let cli = {
        let done = done.clone();
        let mut command = env.command();
        command.args(["--json", "key", "create", "--description", "cli"]);
        std::thread::spawn(move || {
            let mut created = Vec::new();
            while !done.load(Ordering::SeqCst) {
                let out = command.output().unwrap();
                assert!(out.status.success(), "key create: {}", String::from_utf8_lossy(&out.stderr));
                let key: Value = serde_json::from_slice(&out.stdout).unwrap();
                created.push(key["KeyId"].as_str().unwrap().to_owned());
            }
            created
        })
    };

    let restart = || {
        let mut command = env.command();
        command.args(["serve", "--listen", &listen]);
        Served::start(command)
    };
    std::thread::sleep(Duration::from_millis(1500));
    served.kill();
    let served = restart();
    std::thread::sleep(Duration::from_millis(1500));
    served.kill();
    let served = restart();
    std::thread::sleep(Duration::from_millis(1000));
    done.store(true, Ordering::SeqCst);
    let acknowledged: Vec<Acknowledged> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let cli_keys = cli.join().unwrap();
    let unanswered: usize = acknowledged.iter().map(|a| a.unanswered).sum();
    assert!(unanswered > 0, "the server was never killed under load");

    let mut client = KmsClient::new(served.url(), "us-east-1", &app.id, &app.secret);
    let (mut keys, mut ciphertexts) = (0, 0);
    for key in acknowledged.iter().flat_map(|a| &a.keys) {
        let reply = client.call("DescribeKey", &serde_json::json!({"KeyId": key})).unwrap();
        assert_eq!(reply.status, 200, "acknowledged key {key} is gone: {:?}", reply.body);
        keys += 1;
    }
    // The CLI's keys belong to its own principal: listed through the CLI.
    let listed = String::from_utf8(env.ok(&["--json", "key", "list"])).unwrap();
    for key in &cli_keys {
        assert!(listed.contains(key.as_str()), "key {key} made by `envcrypt key create` is gone");
        keys += 1;
    }
    for (blob, plaintext) in acknowledged.iter().flat_map(|a| &a.ciphertexts) {
        let reply = client.call("Decrypt", &serde_json::json!({"CiphertextBlob": blob})).unwrap();
        assert_eq!(reply.status, 200, "an acknowledged ciphertext does not decrypt: {:?}", reply.body);
        assert_eq!(reply.body["Plaintext"].as_str(), Some(plaintext.as_str()));
        ciphertexts += 1;
    }
    assert!(keys > 64 && ciphertexts > 500 && !cli_keys.is_empty(), "{keys} keys, {ciphertexts} ciphertexts checked");
    eprintln!(
        "checked {keys} keys ({} from the CLI) and {ciphertexts} ciphertexts; {unanswered} requests unanswered",
        cli_keys.len()
    );
    // The audit chain is intact across the kills.
    env.ok(&["audit", "verify"]);
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    use std::io::{BufRead, BufReader, Read, Write};

    let env = Env::new();
    let app = env.access_key("user/app");
    let served = env.serve(&[]);
    let client = envcrypt_testkit::KmsClient::new(served.url(), "us-east-1", &app.id, &app.secret);
    let mut request = client.prepare("GenerateRandom", &serde_json::json!({"NumberOfBytes": 16}));
    client.sign(&mut request);
    let mut head = String::from("POST / HTTP/1.1\r\n");
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", request.body.len()));

    // Half a request is on the wire when the server is told to stop.
    let mut stream = std::net::TcpStream::connect(served.url().trim_start_matches("http://")).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&request.body[..5]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    served.terminate();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        std::net::TcpStream::connect(served.url().trim_start_matches("http://")).is_err(),
        "the server stopped accepting"
    );
    stream.write_all(&request.body[5..]).unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let mut rest = String::new();
    let _ = reader.read_to_string(&mut rest);
    assert!(rest.contains("Plaintext"), "{rest}");
    assert!(served.wait().success(), "the server exits 0 once the request is answered");
}
