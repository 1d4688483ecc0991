//! Scheduled rotation on the local store, with time moved by a manual clock: the claims of the
//! README ("keys rotate on schedule without a daemon, once per due date however many
//! processes use them, each rotation in the audit log") attacked where they could break.

mod support {
    pub mod clocked;
}

use std::ops::Deref;

use envcrypt::kms::local::blob::BlobHeader;
use envcrypt::kms::local::LocalKeyService;
use envcrypt::kms::{
    EncryptionContext, KeyAdmin, KeyRef, KeyRotation, KeyService, KmsError, RotationEntry, RotationType,
};
use serde_json::Value;
use support::clocked::{ClockedStore, DAY};

const START: u64 = 1_700_000_000;

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

    fn new_key(&self) -> KeyRef {
        KeyRef::parse(&self.store.create_key("rotating").wait().unwrap().arn).unwrap()
    }

    fn rotations(&self, key: &KeyRef) -> Vec<RotationEntry> {
        self.store.list_key_rotations(key).wait().unwrap()
    }

    /// Encrypts under `key`: a use of the key.
    fn use_key(&self, key: &KeyRef) -> Vec<u8> {
        self.store.encrypt(key, b"payload", &EncryptionContext::new()).wait().unwrap().blob
    }
}

fn kinds(rotations: &[RotationEntry]) -> Vec<RotationType> {
    rotations.iter().map(|r| r.rotation_type).collect()
}

fn kms_name<T: std::fmt::Debug>(result: Result<T, KmsError>) -> String {
    result.expect_err("the operation should fail").kms_name().to_owned()
}

#[test]
fn a_scheduled_rotation_happens_at_the_first_use_after_its_date_and_old_data_still_opens() {
    let f = Fixture::new();
    let key = f.new_key();
    f.store.enable_key_rotation(&key, None).wait().unwrap();
    let status = f.store.get_key_rotation_status(&key).wait().unwrap();
    assert_eq!(
        (status.enabled, status.period_days, status.next_rotation_date),
        (true, Some(365), Some(START + 365 * DAY))
    );
    let before = f.use_key(&key);

    f.hand.set(START + 365 * DAY - 1);
    f.use_key(&key);
    assert!(f.rotations(&key).is_empty(), "a second before the date, nothing rotates");

    f.hand.set(START + 365 * DAY);
    let after = f.use_key(&key);
    let rotations = f.rotations(&key);
    assert_eq!(kinds(&rotations), [RotationType::Automatic]);
    assert_eq!(rotations[0].rotation_date, START + 365 * DAY);
    let backing_key = |blob: &[u8]| BlobHeader::parse(blob).unwrap().0.backing_key;
    assert_eq!((backing_key(&before), backing_key(&after)), (1, 2), "new data is sealed under the new backing key");
    for blob in [before, after] {
        assert_eq!(
            f.store.decrypt(&blob, &EncryptionContext::new(), None).wait().unwrap().plaintext.expose_secret(),
            b"payload"
        );
    }
    let next = f.store.get_key_rotation_status(&key).wait().unwrap().next_rotation_date;
    assert_eq!(next, Some(START + 730 * DAY), "the next date counts from the due date, not from the use");
}

#[test]
fn a_key_rotates_once_per_due_date_however_many_processes_find_it_due() {
    let f = Fixture::new();
    let key = f.new_key();
    f.store.enable_key_rotation(&key, Some(90)).wait().unwrap();
    f.days_later(90);
    let processes: Vec<LocalKeyService> = (0..6).map(|_| f.another_process()).collect();
    std::thread::scope(|scope| {
        for store in &processes {
            let key = &key;
            scope.spawn(move || {
                for _ in 0..5 {
                    store
                        .generate_data_key(key, envcrypt::kms::DataKeySpec::Aes256, &EncryptionContext::new())
                        .wait()
                        .unwrap();
                    store.describe_key(key).wait().unwrap();
                }
            });
        }
    });
    assert_eq!(kinds(&f.rotations(&key)), [RotationType::Automatic], "exactly one rotation for one due date");
    assert_eq!(f.events("RotateKey").len(), 1, "and exactly one audit event");
}

#[test]
fn each_scheduled_rotation_is_audited_with_the_date_it_was_due() {
    let f = Fixture::new();
    let key = f.new_key();
    f.store.enable_key_rotation(&key, Some(90)).wait().unwrap();
    f.days_later(200);
    f.store.list_keys().wait().unwrap();
    let rotations = f.rotations(&key);
    assert_eq!(kinds(&rotations), [RotationType::Automatic, RotationType::Automatic], "two dates passed");
    let events = f.events("RotateKey");
    let due: Vec<&str> = events.iter().map(|e| e["requestParameters"]["dueDate"].as_str().unwrap()).collect();
    assert_eq!(due, ["2024-02-12T22:13:20Z", "2024-05-12T22:13:20Z"], "START + 90 and + 180 days");
    for event in &events {
        assert_eq!(event["eventType"], "AwsServiceEvent");
        assert_eq!(event["userIdentity"]["type"], "AWSService");
        assert_eq!(event["resources"][0]["ARN"], f.store.describe_key(&key).wait().unwrap().arn);
    }
    f.store.verify_audit_log().unwrap();
}

#[test]
fn a_disabled_key_does_not_rotate_and_rotates_once_when_enabled_after_its_date() {
    let f = Fixture::new();
    let key = f.new_key();
    f.store.enable_key_rotation(&key, None).wait().unwrap();
    f.days_later(100);
    f.store.disable_key(&key).wait().unwrap();
    f.days_later(800);
    f.store.describe_key(&key).wait().unwrap();
    assert!(f.rotations(&key).is_empty(), "no rotation while disabled");
    let status = f.store.get_key_rotation_status(&key).wait().unwrap();
    assert!(status.enabled, "disabling the key keeps its schedule");

    f.store.enable_key(&key).wait().unwrap();
    let rotations = f.rotations(&key);
    assert_eq!(kinds(&rotations), [RotationType::Automatic], "one rotation on enabling, not one per missed date");
    let now = f.hand.now_secs();
    assert_eq!(rotations[0].rotation_date, now);
    assert_eq!(f.store.get_key_rotation_status(&key).wait().unwrap().next_rotation_date, Some(now + 365 * DAY));
}

#[test]
fn a_key_disabled_after_its_date_rotates_for_the_time_it_was_enabled() {
    let f = Fixture::new();
    let key = f.new_key();
    f.store.enable_key_rotation(&key, Some(90)).wait().unwrap();
    f.days_later(95);
    f.store.disable_key(&key).wait().unwrap();
    assert_eq!(kinds(&f.rotations(&key)), [RotationType::Automatic]);
}

#[test]
fn a_key_pending_deletion_neither_rotates_nor_reports_rotation_and_gets_it_back_on_cancel() {
    let f = Fixture::new();
    let key = f.new_key();
    f.store.enable_key_rotation(&key, Some(90)).wait().unwrap();
    f.store.schedule_key_deletion(&key, 30).wait().unwrap();
    assert!(!f.store.get_key_rotation_status(&key).wait().unwrap().enabled);
    assert_eq!(kms_name(f.store.enable_key_rotation(&key, None).wait()), "KMSInvalidStateException");
    f.store.cancel_key_deletion(&key).wait().unwrap();
    let status = f.store.get_key_rotation_status(&key).wait().unwrap();
    assert_eq!((status.enabled, status.period_days), (true, Some(90)));
}

#[test]
fn the_managed_default_key_rotates_every_year_and_its_rotation_cannot_be_changed() {
    let f = Fixture::new();
    let key = f.store.default_key().unwrap();
    let status = f.store.get_key_rotation_status(&key).wait().unwrap();
    assert_eq!(
        (status.enabled, status.period_days, status.next_rotation_date),
        (true, Some(365), Some(START + 365 * DAY))
    );
    assert_eq!(kms_name(f.store.disable_key_rotation(&key).wait()), "UnsupportedOperationException");
    assert_eq!(kms_name(f.store.enable_key_rotation(&key, Some(90)).wait()), "UnsupportedOperationException");
    f.days_later(365);
    f.use_key(&key);
    assert_eq!(kinds(&f.rotations(&key)), [RotationType::Automatic]);
}

#[test]
fn on_demand_rotations_are_limited_to_ten_and_scheduled_ones_do_not_count() {
    let f = Fixture::new();
    let key = f.new_key();
    f.store.enable_key_rotation(&key, Some(90)).wait().unwrap();
    f.days_later(90);
    for _ in 0..10 {
        f.store.rotate_key(&key).wait().unwrap();
    }
    assert_eq!(kms_name(f.store.rotate_key(&key).wait()), "LimitExceededException");
    let rotations = kinds(&f.rotations(&key));
    assert_eq!(rotations.len(), 11);
    assert_eq!(rotations[0], RotationType::Automatic, "the due rotation came first");
    let status = f.store.get_key_rotation_status(&key).wait().unwrap();
    assert_eq!(status.next_rotation_date, Some(START + 180 * DAY), "on-demand rotations leave the schedule");
}

#[test]
fn a_clock_far_ahead_makes_a_bounded_number_of_rotations() {
    let f = Fixture::new();
    let key = f.new_key();
    f.store.enable_key_rotation(&key, Some(90)).wait().unwrap();
    f.days_later(90 * 10_000);
    f.use_key(&key);
    assert_eq!(f.rotations(&key).len(), 32);
    let next = f.store.get_key_rotation_status(&key).wait().unwrap().next_rotation_date.unwrap();
    assert!(next > f.hand.now_secs(), "and the schedule is in the future again");
}

#[test]
fn a_store_from_before_rotation_gives_its_default_key_the_yearly_schedule() {
    let f = Fixture::new();
    let key = f.store.default_key().unwrap();
    let dir = f.dir.path().join("store");
    let record_path = dir.join("keys").join(format!("{}.json", f.store.describe_key(&key).wait().unwrap().key_id));
    let mut record: Value = serde_json::from_slice(&std::fs::read(&record_path).unwrap()).unwrap();
    record.as_object_mut().unwrap().remove("rotation");
    std::fs::write(&record_path, serde_json::to_vec(&record).unwrap()).unwrap();
    let meta_path = dir.join("store.json");
    let mut meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    meta["format"] = 2.into();
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();

    f.days_later(10);
    let reopened = f.another_process();
    let meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    assert_eq!(meta["format"], 3);
    let status = reopened.get_key_rotation_status(&key).wait().unwrap();
    assert_eq!(status.next_rotation_date, Some(START + 365 * DAY), "counted from its newest backing key");
}

#[test]
fn calls_that_fail_after_finding_a_key_due_record_its_rotation_once() {
    let f = Fixture::new();
    let key = f.new_key();
    f.store.enable_key_rotation(&key, Some(90)).wait().unwrap();
    f.days_later(90);
    let stranger = f.store.as_principal("user/stranger").unwrap();
    for _ in 0..3 {
        assert_eq!(kms_name(stranger.update_key_description(&key, "not mine").wait()), "AccessDeniedException");
        let too_long = "d".repeat(8193);
        assert_eq!(kms_name(f.store.update_key_description(&key, &too_long).wait()), "ValidationException");
    }
    assert_eq!(f.events("RotateKey").len(), 1, "one event for one due date");
    assert_eq!(kinds(&f.rotations(&key)), [RotationType::Automatic], "and the rotation it records happened");
}
