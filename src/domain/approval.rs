//! Approval workflows (SPEC §1.7, §3 Approval workflow): who approves a publication, a report,
//! a contract change or an activation, in which order, and how fast.
//!
//! A workflow is ordered stages; each names its approvers (users, or everyone holding a team
//! role on the engagement), a quorum (any one of them, or all), an SLA in hours and an
//! optional escalation target. An approval runs one subject through the stages of the
//! workflow in force when it was opened (a snapshot: later edits of the workflow do not
//! change running approvals). The rules below are pure; the store resolves team roles into
//! users when a stage starts and serialises decisions.
//!
//! Decisions: `approve` counts towards the stage's quorum, and the last stage's approval
//! approves the subject; `reject` closes it; `request_changes` returns it to its author, who
//! resubmits (a new approval). Separation of duties: nobody decides on a subject they
//! authored, and a vendor user never decides.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    FieldError, Violations,
    enums::{Channel, TeamRole, string_enum},
    text,
};

string_enum! {
    /// What an approval decides on.
    SubjectKind { Activation, Amendment, Report, Content }
}

string_enum! {
    /// How many of a stage's approvers must approve.
    Quorum { Any, All }
}

string_enum! {
    Decision { Approve, Reject, RequestChanges }
}

string_enum! {
    /// Life cycle of one approval: pending until approved, rejected, sent back, or replaced
    /// by a newer approval of the same subject (superseded) or withdrawn with its subject.
    ApprovalStatus { Pending, Approved, Rejected, ChangesRequested, Superseded, Withdrawn }
}

/// Who may decide at a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Approver {
    User {
        user_id: Uuid,
    },
    /// Everyone holding this team role on the engagement when the stage starts.
    TeamRole {
        team_role: TeamRole,
    },
}

string_enum! {
    /// The stages Veedor itself names (the default workflows and the crisis stage): their
    /// name is worded in the reader's language at view time, never stored as text.
    StagePreset { CommunityLead, ExecutiveSponsor, CrisisReview }
}

/// What an approval is about, as kind-specific parameters: its title is worded from these in
/// the reader's language (`present::titles`). Only data people typed is kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SubjectLabel {
    /// Activation of an engagement: the engagement's title.
    Activation { engagement: String },
    /// A contract amendment: the reason its author gave.
    Amendment { reason: String },
    /// A report: the period it covers.
    Report { period_start: NaiveDate, period_end: NaiveDate },
    /// A publication: its channel and the start of its text.
    Content { channel: Channel, excerpt: String },
}

impl SubjectLabel {
    pub fn kind(&self) -> SubjectKind {
        match self {
            Self::Activation { .. } => SubjectKind::Activation,
            Self::Amendment { .. } => SubjectKind::Amendment,
            Self::Report { .. } => SubjectKind::Report,
            Self::Content { .. } => SubjectKind::Content,
        }
    }

    /// The part people typed (engagement title, reason, text excerpt), for search and sorting.
    pub fn typed_text(&self) -> &str {
        match self {
            Self::Activation { engagement } => engagement,
            Self::Amendment { reason } => reason,
            Self::Report { .. } => "",
            Self::Content { excerpt, .. } => excerpt,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// The stage's name as people typed it; empty for a stage Veedor names (`preset`).
    #[serde(default)]
    pub name: String,
    /// Set on the stages Veedor defines; their name is worded in the reader's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<StagePreset>,
    pub approvers: Vec<Approver>,
    pub quorum: Quorum,
    /// Hours the stage may take before it is overdue.
    pub sla_hours: i64,
    /// Added as an approver when the stage is escalated.
    #[serde(default)]
    pub escalation: Option<Approver>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowInput {
    pub stages: Vec<Stage>,
}

pub const MAX_STAGES: usize = 10;
pub const MAX_APPROVERS: usize = 20;
/// Longest SLA a stage may have: 30 days.
pub const MAX_SLA_HOURS: i64 = 720;

impl WorkflowInput {
    /// Checks the shape; that user approvers exist is the store's part.
    pub fn validate(mut self) -> Result<WorkflowInput, Violations> {
        let mut v = Violations::new();
        if self.stages.is_empty() {
            v.add("stages", "required", "a workflow needs at least one stage");
        }
        if self.stages.len() > MAX_STAGES {
            v.push(
                FieldError::new("stages", "too_many", format!("at most {MAX_STAGES} stages")).with("max", MAX_STAGES),
            );
        }
        for (i, stage) in self.stages.iter_mut().enumerate() {
            let at = |f: &str| format!("stages[{i}].{f}");
            if stage.preset.is_some() && stage.name.trim().is_empty() {
                stage.name = String::new();
            } else if let Some(name) = v.check(text::required(&at("name"), &stage.name, 80)) {
                stage.name = name;
            }
            if stage.approvers.is_empty() {
                v.add(at("approvers"), "required", "a stage needs at least one approver");
            }
            if stage.approvers.len() > MAX_APPROVERS {
                v.push(
                    FieldError::new(at("approvers"), "too_many", format!("at most {MAX_APPROVERS} approvers"))
                        .with("max", MAX_APPROVERS),
                );
            }
            for (j, a) in stage.approvers.iter().enumerate() {
                if stage.approvers[..j].contains(a) {
                    v.add(format!("stages[{i}].approvers[{j}]"), "duplicate", "listed twice");
                }
                if *a == (Approver::TeamRole { team_role: TeamRole::AgencyContact }) {
                    v.add(format!("stages[{i}].approvers[{j}]"), "vendor_approver", "agency users never approve");
                }
            }
            if !(1..=MAX_SLA_HOURS).contains(&stage.sla_hours) {
                v.push(
                    FieldError::new(
                        at("sla_hours"),
                        "out_of_range",
                        format!("must be between 1 and {MAX_SLA_HOURS} hours"),
                    )
                    .with("min", 1)
                    .with("max", MAX_SLA_HOURS),
                );
            }
            if stage.escalation == Some(Approver::TeamRole { team_role: TeamRole::AgencyContact }) {
                v.add(at("escalation"), "vendor_approver", "agency users never approve");
            }
        }
        v.finish(self)
    }
}

fn role(team_role: TeamRole) -> Approver {
    Approver::TeamRole { team_role }
}

/// The workflow an engagement uses for a kind of subject until it defines its own.
pub fn default_workflow(kind: SubjectKind) -> WorkflowInput {
    let stage = |preset: StagePreset, who: TeamRole, sla_hours, escalation: Option<TeamRole>| Stage {
        name: String::new(),
        preset: Some(preset),
        approvers: vec![role(who)],
        quorum: Quorum::Any,
        sla_hours,
        escalation: escalation.map(role),
    };
    let stages = match kind {
        SubjectKind::Content => vec![stage(StagePreset::CommunityLead, TeamRole::Lead, 24, Some(TeamRole::Executive))],
        SubjectKind::Report => vec![stage(StagePreset::CommunityLead, TeamRole::Lead, 72, Some(TeamRole::Executive))],
        SubjectKind::Activation | SubjectKind::Amendment => vec![
            stage(StagePreset::CommunityLead, TeamRole::Lead, 48, Some(TeamRole::Executive)),
            stage(StagePreset::ExecutiveSponsor, TeamRole::Executive, 72, None),
        ],
    };
    WorkflowInput { stages }
}

/// The deadline of a stage that started at `started_at`. In crisis mode, SLAs shrink by
/// `crisis_factor` (e.g. 0.5 halves them), never below one minute.
pub fn stage_due_at(started_at: DateTime<Utc>, sla_hours: i64, crisis_factor: Option<f64>) -> DateTime<Utc> {
    let minutes = (sla_hours * 60) as f64 * crisis_factor.unwrap_or(1.0);
    started_at + Duration::minutes((minutes.round() as i64).max(1))
}

/// What the decider and the approval look like when a decision arrives.
#[derive(Debug, Clone)]
pub struct DecisionContext<'a> {
    pub status: ApprovalStatus,
    /// The stage now waiting (0-based).
    pub current_stage: usize,
    pub stages: usize,
    pub quorum: Quorum,
    /// The users who may decide at the current stage (team roles resolved, escalation added).
    pub approvers: &'a [Uuid],
    /// Approvers who already approved the current stage.
    pub approved_by: &'a [Uuid],
    pub author: Option<Uuid>,
    pub decider: Uuid,
    pub decider_is_vendor: bool,
    /// The stage the decider saw; a decision on an older stage is refused.
    pub stage_seen: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Counted; the quorum `all` still waits for others.
    Recorded,
    /// The stage is approved and the next one starts.
    NextStage(usize),
    /// The last stage is approved: apply the subject.
    Approved,
    Rejected,
    ChangesRequested,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionRefused {
    #[error("agency users never decide approvals")]
    VendorCannotDecide,
    #[error("nobody decides on a subject they authored")]
    OwnSubject,
    #[error("you are not an approver of this stage")]
    NotAnApprover,
    #[error("this approval is {0} and takes no more decisions")]
    Closed(ApprovalStatus),
    #[error("stage {seen} was already decided; the approval is at stage {current}")]
    StageDecided { seen: usize, current: usize },
    #[error("you already approved this stage")]
    AlreadyApproved,
}

/// Applies one decision to a pending approval.
pub fn decide(ctx: &DecisionContext<'_>, decision: Decision) -> Result<Outcome, DecisionRefused> {
    if ctx.decider_is_vendor {
        return Err(DecisionRefused::VendorCannotDecide);
    }
    if ctx.status != ApprovalStatus::Pending {
        return Err(DecisionRefused::Closed(ctx.status));
    }
    if ctx.stage_seen != ctx.current_stage {
        return Err(DecisionRefused::StageDecided { seen: ctx.stage_seen, current: ctx.current_stage });
    }
    if ctx.author == Some(ctx.decider) {
        return Err(DecisionRefused::OwnSubject);
    }
    if !ctx.approvers.contains(&ctx.decider) {
        return Err(DecisionRefused::NotAnApprover);
    }
    if ctx.approved_by.contains(&ctx.decider) {
        return Err(DecisionRefused::AlreadyApproved);
    }
    Ok(match decision {
        Decision::Reject => Outcome::Rejected,
        Decision::RequestChanges => Outcome::ChangesRequested,
        Decision::Approve => {
            let complete = match ctx.quorum {
                Quorum::Any => true,
                // The author never counts (they cannot approve), so "all" means all others.
                Quorum::All => ctx
                    .approvers
                    .iter()
                    .filter(|a| Some(**a) != ctx.author)
                    .all(|a| *a == ctx.decider || ctx.approved_by.contains(a)),
            };
            match (complete, ctx.current_stage + 1 < ctx.stages) {
                (false, _) => Outcome::Recorded,
                (true, true) => Outcome::NextStage(ctx.current_stage + 1),
                (true, false) => Outcome::Approved,
            }
        }
    })
}

/// The status an approval takes for an outcome (`None`: it stays pending).
pub fn status_after(outcome: Outcome) -> Option<ApprovalStatus> {
    match outcome {
        Outcome::Recorded | Outcome::NextStage(_) => None,
        Outcome::Approved => Some(ApprovalStatus::Approved),
        Outcome::Rejected => Some(ApprovalStatus::Rejected),
        Outcome::ChangesRequested => Some(ApprovalStatus::ChangesRequested),
    }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    const AUTHOR: Uuid = Uuid::from_u128(1);
    const ANA: Uuid = Uuid::from_u128(2);
    const BEA: Uuid = Uuid::from_u128(3);
    const OTHER: Uuid = Uuid::from_u128(9);

    fn ctx<'a>(quorum: Quorum, approvers: &'a [Uuid], approved_by: &'a [Uuid]) -> DecisionContext<'a> {
        DecisionContext {
            status: ApprovalStatus::Pending,
            current_stage: 0,
            stages: 2,
            quorum,
            approvers,
            approved_by,
            author: Some(AUTHOR),
            decider: ANA,
            decider_is_vendor: false,
            stage_seen: 0,
        }
    }

    #[test]
    fn any_quorum_moves_on_at_the_first_approval_and_the_last_stage_approves() {
        let c = ctx(Quorum::Any, &[ANA, BEA], &[]);
        assert_eq!(decide(&c, Decision::Approve), Ok(Outcome::NextStage(1)));
        let last = DecisionContext { current_stage: 1, stage_seen: 1, ..c.clone() };
        assert_eq!(decide(&last, Decision::Approve), Ok(Outcome::Approved));
        assert_eq!(decide(&c, Decision::Reject), Ok(Outcome::Rejected));
        assert_eq!(decide(&c, Decision::RequestChanges), Ok(Outcome::ChangesRequested));
    }

    #[test]
    fn all_quorum_waits_for_everyone_but_the_author() {
        assert_eq!(decide(&ctx(Quorum::All, &[ANA, BEA], &[]), Decision::Approve), Ok(Outcome::Recorded));
        assert_eq!(decide(&ctx(Quorum::All, &[ANA, BEA], &[BEA]), Decision::Approve), Ok(Outcome::NextStage(1)));
        // The author holds the team role too, but cannot approve: the others suffice.
        assert_eq!(decide(&ctx(Quorum::All, &[ANA, AUTHOR], &[]), Decision::Approve), Ok(Outcome::NextStage(1)));
        // One rejection is enough, whatever the quorum.
        assert_eq!(decide(&ctx(Quorum::All, &[ANA, BEA], &[BEA]), Decision::Reject), Ok(Outcome::Rejected));
    }

    #[test]
    fn refusals_for_every_decision() {
        for decision in Decision::iter() {
            let base = ctx(Quorum::Any, &[ANA, BEA, AUTHOR], &[]);
            let vendor = DecisionContext { decider_is_vendor: true, ..base.clone() };
            assert_eq!(decide(&vendor, decision), Err(DecisionRefused::VendorCannotDecide));
            let own = DecisionContext { decider: AUTHOR, ..base.clone() };
            assert_eq!(decide(&own, decision), Err(DecisionRefused::OwnSubject));
            let stranger = DecisionContext { decider: OTHER, ..base.clone() };
            assert_eq!(decide(&stranger, decision), Err(DecisionRefused::NotAnApprover));
            let stale = DecisionContext { current_stage: 1, ..base.clone() };
            assert_eq!(decide(&stale, decision), Err(DecisionRefused::StageDecided { seen: 0, current: 1 }));
            let twice = ctx(Quorum::All, &[ANA, BEA], &[ANA]);
            assert_eq!(decide(&twice, decision), Err(DecisionRefused::AlreadyApproved));
            for status in ApprovalStatus::iter().filter(|s| *s != ApprovalStatus::Pending) {
                let closed = DecisionContext { status, ..base.clone() };
                assert_eq!(decide(&closed, decision), Err(DecisionRefused::Closed(status)));
            }
        }
    }

    #[test]
    fn outcomes_map_to_statuses() {
        assert_eq!(status_after(Outcome::Recorded), None);
        assert_eq!(status_after(Outcome::NextStage(1)), None);
        assert_eq!(status_after(Outcome::Approved), Some(ApprovalStatus::Approved));
        assert_eq!(status_after(Outcome::Rejected), Some(ApprovalStatus::Rejected));
        assert_eq!(status_after(Outcome::ChangesRequested), Some(ApprovalStatus::ChangesRequested));
    }

    #[test]
    fn workflows_are_validated_by_field() {
        for kind in SubjectKind::iter() {
            assert!(default_workflow(kind).validate().is_ok(), "{kind}");
        }
        let stage = |approvers: Vec<Approver>, sla_hours| Stage {
            name: "Legal".into(),
            preset: None,
            approvers,
            quorum: Quorum::All,
            sla_hours,
            escalation: None,
        };
        let fields = |w: WorkflowInput| -> Vec<String> {
            w.validate().err().map(|v| v.0.into_iter().map(|f| f.field).collect()).unwrap_or_default()
        };
        assert_eq!(fields(WorkflowInput { stages: vec![] }), ["stages"]);
        assert_eq!(
            fields(WorkflowInput { stages: vec![stage(vec![], 24), stage(vec![role(TeamRole::Legal)], -4)] }),
            ["stages[0].approvers", "stages[1].sla_hours"]
        );
        let twice = vec![role(TeamRole::Legal), role(TeamRole::Legal), role(TeamRole::AgencyContact)];
        assert_eq!(
            fields(WorkflowInput { stages: vec![stage(twice, 24)] }),
            ["stages[0].approvers[1]", "stages[0].approvers[2]"]
        );
    }

    #[test]
    fn crisis_mode_shortens_deadlines() {
        let start: DateTime<Utc> = "2027-03-27T10:00:00Z".parse().unwrap();
        assert_eq!(stage_due_at(start, 24, None), start + Duration::hours(24));
        assert_eq!(stage_due_at(start, 24, Some(0.25)), start + Duration::hours(6));
        assert_eq!(stage_due_at(start, 1, Some(0.0)), start + Duration::minutes(1));
    }
}
