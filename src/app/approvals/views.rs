//! What an approval looks like to a reader: stages, decisions, timings, worded subject.

use super::deciders_of;
use super::stages_of;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::entity::{approval, approval_decision};
use crate::{
    domain::{
        approval::{ApprovalStatus, Decision, Stage, SubjectKind, SubjectLabel},
        enums::Language,
    },
    error::AppResult,
    present,
};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionView {
    pub stage: i32,
    pub decider_id: Uuid,
    pub decision: Decision,
    pub comment: String,
    pub decided_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovalView {
    pub id: Uuid,
    pub engagement_id: Uuid,
    pub subject_kind: SubjectKind,
    pub subject_id: Uuid,
    /// What the approval is about, as a kind and parameters (stable, for programs).
    pub subject: SubjectLabel,
    /// The subject's title worded in the requester's language (for people).
    pub title: String,
    pub author_id: Option<Uuid>,
    pub status: ApprovalStatus,
    pub stages: Vec<Stage>,
    pub current_stage: i32,
    /// Who may decide the current stage now.
    pub current_approvers: Vec<Uuid>,
    pub stage_started_at: DateTime<Utc>,
    /// Deadline of the current stage.
    pub stage_due_at: DateTime<Utc>,
    /// Pending and past its deadline.
    pub overdue: bool,
    pub escalated_at: Option<DateTime<Utc>>,
    /// Opened while the engagement was in crisis mode.
    pub crisis: bool,
    pub decisions: Vec<DecisionView>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// What an approval is about, from its stored label.
pub fn label_of(a: &approval::Model) -> AppResult<SubjectLabel> {
    let label = a.subject_label.clone().ok_or_else(|| anyhow::anyhow!("approval {} has no subject label", a.id))?;
    Ok(serde_json::from_value(label).map_err(anyhow::Error::from)?)
}

/// The title of an approval's subject in `language`.
pub fn title_of(a: &approval::Model, language: Language) -> AppResult<String> {
    Ok(present::titles::approval(&label_of(a)?, language))
}

pub(super) fn view(
    a: &approval::Model,
    decisions: Vec<DecisionView>,
    now: DateTime<Utc>,
    language: Language,
) -> AppResult<ApprovalView> {
    let status: ApprovalStatus = a.status;
    let subject = label_of(a)?;
    Ok(ApprovalView {
        id: a.id,
        engagement_id: a.engagement_id,
        subject_kind: a.subject_kind,
        subject_id: a.subject_id,
        title: present::titles::approval(&subject, language),
        subject,
        author_id: a.author_id,
        status,
        stages: stages_of(a)?,
        current_stage: a.current_stage,
        current_approvers: deciders_of(a)?,
        stage_started_at: a.stage_started_at,
        stage_due_at: a.stage_due_at,
        overdue: status == ApprovalStatus::Pending && now >= a.stage_due_at,
        escalated_at: a.escalated_at,
        crisis: a.crisis,
        decisions,
        created_at: a.created_at,
        closed_at: a.closed_at,
    })
}

/// Views of approvals with their decisions, from two queries.
pub async fn views<C: ConnectionTrait>(
    db: &C,
    approvals: &[approval::Model],
    now: DateTime<Utc>,
    language: Language,
) -> AppResult<Vec<ApprovalView>> {
    let decisions = approval_decision::Entity::find()
        .filter(approval_decision::Column::ApprovalId.is_in(approvals.iter().map(|a| a.id)))
        .order_by_asc(approval_decision::Column::DecidedAt)
        .order_by_asc(approval_decision::Column::Id)
        .all(db)
        .await?;
    let mut by: HashMap<Uuid, Vec<DecisionView>> = HashMap::new();
    for d in decisions {
        by.entry(d.approval_id).or_default().push(DecisionView {
            stage: d.stage,
            decider_id: d.decider_id,
            decision: d.decision,
            comment: d.comment,
            decided_at: d.decided_at,
        });
    }
    approvals.iter().map(|a| view(a, by.remove(&a.id).unwrap_or_default(), now, language)).collect()
}
