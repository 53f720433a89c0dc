//! Job slots: which run of a periodic job is due, so that each runs once across restarts
//! and replicas. A slot is a job name and the UTC instant it was due; replicas claim a slot
//! in the database before running it (the first claim wins). After downtime, only the latest
//! missed slot is run (once, not once per missed tick), and only if it is recent enough.

use chrono::{DateTime, Duration, Utc};

/// The latest slot of a job that runs every `every`, at or before `now` (slots are aligned
/// on the Unix epoch, so every replica computes the same instants).
pub fn latest_slot(every: Duration, now: DateTime<Utc>) -> DateTime<Utc> {
    let step = every.num_seconds().max(1);
    let secs = now.timestamp().div_euclid(step) * step;
    DateTime::from_timestamp(secs, 0).unwrap_or(now)
}

/// The slot to run now, if any: the latest due slot, unless it was run already (`last_run`)
/// or is older than the catch-up `window` (a slot missed long ago is skipped, not replayed).
pub fn slot_to_run(
    every: Duration,
    now: DateTime<Utc>,
    last_run: Option<DateTime<Utc>>,
    window: Duration,
) -> Option<DateTime<Utc>> {
    let slot = latest_slot(every, now);
    let fresh = now - slot <= window;
    let new = last_run.is_none_or(|last| slot > last);
    (fresh && new).then_some(slot)
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
        assert_eq!(slot_to_run(minute, now, None, window), Some(at("2026-03-01T10:00:00Z")));
        assert_eq!(slot_to_run(minute, now, Some(at("2026-03-01T10:00:00Z")), window), None, "run already");
        // An hour down: the slots of that hour are not replayed one by one; the latest runs.
        let back = at("2026-03-01T11:00:05Z");
        assert_eq!(
            slot_to_run(minute, back, Some(at("2026-03-01T10:00:00Z")), window),
            Some(at("2026-03-01T11:00:00Z"))
        );
        // A daily job whose slot passed longer ago than the window is skipped until the next.
        let day = Duration::days(1);
        assert_eq!(slot_to_run(day, at("2026-03-01T12:00:00Z"), None, Duration::hours(6)), None);
        assert_eq!(
            slot_to_run(day, at("2026-03-01T05:00:00Z"), None, Duration::hours(6)),
            Some(at("2026-03-01T00:00:00Z"))
        );
    }
}
