//! KPIs: what a valid indicator looks like, and the realism check on its target (SPEC §1.4).
//!
//! Realism rule: the target implies a growth factor over the baseline (target ÷ baseline when
//! higher is better, baseline ÷ target when lower is better). The factor the contract term
//! can plausibly deliver is `max_yearly_growth ^ (term_months / 12)`, with terms shorter than
//! a month counted as one month. A target beyond it is flagged for review (`implausible_growth`;
//! growth from a zero baseline is unbounded and always flagged). A target without a baseline
//! is flagged `no_baseline`, since its growth cannot be judged. Flags never block.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    Violations,
    enums::{Aggregation, Channel, KpiDirection, KpiUnit},
    number, text,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiInput {
    pub name: String,
    /// The objective this KPI serves ("not measuring for the sake of measuring").
    pub objective: String,
    pub unit: KpiUnit,
    pub direction: KpiDirection,
    /// Value before the engagement started, if known.
    #[serde(default)]
    pub baseline: Option<f64>,
    /// Target per period; for `within_band`, the lower edge of the band.
    pub target: f64,
    /// Upper edge of the band; only for `within_band`.
    #[serde(default)]
    pub target_upper: Option<f64>,
    /// Beyond this value the KPI is amber. For `within_band`, a distance outside the band.
    pub warning_threshold: f64,
    /// Beyond this value the KPI is red. For `within_band`, a distance outside the band.
    pub critical_threshold: f64,
    pub aggregation: Aggregation,
    /// Channels the agency reports this KPI broken down by.
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// Whether values below zero are meaningful (e.g. net sentiment).
    #[serde(default)]
    pub allow_negative: bool,
    /// Set when this KPI is computed from two others of the engagement (e.g. engagement
    /// rate = interactions / reach); submitted values are then checked for consistency.
    #[serde(default)]
    pub ratio_of: Option<RatioOf>,
}

/// The two KPIs a ratio KPI is computed from: `numerator / denominator`, times 100 when the
/// ratio KPI's unit is percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatioOf {
    pub numerator_kpi_id: uuid::Uuid,
    pub denominator_kpi_id: uuid::Uuid,
}

impl RatioOf {
    /// The stored pair, if both halves are set.
    pub fn from_columns(numerator: Option<uuid::Uuid>, denominator: Option<uuid::Uuid>) -> Option<Self> {
        Some(Self { numerator_kpi_id: numerator?, denominator_kpi_id: denominator? })
    }

    /// What the ratio is multiplied by: percent KPIs hold `100 × numerator / denominator`.
    pub fn scale(unit: KpiUnit) -> f64 {
        if unit == KpiUnit::Percent { 100.0 } else { 1.0 }
    }

    /// Refuses a ratio of a KPI with itself and a KPI defined from itself (`own` is the
    /// KPI's id when it already exists). That both halves are KPIs of the same engagement
    /// is checked against the database.
    pub fn check(&self, own: Option<uuid::Uuid>, v: &mut Violations) {
        if self.numerator_kpi_id == self.denominator_kpi_id {
            v.add("ratio_of.denominator_kpi_id", "same_as_numerator", "must differ from the numerator");
        }
        for (field, id) in [
            ("ratio_of.numerator_kpi_id", self.numerator_kpi_id),
            ("ratio_of.denominator_kpi_id", self.denominator_kpi_id),
        ] {
            if Some(id) == own {
                v.add(field, "self_reference", "a KPI cannot be computed from itself");
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidKpi(pub KpiInput);

impl KpiInput {
    pub fn validate(mut self) -> Result<ValidKpi, Violations> {
        let mut v = Violations::new();
        if let Some(name) = v.check(text::required("name", &self.name, 120)) {
            self.name = name;
        }
        if let Some(objective) = v.check(text::paragraphs("objective", &self.objective, 1000)) {
            self.objective = objective;
        }
        let allow_negative = self.allow_negative;
        let mut checked = |field: &str, x: &mut f64| {
            if let Some(clean) = v.check(number::quantity(field, *x, allow_negative)) {
                *x = clean;
            }
        };
        if let Some(x) = self.baseline.as_mut() {
            checked("baseline", x);
        }
        checked("target", &mut self.target);
        if let Some(x) = self.target_upper.as_mut() {
            checked("target_upper", x);
        }
        checked("warning_threshold", &mut self.warning_threshold);
        checked("critical_threshold", &mut self.critical_threshold);
        let (t, w, c) = (self.target, self.warning_threshold, self.critical_threshold);
        match self.direction {
            KpiDirection::HigherIsBetter => {
                if w > t {
                    v.add("warning_threshold", "threshold_order", "must not exceed target when higher is better");
                }
                if c > w {
                    v.add(
                        "critical_threshold",
                        "threshold_order",
                        "must not exceed warning_threshold when higher is better",
                    );
                }
            }
            KpiDirection::LowerIsBetter => {
                if w < t {
                    v.add("warning_threshold", "threshold_order", "must not be below target when lower is better");
                }
                if c < w {
                    v.add(
                        "critical_threshold",
                        "threshold_order",
                        "must not be below warning_threshold when lower is better",
                    );
                }
            }
            KpiDirection::WithinBand => {
                match self.target_upper {
                    None => v.add("target_upper", "required", "a band needs its upper edge"),
                    Some(upper) if upper <= t => v.add("target_upper", "band_order", "must be above target"),
                    Some(_) => {}
                }
                if w < 0.0 {
                    v.add("warning_threshold", "negative", "is a distance outside the band and must not be negative");
                }
                if c < w {
                    v.add("critical_threshold", "threshold_order", "must not be below warning_threshold");
                }
            }
        }
        if self.direction != KpiDirection::WithinBand && self.target_upper.is_some() {
            v.add("target_upper", "not_applicable", "only a within_band KPI has an upper edge");
        }
        for (i, channel) in self.channels.iter().enumerate() {
            if self.channels[..i].contains(channel) {
                v.add(format!("channels[{i}]"), "duplicate", format!("{channel} is listed twice"));
            }
        }
        if let Some(ratio) = &self.ratio_of {
            ratio.check(None, &mut v);
        }
        v.finish(ValidKpi(self))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RealismIssue {
    /// The target needs more growth than the term can plausibly deliver.
    ImplausibleGrowth,
    /// Without a (non-zero) baseline the target's growth cannot be judged.
    NoBaseline,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RealismFlag {
    pub issue: RealismIssue,
    /// Growth factor the target implies over the baseline, when it can be computed.
    pub implied_factor: Option<f64>,
    /// Largest factor considered plausible within the term.
    pub plausible_factor: f64,
    pub message: String,
}

/// Flags a KPI target whose implied growth over the baseline is implausible within a term of
/// `term_days`, given the largest plausible growth in twelve months.
pub fn realism(
    direction: KpiDirection,
    baseline: Option<f64>,
    target: f64,
    term_days: i64,
    max_yearly_growth: f64,
) -> Option<RealismFlag> {
    let months = (term_days as f64 / 30.4375).max(1.0);
    let plausible = max_yearly_growth.powf(months / 12.0);
    let implied = match (direction, baseline) {
        (KpiDirection::WithinBand, _) => return None,
        (_, None) => None,
        (KpiDirection::HigherIsBetter, Some(b)) if b > 0.0 => Some(target / b),
        (KpiDirection::HigherIsBetter, Some(_)) if target <= 0.0 => return None,
        (KpiDirection::LowerIsBetter, Some(b)) if target > 0.0 => Some(b / target),
        (KpiDirection::LowerIsBetter, Some(b)) if b <= 0.0 => return None,
        (_, Some(_)) => Some(f64::INFINITY),
    };
    match implied {
        None => Some(RealismFlag {
            issue: RealismIssue::NoBaseline,
            implied_factor: None,
            plausible_factor: plausible,
            message: "no baseline: the growth this target implies cannot be judged".into(),
        }),
        Some(f) if f > plausible => Some(RealismFlag {
            issue: RealismIssue::ImplausibleGrowth,
            implied_factor: f.is_finite().then_some(f),
            plausible_factor: plausible,
            message: if f.is_finite() {
                format!(
                    "the target implies a factor of {f:.2} over the baseline; at most {plausible:.2} is plausible within the term"
                )
            } else {
                "the target implies unbounded change from a zero baseline".into()
            },
        }),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn followers() -> KpiInput {
        KpiInput {
            name: " Seguidores Instagram ".into(),
            objective: "Notoriedad de marca entre 25-40".into(),
            unit: KpiUnit::Count,
            direction: KpiDirection::HigherIsBetter,
            baseline: Some(10_000.0),
            target: 12_000.0,
            target_upper: None,
            warning_threshold: 11_000.0,
            critical_threshold: 10_000.0,
            aggregation: Aggregation::Last,
            channels: vec![Channel::Instagram],
            allow_negative: false,
            ratio_of: None,
        }
    }

    fn fields(k: KpiInput) -> Vec<String> {
        k.validate().err().map(|v| v.0.into_iter().map(|f| f.field).collect()).unwrap_or_default()
    }

    #[test]
    fn a_ratio_needs_two_different_kpis_other_than_itself() {
        let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let ratio =
            |n, d| KpiInput { ratio_of: Some(RatioOf { numerator_kpi_id: n, denominator_kpi_id: d }), ..followers() };
        assert!(ratio(a, b).validate().is_ok());
        assert_eq!(fields(ratio(a, a)), ["ratio_of.denominator_kpi_id"]);
        let mut v = Violations::new();
        RatioOf { numerator_kpi_id: a, denominator_kpi_id: b }.check(Some(b), &mut v);
        assert_eq!(v.0.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["ratio_of.denominator_kpi_id"]);
        assert_eq!(RatioOf::from_columns(Some(a), None), None);
        assert_eq!(RatioOf::scale(KpiUnit::Percent), 100.0);
        assert_eq!(RatioOf::scale(KpiUnit::Ratio), 1.0);
    }

    #[test]
    fn a_valid_kpi_passes_trimmed() {
        assert_eq!(followers().validate().unwrap().0.name, "Seguidores Instagram");
    }

    #[test]
    fn every_kpi_names_its_objective() {
        assert_eq!(fields(KpiInput { objective: "   ".into(), ..followers() }), ["objective"]);
    }

    #[test]
    fn thresholds_must_be_ordered_by_direction() {
        assert_eq!(fields(KpiInput { warning_threshold: 13_000.0, ..followers() }), ["warning_threshold"]);
        assert_eq!(fields(KpiInput { critical_threshold: 11_500.0, ..followers() }), ["critical_threshold"]);
        let response_time = KpiInput {
            direction: KpiDirection::LowerIsBetter,
            unit: KpiUnit::Hours,
            baseline: Some(10.0),
            target: 2.0,
            warning_threshold: 4.0,
            critical_threshold: 8.0,
            ..followers()
        };
        assert!(response_time.clone().validate().is_ok());
        assert_eq!(fields(KpiInput { critical_threshold: 3.0, ..response_time }), ["critical_threshold"]);
    }

    #[test]
    fn bands_need_an_upper_edge_and_only_bands_have_one() {
        let band = KpiInput {
            direction: KpiDirection::WithinBand,
            target: 20.0,
            target_upper: Some(30.0),
            warning_threshold: 2.0,
            critical_threshold: 5.0,
            ..followers()
        };
        assert!(band.clone().validate().is_ok());
        assert_eq!(fields(KpiInput { target_upper: None, ..band.clone() }), ["target_upper"]);
        assert_eq!(fields(KpiInput { target_upper: Some(10.0), ..band }), ["target_upper"]);
        assert_eq!(fields(KpiInput { target_upper: Some(1.0), ..followers() }), ["target_upper"]);
    }

    #[test]
    fn negative_and_non_finite_numbers() {
        assert_eq!(fields(KpiInput { baseline: Some(-1.0), ..followers() }), ["baseline"]);
        assert!(KpiInput { baseline: Some(-1.0), allow_negative: true, ..followers() }.validate().is_ok());
        assert_eq!(fields(KpiInput { target: f64::NAN, ..followers() }), ["target"]);
        assert_eq!(fields(KpiInput { channels: vec![Channel::X, Channel::X], ..followers() }), ["channels[1]"]);
    }

    #[test]
    fn realism_allows_steady_growth_and_flags_magic_promises() {
        let year = 365;
        assert_eq!(realism(KpiDirection::HigherIsBetter, Some(10_000.0), 25_000.0, year, 3.0), None);
        let magic = realism(KpiDirection::HigherIsBetter, Some(10_000.0), 1_000_000.0, year, 3.0).unwrap();
        assert_eq!(magic.issue, RealismIssue::ImplausibleGrowth);
        assert_eq!(magic.implied_factor, Some(100.0));
        // A quarter may plausibly deliver 3^(0.25) ≈ 1.32: +50 % is flagged, +20 % is not.
        assert!(realism(KpiDirection::HigherIsBetter, Some(100.0), 150.0, 91, 3.0).is_some());
        assert!(realism(KpiDirection::HigherIsBetter, Some(100.0), 120.0, 91, 3.0).is_none());
        // Terms shorter than a month count as a month.
        assert_eq!(realism(KpiDirection::HigherIsBetter, Some(100.0), 105.0, 3, 3.0), None);
    }

    #[test]
    fn realism_for_lower_is_better_and_edge_cases() {
        let quarter = 91;
        assert!(realism(KpiDirection::LowerIsBetter, Some(24.0), 2.0, quarter, 3.0).is_some());
        assert!(realism(KpiDirection::LowerIsBetter, Some(24.0), 20.0, quarter, 3.0).is_none());
        let to_zero = realism(KpiDirection::LowerIsBetter, Some(24.0), 0.0, quarter, 3.0).unwrap();
        assert_eq!((to_zero.issue, to_zero.implied_factor), (RealismIssue::ImplausibleGrowth, None));
        assert_eq!(realism(KpiDirection::HigherIsBetter, None, 5.0, 365, 3.0).unwrap().issue, RealismIssue::NoBaseline);
        assert_eq!(
            realism(KpiDirection::HigherIsBetter, Some(0.0), 5.0, 365, 3.0).unwrap().issue,
            RealismIssue::ImplausibleGrowth
        );
        assert_eq!(realism(KpiDirection::HigherIsBetter, Some(0.0), 0.0, 365, 3.0), None);
        assert_eq!(realism(KpiDirection::WithinBand, Some(1.0), 500.0, 365, 3.0), None);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn flagged(direction: KpiDirection, baseline: f64, target: f64, term_days: i64) -> bool {
            realism(direction, Some(baseline), target, term_days, 3.0).is_some()
        }

        proptest! {
            /// Asking for more never makes a flag go away.
            #[test]
            fn higher_targets_are_never_more_plausible(b in 1.0f64..1e6, t1 in 0.0f64..1e7, extra in 0.0f64..1e7, days in 1i64..3650) {
                let t2 = t1 + extra;
                prop_assert!(!flagged(KpiDirection::HigherIsBetter, b, t1, days) || flagged(KpiDirection::HigherIsBetter, b, t2, days));
                let (low, lower) = (t2.max(0.001), t1.max(0.001).min(t2.max(0.001)));
                prop_assert!(!flagged(KpiDirection::LowerIsBetter, b, low, days) || flagged(KpiDirection::LowerIsBetter, b, lower, days));
            }

            /// A longer term makes the same target at least as plausible.
            #[test]
            fn longer_terms_are_never_less_plausible(b in 1.0f64..1e6, t in 0.0f64..1e7, d1 in 1i64..3650, more in 0i64..3650) {
                prop_assert!(!flagged(KpiDirection::HigherIsBetter, b, t, d1 + more) || flagged(KpiDirection::HigherIsBetter, b, t, d1));
            }

            /// Targets at or below the baseline never need growth.
            #[test]
            fn no_growth_is_always_plausible(b in 0.001f64..1e6, fraction in 0.0f64..=1.0, days in 1i64..3650) {
                prop_assert!(!flagged(KpiDirection::HigherIsBetter, b, b * fraction, days));
            }
        }
    }
}
