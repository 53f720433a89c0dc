//! One decision on an approval: serialised per approval, compare-and-set on its revision,
//! audited, and its outcome dispatched (`app::decisions`) in the same transaction.

use super::CrisisRules;
use super::deciders_of;
use super::stage_deciders;
use super::stages_of;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr,
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    app::audit::{self, Actor, AuditEntry},
    db::entity::{approval, approval_decision, engagement},
};
use crate::{
    domain::{
        approval::{self as rules, ApprovalStatus, Decision, DecisionContext, DecisionRefused, Outcome, Quorum},
        enums::Role,
        text,
    },
    error::{AppError, AppResult},
};

/// The request of one decider.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// The stage the decider saw (0-based); a decision on a stage already decided is refused.
    pub stage: i32,
    pub decision: Decision,
    /// Required when rejecting or requesting changes.
    #[serde(default)]
    pub comment: Option<String>,
}

/// The result of a decision, for the subject's module to apply.
pub struct Decided {
    pub approval: approval::Model,
    pub outcome: Outcome,
}

pub(super) fn refusal(e: DecisionRefused) -> AppError {
    match e {
        DecisionRefused::VendorCannotDecide | DecisionRefused::OwnSubject | DecisionRefused::NotAnApprover => {
            AppError::forbidden(e.to_string())
        }
        DecisionRefused::Closed(_) => AppError::conflict("approval", "closed", e.to_string()),
        DecisionRefused::StageDecided { .. } => AppError::conflict("stage", "stage_decided", e.to_string()),
        DecisionRefused::AlreadyApproved => AppError::conflict("approval", "already_decided", e.to_string()),
    }
}

/// Records one decision and moves the approval on, inside the caller's transaction. The
/// approval row is locked (PostgreSQL) or the transaction holds the write lock (SQLite), and
/// the update is a compare-and-set on `revision`, so two deciders racing on one stage give
/// exactly one transition; the other gets 409.
pub async fn decide_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    (actor, decider_role): (&Actor, Role),
    e: &engagement::Model,
    current: approval::Model,
    input: &DecisionInput,
    crisis_rules: &CrisisRules,
) -> AppResult<Decided> {
    let comment = text::optional_paragraphs("comment", input.comment.as_deref(), 5_000)
        .map_err(|e| AppError::Invalid(vec![e]))?;
    if input.decision != Decision::Approve && comment.is_none() {
        return Err(AppError::invalid("comment", "required", "say why"));
    }
    let decider = actor.id.ok_or_else(|| AppError::forbidden("only people decide approvals"))?;
    let stages = stages_of(&current)?;
    let stage = usize::try_from(current.current_stage).map_err(anyhow::Error::from)?;
    let deciders = deciders_of(&current)?;
    let approved_by: Vec<Uuid> = approval_decision::Entity::find()
        .filter(approval_decision::Column::ApprovalId.eq(current.id))
        .filter(approval_decision::Column::Stage.eq(current.current_stage))
        .filter(approval_decision::Column::Decision.eq(Decision::Approve))
        .all(txn)
        .await?
        .iter()
        .map(|d| d.decider_id)
        .collect();
    let status: ApprovalStatus = current.status;
    let quorum = stages.get(stage).map_or(Quorum::Any, |s| s.quorum);
    let ctx = DecisionContext {
        status,
        current_stage: stage,
        stages: stages.len(),
        quorum,
        approvers: &deciders,
        approved_by: &approved_by,
        author: current.author_id,
        decider,
        decider_is_vendor: decider_role == Role::Vendor,
        stage_seen: usize::try_from(input.stage).unwrap_or(usize::MAX),
    };
    let outcome = rules::decide(&ctx, input.decision).map_err(refusal)?;
    approval_decision::ActiveModel {
        id: Set(Uuid::now_v7()),
        approval_id: Set(current.id),
        stage: Set(current.current_stage),
        decider_id: Set(decider),
        decision: Set(input.decision),
        comment: Set(comment.unwrap_or_default()),
        decided_at: Set(now),
    }
    .insert(txn)
    .await?;
    let mut update = approval::Entity::update_many()
        .col_expr(approval::Column::Revision, Expr::value(current.revision + 1))
        .filter(approval::Column::Id.eq(current.id))
        .filter(approval::Column::Revision.eq(current.revision));
    if let Outcome::NextStage(next) = outcome {
        let stage = &stages[next];
        let factor = current.crisis.then_some(crisis_rules.sla_factor);
        update = update
            .col_expr(approval::Column::CurrentStage, Expr::value(next as i32))
            .col_expr(
                approval::Column::StageApprovers,
                Expr::value(
                    serde_json::to_value(stage_deciders(txn, e, stage, current.author_id).await?)
                        .map_err(anyhow::Error::from)?,
                ),
            )
            .col_expr(approval::Column::StageStartedAt, Expr::value(now))
            .col_expr(approval::Column::StageDueAt, Expr::value(rules::stage_due_at(now, stage.sla_hours, factor)))
            .col_expr(approval::Column::EscalatedAt, Expr::value(Option::<DateTime<Utc>>::None));
    }
    if let Some(closed) = rules::status_after(outcome) {
        update = update
            .col_expr(approval::Column::Status, Expr::value(closed.to_string()))
            .col_expr(approval::Column::ClosedAt, Expr::value(now));
    }
    if update.exec(txn).await?.rows_affected != 1 {
        return Err(AppError::conflict("stage", "stage_decided", "another decision moved this approval first"));
    }
    let approval = approval::Entity::find_by_id(current.id).one(txn).await?.ok_or(AppError::NotFound)?;
    let entry = AuditEntry::new("approval.decide", "approval", current.id).engagement(current.engagement_id).after(
        &serde_json::json!({
            "stage": current.current_stage,
            "decision": input.decision,
            "status": approval.status,
            "current_stage": approval.current_stage,
        }),
    );
    audit::record(txn, now, actor, entry).await?;
    Ok(Decided { approval, outcome })
}
