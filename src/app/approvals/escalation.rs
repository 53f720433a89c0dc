//! SLA escalation: overdue stages gain their escalation target as a decider.

use super::deciders_of;
use super::lock;
use super::resolve;
use super::stages_of;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::{
    app::audit::{self, Actor, AuditEntry},
    db::entity::approval,
};
use crate::{domain::approval::ApprovalStatus, error::AppResult};

/// Escalates every pending stage past its deadline that was not escalated yet: its
/// escalation target joins the deciders, and the escalation is audited. Returns how many
/// approvals were escalated. Meant to run every minute (the scheduler calls it).
pub async fn escalate_overdue(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<usize> {
    let overdue = approval::Entity::find()
        .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
        .filter(approval::Column::StageDueAt.lte(now))
        .filter(approval::Column::EscalatedAt.is_null())
        .all(db)
        .await?;
    let mut escalated = 0;
    for candidate in overdue {
        let txn = crate::db::begin_write(db).await?;
        let a = lock(&txn, candidate.id).await?;
        if a.revision != candidate.revision || a.escalated_at.is_some() {
            continue;
        }
        let stages = stages_of(&a)?;
        let stage = stages.get(usize::try_from(a.current_stage).map_err(anyhow::Error::from)?);
        let mut deciders = deciders_of(&a)?;
        let added = match stage.and_then(|s| s.escalation.clone()) {
            Some(target) => resolve(&txn, a.engagement_id, &[target]).await?,
            None => Vec::new(),
        };
        for id in &added {
            if !deciders.contains(id) {
                deciders.push(*id);
            }
        }
        let mut m: approval::ActiveModel = a.clone().into();
        m.escalated_at = Set(Some(now));
        m.stage_approvers = Set(serde_json::to_value(&deciders).map_err(anyhow::Error::from)?);
        m.revision = Set(a.revision + 1);
        m.update(&txn).await?;
        let entry = AuditEntry::new("approval.escalate", "approval", a.id)
            .engagement(a.engagement_id)
            .after(&serde_json::json!({ "stage": a.current_stage, "added_approvers": added }));
        audit::record(&txn, now, &Actor::system("escalation"), entry).await?;
        txn.commit().await?;
        escalated += 1;
    }
    Ok(escalated)
}
