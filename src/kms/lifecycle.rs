//! The key-state rules of AWS KMS, for backends that keep their own key records.
//!
//! A backend holds a key's state and deletion date in its own record and applies these rules
//! to them, so that every backend refuses and answers the same way: disabled keys and keys
//! pending deletion refuse cryptographic operations, a key pending deletion can be neither
//! enabled nor disabled nor scheduled again, the waiting period is 7–30 days, and a cancelled
//! deletion leaves the key disabled; a key pending deletion keeps its description and tags.

use super::{KeyState, KmsError, DELETION_WINDOW_DAYS};

pub(crate) const SECONDS_PER_DAY: u64 = 86_400;

impl KeyState {
    /// Refuses a cryptographic `operation` on the key `key_arn` unless it is enabled.
    pub fn check_usable(self, key_arn: &str, operation: &'static str) -> Result<(), KmsError> {
        match self {
            Self::Enabled => Ok(()),
            Self::Disabled => Err(KmsError::Disabled { key: key_arn.to_owned() }),
            state => Err(KmsError::InvalidState { key: key_arn.to_owned(), state: state.to_string(), operation }),
        }
    }
}

/// One key's state and deletion date, borrowed from a backend's record.
#[derive(Debug)]
pub struct Lifecycle<'a> {
    /// The key's ARN, for error messages.
    pub key_arn: String,
    /// The key state.
    pub state: &'a mut KeyState,
    /// When a key pending deletion is deleted, seconds since the Unix epoch.
    pub deletion_date: &'a mut Option<u64>,
}

impl Lifecycle<'_> {
    fn invalid(&self, operation: &'static str) -> KmsError {
        KmsError::InvalidState { key: self.key_arn.clone(), state: self.state.to_string(), operation }
    }

    /// EnableKey (`enabled`) or DisableKey: both refuse a key pending deletion or import.
    pub fn set_enabled(&mut self, enabled: bool) -> Result<(), KmsError> {
        let operation = if enabled { "EnableKey" } else { "DisableKey" };
        if matches!(*self.state, KeyState::PendingDeletion | KeyState::PendingImport) {
            return Err(self.invalid(operation));
        }
        *self.state = if enabled { KeyState::Enabled } else { KeyState::Disabled };
        Ok(())
    }

    /// ScheduleKeyDeletion at `now` with a waiting period of `days`.
    pub fn schedule_deletion(&mut self, now: u64, days: u32) -> Result<(), KmsError> {
        if !DELETION_WINDOW_DAYS.contains(&days) {
            return Err(KmsError::Validation(format!(
                "PendingWindowInDays is {days}; it must be between {} and {}",
                DELETION_WINDOW_DAYS.start(),
                DELETION_WINDOW_DAYS.end()
            )));
        }
        if *self.state == KeyState::PendingDeletion {
            return Err(self.invalid("ScheduleKeyDeletion"));
        }
        *self.state = KeyState::PendingDeletion;
        *self.deletion_date = Some(now + u64::from(days) * SECONDS_PER_DAY);
        Ok(())
    }

    /// UpdateKeyDescription, TagResource, UntagResource: a key pending deletion refuses them.
    pub fn check_metadata_change(&self, operation: &'static str) -> Result<(), KmsError> {
        if *self.state == KeyState::PendingDeletion {
            return Err(self.invalid(operation));
        }
        Ok(())
    }

    /// CancelKeyDeletion: the key returns disabled, as in KMS.
    pub fn cancel_deletion(&mut self) -> Result<(), KmsError> {
        if *self.state != KeyState::PendingDeletion {
            return Err(self.invalid("CancelKeyDeletion"));
        }
        *self.state = KeyState::Disabled;
        *self.deletion_date = None;
        Ok(())
    }
}

/// The longest key description KMS accepts, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 8192;

/// Refuses a key description longer than KMS accepts.
pub fn validate_description(description: &str) -> Result<(), KmsError> {
    let chars = description.chars().count();
    if chars > MAX_DESCRIPTION_CHARS {
        return Err(KmsError::Validation(format!(
            "the description has {chars} characters; the limit is {MAX_DESCRIPTION_CHARS}"
        )));
    }
    Ok(())
}
