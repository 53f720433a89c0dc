//! Reporting periods: the calendar slices of an engagement's term in which the agency
//! reports, each with a due date; and the one definition of a *missing* and a *late* report.
//!
//! Periods follow the calendar of the engagement's time zone: ISO weeks (Monday to Sunday),
//! calendar months or calendar quarters, clipped to the term. No period is shorter than half
//! its calendar unit: a first or last stub shorter than that (a monthly contract starting on
//! 31 January, a weekly one ending on a Tuesday) joins its neighbour, so the first period of
//! a contract starting on 31 January runs to the end of February. Only a term that is itself
//! that short has a shorter period (its only one).
//!
//! A period's report is due on its **due date**, `due_offset_days` after the period's last
//! day, a calendar date in the engagement's time zone ([`Schedule::due_date`]): on time until
//! the end of that day, late from the next local midnight on. The due date is what every
//! surface shows; no instant is derived from it for display.
//!
//! *Missing*: the period ended, its due date has passed, and no report of it was submitted.
//! *Late*: a report submitted after its period's due date. [`Schedule::tally`] counts both
//! for alerts, the renewal packet, the portfolio and the dashboard alike. A report counts for
//! the period that contains its first day, so reports filed under the periods of an earlier
//! rule (a one-day stub since merged into its neighbour) still count for the period that
//! now covers them.
//!
//! Instants are the engagement's local midnights expressed in UTC, so a period that contains
//! a daylight-saving change is an hour shorter or longer than its days times 24 hours.

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
    /// The last day on which the report is on time, local date (see [`Schedule::due_date`]).
    pub due_date: NaiveDate,
    /// The engagement's time zone, which decides when the due date has passed.
    #[serde(skip)]
    timezone: Tz,
}

/// Where a period's report stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// The due date has not passed, and nothing is submitted yet.
    NotDue,
    /// Submitted by the due date (or before it, while the period runs).
    Reported,
    /// Submitted after the due date.
    Late,
    /// The due date has passed and nothing is submitted.
    Missing,
}

/// A submitted report as the counts see it: the first day of the period it was filed under,
/// and whether it came after the due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    pub period_start: NaiveDate,
    pub late: bool,
}

/// The missing and late reports of a term at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tally {
    /// Periods whose due date has passed.
    pub due: u32,
    /// The `(first, last)` days of the missing periods, oldest first.
    pub missing: Vec<(NaiveDate, NaiveDate)>,
    /// Periods whose report was submitted after the due date.
    pub late: u32,
}

impl Tally {
    pub fn missing_count(&self) -> u32 {
        u32::try_from(self.missing.len()).unwrap_or(u32::MAX)
    }
}

/// Whether a due date has passed on the local date `today`: the report was due by the end
/// of `due_date`.
pub fn is_past(due_date: NaiveDate, today: NaiveDate) -> bool {
    today > due_date
}

/// Where a period's report stands, from whether (and how) it was submitted: `None` for
/// nothing submitted, `Some(late)` for a submission. The one place *missing* and *late* are
/// decided.
pub fn standing(due_date: NaiveDate, submitted: Option<bool>, today: NaiveDate) -> Standing {
    match submitted {
        Some(true) => Standing::Late,
        Some(false) => Standing::Reported,
        None if is_past(due_date, today) => Standing::Missing,
        None => Standing::NotDue,
    }
}

impl Period {
    /// Whether the period has begun at `now` (reports may be submitted once it has).
    pub fn has_started(&self, now: DateTime<Utc>) -> bool {
        now >= self.starts_at
    }

    /// Whether the due date has passed at `at`: a report submitted then is late, and a
    /// period with nothing submitted by then is missing.
    pub fn is_late(&self, at: DateTime<Utc>) -> bool {
        is_past(self.due_date, at.with_timezone(&self.timezone).date_naive())
    }

    /// The first instant at which the due date has passed (the local midnight after it, in
    /// UTC): for scheduling and tests only, never shown (surfaces show [`Period::due_date`]).
    pub fn late_from(&self) -> DateTime<Utc> {
        local_midnight(self.due_date.succ_opt().unwrap_or(self.due_date), self.timezone)
    }

    /// Where the period's report stands at `now` (see [`standing`]).
    pub fn standing(&self, submitted: Option<bool>, now: DateTime<Utc>) -> Standing {
        standing(self.due_date, submitted, now.with_timezone(&self.timezone).date_naive())
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

/// How many days the calendar unit containing `date` has (7; 28 to 31; 90 to 92).
fn unit_days(cadence: Cadence, date: NaiveDate) -> i64 {
    let start = unit_start(cadence, date);
    next_unit(cadence, start).map_or(7, |next| (next - start).num_days())
}

fn days_in(span: (NaiveDate, NaiveDate)) -> i64 {
    (span.1 - span.0).num_days() + 1
}

impl Schedule {
    fn period(&self, index: u32, start_date: NaiveDate, end_date: NaiveDate) -> Period {
        let after_end = end_date.succ_opt().unwrap_or(end_date);
        Period {
            index,
            start_date,
            end_date,
            starts_at: local_midnight(start_date, self.timezone),
            ends_at: local_midnight(after_end, self.timezone),
            due_date: self.due_date(end_date),
            timezone: self.timezone,
        }
    }

    /// The due date of the period whose last day is `end_date`: `due_offset_days` later, a
    /// calendar date in the engagement's time zone. Every surface (pages, portal, digest,
    /// alerts, API) shows this date, formatted by `present::format::date`.
    pub fn due_date(&self, end_date: NaiveDate) -> NaiveDate {
        end_date.checked_add_days(Days::new(u64::from(self.due_offset_days))).unwrap_or(end_date)
    }

    /// The local date at `now` in the engagement's time zone.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.timezone).date_naive()
    }

    /// The calendar units of the term, clipped to it, before any stub is merged.
    fn calendar_spans(&self) -> Vec<(NaiveDate, NaiveDate)> {
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

    /// Whether a span is a stub too short to stand alone: under half its calendar unit.
    fn too_short(&self, span: (NaiveDate, NaiveDate)) -> bool {
        2 * days_in(span) < unit_days(self.cadence, span.0)
    }

    /// The local dates `(first, last)` of every period of the term, in order: the calendar
    /// units clipped to the term, with a first or last stub shorter than half its unit
    /// merged into its neighbour.
    pub fn spans(&self) -> Vec<(NaiveDate, NaiveDate)> {
        let mut spans = self.calendar_spans();
        if spans.len() >= 2 && self.too_short(spans[0]) {
            let (start, _) = spans.remove(0);
            spans[0].0 = start;
        }
        if spans.len() >= 2
            && spans.last().is_some_and(|last| self.too_short(*last))
            && let Some((_, end)) = spans.pop()
            && let Some(previous) = spans.last_mut()
        {
            previous.1 = end;
        }
        spans
    }

    /// Every period of the term, in order.
    pub fn periods(&self) -> Vec<Period> {
        self.spans().into_iter().enumerate().map(|(i, (start, end))| self.period(i as u32, start, end)).collect()
    }

    /// The first days of the periods that are due by `now` (the same as the periods whose
    /// `is_late(now)` holds), found from local dates alone. Much cheaper than
    /// [`Schedule::periods`] for counting over many engagements.
    pub fn due_starts(&self, now: DateTime<Utc>) -> Vec<NaiveDate> {
        let today = self.today(now);
        self.spans()
            .into_iter()
            .take_while(|(_, end)| is_past(self.due_date(*end), today))
            .map(|(start, _)| start)
            .collect()
    }

    /// The index in `spans` (as [`Schedule::spans`] gives them) of the span that contains
    /// `date`, if any.
    pub fn index_in(spans: &[(NaiveDate, NaiveDate)], date: NaiveDate) -> Option<usize> {
        let i = spans.partition_point(|(start, _)| *start <= date).checked_sub(1)?;
        (date <= spans[i].1).then_some(i)
    }

    /// Per span, what was submitted for it: `None` for nothing, `Some(late)` otherwise (late
    /// when any of its submissions came late; a period holds two only when filed under an
    /// earlier rule's periods).
    fn submissions(
        spans: &[(NaiveDate, NaiveDate)],
        submitted: impl IntoIterator<Item = Submitted>,
    ) -> Vec<Option<bool>> {
        let mut per_span = vec![None; spans.len()];
        for s in submitted {
            if let Some(i) = Self::index_in(spans, s.period_start) {
                per_span[i] = Some(per_span[i].unwrap_or(false) || s.late);
            }
        }
        per_span
    }

    /// The missing and late reports at `now`, from the submitted reports of the engagement
    /// (see the module documentation for the definitions).
    pub fn tally(&self, submitted: impl IntoIterator<Item = Submitted>, now: DateTime<Utc>) -> Tally {
        let today = self.today(now);
        let spans = self.spans();
        let per_span = Self::submissions(&spans, submitted);
        let mut tally = Tally::default();
        for (span, sub) in spans.iter().zip(per_span) {
            let due_date = self.due_date(span.1);
            if is_past(due_date, today) {
                tally.due += 1;
            }
            match standing(due_date, sub, today) {
                Standing::Missing => tally.missing.push(*span),
                Standing::Late => tally.late += 1,
                Standing::Reported | Standing::NotDue => {}
            }
        }
        tally
    }

    /// Every period with where its report stands at `now`, from the submitted reports.
    pub fn standings(
        &self,
        submitted: impl IntoIterator<Item = Submitted>,
        now: DateTime<Utc>,
    ) -> Vec<(Period, Standing)> {
        let periods = self.periods();
        let spans: Vec<_> = periods.iter().map(|p| (p.start_date, p.end_date)).collect();
        let per_span = Self::submissions(&spans, submitted);
        periods.into_iter().zip(per_span).map(|(p, sub)| (p, p.standing(sub, now))).collect()
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
        self.period_of(self.today(now))
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
                // 10 days of April's 30 are less than half: they join March.
                (d(2027, 3, 1), d(2027, 4, 10)),
            ]
        );
        assert_eq!(p[1].due_date, d(2027, 3, 5));
        // Madrid is UTC+1 in winter: the period starts at 23:00 UTC the day before.
        assert_eq!(p[1].starts_at, Utc.with_ymd_and_hms(2027, 1, 31, 23, 0, 0).unwrap());
        // On time until the end of 5 March in Madrid, late from local midnight on.
        assert!(!p[1].is_late(Utc.with_ymd_and_hms(2027, 3, 5, 22, 59, 59).unwrap()));
        assert!(p[1].is_late(Utc.with_ymd_and_hms(2027, 3, 5, 23, 0, 0).unwrap()));
    }

    #[test]
    fn a_monthly_contract_starting_on_the_31st_has_no_one_day_period() {
        let s = schedule(Cadence::Monthly, d(2027, 1, 31), d(2027, 12, 31), chrono_tz::Europe::Madrid);
        let p = s.periods();
        assert_eq!((p[0].start_date, p[0].end_date, p[0].due_date), (d(2027, 1, 31), d(2027, 2, 28), d(2027, 3, 5)));
        assert_eq!(p[1].start_date, d(2027, 3, 1));
        assert_eq!(p.len(), 11);
        // Nothing is owed on 5 February any more.
        let feb_6 = Utc.with_ymd_and_hms(2027, 2, 6, 12, 0, 0).unwrap();
        assert_eq!(s.tally([], feb_6).missing_count(), 0);
    }

    #[test]
    fn short_stubs_join_their_neighbour_and_long_ones_stand() {
        let spans = |c, a, b| schedule(c, a, b, chrono_tz::UTC).spans();
        // A term ending on 3 December: the three days join November.
        assert_eq!(
            spans(Cadence::Monthly, d(2027, 10, 1), d(2027, 12, 3)),
            [(d(2027, 10, 1), d(2027, 10, 31)), (d(2027, 11, 1), d(2027, 12, 3))]
        );
        // 16 of January's 31 days is more than half: January's stub stands.
        assert_eq!(spans(Cadence::Monthly, d(2027, 1, 16), d(2027, 2, 28)).len(), 2);
        // 15 of 31 is less than half: it joins February.
        assert_eq!(spans(Cadence::Monthly, d(2027, 1, 17), d(2027, 2, 28)), [(d(2027, 1, 17), d(2027, 2, 28))]);
        // 14 of February's 28 days is exactly half: it stands.
        assert_eq!(spans(Cadence::Monthly, d(2027, 2, 15), d(2027, 3, 31)).len(), 2);
        // Weeks: a Friday-to-Sunday start (3 days) joins the next week; Thursday (4) stands.
        assert_eq!(spans(Cadence::Weekly, d(2027, 1, 1), d(2027, 1, 17))[0], (d(2027, 1, 1), d(2027, 1, 10)));
        assert_eq!(spans(Cadence::Weekly, d(2026, 12, 31), d(2027, 1, 17))[0], (d(2026, 12, 31), d(2027, 1, 3)));
        // Quarters: 20 days of the first quarter join the second.
        assert_eq!(spans(Cadence::Quarterly, d(2027, 3, 12), d(2027, 9, 30))[0], (d(2027, 3, 12), d(2027, 6, 30)));
        // Both ends short and nothing between: one period, the whole term.
        assert_eq!(spans(Cadence::Monthly, d(2027, 1, 25), d(2027, 2, 5)), [(d(2027, 1, 25), d(2027, 2, 5))]);
        // A term shorter than half a month is one short period.
        assert_eq!(spans(Cadence::Monthly, d(2027, 1, 31), d(2027, 1, 31)), [(d(2027, 1, 31), d(2027, 1, 31))]);
    }

    #[test]
    fn missing_and_late_have_one_definition() {
        let s = schedule(Cadence::Monthly, d(2027, 1, 1), d(2027, 12, 31), chrono_tz::Europe::Madrid);
        // 20 August: January to July are due (July's due date was 5 August).
        let now = Utc.with_ymd_and_hms(2027, 8, 20, 12, 0, 0).unwrap();
        let on_time = |m| Submitted { period_start: d(2027, m, 1), late: false };
        let submitted = [
            on_time(1),
            Submitted { period_start: d(2027, 2, 1), late: true },
            // August is not due yet but already reported: it is subtracted from nothing.
            on_time(8),
            // And September, whatever the day (the counts do not judge that).
            on_time(9),
        ];
        let t = s.tally(submitted, now);
        assert_eq!(t.due, 7);
        assert_eq!(t.late, 1);
        assert_eq!(t.missing.iter().map(|(start, _)| start.month()).collect::<Vec<_>>(), [3, 4, 5, 6, 7]);
        let standings: Vec<Standing> = s.standings(submitted, now).into_iter().map(|(_, st)| st).take(9).collect();
        assert_eq!(
            standings,
            [
                Standing::Reported,
                Standing::Late,
                Standing::Missing,
                Standing::Missing,
                Standing::Missing,
                Standing::Missing,
                Standing::Missing,
                Standing::Reported,
                Standing::Reported,
            ]
        );
        // A report filed under a period of an earlier rule (a stub since merged) counts for
        // the period that covers it now.
        let merged = schedule(Cadence::Monthly, d(2027, 1, 31), d(2027, 6, 30), chrono_tz::UTC);
        let old_february = Submitted { period_start: d(2027, 2, 1), late: false };
        let t = merged.tally([old_february], Utc.with_ymd_and_hms(2027, 3, 20, 0, 0, 0).unwrap());
        assert_eq!((t.due, t.missing_count()), (1, 0));
    }

    #[test]
    fn leap_years_and_month_ends() {
        let s = schedule(Cadence::Monthly, d(2028, 1, 1), d(2028, 3, 31), chrono_tz::UTC);
        let ends: Vec<_> = s.periods().iter().map(|p| p.end_date).collect();
        assert_eq!(ends, [d(2028, 1, 31), d(2028, 2, 29), d(2028, 3, 31)]);
        // The one-day stub of 31 January joins the leap February.
        let s = schedule(Cadence::Monthly, d(2028, 1, 31), d(2028, 3, 31), chrono_tz::UTC);
        let ends: Vec<_> = s.periods().iter().map(|p| p.end_date).collect();
        assert_eq!(ends, [d(2028, 2, 29), d(2028, 3, 31)]);
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
        // 2027-01-01 is a Friday: the Friday-to-Sunday stub joins the first full week.
        let w = schedule(Cadence::Weekly, d(2027, 1, 1), d(2027, 1, 31), chrono_tz::UTC).periods();
        assert_eq!((w[0].start_date, w[0].end_date), (d(2027, 1, 1), d(2027, 1, 10)));
        assert_eq!((w[1].start_date, w[1].end_date), (d(2027, 1, 11), d(2027, 1, 17)));
        assert_eq!(w.last().unwrap().end_date, d(2027, 1, 31));
        assert_eq!(w.len(), 4);
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

    /// The fewest days half a unit of the cadence can be (half the shortest week, month,
    /// quarter, rounded up).
    fn half_cadence(cadence: Cadence) -> i64 {
        match cadence {
            Cadence::Weekly => 4,
            Cadence::Monthly => 14,
            Cadence::Quarterly => 45,
        }
    }

    proptest! {
        /// Periods tile the term exactly (no gap, no overlap), in local dates and in UTC
        /// instants; none is shorter than half its cadence unless the whole term is; a
        /// period holds at most one calendar unit and a merged stub.
        #[test]
        fn periods_tile_the_term(
            cadence in arb_cadence(),
            zone in 0usize..4,
            start_offset in 0u64..3000,
            length in 0u64..1200,
            due in 0u32..60,
            probe in 0u64..1200,
        ) {
            let start = d(2024, 1, 1) + Days::new(start_offset);
            let end = start + Days::new(length);
            let s = Schedule { cadence, start, end, timezone: ZONES[zone], due_offset_days: due };
            let p = s.periods();
            prop_assert!(!p.is_empty());
            prop_assert_eq!(p[0].start_date, start);
            prop_assert_eq!(p.last().unwrap().end_date, end);
            let whole_term = days_in((start, end));
            for (i, period) in p.iter().enumerate() {
                prop_assert_eq!(period.index as usize, i);
                prop_assert!(period.start_date <= period.end_date);
                prop_assert!(period.starts_at < period.ends_at);
                prop_assert_eq!((period.due_date - period.end_date).num_days(), i64::from(due));
                prop_assert!(period.is_late(period.late_from()));
                prop_assert!(!period.is_late(period.late_from() - chrono::Duration::seconds(1)));
                prop_assert!(period.late_from() >= period.ends_at);
                let days = days_in((period.start_date, period.end_date));
                prop_assert!((hours(period) - days * 24).abs() <= 1, "off by more than a DST hour");
                if p.len() > 1 {
                    prop_assert!(days >= half_cadence(cadence), "{:?} is {} days", period, days);
                    prop_assert!(2 * days >= unit_days(cadence, period.start_date), "{:?} is {} days", period, days);
                } else {
                    prop_assert_eq!(days, whole_term);
                }
                // At most one unit plus a stub shorter than half of its own (unless the
                // period is the whole term: a stub at each end of one unit).
                let after_unit = next_unit(cadence, unit_start(cadence, period.start_date)).unwrap();
                if p.len() > 1 && period.end_date >= after_unit {
                    let beyond = next_unit(cadence, after_unit).unwrap();
                    prop_assert!(period.end_date < beyond, "{:?} crosses two unit ends", period);
                }
                if let Some(next) = p.get(i + 1) {
                    prop_assert_eq!(period.end_date.succ_opt().unwrap(), next.start_date);
                    prop_assert_eq!(period.ends_at, next.starts_at);
                    prop_assert_eq!(unit_start(cadence, next.start_date), next.start_date, "later periods start a unit");
                }
            }
            // Every day of the term belongs to exactly one period, which says so.
            let probe = start + Days::new(probe % (length + 1));
            let holding: Vec<_> = p.iter().filter(|x| x.start_date <= probe && probe <= x.end_date).collect();
            prop_assert_eq!(holding.len(), 1);
            prop_assert_eq!(s.period_of(probe), Some(*holding[0]));
            let spans = s.spans();
            prop_assert_eq!(Schedule::index_in(&spans, probe), Some(holding[0].index as usize));
        }

        /// The tally and the standings agree: every due period is missing or reported, and
        /// no period that is not due is missing.
        #[test]
        fn tally_and_standings_agree(
            cadence in arb_cadence(),
            length in 0u64..800,
            reported in proptest::collection::vec((0u64..800, any::<bool>()), 0..20),
            days_on in 0i64..900,
        ) {
            let start = d(2026, 1, 1);
            let s = schedule(cadence, start, start + Days::new(length), chrono_tz::Europe::Madrid);
            let submitted: Vec<Submitted> = reported
                .iter()
                .map(|(day, late)| Submitted { period_start: start + Days::new(*day), late: *late })
                .collect();
            let now = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap() + chrono::Duration::days(days_on);
            let t = s.tally(submitted.iter().copied(), now);
            let st = s.standings(submitted.iter().copied(), now);
            let count = |w: Standing| st.iter().filter(|(_, x)| *x == w).count();
            prop_assert_eq!(count(Standing::Missing), t.missing.len());
            prop_assert_eq!(count(Standing::Late) as u32, t.late);
            prop_assert_eq!(t.due as usize, st.iter().filter(|(p, _)| p.is_late(now)).count());
            prop_assert_eq!(t.due as usize, s.due_starts(now).len());
            for (p, x) in &st {
                prop_assert!(*x != Standing::Missing || p.is_late(now));
                prop_assert!(*x != Standing::NotDue || !p.is_late(now));
            }
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
