//! The local CMK store: every operation in every key state, with the errors AWS KMS documents.

use std::sync::Arc;
use std::time::Duration;

use envcrypt::clock::ManualClock;
use envcrypt::kms::local::{LocalKeyService, StoreError, StoreOptions};
use envcrypt::kms::{
    DataKeySpec, EncryptionContext, KeyAdmin, KeyGovernance, KeyRef, KeyService, KeyState, KmsError, ReEncryptRequest,
};

const DAY: u64 = 86_400;

struct Fixture {
    _dir: tempfile::TempDir,
    store: LocalKeyService,
    now: ManualClock,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let now = ManualClock::at(1_700_000_000);
    let options = StoreOptions::new(dir.path().join("store")).clock(now.clock());
    Fixture { store: LocalKeyService::open(options).unwrap(), _dir: dir, now }
}

fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn new_key(store: &LocalKeyService) -> KeyRef {
    KeyRef::parse(&store.create_key("test").wait().unwrap().arn).unwrap()
}

fn kms_name<T: std::fmt::Debug>(result: Result<T, KmsError>) -> String {
    result.expect_err("the operation should fail").kms_name().to_owned()
}

#[test]
fn data_keys_have_the_requested_length_and_round_trip() {
    let f = fixture();
    let key = new_key(&f.store);
    let c = ctx(&[("purpose", "test")]);
    for (spec, len) in [
        (DataKeySpec::Aes256, 32),
        (DataKeySpec::Aes128, 16),
        (DataKeySpec::Bytes(1), 1),
        (DataKeySpec::Bytes(1024), 1024),
    ] {
        let dk = f.store.generate_data_key(&key, spec, &c).wait().unwrap();
        assert_eq!(dk.plaintext.len(), len);
        let back = f.store.decrypt(&dk.ciphertext_blob, &c, None).wait().unwrap();
        assert_eq!(back.plaintext, dk.plaintext);
        assert_eq!(back.key_arn, dk.key_arn);
    }
    for bad in [0, 1025] {
        assert_eq!(
            kms_name(f.store.generate_data_key(&key, DataKeySpec::Bytes(bad), &c).wait()),
            "ValidationException"
        );
    }
    let without = f.store.generate_data_key_without_plaintext(&key, DataKeySpec::Aes256, &c).wait().unwrap();
    assert_eq!(f.store.decrypt(&without.blob, &c, None).wait().unwrap().plaintext.len(), 32);
}

#[test]
fn context_binding_tampering_and_expected_key() {
    let f = fixture();
    let key = new_key(&f.store);
    let other = new_key(&f.store);
    let c = ctx(&[("purpose", "test")]);
    let sealed = f.store.encrypt(&key, b"secret", &c).wait().unwrap();
    assert_eq!(
        kms_name(f.store.decrypt(&sealed.blob, &ctx(&[("purpose", "other")]), None).wait()),
        "InvalidCiphertextException"
    );
    assert_eq!(
        kms_name(f.store.decrypt(&sealed.blob, &EncryptionContext::new(), None).wait()),
        "InvalidCiphertextException"
    );
    let mut tampered = sealed.blob.clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert_eq!(kms_name(f.store.decrypt(&tampered, &c, None).wait()), "InvalidCiphertextException");
    assert_eq!(kms_name(f.store.decrypt(b"not a blob", &c, None).wait()), "InvalidCiphertextException");
    assert_eq!(kms_name(f.store.decrypt(&sealed.blob, &c, Some(&other)).wait()), "IncorrectKeyException");
    assert_eq!(f.store.decrypt(&sealed.blob, &c, Some(&key)).wait().unwrap().plaintext.expose_secret(), b"secret");
}

#[test]
fn encrypt_accepts_4096_bytes_and_refuses_4097_and_empty() {
    let f = fixture();
    let key = new_key(&f.store);
    let c = EncryptionContext::new();
    let blob = f.store.encrypt(&key, &[7u8; 4096], &c).wait().unwrap().blob;
    assert_eq!(f.store.decrypt(&blob, &c, None).wait().unwrap().plaintext.len(), 4096);
    assert_eq!(kms_name(f.store.encrypt(&key, &[7u8; 4097], &c).wait()), "ValidationException");
    assert_eq!(kms_name(f.store.encrypt(&key, &[], &c).wait()), "ValidationException");
}

#[test]
fn disabled_keys_refuse_every_cryptographic_operation_until_enabled() {
    let f = fixture();
    let key = new_key(&f.store);
    let c = EncryptionContext::new();
    let blob = f.store.encrypt(&key, b"x", &c).wait().unwrap().blob;
    f.store.disable_key(&key).wait().unwrap();
    assert_eq!(f.store.describe_key(&key).wait().unwrap().state, KeyState::Disabled);
    assert_eq!(kms_name(f.store.encrypt(&key, b"x", &c).wait()), "DisabledException");
    assert_eq!(kms_name(f.store.decrypt(&blob, &c, None).wait()), "DisabledException");
    assert_eq!(kms_name(f.store.generate_data_key(&key, DataKeySpec::Aes256, &c).wait()), "DisabledException");
    assert_eq!(kms_name(f.store.rotate_key(&key).wait()), "DisabledException");
    f.store.enable_key(&key).wait().unwrap();
    assert!(f.store.decrypt(&blob, &c, None).wait().is_ok());
}

#[test]
fn deletion_window_state_and_purge() {
    let f = fixture();
    let key = new_key(&f.store);
    let c = EncryptionContext::new();
    let blob = f.store.encrypt(&key, b"x", &c).wait().unwrap().blob;
    for days in [0, 3, 6, 31] {
        assert_eq!(kms_name(f.store.schedule_key_deletion(&key, days).wait()), "ValidationException", "{days} days");
    }
    let meta = f.store.schedule_key_deletion(&key, 7).wait().unwrap();
    assert_eq!(meta.state, KeyState::PendingDeletion);
    assert_eq!(meta.deletion_date, Some(f.now.now_secs() + 7 * DAY));
    assert_eq!(kms_name(f.store.decrypt(&blob, &c, None).wait()), "KMSInvalidStateException");
    assert_eq!(kms_name(f.store.encrypt(&key, b"x", &c).wait()), "KMSInvalidStateException");
    assert_eq!(kms_name(f.store.enable_key(&key).wait()), "KMSInvalidStateException");
    assert_eq!(kms_name(f.store.schedule_key_deletion(&key, 30).wait()), "KMSInvalidStateException");

    let back = f.store.cancel_key_deletion(&key).wait().unwrap();
    assert_eq!(back.state, KeyState::Disabled, "KMS returns a cancelled key disabled");
    assert_eq!(kms_name(f.store.cancel_key_deletion(&key).wait()), "KMSInvalidStateException");
    f.store.enable_key(&key).wait().unwrap();
    assert!(f.store.decrypt(&blob, &c, None).wait().is_ok());

    f.store.create_alias("alias/doomed", &key).wait().unwrap();
    f.store.schedule_key_deletion(&key, 30).wait().unwrap();
    f.now.advance(Duration::from_secs(30 * DAY - 1));
    assert_eq!(f.store.describe_key(&key).wait().unwrap().state, KeyState::PendingDeletion);
    f.now.advance(Duration::from_secs(1));
    assert_eq!(kms_name(f.store.describe_key(&key).wait()), "NotFoundException");
    assert_eq!(kms_name(f.store.decrypt(&blob, &c, None).wait()), "NotFoundException");
    assert!(f.store.list_keys().wait().unwrap().iter().all(|k| k.arn != key.to_string()));
    // The next write purges the record and its alias.
    new_key(&f.store);
    assert!(f.store.list_aliases().wait().unwrap().iter().all(|a| a.alias_name != "alias/doomed"));
    let key_file = f.store.dir().join("keys").join(format!("{}.json", key.key_id().unwrap()));
    assert!(!key_file.exists(), "the deleted key's record is gone");
}

/// The claim "deletion is final", attacked on every read path and with the clock set back:
/// once a call has seen a key past its deletion date, no later call finds it, whatever the
/// clock says.
#[test]
fn a_deleted_key_stays_deleted_on_every_read_path_even_when_the_clock_goes_back() {
    let f = fixture();
    let key = new_key(&f.store);
    let c = ctx(&[("purpose", "final")]);
    let blob = f.store.encrypt(&key, b"secret", &c).wait().unwrap().blob;
    f.store.create_alias("alias/final", &key).wait().unwrap();
    f.store.schedule_key_deletion(&key, 7).wait().unwrap();
    let scheduled_at = f.now.now_secs();
    let by_alias = KeyRef::parse("alias/final").unwrap();

    type Read<'a> = Box<dyn Fn() -> Result<(), KmsError> + 'a>;
    let store = &f.store;
    let reads: Vec<(&str, Read<'_>)> = vec![
        ("Decrypt", Box::new(|| store.decrypt(&blob, &c, None).wait().map(drop))),
        ("DescribeKey", Box::new(|| store.describe_key(&key).wait().map(drop))),
        ("DescribeKey by alias", Box::new(|| store.describe_key(&by_alias).wait().map(drop))),
        ("GetKeyPolicy", Box::new(|| store.get_key_policy(&key).wait().map(drop))),
        ("ListGrants", Box::new(|| store.list_grants(&key).wait().map(drop))),
        ("GenerateDataKey", Box::new(|| store.generate_data_key(&key, DataKeySpec::Aes256, &c).wait().map(drop))),
        ("ListKeys", Box::new(|| listed(store.list_keys().wait().unwrap().iter().any(|k| k.arn == key.to_string())))),
        (
            "ListAliases",
            Box::new(|| listed(store.list_aliases().wait().unwrap().iter().any(|a| a.alias_name == "alias/final"))),
        ),
    ];
    fn listed(found: bool) -> Result<(), KmsError> {
        if found {
            Ok(())
        } else {
            Err(KmsError::NotFound("not listed".into()))
        }
    }
    // Each read path on its own observes the date passing; the clock then goes back.
    for (name, read) in &reads {
        let copy = f.store.dir().join("keys").join(format!("{}.json", key.key_id().unwrap()));
        let saved = std::fs::read(&copy).ok();
        f.now.set(scheduled_at + 7 * DAY);
        assert_eq!(kms_name(read()), "NotFoundException", "{name} after the deletion date");
        f.now.set(scheduled_at + DAY);
        for (other, read_again) in &reads {
            assert_eq!(
                kms_name(read_again()),
                "NotFoundException",
                "{other} after {name} saw the deletion, clock back"
            );
        }
        // Put the record back (a backup restored behind the store's back) for the next path.
        if let Some(saved) = saved {
            std::fs::write(&copy, saved).unwrap();
            let aliases = f.store.dir().join("aliases.json");
            let mut table: serde_json::Value = serde_json::from_slice(&std::fs::read(&aliases).unwrap()).unwrap();
            table["alias/final"] = key.key_id().unwrap().into();
            std::fs::write(&aliases, table.to_string()).unwrap();
        }
    }
}

#[test]
fn rotation_keeps_old_backing_keys_for_decrypt() {
    let f = fixture();
    let key = new_key(&f.store);
    let c = ctx(&[("a", "b")]);
    let before = f.store.generate_data_key(&key, DataKeySpec::Aes256, &c).wait().unwrap();
    let meta = f.store.rotate_key(&key).wait().unwrap();
    assert_eq!(meta.backing_keys, Some(2));
    f.store.rotate_key(&key).wait().unwrap();
    let after = f.store.encrypt(&key, b"new", &c).wait().unwrap();
    assert_ne!(before.ciphertext_blob[20..24], after.blob[20..24], "new blobs use the newest backing key");
    assert_eq!(f.store.decrypt(&before.ciphertext_blob, &c, None).wait().unwrap().plaintext, before.plaintext);
    assert_eq!(f.store.decrypt(&after.blob, &c, None).wait().unwrap().plaintext.expose_secret(), b"new");
}

#[test]
fn aliases_follow_kms_naming_rules() {
    let f = fixture();
    let key = new_key(&f.store);
    let other = new_key(&f.store);
    f.store.create_alias("alias/app/prod-1", &key).wait().unwrap();
    let by_alias = KeyRef::parse("alias/app/prod-1").unwrap();
    assert_eq!(f.store.describe_key(&by_alias).wait().unwrap().arn, key.to_string());
    let alias_arn = KeyRef::parse("arn:envcrypt:kms:local:000000000000:alias/app/prod-1").unwrap();
    assert_eq!(f.store.describe_key(&alias_arn).wait().unwrap().arn, key.to_string());
    assert_eq!(kms_name(f.store.create_alias("alias/app/prod-1", &other).wait()), "AlreadyExistsException");
    assert_eq!(kms_name(f.store.create_alias("alias/aws/s3", &key).wait()), "NotAuthorizedException");
    assert_eq!(kms_name(f.store.create_alias("backup", &key).wait()), "InvalidAliasNameException");
    assert_eq!(kms_name(f.store.create_alias("alias/bad name", &key).wait()), "InvalidAliasNameException");
    assert_eq!(kms_name(f.store.create_alias("alias/x", &by_alias).wait()), "ValidationException");
    f.store.update_alias("alias/app/prod-1", &other).wait().unwrap();
    assert_eq!(f.store.describe_key(&by_alias).wait().unwrap().arn, other.to_string());
    assert_eq!(kms_name(f.store.update_alias("alias/missing", &other).wait()), "NotFoundException");
    f.store.delete_alias("alias/app/prod-1").wait().unwrap();
    assert_eq!(kms_name(f.store.describe_key(&by_alias).wait()), "NotFoundException");
    assert_eq!(kms_name(f.store.delete_alias("alias/app/prod-1").wait()), "NotFoundException");
}

#[test]
fn unknown_keys_and_foreign_arns_are_not_found() {
    let f = fixture();
    let c = EncryptionContext::new();
    for key in [
        "11111111-2222-4333-8444-555555555555",
        "arn:envcrypt:kms:local:000000000000:key/11111111-2222-4333-8444-555555555555",
        "arn:envcrypt:kms:other-region:000000000000:key/11111111-2222-4333-8444-555555555555",
        "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-4333-8444-555555555555",
        "alias/nope",
    ] {
        let key = KeyRef::parse(key).unwrap();
        assert_eq!(kms_name(f.store.encrypt(&key, b"x", &c).wait()), "NotFoundException", "{key}");
        assert_eq!(kms_name(f.store.describe_key(&key).wait()), "NotFoundException", "{key}");
    }
}

#[test]
fn re_encrypt_moves_across_keys_and_contexts() {
    let f = fixture();
    let (a, b) = (new_key(&f.store), new_key(&f.store));
    let (c1, c2) = (ctx(&[("stage", "1")]), ctx(&[("stage", "2")]));
    let dk = f.store.generate_data_key(&a, DataKeySpec::Aes256, &c1).wait().unwrap();
    let moved = f
        .store
        .re_encrypt(ReEncryptRequest {
            blob: &dk.ciphertext_blob,
            source_context: &c1,
            source_key: Some(&a),
            destination_key: &b,
            destination_context: &c2,
        })
        .wait()
        .unwrap();
    assert_eq!(moved.source_key_arn, a.to_string());
    assert_eq!(moved.key_arn, b.to_string());
    assert_eq!(f.store.decrypt(&moved.blob, &c2, Some(&b)).wait().unwrap().plaintext, dk.plaintext);
    assert_eq!(kms_name(f.store.decrypt(&moved.blob, &c1, None).wait()), "InvalidCiphertextException");
    let wrong_source = f.store.re_encrypt(ReEncryptRequest {
        blob: &dk.ciphertext_blob,
        source_context: &c1,
        source_key: Some(&b),
        destination_key: &b,
        destination_context: &c2,
    });
    assert_eq!(kms_name(wrong_source.wait()), "IncorrectKeyException");
    f.store.disable_key(&b).wait().unwrap();
    let to_disabled = f.store.re_encrypt(ReEncryptRequest {
        blob: &dk.ciphertext_blob,
        source_context: &c1,
        source_key: None,
        destination_key: &b,
        destination_context: &c2,
    });
    assert_eq!(kms_name(to_disabled.wait()), "DisabledException");
}

#[test]
fn default_key_is_created_once() {
    let f = fixture();
    let first = f.store.default_key().unwrap();
    assert_eq!(f.store.default_key().unwrap(), first);
    let meta = f.store.describe_key(&KeyRef::parse("alias/envcrypt/default").unwrap()).wait().unwrap();
    assert_eq!(meta.arn, first.to_string());
    assert_eq!(f.store.list_keys().wait().unwrap().len(), 1);
}

#[test]
fn store_files_are_private_and_a_readable_store_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture();
    new_key(&f.store);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(f.store.dir()), 0o700);
    for entry in std::fs::read_dir(f.store.dir().join("keys")).unwrap() {
        assert_eq!(mode(&entry.unwrap().path()), 0o600);
    }
    assert_eq!(mode(&f.store.dir().join("root.key")), 0o600);
    std::fs::set_permissions(f.store.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = LocalKeyService::open(StoreOptions::new(f.store.dir())).unwrap_err();
    assert!(matches!(err, KmsError::Store(StoreError::InsecurePermissions { .. })), "{err}");
    assert!(err.to_string().contains("chmod 700"), "{err}");
}

#[test]
fn reopening_finds_keys_and_a_corrupt_record_is_reported() {
    let f = fixture();
    let key = new_key(&f.store);
    let c = EncryptionContext::new();
    let blob = f.store.encrypt(&key, b"kept", &c).wait().unwrap().blob;
    let reopened = LocalKeyService::open(StoreOptions::new(f.store.dir())).unwrap();
    assert_eq!(reopened.decrypt(&blob, &c, None).wait().unwrap().plaintext.expose_secret(), b"kept");
    let record = f.store.dir().join("keys").join(format!("{}.json", key.key_id().unwrap()));
    std::fs::write(&record, b"{ truncated").unwrap();
    let err = reopened.decrypt(&blob, &c, None).wait().unwrap_err();
    assert!(matches!(err, KmsError::Store(StoreError::Corrupt { .. })), "{err}");
    assert!(err.to_string().contains(&record.display().to_string()), "{err}");
}

#[test]
fn passphrase_store_opens_only_with_the_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let with = |p: &'static str| {
        StoreOptions::new(&path).passphrase(Arc::new(move || Ok(zeroize::Zeroizing::new(p.to_owned()))))
    };
    let store = LocalKeyService::open(with("correct horse").protect_new_store_with_passphrase(true)).unwrap();
    let key = new_key(&store);
    let blob = store.encrypt(&key, b"x", &EncryptionContext::new()).wait().unwrap().blob;
    assert!(!path.join("root.key").exists(), "a passphrase store keeps no key file");
    let err = LocalKeyService::open(with("wrong")).unwrap_err();
    assert!(matches!(err, KmsError::Store(StoreError::WrongPassphrase { .. })), "{err}");
    let err = LocalKeyService::open(StoreOptions::new(&path)).unwrap_err();
    assert!(matches!(err, KmsError::Store(StoreError::PassphraseRequired { .. })), "{err}");
    let again = LocalKeyService::open(with("correct horse")).unwrap();
    assert!(again.decrypt(&blob, &EncryptionContext::new(), None).wait().is_ok());
}

#[test]
fn concurrent_threads_creating_keys_lose_none() {
    let f = fixture();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let store = LocalKeyService::open(StoreOptions::new(f.store.dir())).unwrap();
                for i in 0..10 {
                    let key = new_key(&store);
                    store.create_alias(&format!("alias/t-{}-{i}", key.key_id().unwrap()), &key).wait().unwrap();
                }
            });
        }
    });
    assert_eq!(f.store.list_keys().wait().unwrap().len(), 80);
    assert_eq!(f.store.list_aliases().wait().unwrap().len(), 80);
}

#[test]
fn a_missing_store_is_not_created_when_creation_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let err = LocalKeyService::open(StoreOptions::new(&path).create_if_missing(false)).unwrap_err();
    assert_eq!(err.kms_name(), "NotFoundException");
    assert!(err.to_string().contains("no local key store"), "{err}");
    assert!(!path.exists());
    LocalKeyService::open(StoreOptions::new(&path)).unwrap();
    assert!(LocalKeyService::open(StoreOptions::new(&path).create_if_missing(false)).is_ok());
}
