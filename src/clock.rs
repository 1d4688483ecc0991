//! The time as envcrypt sees it: [`Clock`], the system clock unless a test gives it a
//! [`ManualClock`] to move.
//!
//! Everything that depends on time takes its time from one `Clock`: deletion dates, rotation
//! schedules, import tokens and imported key material that expire, and the server's
//! signature window. Tests move a manual clock across those dates instead of waiting for
//! them. Only code can set it: no command-line flag or environment variable does, in any
//! build.
//!
//! ```
//! use std::time::Duration;
//! use envcrypt::clock::ManualClock;
//!
//! let hand = ManualClock::at(1_700_000_000);
//! let clock = hand.clock();
//! hand.advance(Duration::from_secs(86_400));
//! assert_eq!(clock.now_secs(), 1_700_086_400);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time, in whole seconds since the Unix epoch.
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// Seconds since the Unix epoch.
    pub fn now_secs(&self) -> u64 {
        match &self.manual {
            Some(secs) => secs.load(Ordering::SeqCst),
            None => SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        }
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        match &self.manual {
            Some(secs) => UNIX_EPOCH + Duration::from_secs(secs.load(Ordering::SeqCst)),
            None => SystemTime::now(),
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.manual {
            Some(secs) => write!(f, "Clock(manual at {})", secs.load(Ordering::SeqCst)),
            None => f.write_str("Clock(system)"),
        }
    }
}

/// The hand of a manual clock: every [`Clock`] made by [`ManualClock::clock`] shows the time
/// it is set to.
#[derive(Debug, Clone)]
pub struct ManualClock {
    secs: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock standing at `secs` seconds since the Unix epoch.
    pub fn at(secs: u64) -> Self {
        Self { secs: Arc::new(AtomicU64::new(secs)) }
    }

    /// A clock that shows this hand's time.
    pub fn clock(&self) -> Clock {
        Clock { manual: Some(self.secs.clone()) }
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        self.secs.fetch_add(by.as_secs(), Ordering::SeqCst);
    }

    /// Sets the time, forward or back.
    pub fn set(&self, secs: u64) {
        self.secs.store(secs, Ordering::SeqCst);
    }

    /// The time it shows.
    pub fn now_secs(&self) -> u64 {
        self.secs.load(Ordering::SeqCst)
    }
}
