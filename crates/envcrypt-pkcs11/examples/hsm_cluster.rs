//! A cluster of three PKCS#11 tokens (SoftHSM2, initialized in a temporary directory): its
//! security officer sets up the trusted cluster key once, then a key is generated in one token
//! and copied to the others, data keys come from the token RNG, and an HSM goes away and comes
//! back without a failed call.
//!
//! Run with `cargo run -p envcrypt-pkcs11 --example hsm_cluster` (needs SoftHSM2:
//! `scripts/packages.sh test`).

use envcrypt::kms::{DataKeySpec, EncryptionContext, KeyAdmin, KeyRef, KeyService};
use envcrypt_pkcs11::{init_cluster, Pkcs11KeyService, Pkcs11Options};
use envcrypt_testkit::{SoftHsm, SO_PIN, USER_PIN};
use zeroize::Zeroizing;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let zones = ["az-a", "az-b", "az-c"];
    let hsm = SoftHsm::new(&zones);
    let options = Pkcs11Options::new(
        hsm.module(),
        zones.iter().map(|z| z.to_string()).collect(),
        Zeroizing::new(USER_PIN.into()),
    );
    for token in init_cluster(&options.cluster, &Zeroizing::new(SO_PIN.into()))? {
        println!("{:<5} cluster key {}", token.label, token.cluster_key);
    }
    let cluster = Pkcs11KeyService::connect(options)?;
    let key = KeyRef::parse(&cluster.create_key("example").wait()?.arn)?;
    let mut context = EncryptionContext::new();
    context.insert("purpose", "example")?;

    let data_key = cluster.generate_data_key(&key, DataKeySpec::Aes256, &context).wait()?;
    println!("data key from the token RNG, wrapped in the token: {} byte blob", data_key.ciphertext_blob.len());

    let lost = hsm.take_offline("az-b");
    for _ in 0..10 {
        let opened = cluster.decrypt(&data_key.ciphertext_blob, &context, None).wait()?;
        assert_eq!(opened.plaintext, data_key.plaintext);
    }
    for token in cluster.status() {
        println!(
            "{:<5} {:<5} {}",
            token.label,
            if token.healthy { "up" } else { "down" },
            token.error.unwrap_or_default()
        );
    }
    lost.restore();
    cluster.retry_now();
    println!("after az-b returns: {} of 3 tokens up", cluster.status().iter().filter(|t| t.healthy).count());
    Ok(())
}
