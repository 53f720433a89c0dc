//! The month the content calendar shows: which instants it covers in the visitor's time
//! zone, its neighbours, and the items grouped by the local day they are planned for.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    /// Its first day.
    first: NaiveDate,
}

impl Month {
    /// The month of a day.
    pub fn of(day: NaiveDate) -> Self {
        Self { first: day.with_day(1).unwrap_or(day) }
    }

    /// `2026-03`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let (year, month) = text.trim().split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1).map(|first| Self { first })
    }

    pub fn year(self) -> i32 {
        self.first.year()
    }

    /// 1 to 12.
    pub fn number(self) -> u32 {
        self.first.month()
    }

    pub fn previous(self) -> Option<Self> {
        self.first.checked_sub_months(Months::new(1)).map(|first| Self { first })
    }

    pub fn next(self) -> Option<Self> {
        self.first.checked_add_months(Months::new(1)).map(|first| Self { first })
    }

    /// The instants the month covers in `tz`: from its first local midnight (inclusive) to the
    /// next month's (exclusive).
    pub fn bounds(self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = local_midnight(self.first, tz);
        let end = self.next().map_or(DateTime::<Utc>::MAX_UTC, |n| local_midnight(n.first, tz));
        (start, end)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.first.format("%Y-%m"))
    }
}

/// The first instant of a local day (a day that starts in a daylight-saving gap starts when
/// the gap ends).
fn local_midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=3)
        .find_map(|h| tz.from_local_datetime(&(midnight + chrono::Duration::hours(h))).earliest())
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

/// Items grouped by the local day of their instant, days in order, each day's items in the
/// order given.
pub fn by_day<T>(items: Vec<T>, tz: Tz, at: impl Fn(&T) -> DateTime<Utc>) -> BTreeMap<NaiveDate, Vec<T>> {
    let mut days: BTreeMap<NaiveDate, Vec<T>> = BTreeMap::new();
    for item in items {
        days.entry(at(&item).with_timezone(&tz).date_naive()).or_default().push(item);
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn months_parse_and_move() {
        let m = Month::parse("2026-03").unwrap();
        assert_eq!((m.year(), m.number()), (2026, 3));
        assert_eq!(Month::of(day("2026-03-01")), m);
        assert_eq!(m.to_string(), "2026-03");
        assert_eq!(m.previous().unwrap().to_string(), "2026-02");
        assert_eq!(Month::parse("2026-12").unwrap().next().unwrap().to_string(), "2027-01");
        assert_eq!(Month::of(day("2026-03-31")), m);
        for bad in ["2026-13", "2026-3", "march", "", "20260-01"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_month_is_bounded_by_local_midnights() {
        let madrid: Tz = "Europe/Madrid".parse().unwrap();
        let (from, to) = Month::parse("2026-03").unwrap().bounds(madrid);
        assert_eq!(from.to_rfc3339(), "2026-02-28T23:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-03-31T22:00:00+00:00", "summer time started in March");
    }

    #[test]
    fn items_fall_on_their_local_day() {
        let madrid: Tz = "Europe/Madrid".parse().unwrap();
        let items: Vec<DateTime<Utc>> =
            ["2026-03-04T23:30:00Z", "2026-03-04T10:00:00Z", "2026-03-05T08:00:00Z"].map(|t| t.parse().unwrap()).into();
        let days = by_day(items, madrid, |t| *t);
        let counts: Vec<(String, usize)> = days.iter().map(|(d, v)| (d.to_string(), v.len())).collect();
        assert_eq!(counts, [("2026-03-04".to_string(), 1), ("2026-03-05".to_string(), 2)]);
    }
}
