//! Reporting periods: the calendar slices of an engagement's term in which the agency
//! reports, each with a due date.
//!
//! Periods follow the calendar of the engagement's time zone: ISO weeks (Monday to Sunday),
//! calendar months or calendar quarters, clipped to the term, so a contract starting on the
//! 15th has a short first period. A period's report is due by the end of the day
//! `due_offset_days` after the period's last day. Instants are the engagement's local
//! midnights expressed in UTC, so a period that contains a daylight-saving change is an
//! hour shorter or longer than its days times 24 hours.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use super::enums::Cadence;

/// The part of a contract that decides its periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub cadence: Cadence,
    /// First day of the term (local date).
    pub start: NaiveDate,
    /// Last day of the term, inclusive (local date).
    pub end: NaiveDate,
    pub timezone: Tz,
    pub due_offset_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Period {
    /// 0 for the first period of the term.
    pub index: u32,
    /// First day, local date.
    pub start_date: NaiveDate,
    /// Last day, inclusive, local date.
    pub end_date: NaiveDate,
    /// Local midnight at the start of `start_date`, in UTC.
    pub starts_at: DateTime<Utc>,
    /// Local midnight after `end_date`, in UTC (exclusive end).
    pub ends_at: DateTime<Utc>,
    /// The last day on which the report is on time, local date.
    pub due_date: NaiveDate,
    /// Local midnight after `due_date`, in UTC: a report submitted at or after this instant
    /// is late.
    pub due_at: DateTime<Utc>,
}

impl Period {
    /// Whether the period has begun at `now` (reports may be submitted once it has).
    pub fn has_started(&self, now: DateTime<Utc>) -> bool {
        now >= self.starts_at
    }

    /// Whether a report submitted at `at` is late.
    pub fn is_late(&self, at: DateTime<Utc>) -> bool {
        at >= self.due_at
    }
}

/// The UTC instant of local midnight at the start of `date`. Where a time-zone change skips
/// midnight, the day starts at the first local time that exists; where midnight happens
/// twice, at the first.
pub fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut local = date.and_time(chrono::NaiveTime::MIN);
    // Gaps are at most a few hours long; step through them a quarter-hour at a time.
    for _ in 0..24 {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
        local += chrono::Duration::minutes(15);
    }
    // No zone has a gap of six hours; fall back to reading the date as UTC.
    Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN))
}

/// The first day of the calendar unit (week, month, quarter) that contains `date`.
fn unit_start(cadence: Cadence, date: NaiveDate) -> NaiveDate {
    match cadence {
        Cadence::Weekly => date - Days::new(u64::from(date.weekday().num_days_from_monday())),
        Cadence::Monthly => date.with_day(1).unwrap_or(date),
        Cadence::Quarterly => {
            let first_month = (date.month0() / 3) * 3 + 1;
            NaiveDate::from_ymd_opt(date.year(), first_month, 1).unwrap_or(date)
        }
    }
}

/// The first day of the calendar unit after the one that starts on `unit_start`.
fn next_unit(cadence: Cadence, unit_start: NaiveDate) -> Option<NaiveDate> {
    match cadence {
        Cadence::Weekly => unit_start.checked_add_days(Days::new(7)),
        Cadence::Monthly => unit_start.checked_add_months(Months::new(1)),
        Cadence::Quarterly => unit_start.checked_add_months(Months::new(3)),
    }
}

impl Schedule {
    fn period(&self, index: u32, start_date: NaiveDate, end_date: NaiveDate) -> Period {
        let after_end = end_date.succ_opt().unwrap_or(end_date);
        let due_date = end_date.checked_add_days(Days::new(u64::from(self.due_offset_days))).unwrap_or(end_date);
        let after_due = due_date.succ_opt().unwrap_or(due_date);
        Period {
            index,
            start_date,
            end_date,
            starts_at: local_midnight(start_date, self.timezone),
            ends_at: local_midnight(after_end, self.timezone),
            due_date,
            due_at: local_midnight(after_due, self.timezone),
        }
    }

    /// The local dates `(first, last)` of every period of the term, in order.
    pub fn spans(&self) -> Vec<(NaiveDate, NaiveDate)> {
        let mut spans = Vec::new();
        if self.end < self.start {
            return spans;
        }
        let mut start = self.start;
        loop {
            let next = next_unit(self.cadence, unit_start(self.cadence, start));
            let end = match next.and_then(|n| n.pred_opt()) {
                Some(unit_end) if unit_end < self.end => unit_end,
                _ => self.end,
            };
            spans.push((start, end));
            match end.succ_opt() {
                Some(following) if end < self.end => start = following,
                _ => break,
            }
        }
        spans
    }

    /// Every period of the term, in order.
    pub fn periods(&self) -> Vec<Period> {
        self.spans().into_iter().enumerate().map(|(i, (start, end))| self.period(i as u32, start, end)).collect()
    }

    /// The first days of the periods that are due by `now` (the same as the periods whose
    /// `is_late(now)` holds), found from local dates alone: a period is due once the local
    /// date at `now` is past its due date. Much cheaper than [`Schedule::periods`] for
    /// counting over many engagements.
    pub fn due_starts(&self, now: DateTime<Utc>) -> Vec<NaiveDate> {
        let today = now.with_timezone(&self.timezone).date_naive();
        self.spans()
            .into_iter()
            .take_while(|(_, end)| {
                end.checked_add_days(Days::new(u64::from(self.due_offset_days))).is_some_and(|due| due < today)
            })
            .map(|(start, _)| start)
            .collect()
    }

    /// The period that contains the local date `date`, if it falls within the term.
    pub fn period_of(&self, date: NaiveDate) -> Option<Period> {
        if date < self.start || date > self.end {
            return None;
        }
        self.periods().into_iter().find(|p| p.start_date <= date && date <= p.end_date)
    }

    /// The period running at `now`, if the term is under way.
    pub fn current(&self, now: DateTime<Utc>) -> Option<Period> {
        self.period_of(now.with_timezone(&self.timezone).date_naive())
    }

    /// The periods that have started by `now`.
    pub fn started(&self, now: DateTime<Utc>) -> Vec<Period> {
        self.periods().into_iter().filter(|p| p.has_started(now)).collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Timelike;
    use proptest::prelude::*;

    use super::*;

    const ZONES: [Tz; 4] =
        [chrono_tz::Europe::Madrid, chrono_tz::America::Bogota, chrono_tz::America::Mexico_City, chrono_tz::UTC];

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn schedule(cadence: Cadence, start: NaiveDate, end: NaiveDate, timezone: Tz) -> Schedule {
        Schedule { cadence, start, end, timezone, due_offset_days: 5 }
    }

    fn hours(p: &Period) -> i64 {
        (p.ends_at - p.starts_at).num_hours()
    }

    #[test]
    fn monthly_periods_follow_the_calendar_and_clip_to_the_term() {
        let s = schedule(Cadence::Monthly, d(2027, 1, 15), d(2027, 4, 10), chrono_tz::Europe::Madrid);
        let p = s.periods();
        let spans: Vec<_> = p.iter().map(|p| (p.start_date, p.end_date)).collect();
        assert_eq!(
            spans,
            [
                (d(2027, 1, 15), d(2027, 1, 31)),
                (d(2027, 2, 1), d(2027, 2, 28)),
                (d(2027, 3, 1), d(2027, 3, 31)),
                (d(2027, 4, 1), d(2027, 4, 10)),
            ]
        );
        assert_eq!(p[1].due_date, d(2027, 3, 5));
        // Madrid is UTC+1 in winter: the period starts at 23:00 UTC the day before.
        assert_eq!(p[1].starts_at, Utc.with_ymd_and_hms(2027, 1, 31, 23, 0, 0).unwrap());
        assert_eq!(p[1].due_at, Utc.with_ymd_and_hms(2027, 3, 5, 23, 0, 0).unwrap());
    }

    #[test]
    fn leap_years_and_month_ends() {
        let s = schedule(Cadence::Monthly, d(2028, 1, 31), d(2028, 3, 31), chrono_tz::UTC);
        let ends: Vec<_> = s.periods().iter().map(|p| p.end_date).collect();
        assert_eq!(ends, [d(2028, 1, 31), d(2028, 2, 29), d(2028, 3, 31)]);
        let s = schedule(Cadence::Monthly, d(2027, 2, 1), d(2027, 2, 28), chrono_tz::UTC);
        assert_eq!(s.periods().len(), 1);
        // A due offset that crosses a month end and a leap day.
        let s = Schedule {
            due_offset_days: 1,
            ..schedule(Cadence::Monthly, d(2028, 1, 1), d(2028, 2, 28), chrono_tz::UTC)
        };
        assert_eq!(s.periods()[0].due_date, d(2028, 2, 1));
        assert_eq!(s.periods()[1].due_date, d(2028, 2, 29));
    }

    #[test]
    fn quarters_and_iso_weeks() {
        let q = schedule(Cadence::Quarterly, d(2027, 2, 10), d(2027, 12, 31), chrono_tz::America::Bogota).periods();
        let starts: Vec<_> = q.iter().map(|p| p.start_date).collect();
        assert_eq!(starts, [d(2027, 2, 10), d(2027, 4, 1), d(2027, 7, 1), d(2027, 10, 1)]);
        // 2027-01-01 is a Friday: the first week is Friday to Sunday.
        let w = schedule(Cadence::Weekly, d(2027, 1, 1), d(2027, 1, 31), chrono_tz::UTC).periods();
        assert_eq!((w[0].start_date, w[0].end_date), (d(2027, 1, 1), d(2027, 1, 3)));
        assert_eq!((w[1].start_date, w[1].end_date), (d(2027, 1, 4), d(2027, 1, 10)));
        assert_eq!(w.last().unwrap().end_date, d(2027, 1, 31));
        assert_eq!(w.len(), 5);
    }

    #[test]
    fn daylight_saving_changes_in_madrid() {
        // Spring forward on 2027-03-28 and fall back on 2027-10-31.
        let s = schedule(Cadence::Monthly, d(2027, 1, 1), d(2027, 12, 31), chrono_tz::Europe::Madrid);
        let p = s.periods();
        assert_eq!(hours(&p[2]), 31 * 24 - 1, "March loses an hour");
        assert_eq!(hours(&p[9]), 31 * 24 + 1, "October gains one");
        assert_eq!(hours(&p[5]), 30 * 24);
        // Every period starts at local midnight.
        for period in &p {
            assert_eq!(period.starts_at.with_timezone(&chrono_tz::Europe::Madrid).hour(), 0);
        }
        let weeks = schedule(Cadence::Weekly, d(2027, 3, 22), d(2027, 4, 4), chrono_tz::Europe::Madrid).periods();
        assert_eq!(weeks.iter().map(hours).collect::<Vec<_>>(), [167, 168]);
    }

    #[test]
    fn bogota_and_mexico_city_keep_fixed_offsets() {
        for tz in [chrono_tz::America::Bogota, chrono_tz::America::Mexico_City] {
            let p = schedule(Cadence::Monthly, d(2027, 1, 1), d(2027, 12, 31), tz).periods();
            for period in &p {
                let days = (period.end_date - period.start_date).num_days() + 1;
                assert_eq!(hours(period), days * 24, "{tz} {}", period.start_date);
            }
            let offset = if tz == chrono_tz::America::Bogota { 5 } else { 6 };
            assert_eq!(p[0].starts_at, Utc.with_ymd_and_hms(2027, 1, 1, offset, 0, 0).unwrap());
        }
    }

    #[test]
    fn midnight_that_does_not_exist_starts_at_the_first_valid_instant() {
        // Santiago de Chile springs forward at local midnight (2027-09-05 00:00 → 01:00).
        let t = local_midnight(d(2027, 9, 5), chrono_tz::America::Santiago);
        assert_eq!(t.with_timezone(&chrono_tz::America::Santiago).hour(), 1);
        assert_eq!(t.with_timezone(&chrono_tz::America::Santiago).date_naive(), d(2027, 9, 5));
    }

    #[test]
    fn lateness_and_membership() {
        let s = schedule(Cadence::Monthly, d(2027, 1, 1), d(2027, 6, 30), chrono_tz::America::Bogota);
        let january = s.periods()[0];
        assert!(
            !january.is_late(Utc.with_ymd_and_hms(2027, 2, 6, 4, 59, 59).unwrap()),
            "23:59:59 in Bogotá on the 5th"
        );
        assert!(january.is_late(Utc.with_ymd_and_hms(2027, 2, 6, 5, 0, 0).unwrap()));
        assert_eq!(s.period_of(d(2027, 3, 31)).unwrap().index, 2);
        assert_eq!(s.period_of(d(2027, 7, 1)), None);
        let now = Utc.with_ymd_and_hms(2027, 3, 1, 4, 0, 0).unwrap(); // still 28 Feb in Bogotá
        assert_eq!(s.current(now).unwrap().index, 1);
        assert_eq!(s.started(now).len(), 2);
        assert!(schedule(Cadence::Weekly, d(2027, 2, 1), d(2027, 1, 1), chrono_tz::UTC).periods().is_empty());
    }

    fn arb_cadence() -> impl Strategy<Value = Cadence> {
        prop_oneof![Just(Cadence::Weekly), Just(Cadence::Monthly), Just(Cadence::Quarterly)]
    }

    proptest! {
        /// Periods tile the term exactly, in local dates and in UTC instants, and never
        /// cross a calendar unit.
        #[test]
        fn periods_tile_the_term(
            cadence in arb_cadence(),
            zone in 0usize..4,
            start_offset in 0u64..3000,
            length in 0u64..1200,
            due in 0u32..60,
        ) {
            let start = d(2024, 1, 1) + Days::new(start_offset);
            let end = start + Days::new(length);
            let s = Schedule { cadence, start, end, timezone: ZONES[zone], due_offset_days: due };
            let p = s.periods();
            prop_assert!(!p.is_empty());
            prop_assert_eq!(p[0].start_date, start);
            prop_assert_eq!(p.last().unwrap().end_date, end);
            for (i, period) in p.iter().enumerate() {
                prop_assert_eq!(period.index as usize, i);
                prop_assert!(period.start_date <= period.end_date);
                prop_assert!(period.starts_at < period.ends_at);
                prop_assert!(period.due_at >= period.ends_at);
                prop_assert_eq!((period.due_date - period.end_date).num_days(), i64::from(due));
                prop_assert_eq!(unit_start(cadence, period.start_date), unit_start(cadence, period.end_date));
                let days = (period.end_date - period.start_date).num_days() + 1;
                prop_assert!((hours(period) - days * 24).abs() <= 1, "off by more than a DST hour");
                if let Some(next) = p.get(i + 1) {
                    prop_assert_eq!(period.end_date.succ_opt().unwrap(), next.start_date);
                    prop_assert_eq!(period.ends_at, next.starts_at);
                    prop_assert_eq!(unit_start(cadence, next.start_date), next.start_date, "later periods start a unit");
                }
            }
            // Every day of the term belongs to exactly the period that says so.
            let probe = start + Days::new(length / 2);
            let found = s.period_of(probe).unwrap();
            prop_assert!(found.start_date <= probe && probe <= found.end_date);
        }

        /// The date-only shortcut for due periods agrees with the instants, at any time of
        /// day in every zone (DST nights included).
        #[test]
        fn due_starts_agree_with_is_late(
            cadence in arb_cadence(),
            zone in 0usize..4,
            length in 0u64..800,
            due in 0u32..60,
            minutes in 0i64..(900 * 24 * 60),
        ) {
            let start = d(2026, 1, 1);
            let s = Schedule { cadence, start, end: start + Days::new(length), timezone: ZONES[zone], due_offset_days: due };
            let now = Utc.with_ymd_and_hms(2025, 12, 20, 0, 0, 0).unwrap() + chrono::Duration::minutes(minutes);
            let by_instant: Vec<NaiveDate> =
                s.periods().iter().filter(|p| p.is_late(now)).map(|p| p.start_date).collect();
            prop_assert_eq!(s.due_starts(now), by_instant);
        }
    }
}
