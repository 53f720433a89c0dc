//! Time as a dependency: production reads the system clock, tests move a manual one, and no
//! domain rule or job ever calls `Utc::now()` itself.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to; shared between a test and the server it drives.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Testing only (`clock_file`): the time written in a file, RFC 3339, read at every call; so
/// that a test can move several server processes through weeks together. Falls back to the
/// last time read while the file is being rewritten.
#[derive(Debug)]
pub struct FileClock {
    path: std::path::PathBuf,
    last: Mutex<DateTime<Utc>>,
}

impl FileClock {
    pub fn new(path: std::path::PathBuf) -> Self {
        let clock = Self { path, last: Mutex::new(Utc::now()) };
        clock.now();
        clock
    }
}

impl Clock for FileClock {
    fn now(&self) -> DateTime<Utc> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
            .map(|t| t.with_timezone(&Utc))
        {
            *last = at;
        }
        *last
    }
}
