//! The scenarios, each a behaviour AWS KMS documents, named and checked on any backend.

use envcrypt::kms::{
    DataKeySpec, EncryptionContext, KeyRef, KeySpec, KeyUsage, KmsError, MacAlgorithm, MessageType, ReEncryptRequest,
    SigningAlgorithm, Tag, WrappingAlgorithm,
};

use crate::backend::{id, purpose, setup, Backend, ScenarioError};
use crate::outcome::Expected;
use crate::outcome::Expected::{Error as Fails, Ok as Gives};
use crate::{access, import, key_pairs, keys, rotation};

type Result<T> = std::result::Result<T, ScenarioError>;

fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn bytes(n: usize) -> String {
    format!("{n} bytes")
}

/// GenerateDataKey with `spec` and the shape of the plaintext.
fn data_key_len(b: &Backend<'_>, spec: DataKeySpec) -> Result<String> {
    let key = b.new_key()?;
    Ok(bytes(b.service.generate_data_key(&key, spec, &purpose()).wait()?.plaintext.len()))
}

/// Encrypts `plaintext` as setup.
fn sealed(b: &Backend<'_>, key: &KeyRef, plaintext: &[u8], context: &EncryptionContext) -> Result<Vec<u8>> {
    b.service.encrypt(key, plaintext, context).wait().map(|c| c.blob).map_err(setup)
}

/// Decrypts and says whether the plaintext came back.
fn round_trip(
    b: &Backend<'_>,
    blob: &[u8],
    context: &EncryptionContext,
    expected: Option<&KeyRef>,
    plaintext: &[u8],
) -> Result<String> {
    let out = b.service.decrypt(blob, context, expected).wait()?;
    Ok(if out.plaintext.expose_secret() == plaintext { "round trip".into() } else { "different plaintext".into() })
}

/// Encrypts under a fresh key with `sealed_with`, then decrypts with `opened_with`.
fn context_case(b: &Backend<'_>, sealed_with: &EncryptionContext, opened_with: &EncryptionContext) -> Result<String> {
    let key = b.new_key()?;
    let blob = sealed(b, &key, b"context", sealed_with)?;
    round_trip(b, &blob, opened_with, None, b"context")
}

/// Decrypts a blob altered by `alter`.
fn tampered(b: &Backend<'_>, alter: fn(&mut Vec<u8>)) -> Result<String> {
    let key = b.new_key()?;
    let mut blob = sealed(b, &key, b"tamper", &purpose())?;
    alter(&mut blob);
    round_trip(b, &blob, &purpose(), None, b"tamper")
}

fn disabled_key(b: &Backend<'_>) -> Result<KeyRef> {
    let key = b.new_key()?;
    b.admin.disable_key(&id(&key)).wait().map_err(setup)?;
    Ok(key)
}

fn pending_deletion_key(b: &Backend<'_>) -> Result<KeyRef> {
    let key = b.new_key()?;
    b.admin.schedule_key_deletion(&id(&key), 7).wait().map_err(setup)?;
    Ok(key)
}

/// A blob sealed under a key that is then put in another state by `change`.
fn decrypt_after(
    b: &Backend<'_>,
    change: fn(&Backend<'_>, &KeyRef) -> std::result::Result<(), KmsError>,
) -> Result<String> {
    let key = b.new_key()?;
    let blob = sealed(b, &key, b"state", &purpose())?;
    change(b, &id(&key)).map_err(setup)?;
    round_trip(b, &blob, &purpose(), None, b"state")
}

/// GenerateDataKey under `key`: the data key's length.
fn generate_with(b: &Backend<'_>, key: &KeyRef) -> Result<String> {
    let data_key = b.service.generate_data_key(key, DataKeySpec::Aes256, &purpose()).wait()?;
    Ok(bytes(data_key.plaintext.len()))
}

fn schedule(b: &Backend<'_>, days: u32) -> Result<String> {
    let key = b.new_key()?;
    Ok(b.admin.schedule_key_deletion(&id(&key), days).wait()?.state.to_string())
}

fn re_encrypt(
    b: &Backend<'_>,
    source_context: &EncryptionContext,
    source_key: Option<&KeyRef>,
    destination: &KeyRef,
    destination_context: &EncryptionContext,
    blob: &[u8],
) -> std::result::Result<Vec<u8>, KmsError> {
    let request =
        ReEncryptRequest { blob, source_context, source_key, destination_key: destination, destination_context };
    b.service.re_encrypt(request).wait().map(|r| r.blob)
}

fn alias_name(b: &Backend<'_>, key: &KeyRef) -> String {
    let id = key.key_id().unwrap_or("key");
    format!("alias/envcrypt-conformance/{}-{id}", b.name())
}

/// One behaviour of KMS, checkable on any backend.
pub struct Scenario {
    /// A stable name (`decrypt-with-disabled-key`).
    pub name: &'static str,
    /// What AWS KMS documents.
    pub documented: Expected,
    /// Runs the scenario.
    pub run: fn(&Backend<'_>) -> std::result::Result<String, ScenarioError>,
}

/// Every scenario, in report order.
pub static SCENARIOS: &[Scenario] = &[
    // Data keys: lengths and NumberOfBytes bounds.
    Scenario {
        name: "generate-data-key-aes-256",
        documented: Gives("32 bytes"),
        run: |b| data_key_len(b, DataKeySpec::Aes256),
    },
    Scenario {
        name: "generate-data-key-aes-128",
        documented: Gives("16 bytes"),
        run: |b| data_key_len(b, DataKeySpec::Aes128),
    },
    Scenario {
        name: "generate-data-key-1-byte",
        documented: Gives("1 bytes"),
        run: |b| data_key_len(b, DataKeySpec::Bytes(1)),
    },
    Scenario {
        name: "generate-data-key-1024-bytes",
        documented: Gives("1024 bytes"),
        run: |b| data_key_len(b, DataKeySpec::Bytes(1024)),
    },
    Scenario {
        name: "generate-data-key-0-bytes",
        documented: Fails("ValidationException"),
        run: |b| data_key_len(b, DataKeySpec::Bytes(0)),
    },
    Scenario {
        name: "generate-data-key-1025-bytes",
        documented: Fails("ValidationException"),
        run: |b| data_key_len(b, DataKeySpec::Bytes(1025)),
    },
    Scenario {
        name: "generate-data-key-blob-decrypts-to-plaintext",
        documented: Gives("round trip"),
        run: |b| {
            let key = b.new_key()?;
            let dk = b.service.generate_data_key(&key, DataKeySpec::Aes256, &purpose()).wait()?;
            round_trip(b, &dk.ciphertext_blob, &purpose(), None, dk.plaintext.expose_secret())
        },
    },
    Scenario {
        name: "generate-data-key-without-plaintext-decrypts",
        documented: Gives("32 bytes"),
        run: |b| {
            let key = b.new_key()?;
            let blob =
                b.service.generate_data_key_without_plaintext(&key, DataKeySpec::Aes256, &purpose()).wait()?.blob;
            Ok(bytes(b.service.decrypt(&blob, &purpose(), None).wait()?.plaintext.len()))
        },
    },
    Scenario {
        name: "generate-data-key-by-alias-answers-key-arn",
        documented: Gives("key ARN"),
        run: |b| {
            let key = b.new_key()?;
            let alias = alias_name(b, &key);
            b.admin.create_alias(&alias, &key).wait().map_err(setup)?;
            let by_alias = KeyRef::parse(&alias).map_err(|e| KmsError::Validation(e.to_string()))?;
            let dk = b.service.generate_data_key(&by_alias, DataKeySpec::Aes256, &purpose()).wait()?;
            Ok(if dk.key_arn == key.to_string() { "key ARN".into() } else { format!("other: {}", dk.key_arn) })
        },
    },
    // Encrypt: plaintext bounds.
    Scenario {
        name: "encrypt-4096-bytes",
        documented: Gives("round trip"),
        run: |b| {
            let key = b.new_key()?;
            let blob = b.service.encrypt(&key, &[7; 4096], &purpose()).wait()?.blob;
            round_trip(b, &blob, &purpose(), None, &[7; 4096])
        },
    },
    Scenario {
        name: "encrypt-4097-bytes",
        documented: Fails("ValidationException"),
        run: |b| {
            let key = b.new_key()?;
            b.service
                .encrypt(&key, &[7; 4097], &purpose())
                .wait()
                .map_err(ScenarioError::Kms)
                .map(|_| "encrypted".into())
        },
    },
    Scenario {
        name: "encrypt-empty-plaintext",
        documented: Fails("ValidationException"),
        run: |b| {
            let key = b.new_key()?;
            b.service.encrypt(&key, &[], &purpose()).wait().map_err(ScenarioError::Kms).map(|_| "encrypted".into())
        },
    },
    // Context binding.
    Scenario {
        name: "decrypt-with-the-same-context",
        documented: Gives("round trip"),
        run: |b| context_case(b, &purpose(), &purpose()),
    },
    Scenario {
        name: "decrypt-with-a-different-context-value",
        documented: Fails("InvalidCiphertextException"),
        run: |b| context_case(b, &purpose(), &ctx(&[("purpose", "other")])),
    },
    Scenario {
        name: "decrypt-without-the-context",
        documented: Fails("InvalidCiphertextException"),
        run: |b| context_case(b, &purpose(), &EncryptionContext::new()),
    },
    Scenario {
        name: "decrypt-with-an-extra-context-pair",
        documented: Fails("InvalidCiphertextException"),
        run: |b| context_case(b, &purpose(), &ctx(&[("purpose", "conformance"), ("extra", "pair")])),
    },
    Scenario {
        name: "decrypt-with-context-where-none-was-given",
        documented: Fails("InvalidCiphertextException"),
        run: |b| context_case(b, &EncryptionContext::new(), &purpose()),
    },
    Scenario {
        name: "context-key-order-does-not-matter",
        documented: Gives("round trip"),
        run: |b| context_case(b, &ctx(&[("a", "1"), ("b", "2")]), &ctx(&[("b", "2"), ("a", "1")])),
    },
    Scenario {
        name: "generate-data-key-context-is-bound",
        documented: Fails("InvalidCiphertextException"),
        run: |b| {
            let key = b.new_key()?;
            let dk = b.service.generate_data_key(&key, DataKeySpec::Aes256, &purpose()).wait().map_err(setup)?;
            round_trip(b, &dk.ciphertext_blob, &EncryptionContext::new(), None, dk.plaintext.expose_secret())
        },
    },
    // Tampered and malformed blobs.
    Scenario {
        name: "decrypt-tampered-last-byte",
        documented: Fails("InvalidCiphertextException"),
        run: |b| tampered(b, |blob| *blob.last_mut().expect("blobs are not empty") ^= 1),
    },
    Scenario {
        name: "decrypt-truncated-blob",
        documented: Fails("InvalidCiphertextException"),
        run: |b| tampered(b, |blob| blob.truncate(blob.len() - 1)),
    },
    Scenario {
        name: "decrypt-garbage",
        documented: Fails("InvalidCiphertextException"),
        run: |b| round_trip(b, &[0x42; 64], &purpose(), None, b""),
    },
    // The expected key.
    Scenario {
        name: "decrypt-expected-key-by-arn",
        documented: Gives("round trip"),
        run: |b| {
            let key = b.new_key()?;
            let blob = sealed(b, &key, b"expected", &purpose())?;
            round_trip(b, &blob, &purpose(), Some(&key), b"expected")
        },
    },
    Scenario {
        name: "decrypt-expected-key-by-alias",
        documented: Gives("round trip"),
        run: |b| {
            let key = b.new_key()?;
            let alias = alias_name(b, &key);
            b.admin.create_alias(&alias, &key).wait().map_err(setup)?;
            let blob = sealed(b, &key, b"expected", &purpose())?;
            let by_alias = KeyRef::parse(&alias).map_err(|e| KmsError::Validation(e.to_string()))?;
            round_trip(b, &blob, &purpose(), Some(&by_alias), b"expected")
        },
    },
    Scenario {
        name: "decrypt-expected-key-is-another-key",
        documented: Fails("IncorrectKeyException"),
        run: |b| {
            let (key, other) = (b.new_key()?, b.new_key()?);
            let blob = sealed(b, &key, b"expected", &purpose())?;
            round_trip(b, &blob, &purpose(), Some(&other), b"expected")
        },
    },
    // Disabled keys.
    Scenario {
        name: "generate-data-key-with-disabled-key",
        documented: Fails("DisabledException"),
        run: |b| {
            let key = disabled_key(b)?;
            generate_with(b, &key)
        },
    },
    Scenario {
        name: "encrypt-with-disabled-key",
        documented: Fails("DisabledException"),
        run: |b| {
            let key = disabled_key(b)?;
            b.service.encrypt(&key, b"x", &purpose()).wait().map_err(ScenarioError::Kms).map(|_| "encrypted".into())
        },
    },
    Scenario {
        name: "decrypt-with-disabled-key",
        documented: Fails("DisabledException"),
        run: |b| decrypt_after(b, |b, k| b.admin.disable_key(k).wait()),
    },
    Scenario {
        name: "decrypt-after-re-enabling",
        documented: Gives("round trip"),
        run: |b| decrypt_after(b, |b, k| b.admin.disable_key(k).wait().and_then(|()| b.admin.enable_key(k).wait())),
    },
    Scenario {
        name: "re-encrypt-to-disabled-key",
        documented: Fails("DisabledException"),
        run: |b| {
            let (key, target) = (b.new_key()?, disabled_key(b)?);
            let blob = sealed(b, &key, b"re", &purpose())?;
            re_encrypt(b, &purpose(), None, &target, &purpose(), &blob)
                .map_err(ScenarioError::Kms)
                .map(|_| "re-encrypted".into())
        },
    },
    Scenario {
        name: "disable-key-by-arn",
        documented: Gives("Disabled"),
        run: |b| {
            let key = b.new_key()?;
            b.admin.disable_key(&key).wait()?;
            Ok(b.admin.describe_key(&id(&key)).wait()?.state.to_string())
        },
    },
    Scenario {
        name: "describe-disabled-key",
        documented: Gives("Disabled"),
        run: |b| {
            let key = disabled_key(b)?;
            Ok(b.admin.describe_key(&id(&key)).wait()?.state.to_string())
        },
    },
    // Pending deletion and the deletion window.
    Scenario {
        name: "generate-data-key-with-key-pending-deletion",
        documented: Fails("KMSInvalidStateException"),
        run: |b| {
            let key = pending_deletion_key(b)?;
            generate_with(b, &key)
        },
    },
    Scenario {
        name: "decrypt-with-key-pending-deletion",
        documented: Fails("KMSInvalidStateException"),
        run: |b| decrypt_after(b, |b, k| b.admin.schedule_key_deletion(k, 7).wait().map(drop)),
    },
    Scenario { name: "schedule-deletion-3-days", documented: Fails("ValidationException"), run: |b| schedule(b, 3) },
    Scenario { name: "schedule-deletion-6-days", documented: Fails("ValidationException"), run: |b| schedule(b, 6) },
    Scenario { name: "schedule-deletion-7-days", documented: Gives("PendingDeletion"), run: |b| schedule(b, 7) },
    Scenario { name: "schedule-deletion-30-days", documented: Gives("PendingDeletion"), run: |b| schedule(b, 30) },
    Scenario { name: "schedule-deletion-31-days", documented: Fails("ValidationException"), run: |b| schedule(b, 31) },
    Scenario {
        name: "schedule-deletion-twice",
        documented: Fails("KMSInvalidStateException"),
        run: |b| {
            let key = pending_deletion_key(b)?;
            Ok(b.admin.schedule_key_deletion(&id(&key), 7).wait()?.state.to_string())
        },
    },
    Scenario {
        name: "cancel-deletion-leaves-key-disabled",
        documented: Gives("Disabled"),
        run: |b| {
            let key = pending_deletion_key(b)?;
            Ok(b.admin.cancel_key_deletion(&id(&key)).wait()?.state.to_string())
        },
    },
    Scenario {
        name: "enable-key-pending-deletion",
        documented: Fails("KMSInvalidStateException"),
        run: |b| {
            let key = pending_deletion_key(b)?;
            b.admin.enable_key(&id(&key)).wait().map_err(ScenarioError::Kms).map(|()| "enabled".into())
        },
    },
    // ReEncrypt.
    Scenario {
        name: "re-encrypt-across-keys",
        documented: Gives("round trip"),
        run: |b| {
            let (from, to) = (b.new_key()?, b.new_key()?);
            let blob = sealed(b, &from, b"moved", &purpose())?;
            let moved = re_encrypt(b, &purpose(), Some(&from), &to, &purpose(), &blob)?;
            round_trip(b, &moved, &purpose(), Some(&to), b"moved")
        },
    },
    Scenario {
        name: "re-encrypt-across-contexts",
        documented: Gives("round trip"),
        run: |b| {
            let key = b.new_key()?;
            let blob = sealed(b, &key, b"moved", &purpose())?;
            let next = ctx(&[("purpose", "next")]);
            let moved = re_encrypt(b, &purpose(), None, &key, &next, &blob)?;
            round_trip(b, &moved, &next, None, b"moved")
        },
    },
    Scenario {
        name: "re-encrypt-old-context-no-longer-opens",
        documented: Fails("InvalidCiphertextException"),
        run: |b| {
            let key = b.new_key()?;
            let blob = sealed(b, &key, b"moved", &purpose())?;
            let moved = re_encrypt(b, &purpose(), None, &key, &ctx(&[("purpose", "next")]), &blob).map_err(setup)?;
            round_trip(b, &moved, &purpose(), None, b"moved")
        },
    },
    Scenario {
        name: "re-encrypt-with-wrong-source-context",
        documented: Fails("InvalidCiphertextException"),
        run: |b| {
            let key = b.new_key()?;
            let blob = sealed(b, &key, b"moved", &purpose())?;
            re_encrypt(b, &ctx(&[("purpose", "wrong")]), None, &key, &purpose(), &blob)
                .map_err(ScenarioError::Kms)
                .map(|_| "re-encrypted".into())
        },
    },
    Scenario {
        name: "re-encrypt-with-wrong-source-key",
        documented: Fails("IncorrectKeyException"),
        run: |b| {
            let (key, other) = (b.new_key()?, b.new_key()?);
            let blob = sealed(b, &key, b"moved", &purpose())?;
            re_encrypt(b, &purpose(), Some(&other), &key, &purpose(), &blob)
                .map_err(ScenarioError::Kms)
                .map(|_| "re-encrypted".into())
        },
    },
    // Rotation.
    Scenario {
        name: "decrypt-after-rotation",
        documented: Gives("round trip"),
        run: |b| decrypt_after(b, |b, k| b.admin.rotate_key(k).wait().map(drop)),
    },
    Scenario {
        name: "rotate-disabled-key",
        documented: Fails("DisabledException"),
        run: |b| {
            let key = disabled_key(b)?;
            b.admin.rotate_key(&id(&key)).wait().map_err(ScenarioError::Kms).map(|m| m.state.to_string())
        },
    },
    // Aliases and unknown keys.
    Scenario {
        name: "alias-resolves-to-its-key",
        documented: Gives("same key"),
        run: |b| {
            let key = b.new_key()?;
            let alias = alias_name(b, &key);
            b.admin.create_alias(&alias, &key).wait().map_err(setup)?;
            let by_alias = KeyRef::parse(&alias).map_err(|e| KmsError::Validation(e.to_string()))?;
            let meta = b.admin.describe_key(&by_alias).wait()?;
            Ok(if meta.arn == key.to_string() { "same key".into() } else { format!("other: {}", meta.arn) })
        },
    },
    Scenario {
        name: "alias-already-exists",
        documented: Fails("AlreadyExistsException"),
        run: |b| {
            let (key, other) = (b.new_key()?, b.new_key()?);
            let alias = alias_name(b, &key);
            b.admin.create_alias(&alias, &key).wait().map_err(setup)?;
            b.admin.create_alias(&alias, &other).wait().map_err(ScenarioError::Kms).map(|()| "created".into())
        },
    },
    Scenario {
        name: "update-alias-repoints",
        documented: Gives("new key"),
        run: |b| {
            let (key, other) = (b.new_key()?, b.new_key()?);
            let alias = alias_name(b, &key);
            b.admin.create_alias(&alias, &key).wait().map_err(setup)?;
            b.admin.update_alias(&alias, &other).wait()?;
            let by_alias = KeyRef::parse(&alias).map_err(|e| KmsError::Validation(e.to_string()))?;
            let meta = b.admin.describe_key(&by_alias).wait()?;
            Ok(if meta.arn == other.to_string() { "new key".into() } else { "old key".into() })
        },
    },
    Scenario {
        name: "delete-unknown-alias",
        documented: Fails("NotFoundException"),
        run: |b| {
            b.admin
                .delete_alias("alias/envcrypt-conformance/does-not-exist")
                .wait()
                .map_err(ScenarioError::Kms)
                .map(|()| "deleted".into())
        },
    },
    Scenario {
        name: "encrypt-with-unknown-alias",
        documented: Fails("NotFoundException"),
        run: |b| {
            let alias = KeyRef::parse("alias/envcrypt-conformance/does-not-exist").expect("a valid alias");
            b.service.encrypt(&alias, b"x", &purpose()).wait().map_err(ScenarioError::Kms).map(|_| "encrypted".into())
        },
    },
    Scenario {
        name: "describe-unknown-key-id",
        documented: Fails("NotFoundException"),
        run: |b| {
            let key = KeyRef::parse("00000000-0000-4000-8000-000000000000").expect("a valid key id");
            b.admin.describe_key(&key).wait().map_err(ScenarioError::Kms).map(|m| m.state.to_string())
        },
    },
    Scenario {
        name: "generate-data-key-with-unknown-key-id",
        documented: Fails("NotFoundException"),
        run: |b| {
            let key = KeyRef::parse("00000000-0000-4000-8000-000000000000").expect("a valid key id");
            generate_with(b, &key)
        },
    },
    Scenario {
        name: "create-key-is-enabled",
        documented: Gives("Enabled"),
        run: |b| {
            let key = b.new_key()?;
            Ok(b.admin.describe_key(&key).wait()?.state.to_string())
        },
    },
    // Access control: key policies and grants, with other principals.
    Scenario { name: "policy-allows-key-user", documented: Gives("round trip"), run: access::allowed_by_policy },
    Scenario {
        name: "policy-denies-by-default",
        documented: Fails("AccessDeniedException"),
        run: access::denied_by_default,
    },
    Scenario {
        name: "policy-explicit-deny-wins",
        documented: Fails("AccessDeniedException"),
        run: access::denied_explicitly,
    },
    Scenario {
        name: "policy-context-condition",
        documented: Gives("matching context only"),
        run: access::context_condition,
    },
    Scenario {
        name: "grant-allows-until-revoked",
        documented: Gives("denied, allowed, denied"),
        run: access::grant_then_revoke,
    },
    Scenario {
        name: "re-encrypt-only-principal",
        documented: Gives("re-encrypted; decrypt denied"),
        run: access::re_encrypt_only,
    },
    // Scheduled rotation (EnableKeyRotation and friends) and on-demand rotation's limit.
    Scenario { name: "rotation-off-for-new-key", documented: Gives("rotation off"), run: rotation::new_key },
    Scenario {
        name: "rotation-enable-default-period",
        documented: Gives("every 365 days, next in 365 days"),
        run: |b| rotation::enabled_for(b, None),
    },
    Scenario {
        name: "rotation-enable-90-days",
        documented: Gives("every 90 days, next in 90 days"),
        run: |b| rotation::enabled_for(b, Some(90)),
    },
    Scenario {
        name: "rotation-enable-2560-days",
        documented: Gives("every 2560 days, next in 2560 days"),
        run: |b| rotation::enabled_for(b, Some(2560)),
    },
    Scenario {
        name: "rotation-enable-89-days",
        documented: Fails("ValidationException"),
        run: |b| rotation::enabled_for(b, Some(89)),
    },
    Scenario {
        name: "rotation-enable-2561-days",
        documented: Fails("ValidationException"),
        run: |b| rotation::enabled_for(b, Some(2561)),
    },
    Scenario {
        name: "rotation-period-changed",
        documented: Gives("every 90 days, next in 90 days"),
        run: rotation::period_changed,
    },
    Scenario { name: "rotation-disable", documented: Gives("rotation off"), run: rotation::disabled },
    Scenario {
        name: "rotation-enable-on-disabled-key",
        documented: Fails("DisabledException"),
        run: rotation::enable_on_disabled_key,
    },
    Scenario {
        name: "rotation-enable-on-key-pending-deletion",
        documented: Fails("KMSInvalidStateException"),
        run: rotation::enable_on_key_pending_deletion,
    },
    Scenario {
        name: "rotation-kept-while-key-disabled",
        documented: Gives("every 365 days, next in 365 days"),
        run: rotation::status_of_disabled_key,
    },
    Scenario {
        name: "rotation-off-while-pending-deletion",
        documented: Gives("rotation off"),
        run: rotation::status_of_key_pending_deletion,
    },
    Scenario {
        name: "rotation-back-after-cancelled-deletion",
        documented: Gives("every 365 days, next in 365 days"),
        run: rotation::status_after_cancelled_deletion,
    },
    Scenario { name: "rotations-of-new-key", documented: Gives("no rotations"), run: rotation::listed_for_new_key },
    Scenario {
        name: "rotations-list-on-demand",
        documented: Gives("ON_DEMAND"),
        run: rotation::listed_after_on_demand,
    },
    Scenario {
        name: "rotate-on-demand-keeps-schedule",
        documented: Gives("every 180 days, next in 180 days"),
        run: rotation::on_demand_keeps_schedule,
    },
    Scenario {
        name: "rotate-on-demand-11-times",
        documented: Fails("LimitExceededException"),
        run: rotation::on_demand_past_the_limit,
    },
    // Imported key material (origin EXTERNAL).
    Scenario { name: "import-new-external-key", documented: Gives("PendingImport"), run: import::pending },
    Scenario {
        name: "import-encrypt-before-import",
        documented: Fails("KMSInvalidStateException"),
        run: import::encrypt_before_import,
    },
    Scenario {
        name: "import-rsaes-oaep-sha-256",
        documented: Gives("round trip"),
        run: |b| import::imported_with(b, WrappingAlgorithm::RsaesOaepSha256),
    },
    Scenario {
        name: "import-rsa-aes-key-wrap-sha-256",
        documented: Gives("round trip"),
        run: |b| import::imported_with(b, WrappingAlgorithm::RsaAesKeyWrapSha256),
    },
    Scenario {
        name: "import-decrypt-after-material-deleted",
        documented: Fails("KMSInvalidStateException"),
        run: import::decrypt_after_delete,
    },
    Scenario {
        name: "import-other-material",
        documented: Fails("IncorrectKeyMaterialException"),
        run: import::other_material,
    },
    Scenario { name: "import-same-material-again", documented: Gives("round trip"), run: import::same_material_again },
    Scenario {
        name: "import-token-of-other-key",
        documented: Fails("InvalidImportTokenException"),
        run: import::token_of_other_key,
    },
    Scenario {
        name: "import-params-for-service-made-key",
        documented: Fails("UnsupportedOperationException"),
        run: import::params_for_service_key,
    },
    Scenario {
        name: "import-rotate-on-demand",
        documented: Fails("UnsupportedOperationException"),
        run: import::rotate_imported,
    },
    // Key metadata, descriptions, tags, GenerateRandom, CreateGrant by key state.
    Scenario {
        name: "describe-key-full-metadata",
        documented: Gives("ENCRYPT_DECRYPT SYMMETRIC_DEFAULT CUSTOMER SYMMETRIC_DEFAULT enabled=true"),
        run: keys::full_metadata,
    },
    Scenario { name: "describe-key-deletion-window", documented: Gives("9 days"), run: keys::deletion_window },
    Scenario {
        name: "update-key-description",
        documented: Gives("changed by a scenario"),
        run: |b| keys::update_description(b, false),
    },
    Scenario {
        name: "update-key-description-pending-deletion",
        documented: Fails("KMSInvalidStateException"),
        run: |b| keys::update_description(b, true),
    },
    Scenario {
        name: "tag-and-list",
        documented: Gives("stage=dev,team=a"),
        run: |b| keys::tagged(b, &[Tag::new("team", "a"), Tag::new("stage", "dev")]),
    },
    Scenario { name: "tag-replaced-and-removed", documented: Gives("stage=prod"), run: keys::retagged_and_untagged },
    Scenario {
        name: "tag-aws-prefix",
        documented: Fails("TagException"),
        run: |b| keys::tagged(b, &[Tag::new("aws:owner", "me")]),
    },
    Scenario {
        name: "tag-key-129-characters",
        documented: Fails("ValidationException"),
        run: |b| keys::tagged(b, &[Tag::new("k".repeat(129), "v")]).map(|_| "tagged".into()),
    },
    Scenario { name: "tag-51-tags", documented: Fails("TagException"), run: keys::too_many_tags },
    Scenario {
        name: "tag-key-pending-deletion",
        documented: Fails("KMSInvalidStateException"),
        run: keys::tag_pending_deletion,
    },
    Scenario { name: "generate-random-1-byte", documented: Gives("1 bytes"), run: |b| keys::random(b, 1) },
    Scenario { name: "generate-random-1024-bytes", documented: Gives("1024 bytes"), run: |b| keys::random(b, 1024) },
    Scenario {
        name: "generate-random-1025-bytes",
        documented: Fails("ValidationException"),
        run: |b| keys::random(b, 1025),
    },
    Scenario {
        name: "create-grant-on-disabled-key",
        documented: Fails("DisabledException"),
        run: |b| keys::grant_on(b, |b, k| b.admin.disable_key(k).wait(), false),
    },
    Scenario {
        name: "create-grant-on-key-pending-deletion",
        documented: Fails("KMSInvalidStateException"),
        run: |b| keys::grant_on(b, |b, k| b.admin.schedule_key_deletion(k, 7).wait().map(drop), false),
    },
    // DryRun: checked, not carried out.
    Scenario {
        name: "dry-run-encrypt",
        documented: Gives("would succeed"),
        run: |b| keys::dry_run_encrypt(b, |_, _| Ok(())),
    },
    Scenario {
        name: "dry-run-encrypt-disabled-key",
        documented: Fails("DisabledException"),
        run: |b| keys::dry_run_encrypt(b, |b, k| b.admin.disable_key(k).wait()),
    },
    Scenario { name: "dry-run-decrypt", documented: Gives("would succeed"), run: keys::dry_run_decrypt },
    Scenario {
        name: "dry-run-create-grant",
        documented: Gives("would succeed; 0 grants"),
        run: |b| keys::grant_on(b, |_, _| Ok(()), true),
    },
    Scenario {
        name: "dry-run-create-grant-disabled-key",
        documented: Fails("DisabledException"),
        run: |b| keys::grant_on(b, |b, k| b.admin.disable_key(k).wait(), true),
    },
    Scenario {
        name: "dry-run-retire-grant",
        documented: Gives("would succeed; 1 grants"),
        run: |b| keys::dry_run_remove_grant(b, keys::GrantRemoval::Retire),
    },
    Scenario {
        name: "dry-run-revoke-grant",
        documented: Gives("would succeed; 1 grants"),
        run: |b| keys::dry_run_remove_grant(b, keys::GrantRemoval::Revoke),
    },
    Scenario {
        name: "dry-run-revoke-unknown-grant",
        documented: Fails("NotFoundException"),
        run: |b| keys::dry_run_remove_grant(b, keys::GrantRemoval::RevokeUnknown),
    },
    // Asymmetric and HMAC keys.
    Scenario {
        name: "create-key-ecc-p256-sign-verify",
        documented: Gives("ECC_NIST_P256 SIGN_VERIFY ECDSA_SHA_256"),
        run: |b| key_pairs::created(b, KeySpec::EccNistP256, KeyUsage::SignVerify),
    },
    Scenario {
        name: "create-key-ecc-for-encryption",
        documented: Fails("ValidationException"),
        run: |b| key_pairs::created(b, KeySpec::EccNistP256, KeyUsage::EncryptDecrypt),
    },
    Scenario {
        name: "create-key-hmac-for-signing",
        documented: Fails("ValidationException"),
        run: |b| key_pairs::created(b, KeySpec::Hmac256, KeyUsage::SignVerify),
    },
    Scenario {
        name: "sign-verify-ecdsa-p256",
        documented: Gives("verified"),
        run: |b| key_pairs::sign_and_verify(b, KeySpec::EccNistP256, SigningAlgorithm::EcdsaSha256),
    },
    Scenario {
        name: "sign-verify-ecdsa-p384",
        documented: Gives("verified"),
        run: |b| key_pairs::sign_and_verify(b, KeySpec::EccNistP384, SigningAlgorithm::EcdsaSha384),
    },
    Scenario {
        name: "sign-verify-rsa-pss-sha-256",
        documented: Gives("verified"),
        run: |b| key_pairs::sign_and_verify(b, KeySpec::Rsa2048, SigningAlgorithm::RsassaPssSha256),
    },
    Scenario {
        name: "sign-verify-rsa-pkcs1-sha-512",
        documented: Gives("verified"),
        run: |b| key_pairs::sign_and_verify(b, KeySpec::Rsa2048, SigningAlgorithm::RsassaPkcs1V15Sha512),
    },
    Scenario {
        name: "verify-tampered-message",
        documented: Fails("KMSInvalidSignatureException"),
        run: key_pairs::verify_tampered,
    },
    Scenario {
        name: "sign-digest-of-wrong-length",
        documented: Fails("ValidationException"),
        run: |b| {
            let key = (KeySpec::EccNistP256, KeyUsage::SignVerify);
            key_pairs::sign_with(b, key, &[7; 31], MessageType::Digest, SigningAlgorithm::EcdsaSha256, |_, _| Ok(()))
        },
    },
    Scenario {
        name: "sign-digest",
        documented: Gives("signed"),
        run: |b| {
            let key = (KeySpec::EccNistP256, KeyUsage::SignVerify);
            key_pairs::sign_with(b, key, &[7; 32], MessageType::Digest, SigningAlgorithm::EcdsaSha256, |_, _| Ok(()))
        },
    },
    Scenario {
        name: "sign-with-algorithm-of-another-spec",
        documented: Fails("InvalidKeyUsageException"),
        run: |b| {
            let key = (KeySpec::EccNistP256, KeyUsage::SignVerify);
            key_pairs::sign_with(b, key, b"m", MessageType::Raw, SigningAlgorithm::EcdsaSha384, |_, _| Ok(()))
        },
    },
    Scenario {
        name: "sign-with-encryption-key",
        documented: Fails("InvalidKeyUsageException"),
        run: |b| {
            let key = (KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt);
            key_pairs::sign_with(b, key, b"m", MessageType::Raw, SigningAlgorithm::EcdsaSha256, |_, _| Ok(()))
        },
    },
    Scenario {
        name: "sign-with-disabled-key",
        documented: Fails("DisabledException"),
        run: |b| {
            let key = (KeySpec::EccNistP256, KeyUsage::SignVerify);
            let disable = |b: &Backend<'_>, k: &KeyRef| b.admin.disable_key(k).wait();
            key_pairs::sign_with(b, key, b"m", MessageType::Raw, SigningAlgorithm::EcdsaSha256, disable)
        },
    },
    Scenario {
        name: "get-public-key-of-signing-key",
        documented: Gives("ECC_NIST_P384 SIGN_VERIFY ECDSA_SHA_384"),
        run: |b| key_pairs::public_key(b, KeySpec::EccNistP384, KeyUsage::SignVerify),
    },
    Scenario {
        name: "get-public-key-of-symmetric-key",
        documented: Fails("UnsupportedOperationException"),
        run: |b| key_pairs::public_key(b, KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt),
    },
    Scenario {
        name: "rotate-signing-key",
        documented: Fails("UnsupportedOperationException"),
        run: key_pairs::rotate_signing_key,
    },
    Scenario {
        name: "generate-and-verify-mac",
        documented: Gives("verified"),
        run: |b| key_pairs::mac_with(b, MacAlgorithm::HmacSha256, false),
    },
    Scenario {
        name: "verify-mac-mismatch",
        documented: Fails("KMSInvalidMacException"),
        run: |b| key_pairs::mac_with(b, MacAlgorithm::HmacSha256, true),
    },
    Scenario {
        name: "generate-mac-with-another-algorithm",
        documented: Fails("InvalidKeyUsageException"),
        run: |b| key_pairs::mac_with(b, MacAlgorithm::HmacSha512, false),
    },
    Scenario {
        name: "dry-run-sign",
        documented: Gives("would succeed"),
        run: |b| key_pairs::dry_run_sign(b, |_, _| Ok(())),
    },
    Scenario {
        name: "dry-run-sign-disabled-key",
        documented: Fails("DisabledException"),
        run: |b| key_pairs::dry_run_sign(b, |b, k| b.admin.disable_key(k).wait()),
    },
    Scenario {
        name: "dry-run-generate-mac-with-another-algorithm",
        documented: Fails("InvalidKeyUsageException"),
        run: |b| key_pairs::dry_run_mac(b, MacAlgorithm::HmacSha512),
    },
];
