//! API tokens: issued once, listed without their secret, revoked for good.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::{
    app::audit::{self, Actor, AuditEntry},
    db::{entity::api_token, pagination::PageRequest},
};
use crate::{
    auth::{secret, token},
    domain::text,
    error::{AppError, AppResult},
    views::{Page, TokenView},
};

pub struct IssuedToken {
    pub token: api_token::Model,
    pub secret: String,
}

pub async fn issue(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    user_id: Uuid,
    name: &str,
    lifetime_days: i64,
) -> AppResult<IssuedToken> {
    let name = text::required("name", name, 120).map_err(|e| AppError::Invalid(vec![e]))?;
    let secret = token::generate();
    let txn = crate::db::begin_write(db).await?;
    let model = api_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        name: Set(name),
        token_hash: Set(secret::digest(&secret)),
        prefix: Set(secret.chars().take(10).collect()),
        created_at: Set(now),
        expires_at: Set(now + chrono::Duration::days(lifetime_days)),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let view = TokenView::from(&model);
    audit::record(&txn, now, actor, AuditEntry::new("token.create", "api_token", model.id).after(&view)).await?;
    txn.commit().await?;
    Ok(IssuedToken { token: model, secret })
}

pub async fn list(db: &DatabaseConnection, owner: Option<Uuid>, page: PageRequest) -> AppResult<Page<TokenView>> {
    let mut q = api_token::Entity::find().order_by_asc(api_token::Column::Id).limit(page.limit + 1);
    if let Some(after) = page.after {
        q = q.filter(api_token::Column::Id.gt(after));
    }
    if let Some(owner) = owner {
        q = q.filter(api_token::Column::UserId.eq(owner));
    }
    let rows = q.all(db).await?;
    Ok(page.page(rows, |t| t.id, |t| Ok(TokenView::from(t)))?)
}

pub async fn get(db: &DatabaseConnection, id: Uuid) -> AppResult<api_token::Model> {
    api_token::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)
}

/// Revokes a token; revoking twice is harmless. Returns the digest so the caller can drop
/// it from the cache.
pub async fn revoke(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    t: api_token::Model,
) -> AppResult<String> {
    let digest = t.token_hash.clone();
    if t.revoked_at.is_some() {
        return Ok(digest);
    }
    let txn = crate::db::begin_write(db).await?;
    let before = TokenView::from(&t);
    let mut active: api_token::ActiveModel = t.into();
    active.revoked_at = Set(Some(now));
    let updated = active.update(&txn).await?;
    audit::record(
        &txn,
        now,
        actor,
        AuditEntry::new("token.revoke", "api_token", updated.id).before(&before).after(&TokenView::from(&updated)),
    )
    .await?;
    txn.commit().await?;
    Ok(digest)
}
