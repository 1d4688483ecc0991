//! The S3 Encryption Client format both ways against the official client from PyPI
//! (`amazon-s3-encryption-client-python`, installed by scripts/test.sh), on moto's S3 and KMS.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use envcrypt::keyring::OpenPolicy;
use envcrypt::kms::{EncryptionContext, KeyRef, KeyService};
use envcrypt_aws::{AwsKmsService, AwsOptions};
use envcrypt_s3::{
    open_object, seal_object, ObjectUrl, OpenObjectOptions, S3Client, S3ecVersion, SealObjectOptions, TransferOptions,
    Wrapping,
};
use envcrypt_testkit::{moto_endpoint, workspace_root, AWS_TEST_ENV};

fn options() -> AwsOptions {
    AwsOptions {
        endpoint_url: Some(moto_endpoint().to_owned()),
        region: Some("us-east-1".into()),
        static_credentials: Some(("testing".into(), "testing".into())),
        ..AwsOptions::default()
    }
}

/// Runs the official client: `put` or `get` of `bucket/object` through `file`.
fn peer(action: &str, key: &str, version: &str, bucket: &str, object: &str, file: &Path, context: &[&str]) {
    let python = workspace_root().join(".venv/bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/s3ec_peer.py");
    let out = Command::new(python)
        .arg(script)
        .args([action, moto_endpoint(), key, version, bucket, object])
        .arg(file)
        .args(context)
        .envs(AWS_TEST_ENV)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "the official client failed to {action} {object} ({version}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn create_bucket(name: &str) {
    let runtime = envcrypt_aws::client_runtime("test").unwrap();
    let config = envcrypt_aws::load_config(&options(), &runtime).unwrap();
    let sdk = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    runtime.block_on(sdk.create_bucket().bucket(name).send()).unwrap();
}

#[test]
fn the_official_client_and_envcrypt_open_each_others_objects_in_v3_and_v2() {
    let kms: Arc<dyn KeyService> = Arc::new(AwsKmsService::connect(&options()).unwrap());
    let arn = kms.admin().unwrap().create_key("s3ec interop").wait().unwrap().arn;
    let key = KeyRef::parse(&arn).unwrap();
    let s3 = S3Client::connect(&options(), TransferOptions::default()).unwrap();
    let bucket = format!("s3ec-interop-{}", std::process::id());
    create_bucket(&bucket);
    let dir = tempfile::tempdir().unwrap();
    let plaintext: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let input = dir.path().join("input");
    std::fs::write(&input, &plaintext).unwrap();
    let context: EncryptionContext = [("department".to_owned(), "finance".to_owned())].into_iter().collect();
    let policy = OpenPolicy::discovery(vec![kms.clone()]);

    for (version, name) in [(S3ecVersion::V3, "v3"), (S3ecVersion::V2, "v2")] {
        // envcrypt writes, the official client reads.
        let url = ObjectUrl::parse(&format!("s3://{bucket}/by-envcrypt-{name}")).unwrap();
        let wrapping = Wrapping::S3ec { version, service: kms.clone(), key: &key };
        let seal = SealObjectOptions { context: context.clone(), ..SealObjectOptions::default() };
        seal_object(&s3, &mut &plaintext[..], &url, wrapping, &seal).unwrap();
        let read_back = dir.path().join(format!("read-{name}"));
        peer("get", &arn, name, &bucket, &url.key, &read_back, &["department=finance"]);
        assert_eq!(std::fs::read(&read_back).unwrap(), plaintext, "the official client read envcrypt's {name}");

        // The official client writes, envcrypt reads.
        let object = format!("by-official-{name}");
        peer("put", &arn, name, &bucket, &object, &input, &["department=finance"]);
        let url = ObjectUrl::parse(&format!("s3://{bucket}/{object}")).unwrap();
        let mut out = Vec::new();
        let opened = open_object(&s3, &url, &mut out, &policy, &OpenObjectOptions::default()).unwrap();
        assert_eq!(out, plaintext, "envcrypt read the official client's {name}");
        assert_eq!(opened.format, version.name());
        assert_eq!(opened.key_arn, arn);
        assert_eq!(opened.context, context);
    }
}
