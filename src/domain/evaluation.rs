//! Judging reported values against their KPI (SPEC §3, Evaluation).
//!
//! - **green**: the value meets the target (for a band: lies within it);
//! - **amber**: it misses the target but has not reached the critical threshold;
//! - **red**: it is at or beyond the critical threshold;
//! - **grey**: nothing was reported.
//!
//! Separately, [`breach`] says which threshold a value has crossed: the warning threshold
//! marks amber values that deserve attention, the critical one marks red values. For a
//! band, both thresholds are distances outside the band.

use serde::Serialize;
use utoipa::ToSchema;

use super::enums::{Aggregation, KpiDirection, string_enum};

string_enum! {
    /// The colour of a value (stored in `report_values.status`); ordered from no data to worst.
    Status { Grey, Green, Amber, Red }
}

string_enum! {
    /// Which threshold a value has crossed (stored in `report_values.breach`).
    Breach { None, Warning, Critical }
}

/// The targets and thresholds of a KPI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub direction: KpiDirection,
    pub target: f64,
    /// Upper edge of the band, for `within_band`.
    pub target_upper: Option<f64>,
    pub warning: f64,
    pub critical: f64,
}

/// How far a value falls short of the target, in the KPI's direction (0 when it meets it).
fn shortfall(t: &Thresholds, value: f64) -> f64 {
    match t.direction {
        KpiDirection::HigherIsBetter => (t.target - value).max(0.0),
        KpiDirection::LowerIsBetter => (value - t.target).max(0.0),
        KpiDirection::WithinBand => {
            let upper = t.target_upper.unwrap_or(t.target);
            if value < t.target {
                t.target - value
            } else if value > upper {
                value - upper
            } else {
                0.0
            }
        }
    }
}

/// How far a value falls short of the target, relative to the target's size (0 when it meets
/// it): comparable across KPIs of different units, to tell which one is furthest off.
pub fn relative_shortfall(t: &Thresholds, value: f64) -> f64 {
    if !value.is_finite() {
        return 0.0;
    }
    shortfall(t, value) / t.target.abs().max(t.target_upper.unwrap_or(0.0).abs()).max(f64::EPSILON)
}

/// Whether `value` is at or beyond `threshold` in the bad direction.
fn crosses(t: &Thresholds, value: f64, threshold: f64) -> bool {
    match t.direction {
        KpiDirection::HigherIsBetter => value <= threshold,
        KpiDirection::LowerIsBetter => value >= threshold,
        KpiDirection::WithinBand => shortfall(t, value) >= threshold,
    }
}

pub fn status(t: &Thresholds, value: Option<f64>) -> Status {
    match value {
        None => Status::Grey,
        Some(v) if !v.is_finite() => Status::Grey,
        Some(v) if shortfall(t, v) == 0.0 => Status::Green,
        Some(v) if crosses(t, v, t.critical) => Status::Red,
        Some(_) => Status::Amber,
    }
}

pub fn breach(t: &Thresholds, value: f64) -> Breach {
    if shortfall(t, value) == 0.0 {
        Breach::None
    } else if crosses(t, value, t.critical) {
        Breach::Critical
    } else if crosses(t, value, t.warning) {
        Breach::Warning
    } else {
        Breach::None
    }
}

/// Combines the values of consecutive periods (in period order), ignoring missing ones.
pub fn aggregate(aggregation: Aggregation, values: &[Option<f64>]) -> Option<f64> {
    let present: Vec<f64> = values.iter().flatten().copied().filter(|v| v.is_finite()).collect();
    if present.is_empty() {
        return None;
    }
    Some(match aggregation {
        Aggregation::Sum => present.iter().sum(),
        Aggregation::Average => present.iter().sum::<f64>() / present.len() as f64,
        Aggregation::Last => present[present.len() - 1],
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema, strum::EnumIter)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Improving,
    Steady,
    Worsening,
    /// Not enough reported periods to tell.
    Unknown,
}

/// Relative change below which a KPI counts as steady.
pub const STEADY_TOLERANCE: f64 = 0.05;

/// The latest value against the mean of up to `window` earlier reported values, judged in
/// the KPI's direction (for a band: whether the value moved towards it). `values` are in
/// period order; missing periods are skipped.
pub fn trend(t: &Thresholds, values: &[Option<f64>], window: usize) -> Trend {
    let present: Vec<f64> = values.iter().flatten().copied().filter(|v| v.is_finite()).collect();
    let Some((&latest, earlier)) = present.split_last() else { return Trend::Unknown };
    if earlier.is_empty() || window == 0 {
        return Trend::Unknown;
    }
    let recent = &earlier[earlier.len().saturating_sub(window)..];
    let before = recent.iter().sum::<f64>() / recent.len() as f64;
    // Compare how far each is from good: less shortfall is better; for one-sided KPIs
    // that already meet the target, compare the raw values.
    let (then, now) = match t.direction {
        KpiDirection::HigherIsBetter => (-before, -latest),
        KpiDirection::LowerIsBetter => (before, latest),
        KpiDirection::WithinBand => (shortfall(t, before), shortfall(t, latest)),
    };
    let scale = before.abs().max(t.target.abs()).max(f64::EPSILON);
    let change = (then - now) / scale;
    if change > STEADY_TOLERANCE {
        Trend::Improving
    } else if change < -STEADY_TOLERANCE {
        Trend::Worsening
    } else {
        Trend::Steady
    }
}

/// An engagement's health at a glance: how many KPIs are in each status, and the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Health {
    pub green: u32,
    pub amber: u32,
    pub red: u32,
    pub grey: u32,
    /// Red if any KPI is red, else amber if any is amber, else green if any is green; grey
    /// when nothing was reported.
    pub overall: Status,
}

pub fn health(statuses: &[Status]) -> Health {
    let count = |s: Status| statuses.iter().filter(|x| **x == s).count() as u32;
    let overall = statuses.iter().copied().filter(|s| *s != Status::Grey).max().unwrap_or(Status::Grey);
    Health {
        green: count(Status::Green),
        amber: count(Status::Amber),
        red: count(Status::Red),
        grey: count(Status::Grey),
        overall,
    }
}

/// A KPI's current status: that of its latest reported period, unless a later period is
/// already due without a value, which makes it grey (the KPI is not being reported). Periods
/// are identified by their start date; a running period without a value says nothing.
pub fn latest_status<P: Ord>(last_reported: Option<(P, Status)>, last_due: Option<P>) -> Status {
    match (last_reported, last_due) {
        (Some((reported, status)), Some(due)) if reported >= due => status,
        (Some((_, status)), None) => status,
        _ => Status::Grey,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relative_shortfall_compares_kpis_of_different_sizes() {
        let t = |direction, target| Thresholds { direction, target, target_upper: None, warning: 0.0, critical: 0.0 };
        let reach = t(KpiDirection::HigherIsBetter, 500_000.0);
        let response = t(KpiDirection::LowerIsBetter, 60.0);
        assert_eq!(relative_shortfall(&reach, 600_000.0), 0.0, "on target");
        assert!((relative_shortfall(&reach, 400_000.0) - 0.2).abs() < 1e-9);
        assert!((relative_shortfall(&response, 90.0) - 0.5).abs() < 1e-9, "half again as slow is further off");
        assert_eq!(relative_shortfall(&response, f64::NAN), 0.0);
    }

    #[test]
    fn the_latest_status_turns_grey_when_a_due_period_goes_unreported() {
        assert_eq!(latest_status(Some((3, Status::Red)), Some(3)), Status::Red);
        assert_eq!(latest_status(Some((4, Status::Green)), Some(3)), Status::Green, "a running period reported early");
        assert_eq!(latest_status(Some((2, Status::Green)), Some(3)), Status::Grey, "period 3 is due and missing");
        assert_eq!(latest_status(Some((1, Status::Amber)), None), Status::Amber, "nothing due yet");
        assert_eq!(latest_status::<u32>(None, Some(3)), Status::Grey);
        assert_eq!(latest_status::<u32>(None, None), Status::Grey);
    }

    const HIGHER: Thresholds = Thresholds {
        direction: KpiDirection::HigherIsBetter,
        target: 100.0,
        target_upper: None,
        warning: 90.0,
        critical: 70.0,
    };
    const LOWER: Thresholds = Thresholds {
        direction: KpiDirection::LowerIsBetter,
        target: 2.0,
        target_upper: None,
        warning: 4.0,
        critical: 8.0,
    };
    const BAND: Thresholds = Thresholds {
        direction: KpiDirection::WithinBand,
        target: 20.0,
        target_upper: Some(30.0),
        warning: 2.0,
        critical: 5.0,
    };

    #[test]
    fn statuses_for_higher_is_better() {
        let cases = [
            (None, Status::Grey, None),
            (Some(f64::NAN), Status::Grey, None),
            (Some(150.0), Status::Green, Some(Breach::None)),
            (Some(100.0), Status::Green, Some(Breach::None)),
            (Some(95.0), Status::Amber, Some(Breach::None)),
            (Some(90.0), Status::Amber, Some(Breach::Warning)),
            (Some(80.0), Status::Amber, Some(Breach::Warning)),
            (Some(70.0), Status::Red, Some(Breach::Critical)),
            (Some(-5.0), Status::Red, Some(Breach::Critical)),
        ];
        for (value, expected, expected_breach) in cases {
            assert_eq!(status(&HIGHER, value), expected, "{value:?}");
            if let (Some(v), Some(b)) = (value, expected_breach) {
                assert_eq!(breach(&HIGHER, v), b, "{v}");
            }
        }
    }

    #[test]
    fn statuses_for_lower_is_better() {
        let cases = [
            (1.0, Status::Green, Breach::None),
            (2.0, Status::Green, Breach::None),
            (3.0, Status::Amber, Breach::None),
            (4.0, Status::Amber, Breach::Warning),
            (7.9, Status::Amber, Breach::Warning),
            (8.0, Status::Red, Breach::Critical),
            (24.0, Status::Red, Breach::Critical),
        ];
        for (v, s, b) in cases {
            assert_eq!((status(&LOWER, Some(v)), breach(&LOWER, v)), (s, b), "{v}");
        }
    }

    #[test]
    fn statuses_for_a_band() {
        let cases = [
            (20.0, Status::Green, Breach::None),
            (25.0, Status::Green, Breach::None),
            (30.0, Status::Green, Breach::None),
            (19.0, Status::Amber, Breach::None),
            (31.0, Status::Amber, Breach::None),
            (18.0, Status::Amber, Breach::Warning),
            (33.0, Status::Amber, Breach::Warning),
            (15.0, Status::Red, Breach::Critical),
            (40.0, Status::Red, Breach::Critical),
        ];
        for (v, s, b) in cases {
            assert_eq!((status(&BAND, Some(v)), breach(&BAND, v)), (s, b), "{v}");
        }
    }

    #[test]
    fn aggregation_skips_missing_periods() {
        let values = [Some(10.0), None, Some(20.0), Some(30.0)];
        assert_eq!(aggregate(Aggregation::Sum, &values), Some(60.0));
        assert_eq!(aggregate(Aggregation::Average, &values), Some(20.0));
        assert_eq!(aggregate(Aggregation::Last, &values), Some(30.0));
        assert_eq!(aggregate(Aggregation::Last, &[Some(1.0), None]), Some(1.0));
        assert_eq!(aggregate(Aggregation::Sum, &[None, None]), None);
        assert_eq!(aggregate(Aggregation::Average, &[]), None);
    }

    #[test]
    fn trends_follow_the_direction() {
        assert_eq!(trend(&HIGHER, &[Some(80.0), Some(82.0), Some(81.0), Some(95.0)], 3), Trend::Improving);
        assert_eq!(trend(&HIGHER, &[Some(95.0), Some(96.0), Some(80.0)], 3), Trend::Worsening);
        assert_eq!(trend(&HIGHER, &[Some(100.0), Some(101.0)], 3), Trend::Steady);
        assert_eq!(trend(&LOWER, &[Some(8.0), Some(7.0), Some(3.0)], 3), Trend::Improving);
        assert_eq!(trend(&LOWER, &[Some(2.0), Some(2.0), Some(5.0)], 3), Trend::Worsening);
        assert_eq!(trend(&BAND, &[Some(40.0), Some(32.0)], 3), Trend::Improving);
        assert_eq!(trend(&BAND, &[Some(25.0), Some(28.0)], 3), Trend::Steady, "inside the band either way");
        assert_eq!(trend(&BAND, &[Some(25.0), Some(12.0)], 3), Trend::Worsening);
        assert_eq!(trend(&HIGHER, &[Some(90.0)], 3), Trend::Unknown);
        assert_eq!(trend(&HIGHER, &[None, Some(90.0), None], 3), Trend::Unknown);
        assert_eq!(trend(&HIGHER, &[], 3), Trend::Unknown);
        // Only the window counts: an old high value does not mask a recent slide.
        assert_eq!(trend(&HIGHER, &[Some(500.0), Some(90.0), Some(90.0), Some(90.0), Some(80.0)], 3), Trend::Worsening);
    }

    #[test]
    fn health_is_the_worst_reported_status() {
        use Status::*;
        let h = health(&[Green, Amber, Grey, Green]);
        assert_eq!((h.green, h.amber, h.red, h.grey, h.overall), (2, 1, 0, 1, Amber));
        assert_eq!(health(&[Green, Red, Amber]).overall, Red);
        assert_eq!(health(&[Grey, Grey]).overall, Grey);
        assert_eq!(health(&[]).overall, Grey);
        assert_eq!(health(&[Grey, Green]).overall, Green);
    }
}
