//! Digest timing (SPEC §3 Digest subscription, §6): when a subscription's next digest is due,
//! and which period it covers, in the recipient's time zone.
//!
//! Send times are local wall-clock times ("every Monday at 08:00 in Madrid"), so each one is
//! computed in the subscription's zone for its own date: a daylight-saving change moves the
//! UTC instant, never the local hour. A local time that does not exist that day (the spring
//! gap) is sent at the first valid instant after it; one that exists twice (the autumn
//! overlap) is sent at the first of the two. A monthly digest on a day the month lacks (the
//! 31st in April) goes out on the month's last day.
//!
//! A digest covers the days since the previous send date, as local dates: from the previous
//! send date (included) to its own send date (excluded). So consecutive digests tile time
//! exactly, with no day in two digests and none in neither: a daily digest covers the day
//! before, a weekly one the seven days before, a monthly one the days since the previous
//! month's send date (a digest on the 31st, sent on 28 February, covers 31 January to 27
//! February; the next, on 31 March, 28 February to 30 March). As instants, a period runs
//! from local midnight to local midnight ([`DigestPeriod::bounds`], half-open), so a
//! daylight-saving change makes it an hour shorter or longer, never overlapping the next.
//!
//! **After downtime** ([`DigestTiming::catch_up`]): a send missed by less than the catch-up
//! window goes out as usual. Beyond it, only the latest missed send of a subscription goes
//! out, marked as late, and only while it is younger than its own cadence (24 hours, 7 days,
//! one calendar month); every other missed send is skipped, and the skip is counted and told.

use chrono::{DateTime, Datelike, Days, Duration, Months, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::enums::string_enum;

/// How often a digest goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "every", rename_all = "snake_case", deny_unknown_fields)]
pub enum DigestCadence {
    Daily,
    Weekly {
        weekday: Weekday,
    },
    /// On this day of the month (1–31; the last day in months that lack it).
    Monthly {
        day: u32,
    },
}

string_enum! {
    /// A cadence without its day: what a metric label, a subject or an alert names.
    CadenceKind { Daily, Weekly, Monthly }
}

string_enum! {
    /// Why a due digest was not sent.
    SkipReason {
        /// Missed while no replica ran, beyond the catch-up window, and superseded by a later
        /// send or older than its cadence.
        Missed,
        /// It would have said exactly what the last one said (`skip_unchanged`).
        Unchanged,
        /// The recipient sees no reporting engagement.
        Empty,
        /// The recipient is deactivated or no longer a company user.
        NoRecipient,
    }
}

/// What to do with a due send instant, given how long ago it was due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Due within the catch-up window: sent as usual.
    OnTime,
    /// The latest send missed beyond the window, younger than its cadence: sent, marked late.
    Late,
    /// Sends missed beyond the window that are not sent: `count` of them, the first and the
    /// last due at `first` and `last`; the subscription moves on to `resume`.
    Skip { count: u32, first: DateTime<Utc>, last: DateTime<Utc>, resume: DateTime<Utc> },
}

impl utoipa::ToSchema for DigestCadence {}

/// Written by hand: the forms with fields are closed objects (serde refuses unknown fields
/// there, not beside the unit form `daily`), the weekday is
/// one of seven names (answers write them capitalised, "Mon") and the day of the month is 1
/// to 31, as the server checks them.
impl utoipa::PartialSchema for DigestCadence {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
        let form = |every: &str| {
            ObjectBuilder::new()
                .property("every", ObjectBuilder::new().schema_type(Type::String).enum_values(Some([every])))
                .required("every")
        };
        let closed = |form: ObjectBuilder| {
            form.additional_properties(Some(AdditionalProperties::<utoipa::openapi::schema::Schema>::FreeForm(false)))
        };
        let weekdays =
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let weekday = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(weekdays));
        let day = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(31))
            .description(Some("On this day of the month (the last day in months that lack it)."));
        OneOfBuilder::new()
            .description(Some("How often a digest goes out."))
            .item(form("daily"))
            .item(closed(form("weekly").property("weekday", weekday).required("weekday")))
            .item(closed(form("monthly").property("day", day).required("day")))
            .into()
    }
}

/// One subscription's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestTiming {
    pub cadence: DigestCadence,
    pub local_time: NaiveTime,
    pub timezone: Tz,
}

/// The local dates a digest covers, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
pub struct DigestPeriod {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl DigestPeriod {
    /// Whether the local date `date` falls in the period.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.end
    }

    /// The period as UTC instants `[from, to)`: local midnight at the start of its first day
    /// to local midnight after its last, in `tz`.
    pub fn bounds(&self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let after = self.end.succ_opt().unwrap_or(self.end);
        (super::period::local_midnight(self.start, tz), super::period::local_midnight(after, tz))
    }
}

impl DigestCadence {
    /// Whether a digest goes out on this local date.
    fn sends_on(self, date: NaiveDate) -> bool {
        match self {
            DigestCadence::Daily => true,
            DigestCadence::Weekly { weekday } => date.weekday() == weekday,
            DigestCadence::Monthly { day } => date.day() == day.min(last_day_of_month(date)),
        }
    }

    /// The latest send date strictly before `date` (whether or not a digest goes out on
    /// `date` itself).
    fn previous_send_date(self, date: NaiveDate) -> NaiveDate {
        let fallback = match self {
            DigestCadence::Daily => date.pred_opt(),
            DigestCadence::Weekly { .. } => date.checked_sub_days(Days::new(7)),
            DigestCadence::Monthly { .. } => date.checked_sub_months(Months::new(1)),
        };
        let mut day = date;
        // A monthly cadence sends at least once in any 31 consecutive days.
        for _ in 0..=62 {
            match day.pred_opt() {
                Some(before) => day = before,
                None => break,
            }
            if self.sends_on(day) {
                return day;
            }
        }
        fallback.unwrap_or(date)
    }

    pub fn kind(self) -> CadenceKind {
        match self {
            DigestCadence::Daily => CadenceKind::Daily,
            DigestCadence::Weekly { .. } => CadenceKind::Weekly,
            DigestCadence::Monthly { .. } => CadenceKind::Monthly,
        }
    }

    /// One cadence after `at`: 24 hours, 7 days, or the same instant a calendar month later
    /// (the month's last day when it is shorter), in UTC.
    fn one_after(self, at: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            DigestCadence::Daily => at + Duration::days(1),
            DigestCadence::Weekly { .. } => at + Duration::days(7),
            DigestCadence::Monthly { .. } => at.checked_add_months(Months::new(1)).unwrap_or(at + Duration::days(31)),
        }
    }

    pub fn validate(self) -> Result<Self, &'static str> {
        match self {
            DigestCadence::Monthly { day } if !(1..=31).contains(&day) => Err("the day of the month is 1 to 31"),
            other => Ok(other),
        }
    }
}

fn last_day_of_month(date: NaiveDate) -> u32 {
    let first = date.with_day(1).unwrap_or(date);
    first.checked_add_months(Months::new(1)).and_then(|next| next.pred_opt()).map_or(28, |d| d.day())
}

/// The UTC instant of `time` on local `date` in `tz`: the first valid instant at or after it
/// when it falls in a gap, the earlier one when it exists twice.
pub fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let wanted = date.and_time(time);
    for minutes in 0..=180 {
        if let Some(at) = tz.from_local_datetime(&(wanted + Duration::minutes(minutes))).earliest() {
            return at.with_timezone(&Utc);
        }
    }
    // No zone has a gap of three hours; fall back to reading the time as UTC.
    Utc.from_utc_datetime(&wanted)
}

impl DigestTiming {
    /// The first send instant strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> DateTime<Utc> {
        let mut date = after.with_timezone(&self.timezone).date_naive();
        // A monthly cadence sends at most once a month: two months of days always hold one.
        for _ in 0..=62 {
            if self.cadence.sends_on(date) {
                let at = local_instant(self.timezone, date, self.local_time);
                if at > after {
                    return at;
                }
            }
            date = date.succ_opt().unwrap_or(date);
        }
        after + Duration::days(1)
    }

    /// Every send instant in `(from, to]`, oldest first.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut at = self.next_after(from);
        while at <= to {
            out.push(at);
            at = self.next_after(at);
        }
        out
    }

    /// What becomes of the send due at `due_at` when a run sees it at `now`, with a catch-up
    /// `window` (see the module's "After downtime").
    pub fn catch_up(&self, due_at: DateTime<Utc>, now: DateTime<Utc>, window: Duration) -> CatchUp {
        let sendable_late = |at: DateTime<Utc>| self.next_after(at) > now && self.cadence.one_after(at) >= now;
        if now - due_at <= window {
            return CatchUp::OnTime;
        }
        if sendable_late(due_at) {
            return CatchUp::Late;
        }
        let (mut count, mut last, mut at) = (1_u32, due_at, self.next_after(due_at));
        // Skip up to the first send inside the window, or the latest if it may go late, or
        // past the latest when it is older than its cadence too.
        while at <= now && now - at > window && !sendable_late(at) {
            count = count.saturating_add(1);
            last = at;
            at = self.next_after(at);
        }
        CatchUp::Skip { count, first: due_at, last, resume: at }
    }

    /// The period a digest sent at `send_at` covers: from the previous send date (included)
    /// to its local send date (excluded).
    pub fn period_of(&self, send_at: DateTime<Utc>) -> DigestPeriod {
        let send_date = send_at.with_timezone(&self.timezone).date_naive();
        let end = send_date.pred_opt().unwrap_or(send_date);
        DigestPeriod { start: self.cadence.previous_send_date(send_date), end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn timing(cadence: DigestCadence, time: &str, tz: &str) -> DigestTiming {
        DigestTiming {
            cadence,
            local_time: NaiveTime::parse_from_str(time, "%H:%M").unwrap(),
            timezone: tz.parse().unwrap(),
        }
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn weekly_at_eight_in_madrid_keeps_the_local_hour_across_both_dst_changes() {
        let t = timing(DigestCadence::Weekly { weekday: Weekday::Mon }, "08:00", "Europe/Madrid");
        // Winter (UTC+1), then summer from 29 March 2026 (UTC+2), then winter from 25 October.
        let sends = t.between(at("2026-03-20T00:00:00Z"), at("2026-04-07T00:00:00Z"));
        assert_eq!(sends, [at("2026-03-23T07:00:00Z"), at("2026-03-30T06:00:00Z"), at("2026-04-06T06:00:00Z")]);
        let sends = t.between(at("2026-10-20T00:00:00Z"), at("2026-11-03T00:00:00Z"));
        assert_eq!(sends, [at("2026-10-26T07:00:00Z"), at("2026-11-02T07:00:00Z")]);
    }

    #[test]
    fn a_local_time_in_the_spring_gap_goes_at_the_first_valid_instant_and_the_autumn_overlap_at_the_first() {
        let gap = timing(DigestCadence::Daily, "02:30", "Europe/Madrid");
        // 29 March 2026: 02:00 → 03:00, so 02:30 does not exist; 03:00 local is 01:00 UTC.
        assert_eq!(gap.next_after(at("2026-03-28T12:00:00Z")), at("2026-03-29T01:00:00Z"));
        // 25 October 2026: 03:00 → 02:00, so 02:30 exists twice; the first is 00:30 UTC.
        assert_eq!(gap.next_after(at("2026-10-24T12:00:00Z")), at("2026-10-25T00:30:00Z"));
        // Exactly one send per day across both changes.
        assert_eq!(gap.between(at("2026-03-27T12:00:00Z"), at("2026-03-31T12:00:00Z")).len(), 4);
        assert_eq!(gap.between(at("2026-10-23T12:00:00Z"), at("2026-10-27T12:00:00Z")).len(), 4);
    }

    #[test]
    fn bogota_has_no_dst_so_the_offset_never_moves() {
        let t = timing(DigestCadence::Daily, "07:30", "America/Bogota");
        for day in t.between(at("2026-01-01T00:00:00Z"), at("2026-12-31T00:00:00Z")) {
            assert_eq!(day.format("%H:%M").to_string(), "12:30", "{day}");
        }
    }

    #[test]
    fn a_monthly_digest_on_the_31st_goes_out_on_each_months_last_day() {
        let t = timing(DigestCadence::Monthly { day: 31 }, "09:00", "Europe/Madrid");
        let days: Vec<NaiveDate> = t
            .between(at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))
            .iter()
            .map(|d| d.with_timezone(&t.timezone).date_naive())
            .collect();
        assert_eq!(days.len(), 12);
        assert_eq!(&days[..4], [date("2026-01-31"), date("2026-02-28"), date("2026-03-31"), date("2026-04-30")]);
        let leap = t.next_after(at("2028-02-01T00:00:00Z"));
        assert_eq!(leap.with_timezone(&t.timezone).date_naive(), date("2028-02-29"));
    }

    #[test]
    fn periods_are_what_ended_before_the_send_date() {
        let daily = timing(DigestCadence::Daily, "08:00", "Europe/Madrid");
        // 00:30 local on 1 March is still 28 February in UTC: the local date decides.
        let send = daily.next_after(at("2026-02-28T22:00:00Z"));
        assert_eq!(daily.period_of(send), DigestPeriod { start: date("2026-02-28"), end: date("2026-02-28") });
        let weekly = timing(DigestCadence::Weekly { weekday: Weekday::Mon }, "08:00", "Europe/Madrid");
        let send = weekly.next_after(at("2026-03-27T00:00:00Z"));
        assert_eq!(weekly.period_of(send), DigestPeriod { start: date("2026-03-23"), end: date("2026-03-29") });
        let monthly = timing(DigestCadence::Monthly { day: 1 }, "08:00", "Europe/Madrid");
        let send = monthly.next_after(at("2026-02-15T00:00:00Z"));
        assert_eq!(monthly.period_of(send), DigestPeriod { start: date("2026-02-01"), end: date("2026-02-28") });
        // A monthly digest on the 15th covers the month before it: 15 February to 14 March.
        let mid = timing(DigestCadence::Monthly { day: 15 }, "08:00", "Europe/Madrid");
        let send = mid.next_after(at("2026-03-01T00:00:00Z"));
        assert_eq!(mid.period_of(send), DigestPeriod { start: date("2026-02-15"), end: date("2026-03-14") });
        // On the 31st, in a short month: sent on 30 April, covering 31 March to 29 April.
        let last = timing(DigestCadence::Monthly { day: 31 }, "08:00", "Europe/Madrid");
        let send = last.next_after(at("2026-04-01T00:00:00Z"));
        assert_eq!(last.period_of(send), DigestPeriod { start: date("2026-03-31"), end: date("2026-04-29") });
    }

    /// The periods of the sends in `[from, to)`, in order.
    fn periods(t: &DigestTiming, from: &str, to: &str) -> Vec<DigestPeriod> {
        t.between(at(from), at(to)).into_iter().map(|s| t.period_of(s)).collect()
    }

    fn assert_tiles(t: &DigestTiming, ps: &[DigestPeriod]) {
        for pair in ps.windows(2) {
            assert_eq!(pair[0].end.succ_opt().unwrap(), pair[1].start, "{pair:?}");
            assert_eq!(pair[0].bounds(t.timezone).1, pair[1].bounds(t.timezone).0, "{pair:?}");
        }
        for p in ps {
            assert!(p.start <= p.end, "{p:?}");
        }
    }

    #[test]
    fn monthly_periods_on_the_31st_tile_time_through_short_months() {
        let t = timing(DigestCadence::Monthly { day: 31 }, "09:00", "Europe/Madrid");
        let ps = periods(&t, "2026-01-01T00:00:00Z", "2026-05-01T00:00:00Z");
        assert_eq!(
            ps,
            [
                DigestPeriod { start: date("2025-12-31"), end: date("2026-01-30") },
                DigestPeriod { start: date("2026-01-31"), end: date("2026-02-27") },
                DigestPeriod { start: date("2026-02-28"), end: date("2026-03-30") },
                DigestPeriod { start: date("2026-03-31"), end: date("2026-04-29") },
            ]
        );
        // 28–30 January are in one digest only.
        for day in ["2026-01-28", "2026-01-29", "2026-01-30"] {
            assert_eq!(ps.iter().filter(|p| p.contains(date(day))).count(), 1, "{day}");
        }
        // A leap year: sent on 29 February 2028, covering 31 January to 28 February.
        let leap = periods(&t, "2028-01-15T00:00:00Z", "2028-04-01T00:00:00Z");
        assert_eq!(leap[1], DigestPeriod { start: date("2028-01-31"), end: date("2028-02-28") });
        assert_eq!(leap[2], DigestPeriod { start: date("2028-02-29"), end: date("2028-03-30") });
        assert_tiles(&t, &leap);
        // On the 29th and 30th too, through a February without them.
        for day in [29, 30] {
            let t = timing(DigestCadence::Monthly { day }, "09:00", "Europe/Madrid");
            assert_tiles(&t, &periods(&t, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"));
        }
    }

    #[test]
    fn periods_tile_time_across_both_dst_changes_in_madrid() {
        let tz: Tz = "Europe/Madrid".parse().unwrap();
        for cadence in [
            DigestCadence::Daily,
            DigestCadence::Weekly { weekday: Weekday::Sun },
            DigestCadence::Monthly { day: 31 },
            DigestCadence::Monthly { day: 1 },
        ] {
            // 02:30 does not exist on 29 March 2026 and happens twice on 25 October.
            let t = timing(cadence, "02:30", "Europe/Madrid");
            let ps = periods(&t, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
            assert_tiles(&t, &ps);
            // The whole year lies in exactly the periods' instants, with no hour twice.
            let covered: i64 = ps.iter().map(|p| (p.bounds(tz).1 - p.bounds(tz).0).num_hours()).sum();
            let (from, to) = (ps[0].bounds(tz).0, ps.last().unwrap().bounds(tz).1);
            assert_eq!(covered, (to - from).num_hours(), "{cadence:?}");
        }
        // The daily period of 29 March is 23 hours long; that of 25 October, 25.
        let daily = timing(DigestCadence::Daily, "08:00", "Europe/Madrid");
        let spring = daily.period_of(daily.next_after(at("2026-03-29T12:00:00Z")));
        assert_eq!(spring, DigestPeriod { start: date("2026-03-29"), end: date("2026-03-29") });
        let (from, to) = spring.bounds(tz);
        assert_eq!((from, (to - from).num_hours()), (at("2026-03-28T23:00:00Z"), 23));
        let autumn = daily.period_of(daily.next_after(at("2026-10-25T12:00:00Z")));
        let (from, to) = autumn.bounds(tz);
        assert_eq!((from, (to - from).num_hours()), (at("2026-10-24T22:00:00Z"), 25));
    }

    #[test]
    fn after_three_days_down_the_latest_weekly_and_monthly_go_late_and_the_rest_are_skipped() {
        let window = Duration::hours(12);
        let now = at("2026-12-03T12:00:00Z");
        // Daily at 08:00 in Madrid (07:00 UTC): this morning's is within the window, so the
        // three before it are skipped and it goes out as usual.
        let daily = timing(DigestCadence::Daily, "08:00", "Europe/Madrid");
        assert_eq!(
            daily.catch_up(at("2026-11-30T07:00:00Z"), now, window),
            CatchUp::Skip {
                count: 3,
                first: at("2026-11-30T07:00:00Z"),
                last: at("2026-12-02T07:00:00Z"),
                resume: at("2026-12-03T07:00:00Z")
            }
        );
        assert_eq!(daily.catch_up(at("2026-12-03T07:00:00Z"), now, window), CatchUp::OnTime);
        // Weekly on Mondays: Monday's is the latest, three days old: late. The one of the
        // Monday before is superseded by it.
        let weekly = timing(DigestCadence::Weekly { weekday: Weekday::Mon }, "08:00", "Europe/Madrid");
        assert_eq!(weekly.catch_up(at("2026-11-30T07:00:00Z"), now, window), CatchUp::Late);
        assert_eq!(
            weekly.catch_up(at("2026-11-23T07:00:00Z"), now, window),
            CatchUp::Skip {
                count: 1,
                first: at("2026-11-23T07:00:00Z"),
                last: at("2026-11-23T07:00:00Z"),
                resume: at("2026-11-30T07:00:00Z")
            }
        );
        let monthly = timing(DigestCadence::Monthly { day: 1 }, "08:00", "Europe/Madrid");
        assert_eq!(monthly.catch_up(at("2026-12-01T07:00:00Z"), now, window), CatchUp::Late);
        // Within the window, nothing is late.
        assert_eq!(weekly.catch_up(at("2026-11-30T07:00:00Z"), at("2026-11-30T18:00:00Z"), window), CatchUp::OnTime);
    }

    #[test]
    fn a_missed_digest_older_than_its_cadence_is_skipped_even_when_it_is_the_latest() {
        let window = Duration::hours(12);
        // On the 31st at 09:00 in Madrid: 28 February's is more than a calendar month old on
        // 30 March, so it is skipped and the subscription waits for 31 March.
        let monthly = timing(DigestCadence::Monthly { day: 31 }, "09:00", "Europe/Madrid");
        let feb = at("2026-02-28T08:00:00Z");
        assert_eq!(
            monthly.catch_up(feb, at("2026-03-30T12:00:00Z"), window),
            CatchUp::Skip { count: 1, first: feb, last: feb, resume: at("2026-03-31T07:00:00Z") }
        );
        assert_eq!(monthly.catch_up(feb, at("2026-03-27T12:00:00Z"), window), CatchUp::Late);
        // The autumn change makes 24–25 October 25 hours long: 24 October's daily digest is
        // late until 24 hours have passed, then skipped for the one due half an hour later.
        let daily = timing(DigestCadence::Daily, "08:00", "Europe/Madrid");
        let sat = at("2026-10-24T06:00:00Z");
        assert_eq!(daily.catch_up(sat, at("2026-10-25T05:30:00Z"), window), CatchUp::Late);
        assert_eq!(
            daily.catch_up(sat, at("2026-10-25T06:30:00Z"), window),
            CatchUp::Skip { count: 1, first: sat, last: sat, resume: at("2026-10-25T07:00:00Z") }
        );
        // A month down: every weekly send but the latest is skipped in one step.
        let weekly = timing(DigestCadence::Weekly { weekday: Weekday::Mon }, "08:00", "Europe/Madrid");
        match weekly.catch_up(at("2026-11-02T07:00:00Z"), at("2026-12-03T12:00:00Z"), window) {
            CatchUp::Skip { count, resume, .. } => assert_eq!((count, resume), (4, at("2026-11-30T07:00:00Z"))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_day_of_a_monthly_cadence_is_checked() {
        assert!(DigestCadence::Monthly { day: 0 }.validate().is_err());
        assert!(DigestCadence::Monthly { day: 32 }.validate().is_err());
        assert!(DigestCadence::Monthly { day: 31 }.validate().is_ok());
        let parsed: DigestCadence = serde_json::from_str(r#"{"every": "weekly", "weekday": "Mon"}"#).unwrap();
        assert_eq!(parsed, DigestCadence::Weekly { weekday: Weekday::Mon });
    }
}
