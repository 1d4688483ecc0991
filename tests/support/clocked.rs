//! A local store whose clock the test moves ([`ManualClock`]), for what depends on time:
//! rotation dates, expiring key material, import tokens.

use std::time::Duration;

use envcrypt::clock::ManualClock;
use envcrypt::kms::local::{read_audit_events, LocalKeyService, StoreOptions};
use serde_json::Value;

pub const DAY: u64 = 86_400;

pub struct ClockedStore {
    pub dir: tempfile::TempDir,
    pub hand: ManualClock,
    pub store: LocalKeyService,
}

impl ClockedStore {
    /// A new store whose clock stands at `start`.
    pub fn at(start: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let hand = ManualClock::at(start);
        let store = LocalKeyService::open(options(&dir, &hand)).unwrap();
        Self { dir, hand, store }
    }

    /// Another handle on the same store, with its own locks, as another process has.
    pub fn another_process(&self) -> LocalKeyService {
        LocalKeyService::open(options(&self.dir, &self.hand)).unwrap()
    }

    pub fn days_later(&self, days: u64) {
        self.hand.advance(Duration::from_secs(days * DAY));
    }

    /// The audit events named `name`.
    pub fn events(&self, name: &str) -> Vec<Value> {
        read_audit_events(&self.dir.path().join("store"))
            .unwrap()
            .into_iter()
            .filter(|e| e["eventName"] == name)
            .collect()
    }
}

fn options(dir: &tempfile::TempDir, hand: &ManualClock) -> StoreOptions {
    StoreOptions::new(dir.path().join("store")).clock(hand.clock())
}
