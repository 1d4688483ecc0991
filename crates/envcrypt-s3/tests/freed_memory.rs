//! The claim "no plaintext is left in freed memory", attacked on the S3 paths with an
//! allocator that looks inside every block as it is freed: a sealed object and S3 Encryption
//! Client objects are sealed to moto and opened from it, to a staged output and held back in
//! memory until their tag verifies (the stdout path), and no freed block may still hold the
//! plaintext. (A block freed unwiped also taints the blocks later carved from it, so a leak on
//! the sealing side shows up here too.)

use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::stream::SealOptions;
use envcrypt_aws::AwsOptions;
use envcrypt_s3::{
    open_object, seal_object, ObjectUrl, OpenObjectOptions, S3Client, S3ecVersion, SealObjectOptions, TransferOptions,
    Wrapping, MIN_PART_SIZE,
};
use envcrypt_testkit::freed_memory::{self, FreedMemoryScanner, MarkerSink, MARKER};
use envcrypt_testkit::{create_moto_bucket, moto_endpoint, TempStore};
use zeroize::Zeroizing;

#[global_allocator]
static SCANNER: FreedMemoryScanner = FreedMemoryScanner;

#[test]
fn opened_object_plaintext_never_stays_in_freed_memory() {
    let endpoint = moto_endpoint();
    let options = AwsOptions {
        endpoint_url: Some(endpoint.to_owned()),
        region: Some("us-east-1".into()),
        static_credentials: Some(("testing".into(), "testing".into())),
        ..AwsOptions::default()
    };
    let s3 = S3Client::connect(&options, TransferOptions { part_size: MIN_PART_SIZE, parts_in_flight: 2 }).unwrap();
    let bucket = format!("freed-memory-{}", std::process::id());
    create_moto_bucket(&bucket);
    let store = TempStore::new();
    let policy = OpenPolicy::discovery(store.services());
    let len = 3 * 1024 * 1024 + 7;
    let plaintext: Zeroizing<Vec<u8>> = Zeroizing::new(MARKER.iter().copied().cycle().take(len).collect());
    let keyring = Keyring::new().with_key(store.service.clone(), store.key.clone());
    let seal_options = SealOptions { frame_length: 64 * 1024, ..SealOptions::default() };
    let formats = [
        ("sealed", Wrapping::Sealed { keyring: &keyring, options: &seal_options }),
        ("s3ec-v3", Wrapping::S3ec { version: S3ecVersion::V3, service: store.service.clone(), key: &store.key }),
        ("s3ec-v2", Wrapping::S3ec { version: S3ecVersion::V2, service: store.service.clone(), key: &store.key }),
    ];
    let mut urls = Vec::new();
    let mut leaks = Vec::new();
    for (name, wrapping) in formats {
        let url = ObjectUrl::parse(&format!("s3://{bucket}/{name}")).unwrap();
        freed_memory::arm();
        seal_object(&s3, &mut &plaintext[..], &url, wrapping, &SealObjectOptions::default()).unwrap();
        let found = freed_memory::disarm();
        if found > 0 {
            leaks.push(format!("sealing {url}: {found} freed block(s) held plaintext"));
        }
        urls.push(url);
    }
    drop(plaintext);

    for url in &urls {
        for staged_output in [false, true] {
            freed_memory::arm();
            let mut sink = MarkerSink::default();
            let options = OpenObjectOptions { staged_output, ..OpenObjectOptions::default() };
            open_object(&s3, url, &mut sink, &policy, &options).unwrap();
            let found = freed_memory::disarm();
            assert_eq!(sink.received, len, "{url}");
            if found > 0 {
                let how = if staged_output { "staged" } else { "held back" };
                leaks.push(format!("opening {url} ({how}): {found} freed block(s) held plaintext"));
            }
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}
