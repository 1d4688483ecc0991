//! Past one machine: two `envcrypt serve --backend pkcs11` processes over one SoftHSM2 token
//! cluster, behind nginx (Debian's, plain HTTP on loopback). One server is killed with SIGKILL
//! under load; clients that retry, as the AWS SDKs do, see no request fail.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use envcrypt_testkit::{envcrypt_workdir, AccessKey, KmsClient, KmsReply, Served, SoftHsm, SO_PIN, USER_PIN};
use serde_json::{json, Value};

envcrypt_workdir!(Env);

const CLUSTER: [&str; 2] = ["az-a", "az-b"];
/// The region clients sign for: the HSM cluster's, as its key ARNs name it.
const REGION: &str = "pkcs11";
/// Attempts per request, as the AWS SDKs' standard retry mode makes.
const ATTEMPTS: usize = 3;

impl Env {
    /// The envcrypt binary with the HSM cluster configured, logged in with `pin_var`.
    fn with_hsm(&self, hsm: &SoftHsm, pin_var: &str, pin: &str) -> Command {
        let mut command = self.command();
        command
            .env("SOFTHSM2_CONF", hsm.config())
            .env("ENVCRYPT_PKCS11_MODULE", hsm.module())
            .env("ENVCRYPT_PKCS11_TOKENS", CLUSTER.join(","))
            .env(pin_var, pin);
        command
    }

    /// The cluster initialized, an access key for `user/app`, and two `envcrypt serve
    /// --backend pkcs11` processes over it.
    fn two_servers(&self, hsm: &SoftHsm) -> (AccessKey, Served, Served) {
        let out = self.with_hsm(hsm, "ENVCRYPT_PKCS11_SO_PIN", SO_PIN).args(["hsm", "init-cluster"]).output().unwrap();
        assert!(out.status.success(), "init-cluster: {}", String::from_utf8_lossy(&out.stderr));
        let serve = || {
            let mut command = self.with_hsm(hsm, "ENVCRYPT_PKCS11_PIN", USER_PIN);
            command.args(["--backend", "pkcs11", "serve", "--listen", "127.0.0.1:0"]);
            Served::start(command)
        };
        (self.access_key("user/app"), serve(), serve())
    }
}

/// nginx in the foreground, one process, balancing over `upstreams` on `port`; stopped on drop.
struct Nginx(Child);

impl Nginx {
    fn start(dir: &Path, port: u16, upstreams: &[&str]) -> Self {
        let servers: String = upstreams
            .iter()
            .map(|u| format!("server {} max_fails=1 fail_timeout=30s;\n", u.trim_start_matches("http://")))
            .collect();
        let prefix = dir.display();
        // Requests a dead upstream did not answer go to the other one, even POSTs
        // (non_idempotent): a KMS request that got no answer is retried, as a client would.
        let config = format!(
            "daemon off; master_process off; pid {prefix}/nginx.pid; error_log {prefix}/nginx-error.log warn;
            events {{ worker_connections 512; }}
            http {{
                access_log off;
                client_body_temp_path {prefix}/nginx-body; proxy_temp_path {prefix}/nginx-proxy;
                fastcgi_temp_path {prefix}/nginx-fastcgi; uwsgi_temp_path {prefix}/nginx-uwsgi; scgi_temp_path {prefix}/nginx-scgi;
                upstream kms {{ {servers} keepalive 32; }}
                server {{
                    listen 127.0.0.1:{port};
                    location / {{
                        proxy_pass http://kms;
                        proxy_http_version 1.1;
                        proxy_set_header Connection \"\";
                        proxy_set_header Host $http_host;
                        proxy_next_upstream error timeout non_idempotent;
                        proxy_connect_timeout 1s;
                    }}
                }}
            }}"
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, config).unwrap();
        let program = Path::new("/usr/sbin/nginx");
        assert!(program.exists(), "nginx is missing: run scripts/packages.sh test, which installs it");
        let nginx = Self(
            Command::new(program)
                .arg("-p")
                .arg(dir)
                .arg("-e")
                .arg(dir.join("nginx-error.log"))
                .arg("-c")
                .arg(&path)
                .stdin(Stdio::null())
                .spawn()
                .expect("nginx starts"),
        );
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return nginx;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nginx did not listen: {}", std::fs::read_to_string(dir.join("nginx-error.log")).unwrap_or_default());
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Calls with up to [`ATTEMPTS`] attempts, retrying what the SDKs retry: no answer, or a 5xx.
fn call_with_retry(client: &mut KmsClient, operation: &str, body: &Value, retries: &AtomicUsize) -> KmsReply {
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            retries.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50 << attempt));
        }
        match client.call(operation, body) {
            Ok(reply) if reply.status < 500 => return reply,
            other => last = Some(other),
        }
    }
    panic!("{operation} failed after {ATTEMPTS} attempts: {last:?}");
}

#[test]
fn a_server_killed_behind_nginx_fails_no_request_a_retry_would_not_fix() {
    let hsm = SoftHsm::new(&CLUSTER);
    let env = Env::new();
    let (AccessKey { id, secret }, first, second) = env.two_servers(&hsm);
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _nginx = Nginx::start(env.dir(), port, &[first.url(), second.url()]);
    let url = format!("http://127.0.0.1:{port}");

    let mut setup = KmsClient::new(&url, REGION, &id, &secret);
    let created =
        call_with_retry(&mut setup, "CreateKey", &json!({"Description": "behind nginx"}), &AtomicUsize::new(0));
    assert_eq!(created.status, 200, "{:?}", created.body);
    let key = created.body["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();

    let (done, killed) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let (retries, after_kill) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..16)
        .map(|n| {
            let (url, id, secret, key) = (url.clone(), id.clone(), secret.clone(), key.clone());
            let (done, killed, retries, after_kill) =
                (done.clone(), killed.clone(), retries.clone(), after_kill.clone());
            std::thread::spawn(move || {
                let mut client = KmsClient::new(&url, REGION, &id, &secret);
                let context = json!({"client": n.to_string()});
                let mut calls = 0;
                while !done.load(Ordering::SeqCst) {
                    let request = json!({"KeyId": key, "KeySpec": "AES_256", "EncryptionContext": context});
                    let data_key = call_with_retry(&mut client, "GenerateDataKey", &request, &retries);
                    assert_eq!(data_key.status, 200, "client {n}: {:?}", data_key.body);
                    let request =
                        json!({"CiphertextBlob": data_key.body["CiphertextBlob"], "EncryptionContext": context});
                    let opened = call_with_retry(&mut client, "Decrypt", &request, &retries);
                    assert_eq!(opened.status, 200, "client {n}: {:?}", opened.body);
                    assert_eq!(opened.body["Plaintext"], data_key.body["Plaintext"]);
                    assert_eq!(BASE64.decode(opened.body["Plaintext"].as_str().unwrap()).unwrap().len(), 32);
                    calls += 2;
                    if killed.load(Ordering::SeqCst) {
                        after_kill.fetch_add(2, Ordering::SeqCst);
                    }
                }
                calls
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(1500));
    first.kill();
    killed.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(2000));
    done.store(true, Ordering::SeqCst);
    let calls: usize = clients.into_iter().map(|c| c.join().expect("no client saw a request fail")).sum();
    let after_kill = after_kill.load(Ordering::SeqCst);
    assert!(after_kill > 100, "only {after_kill} calls after the kill");
    eprintln!("{calls} calls, {after_kill} after one server was killed, {} retries", retries.load(Ordering::SeqCst));
    assert!(second.stop().success());
}

/// The claim "key states follow AWS KMS" across processes that cache PKCS#11 object handles:
/// a key disabled, enabled or scheduled for deletion through one server is refused or served
/// accordingly by the other at its next request.
#[test]
fn a_key_state_changed_through_one_server_holds_at_once_on_the_other() {
    let hsm = SoftHsm::new(&CLUSTER);
    let env = Env::new();
    let (AccessKey { id, secret }, first, second) = env.two_servers(&hsm);
    let mut admin = KmsClient::new(first.url(), REGION, &id, &secret);
    let mut user = KmsClient::new(second.url(), REGION, &id, &secret);
    let call = |client: &mut KmsClient, operation: &str, body: Value| client.call(operation, &body).unwrap();

    let created = call(&mut admin, "CreateKey", json!({}));
    let key = created.body["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let encrypt = json!({"KeyId": key, "Plaintext": BASE64.encode(b"state")});
    let sealed = call(&mut user, "Encrypt", encrypt.clone());
    assert_eq!(sealed.status, 200, "{:?}", sealed.body);
    let decrypt = json!({"CiphertextBlob": sealed.body["CiphertextBlob"]});
    assert_eq!(call(&mut user, "Decrypt", decrypt.clone()).status, 200);

    assert_eq!(call(&mut admin, "DisableKey", json!({"KeyId": key})).status, 200);
    assert_eq!(call(&mut user, "Encrypt", encrypt.clone()).error_type(), Some("DisabledException"));
    assert_eq!(call(&mut user, "Decrypt", decrypt.clone()).error_type(), Some("DisabledException"));
    assert_eq!(call(&mut admin, "EnableKey", json!({"KeyId": key})).status, 200);
    assert_eq!(call(&mut user, "Decrypt", decrypt.clone()).status, 200);
    let scheduled = call(&mut admin, "ScheduleKeyDeletion", json!({"KeyId": key, "PendingWindowInDays": 7}));
    assert_eq!(scheduled.status, 200, "{:?}", scheduled.body);
    assert_eq!(call(&mut user, "Encrypt", encrypt).error_type(), Some("KMSInvalidStateException"));
    assert_eq!(call(&mut user, "Decrypt", decrypt).error_type(), Some("KMSInvalidStateException"));
}
