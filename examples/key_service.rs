//! The KMS operations of the local store: GenerateDataKey, Decrypt, ReEncrypt, rotation and
//! key states, with the errors AWS KMS documents.
//!
//! Run with `cargo run -p envcrypt --example key_service`.

use envcrypt::kms::local::{LocalKeyService, StoreOptions};
use envcrypt::kms::{DataKeySpec, EncryptionContext, KeyAdmin, KeyRef, KeyService, ReEncryptRequest};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = LocalKeyService::open(StoreOptions::new(dir.path().join("store")))?;
    let old = KeyRef::parse(&store.create_key("old").wait()?.arn)?;
    let new = KeyRef::parse(&store.create_key("new").wait()?.arn)?;

    let mut context = EncryptionContext::new();
    context.insert("tenant", "acme")?;

    // Envelope encryption starts with a data key: plaintext for local use, blob for storage.
    let data_key = store.generate_data_key(&old, DataKeySpec::Aes256, &context).wait()?;
    println!("data key: {:?}", data_key.plaintext); // Debug output is redacted

    // Move the blob to another key without the plaintext leaving the key service.
    let moved = store
        .re_encrypt(ReEncryptRequest {
            blob: &data_key.ciphertext_blob,
            source_context: &context,
            source_key: Some(&old),
            destination_key: &new,
            destination_context: &context,
        })
        .wait()?;
    let opened = store.decrypt(&moved.blob, &context, Some(&new)).wait()?;
    assert_eq!(opened.plaintext, data_key.plaintext);

    // Rotation keeps old backing keys, so old blobs still open.
    store.rotate_key(&new).wait()?;
    assert!(store.decrypt(&moved.blob, &context, None).wait().is_ok());

    // A disabled key refuses to decrypt, as in AWS KMS.
    store.disable_key(&new).wait()?;
    let refused = store.decrypt(&moved.blob, &context, None).wait().unwrap_err();
    println!("after disabling: {}", refused.kms_name());
    assert_eq!(refused.kms_name(), "DisabledException");
    Ok(())
}
