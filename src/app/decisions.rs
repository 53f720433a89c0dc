//! Deciding an approval, and applying its outcome to its subject: the one place that knows
//! every kind of subject (a publication, a report, an activation, an amendment). The
//! approvals module keeps the workflows and the decisions themselves, and knows none of
//! them, so the subjects may open and decide approvals without a loop back.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait};
use uuid::Uuid;

use super::{
    WriteRules, alerts, amendments,
    approvals::{self, ApprovalView, DecisionInput},
    audit::Actor,
    content, engagements, reports,
};
use crate::{
    db::entity::engagement,
    domain::{
        alert::AlertRule,
        approval::SubjectKind,
        enums::{Language, Role},
    },
    error::{AppError, AppResult},
};

/// A decision on an approval's current stage: one transaction that records it, moves the
/// approval on and applies the outcome to its subject (e.g. the content item becomes
/// approved).
pub async fn decide(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    (actor, decider_role): (&Actor, Role),
    approval_id: Uuid,
    input: &DecisionInput,
    rules: &WriteRules,
    language: Language,
) -> AppResult<ApprovalView> {
    let txn = crate::db::begin_write(db).await?;
    let current = approvals::lock(&txn, approval_id).await?;
    // Read, not locked: decisions on different approvals of one engagement run in parallel.
    let e = engagement::Entity::find_by_id(current.engagement_id).one(&txn).await?.ok_or(AppError::NotFound)?;
    let decided = approvals::decide_in(&txn, now, (actor, decider_role), &e, current, input, &rules.crisis).await?;
    let (a, outcome) = (&decided.approval, decided.outcome);
    match a.subject_kind {
        SubjectKind::Content => content::apply_decision(&txn, now, a, outcome).await?,
        SubjectKind::Report => reports::apply_decision(&txn, now, actor, a, outcome, input.comment.clone()).await?,
        SubjectKind::Activation => {
            engagements::apply_decision(&txn, now, actor, a, outcome, rules.max_yearly_growth).await?
        }
        SubjectKind::Amendment => amendments::apply_decision(&txn, now, actor, a, outcome, rules).await?,
    }
    // A decision may end an overdue stage, and an accepted report its signals' alerts.
    let rules_changed = [AlertRule::ApprovalOverdue, AlertRule::HighSeveritySignal];
    alerts::reconcile_in(&txn, now, &rules.notifier, alerts::Scope::Engagement(e.id), &rules_changed).await?;
    let view = approvals::views(&txn, std::slice::from_ref(&decided.approval), now, language).await?.remove(0);
    txn.commit().await?;
    Ok(view)
}
