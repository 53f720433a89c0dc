//! Opening an approval for a subject (superseding a pending one) and closing the pending
//! approval of a subject that is withdrawn.

use super::CrisisRules;
use super::stage_deciders;
use super::workflow;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    app::{
        audit::{self, Actor, AuditEntry},
        crisis,
    },
    db::entity::{approval, engagement},
};
use crate::{
    domain::approval::{
        self as rules, ApprovalStatus, Approver, Quorum, Stage, StagePreset, SubjectKind, SubjectLabel,
    },
    error::AppResult,
};

/// The pending approval of a subject, locked, if there is one.
pub async fn pending_for<C: ConnectionTrait>(
    txn: &C,
    kind: SubjectKind,
    subject_id: Uuid,
) -> AppResult<Option<approval::Model>> {
    let mut q = approval::Entity::find()
        .filter(approval::Column::SubjectKind.eq(kind))
        .filter(approval::Column::SubjectId.eq(subject_id))
        .filter(approval::Column::Status.eq(ApprovalStatus::Pending));
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        q = q.lock_exclusive();
    }
    Ok(q.one(txn).await?)
}

/// What the subject is, for the queue.
pub struct Subject {
    pub id: Uuid,
    /// What the subject is (its kind and the parameters its title is worded from).
    pub label: SubjectLabel,
    pub author: Option<Uuid>,
}

impl Subject {
    pub fn kind(&self) -> SubjectKind {
        self.label.kind()
    }
}

/// Opens an approval for a subject inside the caller's transaction, superseding any pending
/// approval of the same subject. Content approvals opened in crisis mode gain a final stage
/// for the crisis approvers, and every stage's SLA shrinks.
pub async fn open_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    subject: Subject,
    crisis_rules: &CrisisRules,
) -> AppResult<approval::Model> {
    let kind = subject.kind();
    let mut stages = workflow(txn, e.id, kind).await?.stages;
    let in_crisis = crisis::active(txn, e.id).await?.is_some();
    if in_crisis && kind == SubjectKind::Content && !crisis_rules.approver_roles.is_empty() {
        stages.push(Stage {
            name: String::new(),
            preset: Some(StagePreset::CrisisReview),
            approvers: crisis_rules.approver_roles.iter().map(|r| Approver::TeamRole { team_role: *r }).collect(),
            quorum: Quorum::Any,
            sla_hours: stages.iter().map(|s| s.sla_hours).min().unwrap_or(24),
            escalation: None,
        });
    }
    supersede(txn, now, kind, subject.id).await?;
    let first = &stages[0];
    let factor = in_crisis.then_some(crisis_rules.sla_factor);
    let model = approval::ActiveModel {
        id: Set(Uuid::now_v7()),
        engagement_id: Set(e.id),
        subject_kind: Set(kind),
        subject_id: Set(subject.id),
        title: Set(subject.label.typed_text().chars().take(200).collect()),
        subject_label: Set(Some(serde_json::to_value(&subject.label).map_err(anyhow::Error::from)?)),
        author_id: Set(subject.author),
        status: Set(ApprovalStatus::Pending),
        stage_approvers: Set(
            serde_json::to_value(stage_deciders(txn, e, first, subject.author).await?).map_err(anyhow::Error::from)?
        ),
        stage_started_at: Set(now),
        stage_due_at: Set(rules::stage_due_at(now, first.sla_hours, factor)),
        stages: Set(serde_json::to_value(&stages).map_err(anyhow::Error::from)?),
        current_stage: Set(0),
        escalated_at: Set(None),
        crisis: Set(in_crisis),
        created_at: Set(now),
        closed_at: Set(None),
        revision: Set(0),
    }
    .insert(txn)
    .await?;
    let entry = AuditEntry::new("approval.open", "approval", model.id)
        .engagement(e.id)
        .after(&serde_json::json!({ "subject_kind": kind, "subject_id": subject.id, "crisis": in_crisis }));
    audit::record(txn, now, actor, entry).await?;
    Ok(model)
}

/// Marks the pending approvals of a subject as superseded (it changed) and closes them.
pub(super) async fn supersede<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    kind: SubjectKind,
    id: Uuid,
) -> AppResult<()> {
    close_pending(txn, now, kind, id, ApprovalStatus::Superseded).await
}

/// Closes the pending approvals of a subject with `status` (superseded or withdrawn).
pub async fn close_pending<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    kind: SubjectKind,
    id: Uuid,
    status: ApprovalStatus,
) -> AppResult<()> {
    approval::Entity::update_many()
        .col_expr(approval::Column::Status, Expr::value(status.to_string()))
        .col_expr(approval::Column::ClosedAt, Expr::value(now))
        .col_expr(approval::Column::Revision, Expr::col(approval::Column::Revision).add(1))
        .filter(approval::Column::SubjectKind.eq(kind))
        .filter(approval::Column::SubjectId.eq(id))
        .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
        .exec(txn)
        .await?;
    Ok(())
}
