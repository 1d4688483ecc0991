//! A KMS load generator for `bench/serve.sh`: N clients, each on its own keep-alive connection
//! and thread, sign every request with SigV4 (the AWS SDK's signer) and call one operation
//! for a fixed time; prints requests per second and latency percentiles as JSON.
//!
//! ```text
//! cargo run --release -p envcrypt-server --example kms_load -- \
//!     http://127.0.0.1:4599 GenerateDataKey 8 5 AKIA... SECRET [REGION]
//! ```
//!
//! The operation is `GenerateDataKey` (AES_256, with an encryption context) or `Decrypt` (of
//! one data key made first). The key is created first with `CreateKey`. Any non-200 answer is
//! counted as an error.

use std::time::{Duration, Instant};

use envcrypt_testkit::KmsClient;
use serde_json::{json, Value};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, operation, clients, seconds, access_key_id, secret, rest @ ..] = args.as_slice() else {
        eprintln!("usage: kms_load ENDPOINT GenerateDataKey|Decrypt CLIENTS SECONDS ACCESS_KEY_ID SECRET [REGION]");
        std::process::exit(2);
    };
    let region = rest.first().map_or("us-east-1", String::as_str);
    let clients: usize = clients.parse().expect("CLIENTS is a number");
    let duration = Duration::from_secs_f64(seconds.parse().expect("SECONDS is a number"));

    let mut setup = KmsClient::new(endpoint, region, access_key_id, secret);
    let created = expect_ok(setup.call("CreateKey", &json!({"Description": "kms_load"})), "CreateKey");
    let key = created["KeyMetadata"]["Arn"].as_str().expect("CreateKey returns an ARN").to_owned();
    let context = json!({"purpose": "load"});
    let body = match operation.as_str() {
        "GenerateDataKey" => json!({"KeyId": key, "KeySpec": "AES_256", "EncryptionContext": context}),
        "Decrypt" => {
            let data_key = expect_ok(
                setup.call(
                    "GenerateDataKey",
                    &json!({"KeyId": key, "KeySpec": "AES_256", "EncryptionContext": context}),
                ),
                "GenerateDataKey",
            );
            json!({"CiphertextBlob": data_key["CiphertextBlob"], "EncryptionContext": context})
        }
        other => panic!("unknown operation {other}: GenerateDataKey or Decrypt"),
    };

    let start = Instant::now();
    let deadline = start + duration;
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let mut client = KmsClient::new(endpoint, region, access_key_id, secret);
            let (operation, body) = (operation.clone(), body.clone());
            std::thread::spawn(move || {
                let (mut latencies, mut errors) = (Vec::new(), 0usize);
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    match client.call(&operation, &body) {
                        Ok(reply) if reply.status == 200 => latencies.push(sent.elapsed()),
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (l, e) = worker.join().expect("a client thread");
        latencies.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{}",
        json!({
            "operation": operation,
            "clients": clients,
            "requests": latencies.len(),
            "errors": errors,
            "seconds": elapsed,
            "per_second": latencies.len() as f64 / elapsed,
            "p50_ms": percentile(0.50),
            "p99_ms": percentile(0.99),
        })
    );
}

fn expect_ok(reply: std::io::Result<envcrypt_testkit::KmsReply>, what: &str) -> Value {
    let reply = reply.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(reply.status, 200, "{what}: {}", reply.body);
    reply.body
}
