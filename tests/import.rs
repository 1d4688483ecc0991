//! Imported key material on the local store, with material wrapped by Python's
//! `cryptography` as a KMS user wraps it, and time moved by a manual clock: the claims "only the
//! key's own material is ever taken back" and "expired or deleted material leaves its data
//! unopenable until the same material returns" attacked where they could break.

mod support {
    pub mod clocked;
}

use std::ops::Deref;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use envcrypt::kms::{
    CreateKeyRequest, EncryptionContext, ExpirationModel, ImportParameters, ImportRequest, KeyAdmin, KeyImport, KeyRef,
    KeyRotation, KeyService, KeyState, KmsError, MaterialExpiry, Origin, WrappingAlgorithm, WrappingKeySpec,
};
use envcrypt_testkit::{succeeded, venv_bin};
use support::clocked::{ClockedStore, DAY};

const START: u64 = 1_800_000_000;

struct Fixture(ClockedStore);

impl Deref for Fixture {
    type Target = ClockedStore;

    fn deref(&self) -> &ClockedStore {
        &self.0
    }
}

impl Fixture {
    fn new() -> Self {
        Self(ClockedStore::at(START))
    }

    fn external_key(&self) -> KeyRef {
        let request = CreateKeyRequest::new("imported").origin(Origin::External);
        KeyRef::parse(&self.store.create_key_with(request).wait().unwrap().arn).unwrap()
    }

    fn params(&self, key: &KeyRef, algorithm: WrappingAlgorithm) -> ImportParameters {
        self.store.get_parameters_for_import(key, algorithm, WrappingKeySpec::Rsa2048).wait().unwrap()
    }

    /// `material` wrapped by Python's `cryptography` under the parameters' public key.
    fn wrapped(&self, parameters: &ImportParameters, algorithm: WrappingAlgorithm, material: &[u8]) -> Vec<u8> {
        let dir = self.dir.path();
        std::fs::write(dir.join("public.der"), &parameters.public_key).unwrap();
        std::fs::write(dir.join("material"), material).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/material/wrap_material.py");
        let out = Command::new(venv_bin("python"))
            .arg(script)
            .arg(algorithm.as_str())
            .arg(dir.join("public.der"))
            .arg(dir.join("material"))
            .arg(dir.join("wrapped"))
            .output()
            .unwrap();
        succeeded(out, "wrap_material.py");
        std::fs::read(dir.join("wrapped")).unwrap()
    }

    /// Gets parameters, wraps `material` with `algorithm` and imports it.
    fn import(
        &self,
        key: &KeyRef,
        algorithm: WrappingAlgorithm,
        material: &[u8],
        expiry: MaterialExpiry,
    ) -> Result<(), KmsError> {
        let parameters = self.params(key, algorithm);
        let wrapped = self.wrapped(&parameters, algorithm, material);
        let request =
            ImportRequest { key, encrypted_key_material: &wrapped, import_token: &parameters.import_token, expiry };
        self.store.import_key_material(request).wait()
    }

    fn state(&self, key: &KeyRef) -> KeyState {
        self.store.describe_key(key).wait().unwrap().state
    }

    fn seal(&self, key: &KeyRef) -> Vec<u8> {
        self.store.encrypt(key, b"imported", &EncryptionContext::new()).wait().unwrap().blob
    }

    fn open(&self, blob: &[u8]) -> Result<Vec<u8>, KmsError> {
        self.store.decrypt(blob, &EncryptionContext::new(), None).wait().map(|d| d.plaintext.expose_secret().to_vec())
    }
}

fn kms_name<T: std::fmt::Debug>(result: Result<T, KmsError>) -> String {
    result.expect_err("the operation should fail").kms_name().to_owned()
}

const ALGORITHMS: [WrappingAlgorithm; 4] = [
    WrappingAlgorithm::RsaesOaepSha1,
    WrappingAlgorithm::RsaesOaepSha256,
    WrappingAlgorithm::RsaAesKeyWrapSha1,
    WrappingAlgorithm::RsaAesKeyWrapSha256,
];

#[test]
fn material_wrapped_by_python_with_each_algorithm_is_imported_and_used() {
    let f = Fixture::new();
    for algorithm in ALGORITHMS {
        let key = f.external_key();
        assert_eq!(f.state(&key), KeyState::PendingImport);
        assert_eq!(kms_name(f.store.encrypt(&key, b"x", &EncryptionContext::new()).wait()), "KMSInvalidStateException");
        f.import(&key, algorithm, &[7; 32], MaterialExpiry::Never).unwrap();
        let meta = f.store.describe_key(&key).wait().unwrap();
        assert_eq!(
            (meta.state, meta.origin, meta.expiration_model, meta.valid_to),
            (KeyState::Enabled, Origin::External, Some(ExpirationModel::KeyMaterialDoesNotExpire), None),
            "{algorithm}"
        );
        let blob = f.seal(&key);
        assert_eq!(f.open(&blob).unwrap(), b"imported");
    }
}

#[test]
fn expired_material_leaves_data_unopenable_until_the_same_material_returns() {
    let f = Fixture::new();
    let key = f.external_key();
    let material = [0x5a; 32];
    f.import(&key, WrappingAlgorithm::RsaAesKeyWrapSha256, &material, MaterialExpiry::At(START + 10 * DAY)).unwrap();
    let meta = f.store.describe_key(&key).wait().unwrap();
    assert_eq!(
        (meta.expiration_model, meta.valid_to),
        (Some(ExpirationModel::KeyMaterialExpires), Some(START + 10 * DAY))
    );
    let blob = f.seal(&key);

    f.hand.advance(Duration::from_secs(10 * DAY - 1));
    assert_eq!(f.open(&blob).unwrap(), b"imported", "a second before ValidTo it still opens");
    f.hand.advance(Duration::from_secs(1));
    assert_eq!(kms_name(f.open(&blob)), "KMSInvalidStateException");
    assert_eq!(f.state(&key), KeyState::PendingImport);
    let other_process = f.another_process().decrypt(&blob, &EncryptionContext::new(), None).wait();
    assert_eq!(kms_name(other_process), "KMSInvalidStateException", "another process sees it expired too");
    let expired = f.events("DeleteExpiredKeyMaterial");
    assert_eq!(expired.len(), 1, "the deletion is recorded once");
    assert_eq!(expired[0]["eventType"], "AwsServiceEvent");

    let other = kms_name(f.import(&key, WrappingAlgorithm::RsaesOaepSha256, &[0x5b; 32], MaterialExpiry::Never));
    assert_eq!(other, "IncorrectKeyMaterialException", "other material is refused");
    assert_eq!(f.state(&key), KeyState::PendingImport);

    f.import(&key, WrappingAlgorithm::RsaesOaepSha1, &material, MaterialExpiry::Never).unwrap();
    assert_eq!(f.open(&blob).unwrap(), b"imported", "the same material opens what it sealed");
}

#[test]
fn deleted_material_leaves_data_unopenable_until_the_same_material_returns() {
    let f = Fixture::new();
    let key = f.external_key();
    f.import(&key, WrappingAlgorithm::RsaesOaepSha256, &[1; 32], MaterialExpiry::Never).unwrap();
    let blob = f.seal(&key);
    f.store.delete_imported_key_material(&key).wait().unwrap();
    assert_eq!(f.state(&key), KeyState::PendingImport);
    assert_eq!(kms_name(f.open(&blob)), "KMSInvalidStateException");
    let record = f.dir.path().join("store/keys").join(format!("{}.json", key.key_id().unwrap()));
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(record).unwrap()).unwrap();
    assert_eq!(record["backing_keys"], serde_json::json!([]), "the material is gone from the key's record");
    f.import(&key, WrappingAlgorithm::RsaesOaepSha256, &[1; 32], MaterialExpiry::Never).unwrap();
    assert_eq!(f.open(&blob).unwrap(), b"imported");
}

#[test]
fn import_tokens_work_only_for_their_key_within_24_hours_and_until_replaced() {
    let f = Fixture::new();
    let key = f.external_key();
    let other_key = f.external_key();
    let algorithm = WrappingAlgorithm::RsaesOaepSha256;
    let try_import = |key: &KeyRef, parameters: &ImportParameters| {
        let wrapped = f.wrapped(parameters, algorithm, &[3; 32]);
        let request = ImportRequest {
            key,
            encrypted_key_material: &wrapped,
            import_token: &parameters.import_token,
            expiry: MaterialExpiry::Never,
        };
        f.store.import_key_material(request).wait()
    };

    let for_other = f.params(&other_key, algorithm);
    assert_eq!(kms_name(try_import(&key, &for_other)), "InvalidImportTokenException");

    let first = f.params(&key, algorithm);
    let second = f.params(&key, algorithm);
    assert_eq!(kms_name(try_import(&key, &first)), "InvalidImportTokenException", "replaced by the second");

    f.days_later(1);
    assert_eq!(kms_name(try_import(&key, &second)), "ExpiredImportTokenException");

    let fresh = f.params(&key, algorithm);
    let mut wrapped = f.wrapped(&fresh, algorithm, &[3; 32]);
    wrapped[10] ^= 1;
    let tampered = ImportRequest {
        key: &key,
        encrypted_key_material: &wrapped,
        import_token: &fresh.import_token,
        expiry: MaterialExpiry::Never,
    };
    assert_eq!(kms_name(f.store.import_key_material(tampered).wait()), "InvalidCiphertextException");
    try_import(&key, &fresh).unwrap();
}

#[test]
fn imported_keys_follow_kms_rules_for_rotation_expiry_dates_and_other_keys() {
    let f = Fixture::new();
    let key = f.external_key();
    for too_far in [START + 366 * DAY, 253_402_300_800, u64::MAX] {
        let expiry = MaterialExpiry::At(too_far);
        let refused = f.import(&key, WrappingAlgorithm::RsaesOaepSha256, &[4; 32], expiry);
        assert_eq!(kms_name(refused), "ValidationException", "ValidTo {too_far}");
    }
    let short = kms_name(f.import(&key, WrappingAlgorithm::RsaesOaepSha256, &[4; 16], MaterialExpiry::Never));
    assert_eq!(short, "IncorrectKeyMaterialException", "a symmetric key's material is 32 bytes");
    f.import(&key, WrappingAlgorithm::RsaesOaepSha256, &[4; 32], MaterialExpiry::Never).unwrap();

    assert_eq!(kms_name(f.store.rotate_key(&key).wait()), "UnsupportedOperationException");
    assert_eq!(kms_name(f.store.enable_key_rotation(&key, None).wait()), "UnsupportedOperationException");
    assert_eq!(kms_name(f.store.get_key_rotation_status(&key).wait()), "UnsupportedOperationException");

    let made_here = KeyRef::parse(&f.store.create_key("not external").wait().unwrap().arn).unwrap();
    let refused =
        f.store.get_parameters_for_import(&made_here, WrappingAlgorithm::RsaesOaepSha256, WrappingKeySpec::Rsa2048);
    assert_eq!(kms_name(refused.wait()), "UnsupportedOperationException");

    let waiting = f.external_key();
    assert_eq!(kms_name(f.store.enable_key(&waiting).wait()), "KMSInvalidStateException");
    f.store.schedule_key_deletion(&waiting, 7).wait().unwrap();
    f.store.cancel_key_deletion(&waiting).wait().unwrap();
    assert_eq!(f.state(&waiting), KeyState::PendingImport, "a cancelled deletion leaves it waiting for material");
}
