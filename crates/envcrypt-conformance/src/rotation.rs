//! The rotation scenarios: the schedule's bounds and states, and on-demand rotation's limit.
//!
//! A schedule is reported as `every P days, next in N days`, N counted from this machine's
//! clock, so that a backend that counts the next date from anything but the day rotation was
//! enabled shows up.

use std::time::{SystemTime, UNIX_EPOCH};

use envcrypt::kms::{KeyRef, KeyRotation, RotationType};

use crate::backend::{id, setup, Backend, ScenarioError};

type Result<T> = std::result::Result<T, ScenarioError>;

const SECONDS_PER_DAY: u64 = 86_400;

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The key's schedule, as the scenarios report it.
fn schedule(rotation: &dyn KeyRotation, key: &KeyRef) -> Result<String> {
    let status = rotation.get_key_rotation_status(&id(key)).wait()?;
    Ok(match (status.enabled, status.period_days, status.next_rotation_date) {
        (false, ..) => "rotation off".to_owned(),
        (true, Some(period), Some(next)) => {
            let days = (next.saturating_sub(now()) + SECONDS_PER_DAY / 2) / SECONDS_PER_DAY;
            format!("every {period} days, next in {days} days")
        }
        (true, period, next) => format!("rotation on, period {period:?}, next date {next:?}"),
    })
}

/// Enables rotation of a new key with `period_days`, then reports its schedule.
pub(crate) fn enabled_for(b: &Backend<'_>, period_days: Option<u32>) -> Result<String> {
    let rotation = b.rotation()?;
    let key = b.new_key()?;
    rotation.enable_key_rotation(&id(&key), period_days).wait()?;
    schedule(rotation, &key)
}

/// A new key's schedule.
pub(crate) fn new_key(b: &Backend<'_>) -> Result<String> {
    let rotation = b.rotation()?;
    schedule(rotation, &b.new_key()?)
}

/// Enables then disables rotation.
pub(crate) fn disabled(b: &Backend<'_>) -> Result<String> {
    let rotation = b.rotation()?;
    let key = b.new_key()?;
    rotation.enable_key_rotation(&id(&key), None).wait().map_err(setup)?;
    rotation.disable_key_rotation(&id(&key)).wait()?;
    schedule(rotation, &key)
}

/// Enables rotation with 365 days, then again with 90: the period changes.
pub(crate) fn period_changed(b: &Backend<'_>) -> Result<String> {
    let rotation = b.rotation()?;
    let key = b.new_key()?;
    rotation.enable_key_rotation(&id(&key), None).wait().map_err(setup)?;
    rotation.enable_key_rotation(&id(&key), Some(90)).wait()?;
    schedule(rotation, &key)
}

/// EnableKeyRotation on a key that is disabled.
pub(crate) fn enable_on_disabled_key(b: &Backend<'_>) -> Result<String> {
    let rotation = b.rotation()?;
    let key = b.new_key()?;
    b.admin.disable_key(&id(&key)).wait().map_err(setup)?;
    rotation.enable_key_rotation(&id(&key), None).wait()?;
    schedule(rotation, &key)
}

/// EnableKeyRotation on a key pending deletion.
pub(crate) fn enable_on_key_pending_deletion(b: &Backend<'_>) -> Result<String> {
    let rotation = b.rotation()?;
    let key = b.new_key()?;
    b.admin.schedule_key_deletion(&id(&key), 7).wait().map_err(setup)?;
    rotation.enable_key_rotation(&id(&key), None).wait()?;
    schedule(rotation, &key)
}

/// A rotating key is disabled: its schedule stays.
pub(crate) fn status_of_disabled_key(b: &Backend<'_>) -> Result<String> {
    let rotation = b.rotation()?;
    let key = b.new_key()?;
    rotation.enable_key_rotation(&id(&key), None).wait().map_err(setup)?;
    b.admin.disable_key(&id(&key)).wait().map_err(setup)?;
    schedule(rotation, &key)
}

/// A rotating key is scheduled for deletion: rotation reads off.
pub(crate) fn status_of_key_pending_deletion(b: &Backend<'_>) -> Result<String> {
    let rotation = b.rotation()?;
    let key = b.new_key()?;
    rotation.enable_key_rotation(&id(&key), None).wait().map_err(setup)?;
    b.admin.schedule_key_deletion(&id(&key), 7).wait().map_err(setup)?;
    schedule(rotation, &key)
}

/// A rotating key's deletion is scheduled and cancelled: its schedule returns.
pub(crate) fn status_after_cancelled_deletion(b: &Backend<'_>) -> Result<String> {
    let rotation = b.rotation()?;
    let key = b.new_key()?;
    rotation.enable_key_rotation(&id(&key), None).wait().map_err(setup)?;
    b.admin.schedule_key_deletion(&id(&key), 7).wait().map_err(setup)?;
    b.admin.cancel_key_deletion(&id(&key)).wait().map_err(setup)?;
    schedule(rotation, &key)
}

/// A key rotated on demand once: its rotations as ListKeyRotations lists them.
pub(crate) fn listed_after_on_demand(b: &Backend<'_>) -> Result<String> {
    let rotation = b.rotation()?;
    let key = b.new_key()?;
    b.admin.rotate_key(&id(&key)).wait().map_err(setup)?;
    let types: Vec<&str> =
        rotation.list_key_rotations(&id(&key)).wait()?.iter().map(|r| r.rotation_type.as_str()).collect();
    Ok(if types.is_empty() { "no rotations".to_owned() } else { types.join(", ") })
}

/// A new key's rotations.
pub(crate) fn listed_for_new_key(b: &Backend<'_>) -> Result<String> {
    let rotation = b.rotation()?;
    let key = b.new_key()?;
    let count = rotation.list_key_rotations(&id(&key)).wait()?.len();
    Ok(if count == 0 { "no rotations".to_owned() } else { format!("{count} rotations") })
}

/// An on-demand rotation leaves the schedule as it was.
pub(crate) fn on_demand_keeps_schedule(b: &Backend<'_>) -> Result<String> {
    let rotation = b.rotation()?;
    let key = b.new_key()?;
    rotation.enable_key_rotation(&id(&key), Some(180)).wait().map_err(setup)?;
    b.admin.rotate_key(&id(&key)).wait()?;
    schedule(rotation, &key)
}

/// Rotates a key on demand one time more than KMS allows.
pub(crate) fn on_demand_past_the_limit(b: &Backend<'_>) -> Result<String> {
    let key = b.new_key()?;
    for _ in 0..envcrypt::kms::MAX_ON_DEMAND_ROTATIONS {
        b.admin.rotate_key(&id(&key)).wait().map_err(setup)?;
    }
    b.admin.rotate_key(&id(&key)).wait()?;
    let rotations = match b.rotation() {
        Ok(rotation) => rotation.list_key_rotations(&id(&key)).wait()?,
        Err(_) => Vec::new(),
    };
    let on_demand = rotations.iter().filter(|r| r.rotation_type == RotationType::OnDemand).count();
    Ok(format!("{on_demand} on-demand rotations"))
}
