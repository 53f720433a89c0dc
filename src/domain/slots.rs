//! Job slots: which run of a periodic job is due, so that each runs once across restarts
//! and replicas. A slot is a job name and the UTC instant it was due; replicas claim a slot
//! in the database before running it (the first claim wins). After downtime, only the latest
//! missed slot is run (once, not once per missed tick), and only if it is recent enough;
//! otherwise it is passed over as missed.

use chrono::{DateTime, Duration, Utc};

/// The latest slot of a job that runs every `every`, at or before `now` (slots are aligned
/// on the Unix epoch, so every replica computes the same instants).
pub fn latest_slot(every: Duration, now: DateTime<Utc>) -> DateTime<Utc> {
    let step = every.num_seconds().max(1);
    let secs = now.timestamp().div_euclid(step) * step;
    DateTime::from_timestamp(secs, 0).unwrap_or(now)
}

/// What a tick does about a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// Claim and run this slot.
    Run(DateTime<Utc>),
    /// This slot is new here but older than the catch-up window: passed over, not replayed
    /// (said once, so that an operator sees it).
    Missed(DateTime<Utc>),
    /// The latest slot was run or passed over already.
    Nothing,
}

/// What to do with a job at `now`: its latest due slot, unless it was dealt with already
/// (`last`) or is older than the catch-up `window` (a slot missed long ago is skipped, not
/// replayed).
pub fn tick(every: Duration, now: DateTime<Utc>, last: Option<DateTime<Utc>>, window: Duration) -> Tick {
    let slot = latest_slot(every, now);
    if last.is_some_and(|last| slot <= last) {
        Tick::Nothing
    } else if now - slot <= window {
        Tick::Run(slot)
    } else {
        Tick::Missed(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn slots_align_on_the_epoch() {
        let minute = Duration::minutes(1);
        assert_eq!(latest_slot(minute, at("2026-03-01T10:00:59Z")), at("2026-03-01T10:00:00Z"));
        assert_eq!(latest_slot(minute, at("2026-03-01T10:01:00Z")), at("2026-03-01T10:01:00Z"));
        assert_eq!(latest_slot(Duration::hours(1), at("2026-03-01T10:59:00Z")), at("2026-03-01T10:00:00Z"));
    }

    #[test]
    fn a_slot_runs_once_and_after_downtime_only_the_latest_within_the_window() {
        let (minute, window) = (Duration::minutes(1), Duration::minutes(10));
        let now = at("2026-03-01T10:00:30Z");
        assert_eq!(tick(minute, now, None, window), Tick::Run(at("2026-03-01T10:00:00Z")));
        assert_eq!(tick(minute, now, Some(at("2026-03-01T10:00:00Z")), window), Tick::Nothing, "run already");
        // An hour down: the slots of that hour are not replayed one by one; the latest runs.
        let back = at("2026-03-01T11:00:05Z");
        assert_eq!(tick(minute, back, Some(at("2026-03-01T10:00:00Z")), window), Tick::Run(at("2026-03-01T11:00:00Z")));
        // A daily job whose slot passed longer ago than the window is missed, once.
        let (day, six) = (Duration::days(1), Duration::hours(6));
        let midnight = at("2026-03-01T00:00:00Z");
        assert_eq!(tick(day, at("2026-03-01T12:00:00Z"), None, six), Tick::Missed(midnight));
        assert_eq!(tick(day, at("2026-03-01T12:00:01Z"), Some(midnight), six), Tick::Nothing);
        assert_eq!(tick(day, at("2026-03-01T05:00:00Z"), None, six), Tick::Run(midnight));
    }
}
