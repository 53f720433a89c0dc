//! Vendor reports: what a valid report for a period carries, which periods may be reported,
//! and the life cycle draft → submitted → accepted, or changes requested → resubmitted.
//!
//! A report holds one value per KPI (with an optional per-channel breakdown, a comment and
//! an evidence link), a narrative, and signals: what the community manager found while
//! listening (opportunities, criticism, risks, leaders). Each submission freezes a version;
//! changes after a request for changes go into a new version, and every version stays
//! readable.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    FieldError, Violations,
    approval::Outcome,
    enums::{Channel, EngagementStatus, string_enum},
    number,
    period::{Period, Schedule},
    text,
};

string_enum! {
    /// Where a report stands.
    ReportStatus { Draft, Submitted, ChangesRequested, Accepted }
}

string_enum! {
    /// What a signal is about (SPEC §1: the community manager's findings).
    SignalCategory { Opportunity, Criticism, Risk, Leader }
}

string_enum! {
    Severity { Low, Medium, High, Critical }
}

string_enum! {
    /// What a reviewer decides about a submitted report.
    ReviewDecision { Accept, RequestChanges }
}

#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueInput {
    pub kpi_id: Uuid,
    pub value: f64,
    /// Per-channel values, for KPIs that declare channels.
    #[serde(default)]
    pub breakdown: BTreeMap<Channel, f64>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub evidence_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalInput {
    pub category: SignalCategory,
    pub severity: Severity,
    pub description: String,
    #[serde(default)]
    pub link: Option<String>,
}

/// The content of a report version as a vendor sends it.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportContent {
    #[serde(default)]
    pub narrative: String,
    #[serde(default)]
    pub values: Vec<ValueInput>,
    #[serde(default)]
    pub signals: Vec<SignalInput>,
}

/// What the checks need to know about a KPI.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiRules {
    pub id: Uuid,
    pub allow_negative: bool,
    pub channels: Vec<Channel>,
}

pub const NARRATIVE_MAX: usize = 20_000;
pub const COMMENT_MAX: usize = 2_000;
pub const SIGNALS_MAX: usize = 200;

/// Checks a report's content against the engagement's KPIs, naming every offending field.
pub fn validate_content(mut content: ReportContent, kpis: &[KpiRules]) -> Result<ReportContent, Violations> {
    let mut v = Violations::new();
    if content.narrative.chars().count() > NARRATIVE_MAX {
        v.push(
            FieldError::new("narrative", "too_long", format!("must be at most {NARRATIVE_MAX} characters"))
                .with("max", NARRATIVE_MAX),
        );
    }
    v.check(text::plain("narrative", &content.narrative, text::Lines::Many));
    content.narrative = content.narrative.trim().to_string();
    // Looked up by id rather than searched: a report may carry a value for each of
    // thousands of KPIs.
    let mut rules_of: HashMap<Uuid, &KpiRules> = HashMap::with_capacity(kpis.len());
    for k in kpis {
        rules_of.entry(k.id).or_insert(k);
    }
    let mut reported: HashSet<Uuid> = HashSet::with_capacity(content.values.len());
    for i in 0..content.values.len() {
        let field = |name: &str| format!("values[{i}].{name}");
        let kpi_id = content.values[i].kpi_id;
        if !reported.insert(kpi_id) {
            v.add(field("kpi_id"), "duplicate", "this KPI is reported twice");
        }
        let item = &mut content.values[i];
        let Some(rules) = rules_of.get(&kpi_id) else {
            v.add(field("kpi_id"), "unknown_kpi", "no such KPI in this engagement");
            continue;
        };
        if let Some(x) = v.check(number::quantity(&field("value"), item.value, rules.allow_negative)) {
            item.value = x;
        }
        for (channel, value) in item.breakdown.iter_mut() {
            let name = field(&format!("breakdown.{channel}"));
            if !rules.channels.contains(channel) {
                v.add(name, "undeclared_channel", "the KPI has no breakdown for this channel");
            } else if let Some(x) = v.check(number::quantity(&name, *value, rules.allow_negative)) {
                *value = x;
            }
        }
        if let Some(c) = v.check(text::optional_paragraphs(&field("comment"), item.comment.as_deref(), COMMENT_MAX)) {
            item.comment = c;
        }
        item.evidence_url = match item.evidence_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(url) => v.check(text::http_url(&field("evidence_url"), url)),
        };
    }
    if content.signals.len() > SIGNALS_MAX {
        v.push(
            FieldError::new("signals", "too_many", format!("at most {SIGNALS_MAX} signals")).with("max", SIGNALS_MAX),
        );
    }
    for (i, s) in content.signals.iter_mut().enumerate() {
        if let Some(d) = v.check(text::paragraphs(&format!("signals[{i}].description"), &s.description, COMMENT_MAX)) {
            s.description = d;
        }
        s.link = match s.link.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(url) => v.check(text::http_url(&format!("signals[{i}].link"), url)),
        };
    }
    v.finish(content)
}

/// Whether an engagement in `status` takes reports: while its contract runs (also while
/// suspended) and after it ended, for the last periods.
pub fn takes_reports(status: EngagementStatus) -> bool {
    matches!(status, EngagementStatus::Active | EngagementStatus::Suspended | EngagementStatus::Ended)
}

/// The period a report is for: one of the engagement's periods (named by its first day)
/// that has already started.
pub fn reportable_period(
    schedule: &Schedule,
    period_start: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Period, FieldError> {
    let period = schedule.period_of(period_start).filter(|p| p.start_date == period_start).ok_or_else(|| {
        FieldError::new("period_start", "not_a_period", "is not the first day of a period of this engagement's term")
    })?;
    if !period.has_started(now) {
        return Err(FieldError::new(
            "period_start",
            "period_not_started",
            "reports can be submitted once the period has started",
        ));
    }
    Ok(period)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReportTransitionError {
    #[error("a {0} report cannot be edited")]
    NotEditable(ReportStatus),
    #[error("a {0} report cannot be submitted")]
    NotSubmittable(ReportStatus),
    #[error("only a submitted report can be reviewed; this one is {0}")]
    NotReviewable(ReportStatus),
}

/// Editing a report: a draft is edited in place; after a request for changes the edit
/// starts a new version (returned as `true`) and the report is a draft again.
pub fn edit(status: ReportStatus) -> Result<(ReportStatus, bool), ReportTransitionError> {
    match status {
        ReportStatus::Draft => Ok((ReportStatus::Draft, false)),
        ReportStatus::ChangesRequested => Ok((ReportStatus::Draft, true)),
        other => Err(ReportTransitionError::NotEditable(other)),
    }
}

/// Submitting freezes the current version. A submission at or after the period's due
/// instant is accepted but marked late.
pub fn submit(
    status: ReportStatus,
    period: &Period,
    at: DateTime<Utc>,
) -> Result<(ReportStatus, bool), ReportTransitionError> {
    match status {
        ReportStatus::Draft => Ok((ReportStatus::Submitted, period.is_late(at))),
        other => Err(ReportTransitionError::NotSubmittable(other)),
    }
}

/// What a report becomes after a decision on its acceptance approval (`None`: it waits). A
/// period must still be reported, so a rejected report goes back to the agency like one sent
/// back for changes; the approval keeps which of the two it was.
pub fn after_decision(outcome: Outcome) -> Option<ReportStatus> {
    match outcome {
        Outcome::Recorded | Outcome::NextStage(_) => None,
        Outcome::Approved => Some(ReportStatus::Accepted),
        Outcome::Rejected | Outcome::ChangesRequested => Some(ReportStatus::ChangesRequested),
    }
}

pub fn review(status: ReportStatus, decision: ReviewDecision) -> Result<ReportStatus, ReportTransitionError> {
    match (status, decision) {
        (ReportStatus::Submitted, ReviewDecision::Accept) => Ok(ReportStatus::Accepted),
        (ReportStatus::Submitted, ReviewDecision::RequestChanges) => Ok(ReportStatus::ChangesRequested),
        (other, _) => Err(ReportTransitionError::NotReviewable(other)),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use strum::IntoEnumIterator;

    use super::*;
    use crate::domain::enums::Cadence;

    const REACH: Uuid = Uuid::from_u128(1);
    const SENTIMENT: Uuid = Uuid::from_u128(2);

    fn kpis() -> Vec<KpiRules> {
        vec![
            KpiRules { id: REACH, allow_negative: false, channels: vec![Channel::Instagram, Channel::Tiktok] },
            KpiRules { id: SENTIMENT, allow_negative: true, channels: vec![] },
        ]
    }

    fn value(kpi_id: Uuid, value: f64) -> ValueInput {
        ValueInput { kpi_id, value, breakdown: BTreeMap::new(), comment: None, evidence_url: None }
    }

    fn content(values: Vec<ValueInput>) -> ReportContent {
        ReportContent { narrative: " Buen mes ".into(), values, signals: vec![] }
    }

    fn fields(c: ReportContent) -> Vec<String> {
        validate_content(c, &kpis()).err().map(|v| v.0.into_iter().map(|f| f.field).collect()).unwrap_or_default()
    }

    #[test]
    fn approval_outcomes_accept_or_return_the_report() {
        assert_eq!(after_decision(Outcome::Approved), Some(ReportStatus::Accepted));
        assert_eq!(after_decision(Outcome::Rejected), Some(ReportStatus::ChangesRequested));
        assert_eq!(after_decision(Outcome::ChangesRequested), Some(ReportStatus::ChangesRequested));
        assert_eq!(after_decision(Outcome::Recorded), None);
        assert_eq!(after_decision(Outcome::NextStage(1)), None);
    }

    #[test]
    fn a_valid_report_is_normalised() {
        let mut reach = value(REACH, 480_000.0);
        reach.breakdown = BTreeMap::from([(Channel::Instagram, 300_000.0), (Channel::Tiktok, 180_000.0)]);
        reach.evidence_url = Some(" https://marea.example/informe.pdf ".into());
        let mut c = content(vec![reach, value(SENTIMENT, -4.0)]);
        c.signals.push(SignalInput {
            category: SignalCategory::Criticism,
            severity: Severity::High,
            description: " Quejas por retrasos en envíos ".into(),
            link: None,
        });
        let valid = validate_content(c, &kpis()).unwrap();
        assert_eq!(valid.narrative, "Buen mes");
        assert_eq!(valid.values[0].evidence_url.as_deref(), Some("https://marea.example/informe.pdf"));
        assert_eq!(valid.signals[0].description, "Quejas por retrasos en envíos");
    }

    #[test]
    fn every_bad_value_is_named() {
        let mut bad_breakdown = value(REACH, 10.0);
        bad_breakdown.breakdown = BTreeMap::from([(Channel::Youtube, 1.0), (Channel::Instagram, -1.0)]);
        let mut bad_link = value(SENTIMENT, 1.0);
        bad_link.evidence_url = Some("informe.pdf".into());
        let c = content(vec![
            value(Uuid::from_u128(99), 1.0),
            value(REACH, -1.0),
            value(REACH, f64::INFINITY),
            bad_breakdown,
            bad_link,
        ]);
        assert_eq!(
            fields(c),
            [
                "values[0].kpi_id",
                "values[1].value",
                "values[2].kpi_id",
                "values[2].value",
                "values[3].kpi_id",
                "values[3].breakdown.instagram",
                "values[3].breakdown.youtube",
                "values[4].evidence_url",
            ]
        );
    }

    #[test]
    fn negative_values_only_where_the_kpi_allows_them() {
        assert!(fields(content(vec![value(SENTIMENT, -10.0)])).is_empty());
        assert_eq!(fields(content(vec![value(REACH, -10.0)])), ["values[0].value"]);
    }

    #[test]
    fn signals_need_a_description_and_a_real_link() {
        let mut c = content(vec![]);
        c.signals.push(SignalInput {
            category: SignalCategory::Risk,
            severity: Severity::Low,
            description: " ".into(),
            link: Some("x".into()),
        });
        assert_eq!(fields(c), ["signals[0].description", "signals[0].link"]);
    }

    fn schedule() -> Schedule {
        Schedule {
            cadence: Cadence::Monthly,
            start: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
            timezone: chrono_tz::Europe::Madrid,
            due_offset_days: 5,
        }
    }

    #[test]
    fn only_started_periods_of_the_term_are_reportable() {
        let now = Utc.with_ymd_and_hms(2027, 3, 10, 12, 0, 0).unwrap();
        let d = |m, day| NaiveDate::from_ymd_opt(2027, m, day).unwrap();
        assert_eq!(reportable_period(&schedule(), d(3, 1), now).unwrap().index, 2);
        assert_eq!(reportable_period(&schedule(), d(3, 2), now).unwrap_err().code, "not_a_period");
        assert_eq!(reportable_period(&schedule(), d(4, 1), now).unwrap_err().code, "period_not_started");
        let outside = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(reportable_period(&schedule(), outside, now).unwrap_err().code, "not_a_period");
        // March starts at 23:00 UTC on 28 February in Madrid.
        let just_started = Utc.with_ymd_and_hms(2027, 2, 28, 23, 0, 0).unwrap();
        assert!(reportable_period(&schedule(), d(3, 1), just_started).is_ok());
    }

    #[test]
    fn late_submissions_are_accepted_and_marked() {
        let january = schedule().periods()[0];
        let on_time = Utc.with_ymd_and_hms(2027, 2, 5, 22, 59, 59).unwrap();
        let late = Utc.with_ymd_and_hms(2027, 2, 5, 23, 0, 0).unwrap();
        assert_eq!(submit(ReportStatus::Draft, &january, on_time), Ok((ReportStatus::Submitted, false)));
        assert_eq!(submit(ReportStatus::Draft, &january, late), Ok((ReportStatus::Submitted, true)));
    }

    #[test]
    fn the_life_cycle_allows_exactly_the_documented_moves() {
        use ReportStatus as S;
        let january = schedule().periods()[0];
        let at = Utc.with_ymd_and_hms(2027, 2, 1, 0, 0, 0).unwrap();
        for status in S::iter() {
            assert_eq!(
                edit(status).ok(),
                match status {
                    S::Draft => Some((S::Draft, false)),
                    S::ChangesRequested => Some((S::Draft, true)),
                    _ => None,
                },
                "edit {status}"
            );
            assert_eq!(submit(status, &january, at).is_ok(), status == S::Draft, "submit {status}");
            for decision in ReviewDecision::iter() {
                let expected = match (status, decision) {
                    (S::Submitted, ReviewDecision::Accept) => Some(S::Accepted),
                    (S::Submitted, ReviewDecision::RequestChanges) => Some(S::ChangesRequested),
                    _ => None,
                };
                assert_eq!(review(status, decision).ok(), expected, "review {status} {decision}");
            }
        }
    }
}
