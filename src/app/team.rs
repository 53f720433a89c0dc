//! The oversight team of an engagement.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use crate::{
    app::{
        audit::{self, Actor, AuditEntry},
        engagements::lock,
    },
    db::entity::{engagement, team_member, user},
};
use crate::{
    domain::{
        engagement::{Editability, editability},
        team::{Candidate, TeamMemberInput, check_member},
    },
    error::{AppError, AppResult},
    views::TeamMemberView,
};

pub async fn list<C: ConnectionTrait>(db: &C, engagement_id: Uuid) -> AppResult<Vec<TeamMemberView>> {
    let members = team_member::Entity::find()
        .filter(team_member::Column::EngagementId.eq(engagement_id))
        .order_by_asc(team_member::Column::AddedAt)
        .all(db)
        .await?;
    let users = user::Entity::find().filter(user::Column::Id.is_in(members.iter().map(|m| m.user_id))).all(db).await?;
    let mut views = Vec::with_capacity(members.len());
    for m in &members {
        let u = users.iter().find(|u| u.id == m.user_id).ok_or_else(|| anyhow::anyhow!("team member without user"))?;
        views.push(TeamMemberView::new(m, u)?);
    }
    Ok(views)
}

/// The team of an ended engagement is part of its record and no longer changes.
async fn ensure_not_ended<C: ConnectionTrait>(txn: &C, id: Uuid) -> AppResult<engagement::Model> {
    let e = lock(txn, id).await?;
    if editability(e.status) == Editability::Closed {
        return Err(AppError::conflict("user_id", "engagement_ended", "the engagement has ended"));
    }
    Ok(e)
}

pub async fn add(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    input: TeamMemberInput,
) -> AppResult<TeamMemberView> {
    let txn = crate::db::begin_write(db).await?;
    let e = &ensure_not_ended(&txn, e.id).await?;
    let candidate = user::Entity::find_by_id(input.user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::invalid("user_id", "unknown", "no such user"))?;
    let facts = Candidate { role: candidate.role, vendor_id: candidate.vendor_id, active: candidate.active };
    check_member(input.team_role, &facts, e.vendor_id)?;
    let existing = team_member::Entity::find()
        .filter(team_member::Column::EngagementId.eq(e.id))
        .filter(team_member::Column::UserId.eq(input.user_id))
        .one(&txn)
        .await?;
    if existing.is_some() {
        return Err(AppError::conflict("user_id", "duplicate", "the user is already on the team"));
    }
    let member = team_member::ActiveModel {
        id: Set(Uuid::now_v7()),
        engagement_id: Set(e.id),
        user_id: Set(input.user_id),
        team_role: Set(input.team_role),
        added_at: Set(now),
    }
    .insert(&txn)
    .await?;
    // An executive joining a team gets the weekly digest, unless they chose one already.
    crate::app::digests::subscriptions::ensure_default_in(&txn, now, &candidate).await?;
    let view = TeamMemberView::new(&member, &candidate)?;
    audit::record(
        &txn,
        now,
        actor,
        AuditEntry::new("team.add", "team_member", member.id).engagement(e.id).after(&view),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

pub async fn remove(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    user_id: Uuid,
) -> AppResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let e = &ensure_not_ended(&txn, e.id).await?;
    let member = team_member::Entity::find()
        .filter(team_member::Column::EngagementId.eq(e.id))
        .filter(team_member::Column::UserId.eq(user_id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let u = user::Entity::find_by_id(user_id).one(&txn).await?.ok_or(AppError::NotFound)?;
    let before = TeamMemberView::new(&member, &u)?;
    team_member::Entity::delete_by_id(member.id).exec(&txn).await?;
    audit::record(
        &txn,
        now,
        actor,
        AuditEntry::new("team.remove", "team_member", member.id).engagement(e.id).before(&before),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
