//! Scope items of an engagement. Once the engagement is active they change only by amendment.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use crate::{
    app::{
        audit::{self, Actor, AuditEntry},
        engagements::{ensure_open, lock},
    },
    db::entity::{engagement, scope_item},
};
use crate::{
    domain::scope::{ScopeItemInput, ValidScopeItem},
    error::{AppError, AppResult},
    views::ScopeItemView,
};

pub async fn list(db: &DatabaseConnection, engagement_id: Uuid) -> AppResult<Vec<ScopeItemView>> {
    let rows = scope_item::Entity::find()
        .filter(scope_item::Column::EngagementId.eq(engagement_id))
        .order_by_asc(scope_item::Column::Id)
        .all(db)
        .await?;
    Ok(rows.iter().map(ScopeItemView::try_from).collect::<anyhow::Result<_>>()?)
}

pub async fn find<C: ConnectionTrait>(db: &C, engagement_id: Uuid, item_id: Uuid) -> AppResult<scope_item::Model> {
    scope_item::Entity::find_by_id(item_id)
        .filter(scope_item::Column::EngagementId.eq(engagement_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

fn deliverables(items: &[String]) -> AppResult<serde_json::Value> {
    Ok(serde_json::to_value(items).map_err(anyhow::Error::from)?)
}

pub async fn create(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    input: ScopeItemInput,
) -> AppResult<ScopeItemView> {
    let ValidScopeItem(item) = input.validate()?;
    let txn = crate::db::begin_write(db).await?;
    let e = &lock(&txn, e.id).await?;
    ensure_open(e, "scope", "scope")?;
    let view = create_in(&txn, now, actor, e, item).await?;
    txn.commit().await?;
    Ok(view)
}

/// Adds a validated scope item inside the caller's transaction (also how an amendment adds one).
pub async fn create_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    item: ScopeItemInput,
) -> AppResult<ScopeItemView> {
    let model = scope_item::ActiveModel {
        id: Set(Uuid::now_v7()),
        engagement_id: Set(e.id),
        function: Set(item.function),
        description: Set(item.description),
        deliverables: Set(deliverables(&item.deliverables)?),
        quantity_per_period: Set(item.quantity_per_period),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    let view = ScopeItemView::try_from(&model)?;
    let entry = AuditEntry::new("scope_item.create", "scope_item", model.id).engagement(e.id).after(&view);
    audit::record(txn, now, actor, entry).await?;
    Ok(view)
}

pub async fn replace(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    item_id: Uuid,
    input: ScopeItemInput,
) -> AppResult<ScopeItemView> {
    let txn = crate::db::begin_write(db).await?;
    let e = &lock(&txn, e.id).await?;
    let current = find(&txn, e.id, item_id).await?;
    ensure_open(e, "scope", "scope")?;
    let ValidScopeItem(item) = input.validate()?;
    let (_, after) = replace_in(&txn, now, actor, e.id, current, item).await?;
    txn.commit().await?;
    Ok(after)
}

/// Replaces a scope item with a validated one inside the caller's transaction; returns it
/// before and after.
pub async fn replace_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    engagement_id: Uuid,
    current: scope_item::Model,
    item: ScopeItemInput,
) -> AppResult<(ScopeItemView, ScopeItemView)> {
    let item_id = current.id;
    let before = ScopeItemView::try_from(&current)?;
    let mut active: scope_item::ActiveModel = current.into();
    active.function = Set(item.function);
    active.description = Set(item.description);
    active.deliverables = Set(deliverables(&item.deliverables)?);
    active.quantity_per_period = Set(item.quantity_per_period);
    active.updated_at = Set(now);
    let updated = active.update(txn).await?;
    let after = ScopeItemView::try_from(&updated)?;
    let entry = AuditEntry::new("scope_item.update", "scope_item", item_id)
        .engagement(engagement_id)
        .before(&before)
        .after(&after);
    audit::record(txn, now, actor, entry).await?;
    Ok((before, after))
}

pub async fn delete(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    item_id: Uuid,
) -> AppResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let e = &lock(&txn, e.id).await?;
    let current = find(&txn, e.id, item_id).await?;
    ensure_open(e, "scope", "scope")?;
    delete_in(&txn, now, actor, e.id, current).await?;
    txn.commit().await?;
    Ok(())
}

/// Removes a scope item inside the caller's transaction; returns what it was.
pub async fn delete_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    engagement_id: Uuid,
    current: scope_item::Model,
) -> AppResult<ScopeItemView> {
    let before = ScopeItemView::try_from(&current)?;
    scope_item::Entity::delete_by_id(current.id).exec(txn).await?;
    let entry =
        AuditEntry::new("scope_item.delete", "scope_item", current.id).engagement(engagement_id).before(&before);
    audit::record(txn, now, actor, entry).await?;
    Ok(before)
}
