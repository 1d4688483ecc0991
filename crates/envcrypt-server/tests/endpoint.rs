//! The endpoint in-process, over real HTTP on loopback, with requests signed (or mis-signed) by
//! the AWS SDK's signer: what the server promises about authentication, the wire protocol and
//! the audit log, attacked the way a client could attack it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use envcrypt::kms::local::{read_audit_events, LocalKeyService, StoreOptions};
use envcrypt::kms::ArnPrefix;
use envcrypt_server::{LocalStore, Server, ServerOptions};
use envcrypt_testkit::{KmsClient, KmsReply};
use serde_json::{json, Value};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "111122223333";

struct Served {
    url: String,
    dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

impl Served {
    fn start() -> Self {
        Self::start_with(ServerOptions::new("127.0.0.1:0".parse().unwrap()))
    }

    fn start_with(options: ServerOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Self::open_store(dir.path());
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let server = runtime.block_on(Server::bind(Arc::new(LocalStore::new(store)), options)).unwrap();
        let url = server.url().to_owned();
        runtime.spawn(server.run(std::future::pending()));
        Self { url, dir, _runtime: runtime }
    }

    fn open_store(dir: &std::path::Path) -> LocalKeyService {
        let identity = ArnPrefix::new("aws", REGION, ACCOUNT);
        LocalKeyService::open(StoreOptions::new(dir.join("store")).identity(identity)).unwrap()
    }

    /// An access key for `principal`, made in the store as an operator would.
    fn client(&self, principal: &str) -> KmsClient {
        let created = Self::open_store(self.dir.path()).create_access_key(principal).unwrap();
        KmsClient::new(&self.url, REGION, &created.key.access_key_id, created.secret_access_key.as_str())
    }

    fn events(&self) -> Vec<Value> {
        read_audit_events(&self.dir.path().join("store")).unwrap()
    }
}

fn ok(reply: std::io::Result<KmsReply>) -> Value {
    let reply = reply.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn refused(reply: &KmsReply, status: u16, exception: &str) {
    assert_eq!((reply.status, reply.error_type()), (status, Some(exception)), "{}", reply.body);
}

/// The claim "a server takes identity only from a verified signature": every way to send a
/// request that is not signed, as of now, by an active key is refused with KMS's exception,
/// and each refusal is an audit event with the key named and the address it came from.
#[test]
fn requests_not_signed_now_by_an_active_key_are_refused_and_audited() {
    let served = Served::start();
    let mut app = served.client("user/app");
    let body = json!({ "Limit": 5 });
    ok(app.call("ListKeys", &body));

    let mut wrong_secret = app.prepare("ListKeys", &body);
    app.sign_with(&mut wrong_secret, SystemTime::now(), "not-the-secret");
    refused(&app.send(&wrong_secret).unwrap(), 400, "InvalidSignatureException");

    let mut replayed = app.prepare("ListKeys", &body);
    app.sign(&mut replayed);
    // The same request, as if captured and sent again six minutes later: signed six minutes ago.
    let mut late = app.prepare("ListKeys", &body);
    let secret = secret_of(&served, &app);
    app.sign_with(&mut late, SystemTime::now() - Duration::from_secs(6 * 60), &secret);
    let reply = app.send(&late).unwrap();
    refused(&reply, 400, "InvalidSignatureException");
    assert!(reply.body["message"].as_str().unwrap().starts_with("Signature expired"), "{}", reply.body);
    accepted(app.send(&replayed));

    let mut altered = app.prepare("ListKeys", &body);
    app.sign(&mut altered);
    altered.body = serde_json::to_vec(&json!({ "Limit": 1000 })).unwrap();
    refused(&app.send(&altered).unwrap(), 400, "InvalidSignatureException");

    let mut added = app.prepare("ListKeys", &body);
    app.sign(&mut added);
    added.headers.push(("x-amz-security-token".into(), "forged".into()));
    refused(&app.send(&added).unwrap(), 400, "UnrecognizedClientException");
    let mut retargeted = app.prepare("ListKeys", &body);
    app.sign(&mut retargeted);
    retargeted.headers.push(("X-Amz-Target".into(), "TrentService.CreateKey".into()));
    refused(&app.send(&retargeted).unwrap(), 400, "InvalidSignatureException");

    let unsigned = app.prepare("ListKeys", &body);
    refused(&app.send(&unsigned).unwrap(), 400, "MissingAuthenticationTokenException");

    let key_id = access_key_of(&app);
    Served::open_store(served.dir.path()).revoke_access_key(&key_id).unwrap();
    refused(&app.call("ListKeys", &body).unwrap(), 400, "UnrecognizedClientException");

    let events = served.events();
    let refusals: Vec<&Value> = events.iter().filter(|e| e.get("errorCode").is_some()).collect();
    let codes: Vec<&str> = refusals.iter().map(|e| e["errorCode"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "InvalidSignatureException",
            "InvalidSignatureException",
            "InvalidSignatureException",
            "UnrecognizedClientException",
            "InvalidSignatureException",
            "MissingAuthenticationTokenException",
            "UnrecognizedClientException"
        ]
    );
    for event in &refusals {
        assert_eq!(event["eventName"], "ListKeys", "{event}");
        assert_eq!(event["sourceIPAddress"], "127.0.0.1", "{event}");
        assert_eq!(event["userIdentity"]["type"], "Unknown", "{event}");
    }
    assert!(refusals[..5].iter().all(|e| e["userIdentity"]["accessKeyId"] == key_id.as_str()));
}

fn accepted(reply: std::io::Result<KmsReply>) {
    // A replay inside the five minutes is accepted, as by KMS: the clock skew window bounds
    // how long a captured request can be replayed.
    assert_eq!(reply.unwrap().status, 200);
}

fn access_key_of(client: &KmsClient) -> String {
    let prepared = client.prepare("ListKeys", &json!({}));
    let mut signed = prepared.clone();
    client.sign(&mut signed);
    let authorization = signed.headers.iter().find(|(n, _)| n == "authorization").unwrap().1.clone();
    authorization.split("Credential=").nth(1).unwrap().split('/').next().unwrap().to_owned()
}

fn secret_of(served: &Served, client: &KmsClient) -> String {
    let key = access_key_of(client);
    let store = Served::open_store(served.dir.path());
    store.signing_secret(&key).unwrap().unwrap().secret_access_key.as_str().to_owned()
}

/// The claim "the authenticated principal is the caller for key policies and grants": a key
/// whose policy lets only `user/app` use it refuses `user/other`, and the audit log names who
/// signed each call.
#[test]
fn the_signer_is_the_caller_for_key_policies_and_the_audit_log() {
    let served = Served::start();
    let mut app = served.client("user/app");
    let mut other = served.client("user/other");
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Effect": "Allow", "Principal": { "AWS": format!("arn:aws:iam::{ACCOUNT}:root") }, "Action": "kms:*", "Resource": "*" },
            { "Effect": "Allow", "Principal": { "AWS": format!("arn:aws:iam::{ACCOUNT}:user/app") }, "Action": ["kms:*"], "Resource": "*" },
        ]
    });
    let created = ok(app.call("CreateKey", &json!({ "Policy": policy.to_string() })));
    let arn = created["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();
    assert!(arn.starts_with(&format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/")), "{arn}");
    ok(app.call("Encrypt", &json!({ "KeyId": arn, "Plaintext": "aGVsbG8=" })));
    let denied = other.call("Encrypt", &json!({ "KeyId": arn, "Plaintext": "aGVsbG8=" })).unwrap();
    refused(&denied, 400, "AccessDeniedException");
    assert!(denied.body["message"].as_str().unwrap().contains("user/other"), "{}", denied.body);

    let events = served.events();
    let encrypts: Vec<&Value> = events.iter().filter(|e| e["eventName"] == "Encrypt").collect();
    assert_eq!(encrypts.len(), 2);
    assert_eq!(encrypts[0]["userIdentity"]["arn"], format!("arn:aws:iam::{ACCOUNT}:user/app"));
    assert_eq!(encrypts[1]["userIdentity"]["arn"], format!("arn:aws:iam::{ACCOUNT}:user/other"));
    assert_eq!(encrypts[1]["errorCode"], "AccessDeniedException");
    assert_eq!(encrypts[0]["userIdentity"]["accessKeyId"], access_key_of(&app).as_str());
    assert_eq!(encrypts[0]["sourceIPAddress"], "127.0.0.1");
}

/// The claim "malformed requests get the errors AWS gives, never a panic or a dropped
/// connection": each goes over one keep-alive connection, which keeps working.
#[test]
fn malformed_requests_get_kms_errors_on_a_connection_that_keeps_working() {
    let served = Served::start();
    let mut app = served.client("user/app");
    let key = ok(app.call("CreateKey", &json!({})))["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("NoSuchOperation", json!({}), "UnknownOperationException"),
        ("Encrypt", json!({ "KeyId": key }), "ValidationException"),
        ("Encrypt", json!({ "KeyId": key, "Plaintext": "***" }), "SerializationException"),
        ("Encrypt", json!({ "KeyId": 7, "Plaintext": "aGk=" }), "SerializationException"),
        ("GenerateDataKey", json!({ "KeyId": key, "NumberOfBytes": 2000 }), "ValidationException"),
        ("GenerateDataKey", json!({ "KeyId": key }), "ValidationException"),
        ("DisableKey", json!({ "KeyId": "alias/envcrypt/default" }), "NotFoundException"),
        ("DescribeKey", json!({ "KeyId": "not a key" }), "NotFoundException"),
        ("ListKeys", json!({ "Marker": "forged" }), "InvalidMarkerException"),
        ("Decrypt", json!({ "CiphertextBlob": "AAAA" }), "InvalidCiphertextException"),
        ("CreateAlias", json!({ "AliasName": "alias/bad name", "TargetKeyId": key }), "ValidationException"),
    ];
    for (operation, body, exception) in cases {
        let reply = app.call(operation, &body).unwrap();
        refused(&reply, 400, exception);
    }
    for raw in [&b"{not json"[..], b"[1, 2]", b"\"text\""] {
        let mut request = app.prepare("ListKeys", &json!({}));
        request.body = raw.to_vec();
        app.sign(&mut request);
        refused(&app.send(&request).unwrap(), 400, "SerializationException");
    }
    assert_eq!(app.connections(), 1, "every malformed request was answered on the one connection");
    let mut oversized = app.prepare("Encrypt", &json!({ "KeyId": key, "Plaintext": "A".repeat(2 << 20) }));
    app.sign(&mut oversized);
    refused(&app.send(&oversized).unwrap(), 413, "SerializationException");
    // The server closes a connection whose body it did not read; it keeps serving.
    ok(app.call("DescribeKey", &json!({ "KeyId": key })));
    assert_eq!(app.connections(), 2);
}

/// Access keys created or revoked while the server runs take effect at its next request.
#[test]
fn access_keys_take_effect_at_once() {
    let served = Served::start();
    let mut first = served.client("user/first");
    ok(first.call("ListKeys", &json!({})));
    let mut second = served.client("role/second");
    ok(second.call("ListKeys", &json!({})));
    Served::open_store(served.dir.path()).revoke_access_key(&access_key_of(&second)).unwrap();
    refused(&second.call("ListKeys", &json!({})).unwrap(), 400, "UnrecognizedClientException");
    ok(first.call("ListKeys", &json!({})));
}

/// List calls page with Limit and Marker, as KMS's paginators expect.
#[test]
fn lists_page_with_limit_and_marker() {
    let served = Served::start();
    let mut app = served.client("user/app");
    for _ in 0..5 {
        ok(app.call("CreateKey", &json!({})));
    }
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut body = json!({ "Limit": 2 });
        if let Some(m) = &marker {
            body["Marker"] = json!(m);
        }
        let page = ok(app.call("ListKeys", &body));
        let keys = page["Keys"].as_array().unwrap();
        assert!(keys.len() <= 2);
        seen.extend(keys.iter().map(|k| k["KeyId"].as_str().unwrap().to_owned()));
        if page["Truncated"] == json!(false) {
            assert!(page.get("NextMarker").is_none());
            break;
        }
        marker = Some(page["NextMarker"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 5);
    seen.dedup();
    assert_eq!(seen.len(), 5);
}

/// The claim "secret access keys are stored only encrypted under the store's root key": no file
/// of the store holds a secret, as text or in base64, and the store still verifies with it.
#[test]
fn secret_access_keys_are_stored_only_encrypted() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let store = Served::open_store(dir.path());
    let created: Vec<_> = ["user/app", "role/batch"].iter().map(|p| store.create_access_key(p).unwrap()).collect();
    let mut files = vec![dir.path().to_path_buf()];
    let mut read = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        read += 1;
        for key in &created {
            let secret = key.secret_access_key.as_str();
            let encoded = base64::engine::general_purpose::STANDARD.encode(secret);
            for needle in [secret.as_bytes(), encoded.as_bytes()] {
                assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{} holds a secret", path.display());
            }
        }
    }
    assert!(read >= 3, "only {read} files read");
    for key in &created {
        let stored = store.signing_secret(&key.key.access_key_id).unwrap().expect("an active key");
        assert_eq!(stored.secret_access_key.as_str(), key.secret_access_key.as_str());
    }
}

/// Found by an adversarial review: a request without a Host header reached the signer, which
/// panicked and dropped the connection unaudited. It is refused like any incomplete signature.
#[test]
fn a_request_without_a_host_header_is_refused_and_audited() {
    let served = Served::start();
    let mut app = served.client("user/app");
    let mut request = app.prepare("ListKeys", &json!({}));
    app.sign(&mut request);
    request.headers.retain(|(name, _)| name != "host");
    let reply = app.send(&request).unwrap();
    refused(&reply, 400, "IncompleteSignatureException");
    assert!(reply.body["message"].as_str().unwrap().contains("'Host'"), "{}", reply.body);
    // The connection still works, and the refusal is on record.
    ok(app.call("ListKeys", &json!({})));
    let events = served.events();
    assert!(events.iter().any(|e| e["errorCode"] == "IncompleteSignatureException"), "{events:?}");
}

/// An `Authorization` header that names a parameter twice is refused: a verifier and an audit
/// log that read different copies would disagree about who asked.
#[test]
fn an_authorization_header_naming_a_parameter_twice_is_refused() {
    let served = Served::start();
    let mut app = served.client("user/app");
    let mut request = app.prepare("ListKeys", &json!({}));
    app.sign(&mut request);
    let authorization =
        request.headers.iter_mut().find(|(name, _)| name.eq_ignore_ascii_case("authorization")).unwrap();
    authorization.1.push_str(", Credential=AKIAOTHEROTHEROTHER12/20150830/us-east-1/kms/aws4_request");
    refused(&app.send(&request).unwrap(), 400, "IncompleteSignatureException");
}

/// Found by an adversarial review: a client that sent its headers and then stopped half-way
/// through its body held the connection for good. It is answered 408 once the body timeout
/// passes, and the refusal is audited.
#[test]
fn a_body_that_stops_arriving_is_cut_off_and_audited() {
    use std::io::{Read, Write};
    let options = ServerOptions {
        body_timeout: Duration::from_millis(500),
        ..ServerOptions::new("127.0.0.1:0".parse().unwrap())
    };
    let served = Served::start_with(options);
    let mut stream = std::net::TcpStream::connect(served.url.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.ListKeys\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let events = served.events();
    let cut = events.iter().find(|e| e["errorCode"] == "SerializationException").expect("the refusal is audited");
    assert!(cut["errorMessage"].as_str().unwrap().contains("did not arrive"), "{cut}");
}

/// Found by an adversarial review: GenerateRandom, which involves no key, went unaudited when
/// it succeeded. Every accepted request is on record with its signer.
#[test]
fn generate_random_is_audited_with_its_signer() {
    let served = Served::start();
    let mut app = served.client("user/app");
    let reply = ok(app.call("GenerateRandom", &json!({ "NumberOfBytes": 16 })));
    assert_eq!(reply["Plaintext"].as_str().unwrap().len(), 24);
    let events = served.events();
    let event = events.iter().find(|e| e["eventName"] == "GenerateRandom").expect("GenerateRandom is audited");
    assert_eq!(event["userIdentity"]["arn"], format!("arn:aws:iam::{ACCOUNT}:user/app"), "{event}");
    assert!(event.get("errorCode").is_none(), "{event}");
}
