//! Rotation on the local store: the schedule (EnableKeyRotation, DisableKeyRotation,
//! GetKeyRotationStatus, ListKeyRotations), on-demand rotation's limit, and the scheduled
//! rotations themselves.
//!
//! No daemon runs. A key whose rotation date has passed rotates the next time a call uses,
//! describes or lists it: that call takes the store's exclusive lock, reads the key again and
//! rotates only for dates still past, so however many processes find the key due, it rotates
//! once per due date. Each scheduled rotation is recorded as a `RotateKey` service event that
//! names the date it was due. As in KMS, a disabled key does not rotate: if its date passed
//! while it was disabled, it rotates when enabled again and counts its next date from then; a
//! key pending deletion reports rotation off, and gets its schedule back if the deletion is
//! cancelled. The managed default key rotates every 365 days and its schedule cannot be
//! changed, as for AWS managed keys.

use serde_json::json;

use super::audit::{rfc3339, Call};
use super::record::{BackingKeyRecord, KeyRecord, RotationSchedule};
use super::{key_param, LocalKeyService};
use crate::kms::{
    KeyRef, KeyRotation, KeyState, KmsError, KmsFuture, RotationEntry, RotationStatus, RotationType,
    DEFAULT_ROTATION_PERIOD_DAYS, MAX_ON_DEMAND_ROTATIONS, ROTATION_PERIOD_DAYS, SECONDS_PER_DAY,
};

/// The most missed due dates one call catches up on. A key untouched for longer (more than
/// eight years at the shortest period) rotates for the last 32 of them only, so that a clock
/// far off cannot make one call write thousands of backing keys.
const MAX_CATCH_UP: u64 = 32;

impl LocalKeyService {
    /// Adds a backing key for each due date of `record` that has passed while it is enabled,
    /// and records each. Answers whether it rotated (the caller writes the record, under the
    /// exclusive lock it holds).
    pub(super) fn rotate_due(&self, record: &mut KeyRecord) -> Result<bool, KmsError> {
        let now = self.now();
        if !record.rotation_due(now) {
            return Ok(false);
        }
        let schedule = record.rotation.as_mut().expect("a due key has a schedule");
        let period = u64::from(schedule.period_days) * SECONDS_PER_DAY;
        let missed = (now - schedule.since) / period;
        if missed > MAX_CATCH_UP {
            schedule.since += (missed - MAX_CATCH_UP) * period;
        }
        let mut dues = Vec::new();
        while schedule.next() <= now {
            schedule.since = schedule.next();
            dues.push(schedule.since);
        }
        for due in dues {
            let event = Call::new("RotateKey", false)
                .param("rotationType", RotationType::Automatic.as_str())
                .param("dueDate", rfc3339(due));
            self.record_store_event(event, &record.key_id)?;
            let number = record.backing_keys.iter().map(|b| b.number).max().unwrap_or(0) + 1;
            record.backing_keys.push(BackingKeyRecord {
                rotation: Some(RotationType::Automatic),
                due: Some(due),
                ..self.new_backing_key(&record.key_id, number)
            });
        }
        Ok(true)
    }

    /// Refuses rotation of a key with imported material, and of an asymmetric or HMAC key, as
    /// KMS does.
    fn check_rotates(&self, record: &KeyRecord, operation: &'static str) -> Result<(), KmsError> {
        record.profile(&self.arn(&record.key_id)).check_rotates(operation)?;
        if record.import.is_some() {
            return Err(KmsError::UnsupportedOperation(format!(
                "key {} has imported key material (origin EXTERNAL), which does not rotate: {operation} is not \
                 valid for it",
                self.arn(&record.key_id)
            )));
        }
        Ok(())
    }

    /// RotateKeyOnDemand's change to the record: a new backing key, within KMS's limit.
    pub(super) fn rotate_on_demand(&self, record: &mut KeyRecord) -> Result<(), KmsError> {
        self.check_rotates(record, "RotateKeyOnDemand")?;
        self.check_usable(record, "RotateKeyOnDemand")?;
        let on_demand =
            record.backing_keys.iter().filter(|b| b.rotation_type() == Some(RotationType::OnDemand)).count();
        if on_demand >= MAX_ON_DEMAND_ROTATIONS {
            return Err(KmsError::LimitExceeded(format!(
                "key {} has been rotated on demand {on_demand} times, the most KMS allows",
                self.arn(&record.key_id)
            )));
        }
        let number = record.backing_keys.iter().map(|b| b.number).max().unwrap_or(0) + 1;
        record.backing_keys.push(BackingKeyRecord {
            rotation: Some(RotationType::OnDemand),
            ..self.new_backing_key(&record.key_id, number)
        });
        Ok(())
    }

    /// EnableKey on a key whose rotation date passed while it was disabled: it rotates now,
    /// and its next date counts from now.
    pub(super) fn resume_rotation(&self, record: &mut KeyRecord) -> Result<(), KmsError> {
        let now = self.now();
        if let Some(schedule) = record.rotation.as_mut().filter(|s| s.next() <= now) {
            schedule.since = now - u64::from(schedule.period_days) * SECONDS_PER_DAY;
        }
        self.rotate_due(record).map(drop)
    }

    /// Refuses to change the schedule of a key that is not enabled, or of the managed key.
    fn check_schedulable(&self, record: &KeyRecord, operation: &'static str) -> Result<(), KmsError> {
        self.check_rotates(record, operation)?;
        self.check_usable(record, operation)?;
        if record.rotation.is_some_and(|r| r.managed) {
            return Err(KmsError::UnsupportedOperation(format!(
                "key {} is the managed default key: it rotates every {DEFAULT_ROTATION_PERIOD_DAYS} days and its \
                 rotation cannot be changed",
                self.arn(&record.key_id)
            )));
        }
        Ok(())
    }

    /// Reads a key for a read-only rotation call, rotated if due.
    fn read_for(&self, key: &KeyRef, action: &'static str, call: &mut Call) -> Result<KeyRecord, KmsError> {
        let txn = self.disk.read()?;
        let record = self.load(&txn, &self.resolve(&txn, key)?)?;
        call.resource(&self.arn(&record.key_id));
        self.authorize(&record, action, None)?;
        drop(txn);
        self.caught_up(record)
    }
}

fn rotation_entries(record: &KeyRecord) -> Vec<RotationEntry> {
    let mut backing: Vec<&BackingKeyRecord> = record.backing_keys.iter().collect();
    backing.sort_by_key(|b| b.number);
    backing
        .into_iter()
        .filter_map(|b| {
            Some(RotationEntry {
                key_id: record.key_id.clone(),
                rotation_date: b.creation_date,
                rotation_type: b.rotation_type()?,
            })
        })
        .collect()
}

impl KeyRotation for LocalKeyService {
    fn enable_key_rotation<'a>(&'a self, key: &'a KeyRef, period_days: Option<u32>) -> KmsFuture<'a, ()> {
        let period = period_days.unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS);
        let call = Call::new("EnableKeyRotation", false).param("rotationPeriodInDays", period);
        if !ROTATION_PERIOD_DAYS.contains(&period) {
            let error = KmsError::Validation(format!(
                "RotationPeriodInDays is {period}; it must be between {} and {}",
                ROTATION_PERIOD_DAYS.start(),
                ROTATION_PERIOD_DAYS.end()
            ));
            return KmsFuture::ready(self.audited(call.param("keyId", key_param(key)), |_| Err(error)));
        }
        KmsFuture::ready(self.update_key(key, call, |record, _| {
            self.check_schedulable(record, "EnableKeyRotation")?;
            let since = record.rotation.map_or_else(|| self.now(), |r| r.since);
            record.rotation = Some(RotationSchedule { period_days: period, since, managed: false });
            Ok(())
        }))
    }

    fn disable_key_rotation<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.update_key(key, Call::new("DisableKeyRotation", false), |record, _| {
            self.check_schedulable(record, "DisableKeyRotation")?;
            record.rotation = None;
            Ok(())
        }))
    }

    fn get_key_rotation_status<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, RotationStatus> {
        let call = Call::new("GetKeyRotationStatus", true).param("keyId", key_param(key));
        KmsFuture::ready(self.audited(call, |call| {
            let record = self.read_for(key, "kms:GetKeyRotationStatus", call)?;
            self.check_rotates(&record, "GetKeyRotationStatus")?;
            let schedule = record.rotation.filter(|_| record.state != KeyState::PendingDeletion);
            let status = RotationStatus {
                key_arn: self.arn(&record.key_id),
                enabled: schedule.is_some(),
                period_days: schedule.map(|s| s.period_days),
                next_rotation_date: schedule.map(|s| s.next()),
                on_demand_rotation_start_date: None,
            };
            call.respond(json!({ "keyRotationEnabled": status.enabled }));
            Ok(status)
        }))
    }

    fn list_key_rotations<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, Vec<RotationEntry>> {
        let call = Call::new("ListKeyRotations", true).param("keyId", key_param(key));
        KmsFuture::ready(self.audited(call, |call| {
            let record = self.read_for(key, "kms:ListKeyRotations", call)?;
            self.check_rotates(&record, "ListKeyRotations")?;
            Ok(rotation_entries(&record))
        }))
    }
}
