//! Plausibility checks on submitted values, shown to the reviewer and never blocking: a
//! value that jumps too far from the previous period's, and a ratio KPI that does not add
//! up with the two KPIs it is computed from.

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Implausible {
    /// The value changed by more than the allowed factor since the previous period.
    Jump { previous: f64, current: f64, factor: f64 },
    /// The ratio KPI differs from numerator ÷ denominator by more than the tolerance.
    Ratio { reported: f64, expected: f64 },
}

/// Flags a change from `previous` to `current` by more than `factor` (either way). A drop
/// to zero from a positive value is a jump; growth from zero cannot be judged.
pub fn jump(previous: Option<f64>, current: f64, max_factor: f64) -> Option<Implausible> {
    let previous = previous.filter(|p| p.is_finite())?;
    if !current.is_finite() || previous == 0.0 {
        return None;
    }
    let factor =
        if current == 0.0 { f64::INFINITY } else { (current / previous).abs().max((previous / current).abs()) };
    let sign_flip = previous.signum() != current.signum() && current != 0.0;
    (factor > max_factor || sign_flip).then_some(Implausible::Jump { previous, current, factor })
}

/// How a ratio KPI is computed from two others.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioRule {
    /// 100 when the ratio is expressed in percent, 1 otherwise.
    pub scale: f64,
    /// Allowed relative difference (e.g. 0.02 for 2 %), to absorb rounding in reports.
    pub tolerance: f64,
}

/// Checks `reported` against `numerator / denominator × scale`.
pub fn ratio(rule: RatioRule, reported: f64, numerator: f64, denominator: f64) -> Option<Implausible> {
    if !(reported.is_finite() && numerator.is_finite() && denominator.is_finite()) || denominator == 0.0 {
        return None;
    }
    let expected = numerator / denominator * rule.scale;
    let difference = (reported - expected).abs();
    let allowed = rule.tolerance * expected.abs().max(f64::EPSILON);
    (difference > allowed).then_some(Implausible::Ratio { reported, expected })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_beyond_the_factor_are_flagged_either_way() {
        assert_eq!(jump(Some(100.0), 250.0, 3.0), None);
        assert!(matches!(jump(Some(100.0), 301.0, 3.0), Some(Implausible::Jump { .. })));
        assert!(matches!(jump(Some(300.0), 99.0, 3.0), Some(Implausible::Jump { .. })));
        assert!(matches!(jump(Some(50.0), 0.0, 3.0), Some(Implausible::Jump { factor, .. }) if factor.is_infinite()));
        assert!(matches!(jump(Some(5.0), -5.0, 3.0), Some(Implausible::Jump { .. })), "sign flips are suspect");
        assert_eq!(jump(Some(0.0), 500.0, 3.0), None, "growth from zero cannot be judged");
        assert_eq!(jump(None, 500.0, 3.0), None, "no previous period");
        assert_eq!(jump(Some(-10.0), -12.0, 3.0), None);
    }

    #[test]
    fn ratios_must_add_up() {
        let percent = RatioRule { scale: 100.0, tolerance: 0.02 };
        // Engagement rate = interactions / reach: 12 000 / 400 000 = 3 %.
        assert_eq!(ratio(percent, 3.0, 12_000.0, 400_000.0), None);
        assert_eq!(ratio(percent, 3.05, 12_000.0, 400_000.0), None, "within 2 %");
        assert_eq!(ratio(percent, 4.5, 12_000.0, 400_000.0), Some(Implausible::Ratio { reported: 4.5, expected: 3.0 }));
        assert_eq!(ratio(percent, 4.5, 12_000.0, 0.0), None, "no denominator, nothing to check");
        let plain = RatioRule { scale: 1.0, tolerance: 0.0 };
        assert_eq!(ratio(plain, 0.5, 1.0, 2.0), None);
    }
}
