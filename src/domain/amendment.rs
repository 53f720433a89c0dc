//! Amendments (SPEC §3 Engagement): once an engagement is active, its fee, term, scope and
//! KPIs change only through an amendment that an approval workflow accepts. An amendment is
//! held as pending with the whole change it proposes; nothing of it touches the engagement
//! until the last stage approves it, and then all of it applies at once. The proposal and
//! the change it made (before and after) are kept as the engagement's history.
//!
//! Start date, cadence and time zone are not amendable: they define the reporting periods,
//! and changing them under reports already filed would re-cut periods that were judged.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    FieldError, Violations,
    approval::Outcome,
    enums::string_enum,
    kpi::{KpiInput, ValidKpi},
    scope::{ScopeItemInput, ValidScopeItem},
    text,
};

string_enum! {
    /// Life cycle of an amendment: pending while its approval runs; applied when approved;
    /// rejected; sent back to its author (who may revise it, which opens a new approval);
    /// or withdrawn by its author.
    AmendmentStatus { Pending, Applied, Rejected, ChangesRequested, Withdrawn }
}

/// The contract terms an amendment may change; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TermsChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_fee_minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// A new end date: extends or shortens the term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_offset_days: Option<i32>,
}

impl TermsChange {
    pub fn is_empty(&self) -> bool {
        *self == TermsChange::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeReplacement {
    pub id: Uuid,
    pub item: ScopeItemInput,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiReplacement {
    pub id: Uuid,
    pub kpi: KpiInput,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeChanges {
    #[serde(default)]
    pub add: Vec<ScopeItemInput>,
    #[serde(default)]
    pub replace: Vec<ScopeReplacement>,
    #[serde(default)]
    pub remove: Vec<Uuid>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiChanges {
    #[serde(default)]
    pub add: Vec<KpiInput>,
    /// A KPI's new definition (e.g. a revised target or thresholds); its reported values are
    /// judged again against it when the amendment applies.
    #[serde(default)]
    pub replace: Vec<KpiReplacement>,
    /// Only KPIs without reported values can be removed.
    #[serde(default)]
    pub remove: Vec<Uuid>,
}

/// A proposed amendment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendmentInput {
    /// Why the contract changes, for the approvers and the history.
    pub reason: String,
    #[serde(default)]
    pub terms: TermsChange,
    #[serde(default)]
    pub scope: ScopeChanges,
    #[serde(default)]
    pub kpis: KpiChanges,
}

/// Most changes one amendment may hold.
pub const MAX_CHANGES: usize = 200;

/// An amendment whose every part passed its own validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidAmendment(pub AmendmentInput);

impl AmendmentInput {
    /// Checks the shape of every change; whether the ids it names belong to the engagement,
    /// and whether the amended contract still holds together, is the store's part.
    pub fn validate(mut self) -> Result<ValidAmendment, Violations> {
        let mut v = Violations::new();
        if let Some(reason) = v.check(text::paragraphs("reason", &self.reason, 2_000)) {
            self.reason = reason;
        }
        if let Some(fee) = self.terms.monthly_fee_minor
            && fee < 0
        {
            v.add("terms.monthly_fee_minor", "negative", "the fee cannot be negative");
        }
        if let Some(days) = self.terms.due_offset_days
            && !(0..=90).contains(&days)
        {
            v.push(
                FieldError::new("terms.due_offset_days", "out_of_range", "must be between 0 and 90 days")
                    .with("min", 0)
                    .with("max", 90),
            );
        }
        let count = self.scope.add.len()
            + self.scope.replace.len()
            + self.scope.remove.len()
            + self.kpis.add.len()
            + self.kpis.replace.len()
            + self.kpis.remove.len();
        if count == 0 && self.terms.is_empty() {
            v.add("terms", "no_change", "an amendment must change the terms, the scope or the KPIs");
        }
        if count > MAX_CHANGES {
            v.push(
                FieldError::new("kpis", "too_many", format!("at most {MAX_CHANGES} changes per amendment"))
                    .with("max", MAX_CHANGES),
            );
        }
        for (i, item) in std::mem::take(&mut self.scope.add).into_iter().enumerate() {
            if let Some(ValidScopeItem(item)) = v.nested(&format!("scope.add[{i}]"), item.validate()) {
                self.scope.add.push(item);
            }
        }
        for (i, r) in std::mem::take(&mut self.scope.replace).into_iter().enumerate() {
            if let Some(ValidScopeItem(item)) = v.nested(&format!("scope.replace[{i}].item"), r.item.validate()) {
                self.scope.replace.push(ScopeReplacement { id: r.id, item });
            }
        }
        for (i, k) in std::mem::take(&mut self.kpis.add).into_iter().enumerate() {
            if let Some(ValidKpi(k)) = v.nested(&format!("kpis.add[{i}]"), k.validate()) {
                self.kpis.add.push(k);
            }
        }
        for (i, r) in std::mem::take(&mut self.kpis.replace).into_iter().enumerate() {
            if let Some(ValidKpi(kpi)) = v.nested(&format!("kpis.replace[{i}].kpi"), r.kpi.validate()) {
                self.kpis.replace.push(KpiReplacement { id: r.id, kpi });
            }
        }
        let scope_ids = self.scope.replace.iter().map(|r| r.id).chain(self.scope.remove.iter().copied());
        duplicates(&mut v, "scope", scope_ids);
        let kpi_ids = self.kpis.replace.iter().map(|r| r.id).chain(self.kpis.remove.iter().copied());
        duplicates(&mut v, "kpis", kpi_ids);
        v.finish(ValidAmendment(self))
    }
}

/// An item may be named once per amendment: replaced or removed, not both.
fn duplicates(v: &mut Violations, field: &str, ids: impl Iterator<Item = Uuid>) {
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            v.add(field, "duplicate", format!("{id} is changed twice in one amendment"));
        }
    }
}

/// What an amendment becomes after a decision on its approval (`None`: it waits).
pub fn after_decision(outcome: Outcome) -> Option<AmendmentStatus> {
    match outcome {
        Outcome::Recorded | Outcome::NextStage(_) => None,
        Outcome::Approved => Some(AmendmentStatus::Applied),
        Outcome::Rejected => Some(AmendmentStatus::Rejected),
        Outcome::ChangesRequested => Some(AmendmentStatus::ChangesRequested),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an amendment that is {from} cannot be {action}")]
pub struct AmendmentTransitionError {
    pub from: AmendmentStatus,
    pub action: &'static str,
}

/// Revising an amendment: only a pending one or one sent back; it becomes pending again.
pub fn revise(from: AmendmentStatus) -> Result<AmendmentStatus, AmendmentTransitionError> {
    match from {
        AmendmentStatus::Pending | AmendmentStatus::ChangesRequested => Ok(AmendmentStatus::Pending),
        _ => Err(AmendmentTransitionError { from, action: "revised" }),
    }
}

/// Withdrawing an amendment: only while it is pending or sent back.
pub fn withdraw(from: AmendmentStatus) -> Result<AmendmentStatus, AmendmentTransitionError> {
    match from {
        AmendmentStatus::Pending | AmendmentStatus::ChangesRequested => Ok(AmendmentStatus::Withdrawn),
        _ => Err(AmendmentTransitionError { from, action: "withdrawn" }),
    }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;
    use crate::domain::enums::{Aggregation, KpiDirection, KpiUnit, ScopeFunction};

    fn kpi(name: &str) -> KpiInput {
        KpiInput {
            name: name.into(),
            objective: "Conversación".into(),
            unit: KpiUnit::Count,
            direction: KpiDirection::HigherIsBetter,
            baseline: Some(100.0),
            target: 120.0,
            target_upper: None,
            warning_threshold: 110.0,
            critical_threshold: 90.0,
            aggregation: Aggregation::Sum,
            channels: vec![],
            allow_negative: false,
            ratio_of: None,
        }
    }

    fn amendment() -> AmendmentInput {
        AmendmentInput {
            reason: "  Ampliación a TikTok ".into(),
            terms: TermsChange { monthly_fee_minor: Some(500_000), ..TermsChange::default() },
            scope: ScopeChanges {
                add: vec![ScopeItemInput {
                    function: ScopeFunction::ContentCreation,
                    description: "Vídeos cortos".into(),
                    deliverables: vec![],
                    quantity_per_period: Some(4),
                }],
                ..ScopeChanges::default()
            },
            kpis: KpiChanges { add: vec![kpi("Visualizaciones")], ..KpiChanges::default() },
        }
    }

    #[test]
    fn a_valid_amendment_is_normalised() {
        let ValidAmendment(a) = amendment().validate().unwrap();
        assert_eq!(a.reason, "Ampliación a TikTok");
        assert_eq!(a.kpis.add.len(), 1);
        assert_eq!(a.scope.add.len(), 1);
    }

    #[test]
    fn every_bad_part_is_named_with_its_path() {
        let mut a = amendment();
        a.reason = " ".into();
        a.terms.monthly_fee_minor = Some(-1);
        a.terms.due_offset_days = Some(120);
        a.kpis.add[0].name = String::new();
        let id = Uuid::from_u128(5);
        a.kpis.replace = vec![KpiReplacement { id, kpi: kpi("Alcance") }];
        a.kpis.remove = vec![id];
        a.scope.replace = vec![ScopeReplacement {
            id: Uuid::from_u128(6),
            item: ScopeItemInput {
                function: ScopeFunction::Training,
                description: String::new(),
                deliverables: vec![],
                quantity_per_period: None,
            },
        }];
        let fields: Vec<_> = a.validate().unwrap_err().0.into_iter().map(|f| f.field).collect();
        assert_eq!(
            fields,
            [
                "reason",
                "terms.monthly_fee_minor",
                "terms.due_offset_days",
                "scope.replace[0].item.description",
                "kpis.add[0].name",
                "kpis"
            ]
        );
    }

    #[test]
    fn an_empty_amendment_is_refused() {
        let a = AmendmentInput {
            reason: "nada".into(),
            terms: TermsChange::default(),
            scope: ScopeChanges::default(),
            kpis: KpiChanges::default(),
        };
        assert_eq!(a.validate().unwrap_err().0[0].code, "no_change");
    }

    #[test]
    fn the_status_machine_allows_exactly_the_documented_moves() {
        use AmendmentStatus as S;
        for from in S::iter() {
            let open = matches!(from, S::Pending | S::ChangesRequested);
            assert_eq!(revise(from).is_ok(), open, "{from}");
            assert_eq!(withdraw(from).ok(), open.then_some(S::Withdrawn), "{from}");
        }
        assert_eq!(after_decision(Outcome::Approved), Some(S::Applied));
        assert_eq!(after_decision(Outcome::Rejected), Some(S::Rejected));
        assert_eq!(after_decision(Outcome::ChangesRequested), Some(S::ChangesRequested));
        assert_eq!(after_decision(Outcome::Recorded), None);
        assert_eq!(after_decision(Outcome::NextStage(1)), None);
    }
}
