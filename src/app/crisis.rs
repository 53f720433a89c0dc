//! Crisis mode of an engagement (SPEC §1.7): switched on by a lead, or by a critical
//! incident, and off by a lead. While it is on, content approvals gain a final stage for the
//! configured crisis approvers and every new approval stage has a shorter SLA. Each period
//! is kept with its start, end and reasons.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    app::{
        audit::{self, Actor, AuditEntry},
        engagements::lock,
    },
    db::entity::crisis_period,
};
use crate::{
    domain::text,
    error::{AppError, AppResult},
};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CrisisPeriodView {
    pub id: Uuid,
    pub engagement_id: Uuid,
    pub reason: String,
    /// The critical incident that switched crisis mode on, if any.
    pub incident_id: Option<Uuid>,
    pub started_by: Option<Uuid>,
    pub started_at: DateTime<Utc>,
    pub ended_by: Option<Uuid>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
}

impl From<crisis_period::Model> for CrisisPeriodView {
    fn from(m: crisis_period::Model) -> Self {
        Self {
            id: m.id,
            engagement_id: m.engagement_id,
            reason: m.reason,
            incident_id: m.incident_id,
            started_by: m.started_by,
            started_at: m.started_at,
            ended_by: m.ended_by,
            ended_at: m.ended_at,
            end_reason: m.end_reason,
        }
    }
}

/// The engagement's crisis state: the running period, if any, and every earlier one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CrisisState {
    pub active: Option<CrisisPeriodView>,
    /// Newest first, the running one included.
    pub history: Vec<CrisisPeriodView>,
}

pub async fn active<C: ConnectionTrait>(db: &C, engagement_id: Uuid) -> AppResult<Option<crisis_period::Model>> {
    Ok(crisis_period::Entity::find()
        .filter(crisis_period::Column::EngagementId.eq(engagement_id))
        .filter(crisis_period::Column::EndedAt.is_null())
        .one(db)
        .await?)
}

/// The running crisis period of each of the engagements that has one, in one query.
pub async fn active_for<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, CrisisPeriodView>> {
    Ok(crisis_period::Entity::find()
        .filter(crisis_period::Column::EngagementId.is_in(engagements.iter().copied()))
        .filter(crisis_period::Column::EndedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.engagement_id, p.into()))
        .collect())
}

pub async fn state<C: ConnectionTrait>(db: &C, engagement_id: Uuid) -> AppResult<CrisisState> {
    let history: Vec<CrisisPeriodView> = crisis_period::Entity::find()
        .filter(crisis_period::Column::EngagementId.eq(engagement_id))
        .order_by_desc(crisis_period::Column::StartedAt)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(CrisisState { active: history.iter().find(|p| p.ended_at.is_none()).cloned(), history })
}

/// Switches crisis mode on inside the caller's transaction (the engagement must be locked by
/// it). Returns `None` when it was already on: a second critical incident changes nothing.
pub async fn start_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    engagement_id: Uuid,
    reason: &str,
    incident_id: Option<Uuid>,
) -> AppResult<Option<crisis_period::Model>> {
    if active(txn, engagement_id).await?.is_some() {
        return Ok(None);
    }
    let period = crisis_period::ActiveModel {
        id: Set(Uuid::now_v7()),
        engagement_id: Set(engagement_id),
        reason: Set(reason.to_owned()),
        incident_id: Set(incident_id),
        started_by: Set(actor.id),
        started_at: Set(now),
        ended_by: Set(None),
        ended_at: Set(None),
        end_reason: Set(None),
    }
    .insert(txn)
    .await?;
    let view = CrisisPeriodView::from(period.clone());
    audit::record(
        txn,
        now,
        actor,
        AuditEntry::new("crisis.start", "engagement", engagement_id).engagement(engagement_id).after(&view),
    )
    .await?;
    Ok(Some(period))
}

/// A lead switches crisis mode on.
pub async fn start(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    engagement_id: Uuid,
    reason: &str,
) -> AppResult<CrisisState> {
    let reason = text::paragraphs("reason", reason, 2_000).map_err(|e| AppError::Invalid(vec![e]))?;
    let txn = crate::db::begin_write(db).await?;
    lock(&txn, engagement_id).await?;
    if start_in(&txn, now, actor, engagement_id, &reason, None).await?.is_none() {
        return Err(AppError::conflict("engagement", "crisis_active", "crisis mode is already on"));
    }
    let state = state(&txn, engagement_id).await?;
    txn.commit().await?;
    Ok(state)
}

/// A lead switches crisis mode off.
pub async fn end(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    engagement_id: Uuid,
    reason: &str,
) -> AppResult<CrisisState> {
    let reason = text::paragraphs("reason", reason, 2_000).map_err(|e| AppError::Invalid(vec![e]))?;
    let txn = crate::db::begin_write(db).await?;
    lock(&txn, engagement_id).await?;
    let Some(current) = active(&txn, engagement_id).await? else {
        return Err(AppError::conflict("engagement", "crisis_inactive", "crisis mode is not on"));
    };
    let mut a: crisis_period::ActiveModel = current.into();
    a.ended_by = Set(actor.id);
    a.ended_at = Set(Some(now));
    a.end_reason = Set(Some(reason));
    let ended = CrisisPeriodView::from(a.update(&txn).await?);
    audit::record(
        &txn,
        now,
        actor,
        AuditEntry::new("crisis.end", "engagement", engagement_id).engagement(engagement_id).after(&ended),
    )
    .await?;
    let state = state(&txn, engagement_id).await?;
    txn.commit().await?;
    Ok(state)
}
