//! The engagement (the contract): its validated input, which changes are amendments, and its
//! status machine draft → pending approval → active → suspended / ended.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    FieldError, Violations,
    approval::Outcome,
    enums::{Cadence, Confidentiality, EngagementStatus, string_enum},
    governance::{Finding, GovernanceReport},
    money, text,
};

/// The longest accepted contract term, in days (ten years).
const MAX_TERM_DAYS: i64 = 3653;

/// The requirements brief that precedes the contract (SPEC §1.6).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BriefInput {
    /// What we want.
    pub want: String,
    /// What can be done.
    pub can_be_done: String,
    /// What we are willing to pay per month, in minor units of the engagement's currency.
    #[serde(default)]
    pub budget_minor: Option<i64>,
}

/// A whole engagement as a client sends it on creation.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EngagementInput {
    pub vendor_id: Uuid,
    pub title: String,
    pub brief: BriefInput,
    pub confidentiality: Confidentiality,
    /// Monthly fee in minor units (cents) of `currency`.
    pub monthly_fee_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// IANA time zone in which periods and due dates are computed.
    pub timezone: String,
    pub cadence: Cadence,
    /// Days after a period's end by which its report is due.
    pub due_offset_days: i32,
    /// The accountable internal person: a lead or an admin.
    #[serde(default)]
    pub owner_id: Option<Uuid>,
}

/// An engagement input whose every field has been checked and normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEngagement(pub EngagementInput);

impl EngagementInput {
    pub fn validate(mut self) -> Result<ValidEngagement, Violations> {
        let mut v = Violations::new();
        if let Some(title) = v.check(text::required("title", &self.title, 200)) {
            self.title = title;
        }
        if let Some(want) = v.check(text::paragraphs("brief.want", &self.brief.want, 10_000)) {
            self.brief.want = want;
        }
        if let Some(can) = v.check(text::paragraphs("brief.can_be_done", &self.brief.can_be_done, 10_000)) {
            self.brief.can_be_done = can;
        }
        if let Some(budget) = self.brief.budget_minor {
            v.check(money::amount("brief.budget_minor", budget));
        }
        v.check(money::amount("monthly_fee_minor", self.monthly_fee_minor));
        if let Some(currency) = v.check(money::currency("currency", &self.currency)) {
            self.currency = currency;
        }
        if let Some(tz) = v.check(text::timezone("timezone", &self.timezone)) {
            self.timezone = tz;
        }
        let term = (self.end_date - self.start_date).num_days();
        if term <= 0 {
            v.add("end_date", "before_start", "must be after start_date");
        } else if term > MAX_TERM_DAYS {
            v.add("end_date", "term_too_long", "the term may not exceed ten years");
        }
        if !(0..=90).contains(&self.due_offset_days) {
            v.push(
                FieldError::new("due_offset_days", "out_of_range", "must be between 0 and 90 days")
                    .with("min", 0)
                    .with("max", 90),
            );
        }
        v.finish(ValidEngagement(self))
    }
}

/// Changes to an engagement; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EngagementPatch {
    pub title: Option<String>,
    pub brief: Option<BriefInput>,
    pub confidentiality: Option<Confidentiality>,
    pub monthly_fee_minor: Option<i64>,
    pub currency: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub timezone: Option<String>,
    pub cadence: Option<Cadence>,
    pub due_offset_days: Option<i32>,
    /// `null` removes the owner.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<Option<Uuid>>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl EngagementPatch {
    pub fn apply(self, mut current: EngagementInput) -> EngagementInput {
        current.title = self.title.unwrap_or(current.title);
        current.brief = self.brief.unwrap_or(current.brief);
        current.confidentiality = self.confidentiality.unwrap_or(current.confidentiality);
        current.monthly_fee_minor = self.monthly_fee_minor.unwrap_or(current.monthly_fee_minor);
        current.currency = self.currency.unwrap_or(current.currency);
        current.start_date = self.start_date.unwrap_or(current.start_date);
        current.end_date = self.end_date.unwrap_or(current.end_date);
        current.timezone = self.timezone.unwrap_or(current.timezone);
        current.cadence = self.cadence.unwrap_or(current.cadence);
        current.due_offset_days = self.due_offset_days.unwrap_or(current.due_offset_days);
        current.owner_id = self.owner_id.unwrap_or(current.owner_id);
        current
    }
}

/// The contract terms that, once an engagement is active, may change only through an
/// approved amendment (SPEC §3): fee, currency, term and reporting rhythm (cadence, due
/// offset, and the time zone in which periods fall). Scope items and
/// KPIs are amendments too and are guarded where they are changed.
pub fn amended_terms(before: &EngagementInput, after: &EngagementInput) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if before.monthly_fee_minor != after.monthly_fee_minor {
        fields.push("monthly_fee_minor");
    }
    if before.currency != after.currency {
        fields.push("currency");
    }
    if before.start_date != after.start_date {
        fields.push("start_date");
    }
    if before.end_date != after.end_date {
        fields.push("end_date");
    }
    if before.cadence != after.cadence {
        fields.push("cadence");
    }
    if before.due_offset_days != after.due_offset_days {
        fields.push("due_offset_days");
    }
    if before.timezone != after.timezone {
        fields.push("timezone");
    }
    fields
}

/// How far an engagement in `status` may be edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Editability {
    /// Everything may change directly.
    Open,
    /// Contract terms, scope and KPIs change only by amendment.
    AmendmentsOnly,
    /// Nothing changes any more.
    Closed,
}

pub fn editability(status: EngagementStatus) -> Editability {
    match status {
        EngagementStatus::Draft | EngagementStatus::PendingApproval => Editability::Open,
        EngagementStatus::Active | EngagementStatus::Suspended => Editability::AmendmentsOnly,
        EngagementStatus::Ended => Editability::Closed,
    }
}

string_enum! {
    /// A requested change of an engagement's status.
    Transition { Submit, Withdraw, Activate, Suspend, Resume, End }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} an engagement that is {from}")]
pub struct InvalidTransition {
    pub from: EngagementStatus,
    pub action: Transition,
}

/// The status an engagement moves to, or why it cannot. Activation also needs governance:
/// use [`activate`] for it.
pub fn next_status(from: EngagementStatus, action: Transition) -> Result<EngagementStatus, InvalidTransition> {
    use EngagementStatus as S;
    use Transition as T;
    match (from, action) {
        (S::Draft, T::Submit) => Ok(S::PendingApproval),
        (S::PendingApproval, T::Withdraw) => Ok(S::Draft),
        (S::PendingApproval, T::Activate) => Ok(S::Active),
        (S::Active, T::Suspend) => Ok(S::Suspended),
        (S::Suspended, T::Resume) => Ok(S::Active),
        (S::Active | S::Suspended, T::End) => Ok(S::Ended),
        _ => Err(InvalidTransition { from, action }),
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActivationRefused {
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    #[error("the engagement does not meet the governance rules for activation")]
    Blocked(Vec<Finding>),
}

impl Transition {
    /// Whether the transition is the outcome of an approval rather than a request: an
    /// engagement is activated by the last approval of its activation workflow, never directly.
    pub fn by_approval_only(self) -> bool {
        self == Transition::Activate
    }
}

/// What a decision on an engagement's activation approval does to it: the last approval
/// activates it; a rejection or a request for changes returns it to draft (`None`: it waits).
pub fn after_activation_decision(outcome: Outcome) -> Option<Transition> {
    match outcome {
        Outcome::Recorded | Outcome::NextStage(_) => None,
        Outcome::Approved => Some(Transition::Activate),
        Outcome::Rejected | Outcome::ChangesRequested => Some(Transition::Withdraw),
    }
}

/// The single entry point for activating an engagement: the status must allow it and the
/// governance assessment must have no blockers. The approval workflow wraps this function.
/// Returns the new status and the warnings that do not block.
pub fn activate(
    from: EngagementStatus,
    report: &GovernanceReport,
) -> Result<(EngagementStatus, Vec<Finding>), ActivationRefused> {
    let next = next_status(from, Transition::Activate)?;
    if !report.blockers.is_empty() {
        return Err(ActivationRefused::Blocked(report.blockers.clone()));
    }
    Ok((next, report.warnings.clone()))
}

impl From<&Finding> for FieldError {
    fn from(f: &Finding) -> Self {
        FieldError::new(f.field.clone(), &f.code, f.message.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    pub(crate) fn sample() -> EngagementInput {
        EngagementInput {
            vendor_id: Uuid::from_u128(7),
            title: "  Gestión de comunidad 2027 ".into(),
            brief: BriefInput {
                want: "Más conversación".into(),
                can_be_done: "Dos redes".into(),
                budget_minor: Some(500_000),
            },
            confidentiality: Confidentiality::Internal,
            monthly_fee_minor: 450_000,
            currency: "eur".into(),
            start_date: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            end_date: NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
            timezone: "Europe/Madrid".into(),
            cadence: Cadence::Monthly,
            due_offset_days: 5,
            owner_id: None,
        }
    }

    #[test]
    fn a_valid_input_is_normalised() {
        let ValidEngagement(e) = sample().validate().unwrap();
        assert_eq!(e.title, "Gestión de comunidad 2027");
        assert_eq!(e.currency, "EUR");
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut e = sample();
        e.title = " ".into();
        e.monthly_fee_minor = -1;
        e.currency = "EURO".into();
        e.timezone = "Europe/Atlantis".into();
        e.end_date = e.start_date;
        e.due_offset_days = 91;
        e.brief.budget_minor = Some(-5);
        let fields: Vec<_> = e.validate().unwrap_err().0.into_iter().map(|f| f.field).collect();
        assert_eq!(
            fields,
            ["title", "brief.budget_minor", "monthly_fee_minor", "currency", "timezone", "end_date", "due_offset_days"]
        );
    }

    #[test]
    fn end_before_start_is_refused() {
        let mut e = sample();
        e.end_date = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        assert_eq!(e.validate().unwrap_err().0[0].code, "before_start");
    }

    #[test]
    fn patches_apply_and_null_clears_the_owner() {
        let mut base = sample();
        base.owner_id = Some(Uuid::from_u128(9));
        let patch: EngagementPatch = serde_json::from_str(r#"{"owner_id": null, "monthly_fee_minor": 1}"#).unwrap();
        let after = patch.apply(base.clone());
        assert_eq!(after.owner_id, None);
        assert_eq!(amended_terms(&base, &after), ["monthly_fee_minor"]);
        let untouched: EngagementPatch = serde_json::from_str("{}").unwrap();
        assert_eq!(untouched.apply(base.clone()), base);
    }

    #[test]
    fn the_status_machine_allows_exactly_the_documented_moves() {
        use EngagementStatus as S;
        use Transition as T;
        let allowed = [
            (S::Draft, T::Submit, S::PendingApproval),
            (S::PendingApproval, T::Withdraw, S::Draft),
            (S::PendingApproval, T::Activate, S::Active),
            (S::Active, T::Suspend, S::Suspended),
            (S::Active, T::End, S::Ended),
            (S::Suspended, T::Resume, S::Active),
            (S::Suspended, T::End, S::Ended),
        ];
        for from in S::iter() {
            for action in T::iter() {
                let expected = allowed.iter().find(|(f, a, _)| *f == from && *a == action).map(|(_, _, to)| *to);
                assert_eq!(next_status(from, action).ok(), expected, "{from} {action}");
            }
        }
    }

    #[test]
    fn activation_needs_a_clean_governance_report() {
        let blocked =
            GovernanceReport { blockers: vec![Finding::new("owner_id", "owner_required", "x")], warnings: vec![] };
        assert!(matches!(activate(EngagementStatus::PendingApproval, &blocked), Err(ActivationRefused::Blocked(_))));
        assert!(matches!(activate(EngagementStatus::Draft, &warned_free()), Err(ActivationRefused::Transition(_))));
        let warned = GovernanceReport { blockers: vec![], warnings: vec![Finding::new("team", "no_executive", "x")] };
        let (status, warnings) = activate(EngagementStatus::PendingApproval, &warned).unwrap();
        assert_eq!(status, EngagementStatus::Active);
        assert_eq!(warnings.len(), 1);
        assert!(matches!(activate(EngagementStatus::Ended, &warned), Err(ActivationRefused::Transition(_))));
    }

    fn warned_free() -> GovernanceReport {
        GovernanceReport { blockers: vec![], warnings: vec![] }
    }

    #[test]
    fn activation_decisions_activate_or_return_to_draft() {
        assert!(Transition::Activate.by_approval_only());
        assert!(Transition::iter().filter(|t| t.by_approval_only()).eq([Transition::Activate]));
        assert_eq!(after_activation_decision(Outcome::Approved), Some(Transition::Activate));
        assert_eq!(after_activation_decision(Outcome::Rejected), Some(Transition::Withdraw));
        assert_eq!(after_activation_decision(Outcome::ChangesRequested), Some(Transition::Withdraw));
        assert_eq!(after_activation_decision(Outcome::Recorded), None);
        assert_eq!(after_activation_decision(Outcome::NextStage(1)), None);
    }

    #[test]
    fn editability_follows_status() {
        assert_eq!(editability(EngagementStatus::Draft), Editability::Open);
        assert_eq!(editability(EngagementStatus::Active), Editability::AmendmentsOnly);
        assert_eq!(editability(EngagementStatus::Ended), Editability::Closed);
    }
}
