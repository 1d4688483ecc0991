//! Sealed S3 objects against a real moto_server on loopback (S3 and KMS on one port).

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::Arc;

use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::kms::{EncryptionContext, KeyAdmin, KeyRef, KeyService};
use envcrypt::stream::{RewrapRequest, SealOptions};
use envcrypt_aws::{AwsKmsService, AwsOptions};
use envcrypt_s3::{
    inspect_object, open_object, rewrap_object, seal_object, InspectedKind, ObjectUrl, OpenObjectOptions, S3Client,
    S3Error, S3ecVersion, SealObjectOptions, TransferOptions, Wrapping, MIN_PART_SIZE,
};
use envcrypt_testkit::{moto_endpoint, CountingProxy, TempStore};

const MIB: usize = 1024 * 1024;

fn aws_options(endpoint: &str) -> AwsOptions {
    AwsOptions {
        endpoint_url: Some(endpoint.to_owned()),
        region: Some("us-east-1".into()),
        static_credentials: Some(("testing".into(), "testing".into())),
        ..AwsOptions::default()
    }
}

fn client(endpoint: &str) -> S3Client {
    S3Client::connect(&aws_options(endpoint), TransferOptions { part_size: MIN_PART_SIZE, parts_in_flight: 3 }).unwrap()
}

/// A fresh bucket, and the plain SDK to look at it from outside envcrypt.
struct Bucket {
    name: String,
    sdk: aws_sdk_s3::Client,
    runtime: tokio::runtime::Runtime,
}

impl Bucket {
    fn new(endpoint: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("envcrypt-test-{}-{n}", std::process::id());
        let runtime = envcrypt_aws::client_runtime("test-s3").unwrap();
        let config = envcrypt_aws::load_config(&aws_options(endpoint), &runtime).unwrap();
        let sdk = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired)
                .build(),
        );
        runtime.block_on(sdk.create_bucket().bucket(&name).send()).unwrap();
        Self { name, sdk, runtime }
    }

    fn url(&self, key: &str) -> ObjectUrl {
        ObjectUrl::parse(&format!("s3://{}/{key}", self.name)).unwrap()
    }

    fn put(&self, key: &str, body: &[u8]) {
        let request = self.sdk.put_object().bucket(&self.name).key(key).body(body.to_vec().into());
        self.runtime.block_on(request.send()).unwrap();
    }

    fn get(&self, key: &str) -> Vec<u8> {
        let out = self.runtime.block_on(self.sdk.get_object().bucket(&self.name).key(key).send()).unwrap();
        self.runtime.block_on(out.body.collect()).unwrap().to_vec()
    }

    fn metadata(&self, key: &str) -> HashMap<String, String> {
        let out = self.runtime.block_on(self.sdk.head_object().bucket(&self.name).key(key).send()).unwrap();
        out.metadata.unwrap_or_default()
    }

    fn keys(&self) -> Vec<String> {
        let out = self.runtime.block_on(self.sdk.list_objects_v2().bucket(&self.name).send()).unwrap();
        out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
    }

    fn uploads_in_progress(&self) -> usize {
        let out = self.runtime.block_on(self.sdk.list_multipart_uploads().bucket(&self.name).send()).unwrap();
        out.uploads().len()
    }
}

fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn context(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn seal_local(
    s3: &S3Client,
    store: &TempStore,
    url: &ObjectUrl,
    plaintext: &[u8],
    length_known: bool,
) -> envcrypt_s3::SealedObject {
    let keyring = Keyring::new().with_key(store.service.clone(), store.key.clone());
    let options = SealObjectOptions {
        context: context(&[("purpose", "test")]),
        plaintext_length: length_known.then_some(plaintext.len() as u64),
        stop: None,
    };
    let wrapping = Wrapping::Sealed { keyring: &keyring, options: &SealOptions::default() };
    seal_object(s3, &mut &plaintext[..], url, wrapping, &options).unwrap()
}

fn open_to_vec(s3: &S3Client, url: &ObjectUrl, services: Vec<Arc<dyn KeyService>>) -> Result<Vec<u8>, S3Error> {
    let mut out = Vec::new();
    open_object(s3, url, &mut out, &OpenPolicy::discovery(services), &OpenObjectOptions::default())?;
    Ok(out)
}

#[test]
fn sealed_objects_round_trip_from_empty_to_64_mib_in_one_part_or_many() {
    let endpoint = moto_endpoint();
    let (s3, bucket, store) = (client(endpoint), Bucket::new(endpoint), TempStore::new());
    for (i, len) in
        [0, 1, 100_000, MIN_PART_SIZE - 1, MIN_PART_SIZE, 3 * MIN_PART_SIZE + 12_345, 64 * MIB].into_iter().enumerate()
    {
        let plaintext = data(len, i as u64);
        let url = bucket.url(&format!("obj-{len}"));
        let sealed = seal_local(&s3, &store, &url, &plaintext, true);
        let expected_parts = (sealed.uploaded.bytes as usize).div_ceil(MIN_PART_SIZE).max(1);
        assert_eq!(sealed.uploaded.parts, expected_parts, "{len} bytes");
        let metadata = bucket.metadata(&url.key);
        assert_eq!(metadata["envcrypt-format"], "aws-encryption-sdk-v2");
        assert_eq!(metadata["envcrypt-plaintext-length"], len.to_string());
        assert_eq!(metadata["envcrypt-keys"], store.service.describe_key(&store.key).wait().unwrap().arn);
        assert_eq!(open_to_vec(&s3, &url, store.services()).unwrap(), plaintext, "{len} bytes");
    }
}

#[test]
fn a_stream_of_unknown_length_gets_its_length_recorded_after_the_upload() {
    let endpoint = moto_endpoint();
    let (s3, bucket, store) = (client(endpoint), Bucket::new(endpoint), TempStore::new());
    let plaintext = data(12 * MIB + 5, 7);
    let url = bucket.url("stdin.enc");
    let sealed = seal_local(&s3, &store, &url, &plaintext, false);
    assert!(sealed.uploaded.parts > 1);
    assert_eq!(bucket.metadata("stdin.enc")["envcrypt-plaintext-length"], plaintext.len().to_string());
    assert_eq!(open_to_vec(&s3, &url, store.services()).unwrap(), plaintext);
}

#[test]
fn a_failing_input_aborts_the_upload_and_leaves_no_parts_and_no_object() {
    struct FailsAfter(usize);
    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("the disk went away"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(7);
            self.0 -= n;
            Ok(n)
        }
    }
    let endpoint = moto_endpoint();
    let (s3, bucket, store) = (client(endpoint), Bucket::new(endpoint), TempStore::new());
    let url = bucket.url("interrupted.enc");
    let keyring = Keyring::new().with_key(store.service.clone(), store.key.clone());
    let wrapping = Wrapping::Sealed { keyring: &keyring, options: &SealOptions::default() };
    let err = seal_object(&s3, &mut FailsAfter(17 * MIB), &url, wrapping, &SealObjectOptions::default()).unwrap_err();
    assert!(matches!(err, S3Error::Interrupted { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains(&url.to_string()) && message.contains("the disk went away"), "{message}");
    assert_eq!(bucket.uploads_in_progress(), 0, "the multipart upload was aborted");
    assert!(bucket.keys().is_empty(), "no object is visible");

    let s3ec = Wrapping::S3ec { version: S3ecVersion::V3, service: store.service.clone(), key: &store.key };
    let err = seal_object(&s3, &mut FailsAfter(11 * MIB), &url, s3ec, &SealObjectOptions::default()).unwrap_err();
    assert!(matches!(err, S3Error::Interrupted { .. }), "{err}");
    assert_eq!(bucket.uploads_in_progress(), 0);
    assert!(bucket.keys().is_empty());
}

#[test]
fn s3ec_objects_round_trip_in_both_versions_and_their_metadata_is_the_clients() {
    let endpoint = moto_endpoint();
    let (s3, bucket, store) = (client(endpoint), Bucket::new(endpoint), TempStore::new());
    for (version, len) in [(S3ecVersion::V3, 9 * MIB + 3), (S3ecVersion::V2, 1000), (S3ecVersion::V3, 0)] {
        let plaintext = data(len, 3);
        let url = bucket.url(&format!("{}-{len}", version.name()));
        let wrapping = Wrapping::S3ec { version, service: store.service.clone(), key: &store.key };
        let options = SealObjectOptions { context: context(&[("team", "ops")]), ..SealObjectOptions::default() };
        seal_object(&s3, &mut &plaintext[..], &url, wrapping, &options).unwrap();
        let metadata = bucket.metadata(&url.key);
        match version {
            S3ecVersion::V3 => {
                assert_eq!(metadata["x-amz-c"], "115");
                assert_eq!(metadata["x-amz-w"], "12");
                let stored: HashMap<String, String> = serde_json::from_str(&metadata["x-amz-t"]).unwrap();
                assert_eq!(stored["aws:x-amz-cek-alg"], "115");
                assert_eq!(stored["team"], "ops");
                for key in ["x-amz-3", "x-amz-i", "x-amz-d"] {
                    assert!(metadata.contains_key(key), "{key}");
                }
            }
            S3ecVersion::V2 => {
                assert_eq!(metadata["x-amz-cek-alg"], "AES/GCM/NoPadding");
                assert_eq!(metadata["x-amz-wrap-alg"], "kms+context");
                assert_eq!(metadata["x-amz-tag-len"], "128");
                assert!(metadata.contains_key("x-amz-key-v2") && metadata.contains_key("x-amz-iv"));
            }
        }
        assert_eq!(metadata["x-amz-unencrypted-content-length"], len.to_string());
        assert_eq!(bucket.get(&url.key).len(), len + 16, "the body is the ciphertext and its tag");
        assert_eq!(open_to_vec(&s3, &url, store.services()).unwrap(), plaintext);
    }
}

#[test]
fn an_altered_s3ec_object_fails_and_releases_nothing_to_a_plain_output() {
    let endpoint = moto_endpoint();
    let (s3, bucket, store) = (client(endpoint), Bucket::new(endpoint), TempStore::new());
    let plaintext = data(300_000, 9);
    let url = bucket.url("v3");
    let wrapping = Wrapping::S3ec { version: S3ecVersion::V3, service: store.service.clone(), key: &store.key };
    seal_object(&s3, &mut &plaintext[..], &url, wrapping, &SealObjectOptions::default()).unwrap();
    let small = OpenObjectOptions { memory_limit: 1000, ..OpenObjectOptions::default() };
    let mut held = Vec::new();
    let err = open_object(&s3, &url, &mut held, &OpenPolicy::discovery(store.services()), &small).unwrap_err();
    assert!(matches!(err, S3Error::TooLargeToHoldBack { size: 300_016, limit: 1000, .. }), "{err}");
    assert!(held.is_empty(), "too large to hold back: nothing is released");
    let metadata = bucket.metadata("v3");
    let mut body = bucket.get("v3");
    body[1000] ^= 1;
    let request = bucket.sdk.put_object().bucket(&bucket.name).key("v3").set_metadata(Some(metadata)).body(body.into());
    bucket.runtime.block_on(request.send()).unwrap();
    let mut out = Vec::new();
    let policy = OpenPolicy::discovery(store.services());
    let err = open_object(&s3, &url, &mut out, &policy, &OpenObjectOptions::default()).unwrap_err();
    assert!(err.to_string().contains("tag does not verify"), "{err}");
    assert!(out.is_empty(), "no unauthenticated plaintext reached the output");
}

#[test]
fn inspect_reads_only_the_start_of_an_object() {
    let endpoint = moto_endpoint();
    let proxy = CountingProxy::start(endpoint);
    let (s3, bucket, store) = (client(proxy.endpoint()), Bucket::new(endpoint), TempStore::new());
    let url = bucket.url("big.enc");
    seal_local(&client(endpoint), &store, &url, &data(20 * MIB, 1), true);
    let before = proxy.received();
    let inspected = inspect_object(&s3, &url).unwrap();
    let moved = proxy.received() - before;
    assert!(moved < 128 * 1024, "inspect moved {moved} bytes");
    assert!(inspected.downloaded <= 64 * 1024);
    let InspectedKind::Sealed(header) = inspected.kind else { panic!("a sealed object") };
    assert_eq!(header.body().context.get("purpose"), Some("test"));
    assert_eq!(inspected.metadata["envcrypt-plaintext-length"], (20 * MIB).to_string());

    bucket.put("plain.bin", &data(10 * MIB, 2));
    let before = proxy.received();
    let err = inspect_object(&s3, &bucket.url("plain.bin")).unwrap_err();
    assert!(matches!(err, S3Error::NotSealed { .. }), "{err}");
    let moved = proxy.received() - before;
    assert!(moved < 128 * 1024, "a large object that is not sealed is refused after one read: {moved} bytes");
}

#[test]
fn rewrap_moves_a_few_mebibytes_whatever_the_object_size() {
    let endpoint = moto_endpoint();
    let proxy = CountingProxy::start(endpoint);
    let s3 = client(proxy.endpoint());
    let (bucket, store) = (Bucket::new(endpoint), TempStore::new());
    let new_key = KeyRef::parse(&store.service.create_key("new").wait().unwrap().arn).unwrap();
    let old_arn = store.service.describe_key(&store.key).wait().unwrap().arn;
    let mut moved = Vec::new();
    for (name, len) in [("small", 16 * MIB), ("large", 64 * MIB)] {
        let plaintext = data(len, 5);
        let url = bucket.url(name);
        seal_local(&client(endpoint), &store, &url, &plaintext, true);
        let before_body = bucket.get(name);
        let open = OpenPolicy::discovery(store.services());
        let add = [(store.service.clone() as Arc<dyn KeyService>, new_key.clone())];
        let remove = [old_arn.clone()];
        let request = RewrapRequest::new(&open, &add, &remove);
        let (sent, received) = (proxy.sent(), proxy.received());
        let rewrapped = rewrap_object(&s3, &url, &request, None).unwrap();
        moved.push((proxy.sent() - sent, proxy.received() - received));
        assert_eq!(rewrapped.removed, vec![old_arn.clone()]);

        let after_body = bucket.get(name);
        let InspectedKind::Sealed(header) = inspect_object(&s3, &url).unwrap().kind else { panic!() };
        let old_header_len = before_body.len() - (after_body.len() - header.len());
        assert_eq!(&after_body[header.len()..], &before_body[old_header_len..], "the body is byte for byte the same");
        let policy = OpenPolicy::strict(store.services(), vec![new_key.clone()]);
        let mut out = Vec::new();
        open_object(&s3, &url, &mut out, &policy, &OpenObjectOptions::default()).unwrap();
        assert_eq!(out, plaintext);
        assert!(bucket.metadata(name)["envcrypt-keys"].contains(&new_key.to_string()[..20]));
    }
    for (sent, received) in &moved {
        assert!(*sent < 7 * MIB as u64 && *received < 7 * MIB as u64, "moved {moved:?}");
    }
    let growth = moved[1].0.abs_diff(moved[0].0) + moved[1].1.abs_diff(moved[0].1);
    assert!(growth < 256 * 1024, "four times the object, about the same traffic: {moved:?}");
}

#[test]
fn s3ec_rewrap_is_a_metadata_only_copy() {
    let endpoint = moto_endpoint();
    let proxy = CountingProxy::start(endpoint);
    let s3 = client(proxy.endpoint());
    let (bucket, store) = (Bucket::new(endpoint), TempStore::new());
    let new_key = KeyRef::parse(&store.service.create_key("new").wait().unwrap().arn).unwrap();
    let plaintext = data(12 * MIB, 8);
    let url = bucket.url("v3");
    let wrapping = Wrapping::S3ec { version: S3ecVersion::V3, service: store.service.clone(), key: &store.key };
    seal_object(&client(endpoint), &mut &plaintext[..], &url, wrapping, &SealObjectOptions::default()).unwrap();
    let body = bucket.get("v3");
    let open = OpenPolicy::discovery(store.services());
    let add = [(store.service.clone() as Arc<dyn KeyService>, new_key.clone())];
    let request = RewrapRequest::new(&open, &add, &[]);
    let (sent, received) = (proxy.sent(), proxy.received());
    rewrap_object(&s3, &url, &request, None).unwrap();
    assert!(proxy.sent() - sent < 16 * 1024 && proxy.received() - received < 16 * 1024);
    assert_eq!(bucket.get("v3"), body);
    let policy = OpenPolicy::strict(store.services(), vec![new_key]);
    let mut out = Vec::new();
    open_object(&s3, &url, &mut out, &policy, &OpenObjectOptions::default()).unwrap();
    assert_eq!(out, plaintext);
}

/// The claim "`rewrap --from K` uses only K to open the data key", attacked on an S3
/// Encryption Client object, whose rewrap once called ReEncrypt with no source key at all:
/// a source key that does not hold the object is refused and the object stays as it was.
#[test]
fn s3ec_rewrap_honours_the_source_keys() {
    let endpoint = moto_endpoint();
    let (s3, bucket, store) = (client(endpoint), Bucket::new(endpoint), TempStore::new());
    let other = KeyRef::parse(&store.service.create_key("other").wait().unwrap().arn).unwrap();
    let target = KeyRef::parse(&store.service.create_key("target").wait().unwrap().arn).unwrap();
    let url = bucket.url("v3-from");
    let wrapping = Wrapping::S3ec { version: S3ecVersion::V3, service: store.service.clone(), key: &store.key };
    seal_object(&s3, &mut &data(1000, 4)[..], &url, wrapping, &SealObjectOptions::default()).unwrap();
    let metadata = bucket.metadata("v3-from");
    let add = [(store.service.clone() as Arc<dyn KeyService>, target.clone())];

    let wrong = OpenPolicy::strict(store.services(), vec![other.clone()]);
    let request = RewrapRequest::new(&wrong, &add, &[]);
    let err = rewrap_object(&s3, &url, &request, None).unwrap_err();
    assert!(err.to_string().contains("IncorrectKeyException"), "{err}");
    assert_eq!(bucket.metadata("v3-from"), metadata, "the object is unchanged");

    let right = OpenPolicy::strict(store.services(), vec![other, store.key.clone()]);
    let request = RewrapRequest::new(&right, &add, &[]);
    let done = rewrap_object(&s3, &url, &request, None).unwrap();
    assert_eq!(done.added, vec![target.to_string()]);

    // On a KMS endpoint that does not check the source key itself (moto), envcrypt does.
    let kms: Arc<dyn KeyService> = Arc::new(AwsKmsService::connect(&aws_options(endpoint)).unwrap());
    let aws_key = |name: &str| KeyRef::parse(&kms.admin().unwrap().create_key(name).wait().unwrap().arn).unwrap();
    let (sealed_under, wrong, moved_to) = (aws_key("a"), aws_key("b"), aws_key("c"));
    let url = bucket.url("v3-from-aws");
    let wrapping = Wrapping::S3ec { version: S3ecVersion::V3, service: kms.clone(), key: &sealed_under };
    seal_object(&s3, &mut &data(1000, 5)[..], &url, wrapping, &SealObjectOptions::default()).unwrap();
    let metadata = bucket.metadata("v3-from-aws");
    let add = [(kms.clone(), moved_to)];
    let wrong = OpenPolicy::strict(vec![kms.clone()], vec![wrong]);
    let request = RewrapRequest::new(&wrong, &add, &[]);
    let err = rewrap_object(&s3, &url, &request, None).unwrap_err();
    assert!(err.to_string().contains("IncorrectKeyException"), "{err}");
    assert_eq!(bucket.metadata("v3-from-aws"), metadata, "the object is unchanged");
}

#[test]
fn missing_buckets_missing_objects_and_unsealed_objects_are_named() {
    let endpoint = moto_endpoint();
    let (s3, bucket, store) = (client(endpoint), Bucket::new(endpoint), TempStore::new());
    let missing_bucket = ObjectUrl::parse("s3://no-such-bucket-envcrypt/x").unwrap();
    let err = open_to_vec(&s3, &missing_bucket, store.services()).unwrap_err();
    assert!(matches!(err, S3Error::NoSuchBucket { .. }), "{err}");
    assert!(err.to_string().contains("no-such-bucket-envcrypt"), "{err}");
    let err = seal_object(
        &s3,
        &mut &b"x"[..],
        &missing_bucket,
        Wrapping::Sealed {
            keyring: &Keyring::new().with_key(store.service.clone(), store.key.clone()),
            options: &SealOptions::default(),
        },
        &SealObjectOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, S3Error::NoSuchBucket { .. }), "{err}");

    let err = open_to_vec(&s3, &bucket.url("absent"), store.services()).unwrap_err();
    assert!(matches!(err, S3Error::NoSuchKey { .. }) && err.to_string().contains("absent"), "{err}");

    bucket.put("plain.txt", b"just some text, not sealed");
    for result in [
        open_to_vec(&s3, &bucket.url("plain.txt"), store.services()).map(drop),
        inspect_object(&s3, &bucket.url("plain.txt")).map(drop),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, S3Error::NotSealed { .. }) && err.to_string().contains("plain.txt"), "{err}");
    }
    bucket.put("empty", b"");
    let err = inspect_object(&s3, &bucket.url("empty")).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
}

#[test]
fn access_denied_names_the_object_and_the_operation() {
    // A moto of its own that enforces IAM: the first four calls (unauthenticated) create a
    // user whose only right is s3:ListBucket, and a bucket.
    let endpoint = envcrypt_testkit::start_private_moto(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]);
    let python = envcrypt_testkit::workspace_root().join(".venv/bin/python");
    let script = r#"
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
iam = boto3.client("iam", **kw)
iam.create_user(UserName="reader")
iam.put_user_policy(UserName="reader", PolicyName="list", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))
key = iam.create_access_key(UserName="reader")["AccessKey"]
boto3.client("s3", **kw).create_bucket(Bucket="locked-bucket")
print(key["AccessKeyId"], key["SecretAccessKey"])
"#;
    let out = std::process::Command::new(python).args(["-c", script, &endpoint]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let (id, secret) = text.trim().split_once(' ').unwrap();
    let options = AwsOptions { static_credentials: Some((id.into(), secret.into())), ..aws_options(&endpoint) };
    let s3 = S3Client::connect(&options, TransferOptions::default()).unwrap();
    let store = TempStore::new();
    let url = ObjectUrl::parse("s3://locked-bucket/secret.enc").unwrap();
    let keyring = Keyring::new().with_key(store.service.clone(), store.key.clone());
    let wrapping = Wrapping::Sealed { keyring: &keyring, options: &SealOptions::default() };
    let err = seal_object(&s3, &mut &b"data"[..], &url, wrapping, &SealObjectOptions::default()).unwrap_err();
    assert!(matches!(err, S3Error::AccessDenied { operation: "PutObject", .. }), "{err}");
    assert!(err.to_string().contains("s3://locked-bucket/secret.enc"), "{err}");
    let err = open_to_vec(&s3, &url, store.services()).unwrap_err();
    assert!(matches!(err, S3Error::AccessDenied { operation: "GetObject", .. }), "{err}");
}

#[test]
fn kms_wrapped_objects_open_with_the_moto_kms_key() {
    let endpoint = moto_endpoint();
    let (s3, bucket) = (client(endpoint), Bucket::new(endpoint));
    let kms: Arc<dyn KeyService> = Arc::new(AwsKmsService::connect(&aws_options(endpoint)).unwrap());
    let key = KeyRef::parse(&kms.admin().unwrap().create_key("s3 test").wait().unwrap().arn).unwrap();
    let plaintext = data(7 * MIB, 4);
    for (name, wrapping) in [
        (
            "sealed",
            Wrapping::Sealed {
                keyring: &Keyring::new().with_key(kms.clone(), key.clone()),
                options: &SealOptions::default(),
            },
        ),
        ("v3", Wrapping::S3ec { version: S3ecVersion::V3, service: kms.clone(), key: &key }),
    ] {
        let url = bucket.url(name);
        seal_object(&s3, &mut &plaintext[..], &url, wrapping, &SealObjectOptions::default()).unwrap();
        assert_eq!(open_to_vec(&s3, &url, vec![kms.clone()]).unwrap(), plaintext);
    }
}
