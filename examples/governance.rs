//! Key policies, grants and the audit log of the local store: an administrator who cannot
//! decrypt, an application that can, a batch role that gets a grant, and the audit trail.
//!
//! Run with `cargo run -p envcrypt --example governance`.

use envcrypt::kms::local::{read_audit_events, LocalKeyService, StoreOptions};
use envcrypt::kms::{
    CreateGrantRequest, CreateKeyRequest, DataKeySpec, EncryptionContext, GrantOperation, KeyAdmin, KeyGovernance,
    KeyRef, KeyService,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let admin = LocalKeyService::open(StoreOptions::new(dir.path().join("store")).principal("admin"))?;
    let app = admin.as_principal("app")?;
    let batch = admin.as_principal("role/batch")?;

    // The admin keeps administration; the app may use the key for its own context only.
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Effect": "Allow", "Principal": { "AWS": admin.principal().arn() },
              "Action": ["kms:Describe*", "kms:Put*", "kms:Get*", "kms:CreateGrant", "kms:RevokeGrant",
                         "kms:ListGrants"],
              "Resource": "*" },
            { "Effect": "Allow", "Principal": { "AWS": app.principal().arn() },
              "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
              "Condition": { "StringEquals": { "kms:EncryptionContext:app": "payroll" } } }
        ]
    });
    let key = KeyRef::parse(
        &admin.create_key_with(CreateKeyRequest::new("payroll").policy(&policy.to_string(), false)).wait()?.arn,
    )?;

    let mut context = EncryptionContext::new();
    context.insert("app", "payroll")?;
    let data_key = app.generate_data_key(&key, DataKeySpec::Aes256, &context).wait()?;
    match admin.decrypt(&data_key.ciphertext_blob, &context, None).wait() {
        Err(e) => println!("admin: {}", e.kms_name()),
        Ok(_) => return Err("the administrator decrypted".into()),
    }

    // A grant lets the batch role decrypt, at once, until it is revoked.
    let grant = admin
        .create_grant(CreateGrantRequest {
            key: &key,
            grantee_principal: batch.principal().arn(),
            operations: &[GrantOperation::Decrypt],
            retiring_principal: None,
            constraints: None,
            name: Some("nightly"),
        })
        .wait()?;
    let opened = batch.decrypt(&data_key.ciphertext_blob, &context, None).wait()?;
    assert_eq!(opened.plaintext, data_key.plaintext);
    println!("batch: decrypted through grant {}", &grant.grant_id[..12]);
    admin.revoke_grant(&key, &grant.grant_id).wait()?;
    println!(
        "batch after revoke: {}",
        batch.decrypt(&data_key.ciphertext_blob, &context, None).wait().unwrap_err().kms_name()
    );

    // Every call, allowed or denied, is in the chained audit log.
    for event in read_audit_events(admin.dir())? {
        let outcome = event.get("errorCode").and_then(|c| c.as_str()).unwrap_or("ok");
        println!(
            "{:<16} {:<45} {outcome}",
            event["eventName"].as_str().unwrap_or("?"),
            event["userIdentity"]["arn"].as_str().unwrap_or("?")
        );
    }
    println!("audit log: {} events, chain intact", admin.verify_audit_log()?.events);
    Ok(())
}
