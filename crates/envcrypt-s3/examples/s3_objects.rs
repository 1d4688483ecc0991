//! Sealed S3 objects with a local-store key, against a moto_server on loopback (started here
//! unless `ENVCRYPT_TEST_MOTO_ENDPOINT` names one): a stream sealed into a multipart upload, the
//! header read with one ranged request, the object opened, and its data key re-wrapped under
//! a new key while the body stays in S3.
//!
//! Run with `cargo run -p envcrypt-s3 --example s3_objects` (needs moto in `.venv`:
//! `scripts/test.sh` or `eval "$(scripts/moto.sh start)"`).

use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::kms::{KeyAdmin, KeyRef, KeyService};
use envcrypt::stream::{RewrapRequest, SealOptions};
use envcrypt_aws::AwsOptions;
use envcrypt_s3::{
    inspect_object, open_object, rewrap_object, seal_object, InspectedKind, ObjectUrl, OpenObjectOptions, S3Client,
    SealObjectOptions, TransferOptions, Wrapping,
};
use envcrypt_testkit::{create_moto_bucket, moto_endpoint, TempStore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bucket = format!("example-{}", std::process::id());
    create_moto_bucket(&bucket);
    let aws = AwsOptions {
        endpoint_url: Some(moto_endpoint().to_owned()),
        region: Some("us-east-1".into()),
        static_credentials: Some(("testing".into(), "testing".into())),
        ..AwsOptions::default()
    };
    let s3 = S3Client::connect(&aws, TransferOptions::default())?;
    let store = TempStore::new();
    let url = ObjectUrl::parse(&format!("s3://{bucket}/nightly/db.dump.enc"))?;

    // Twenty megabytes from a reader of unknown length: three 8 MiB parts, sealed as they go.
    let data: Vec<u8> = (0..20_000_000u32).map(|i| (i % 251) as u8).collect();
    let keyring = Keyring::new().with_key(store.service.clone(), store.key.clone());
    let wrapping = Wrapping::Sealed { keyring: &keyring, options: &SealOptions::default() };
    let sealed = seal_object(&s3, &mut &data[..], &url, wrapping, &SealObjectOptions::default())?;
    println!("sealed {} bytes into {url} in {} parts", sealed.plaintext_bytes, sealed.uploaded.parts);

    let inspected = inspect_object(&s3, &url)?;
    if let InspectedKind::Sealed(header) = &inspected.kind {
        println!(
            "header: {} bytes, {} wrapped data key(s); {} bytes read of a {}-byte object",
            header.len(),
            header.body().encrypted_data_keys.len(),
            inspected.downloaded,
            inspected.object_size
        );
    }

    let next = KeyRef::parse(&store.service.create_key("next year").wait()?.arn)?;
    let open = OpenPolicy::discovery(store.services());
    let add = [(store.service.clone() as std::sync::Arc<dyn KeyService>, next.clone())];
    let request = RewrapRequest::new(&open, &add, &[]);
    let rewrapped = rewrap_object(&s3, &url, &request, None)?;
    println!(
        "re-wrapped under {}: {} bytes down, {} bytes up",
        rewrapped.added.join(", "),
        rewrapped.downloaded,
        rewrapped.uploaded
    );

    let mut restored = Vec::new();
    let strict = OpenPolicy::strict(store.services(), vec![next]);
    let opened = open_object(&s3, &url, &mut restored, &strict, &OpenObjectOptions::default())?;
    assert_eq!(restored, data);
    println!("opened {} bytes with the new key {}", opened.plaintext_bytes, opened.key_arn);
    Ok(())
}
