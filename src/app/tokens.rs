//! API tokens: issued once, listed without their secret, revoked for good.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::{
    app::{
        audit::{self, Actor, AuditEntry},
        context::Ctx,
    },
    db::{
        entity::api_token,
        pagination::{PageRequest, Paged, numbered},
    },
};
use crate::{
    auth::{
        secret,
        token::{self, TokenCache},
    },
    domain::{FieldError, Violations, text},
    error::{AppError, AppResult},
    views::{Page, TokenView},
};

/// How long a new token lives: the default when none is asked for, and the most one may ask.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub default_days: i64,
    pub max_days: i64,
}

impl Lifetimes {
    pub fn from_config(config: &crate::config::Config) -> Lifetimes {
        Lifetimes { default_days: config.token_default_days, max_days: config.token_max_days }
    }

    /// The lifetime for a request: a whole number of days from 1 to the maximum.
    pub fn days(&self, requested: Option<f64>) -> Result<i64, FieldError> {
        let Some(days) = requested else { return Ok(self.default_days) };
        if days.fract() != 0.0 || days < 1.0 || days > self.max_days as f64 {
            let max = self.max_days;
            let error = FieldError::new("expires_in_days", "out_of_range", format!("must be between 1 and {max}"));
            return Err(error.with("min", 1).with("max", max));
        }
        Ok(days as i64)
    }
}

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
    (requested_days, lifetimes): (Option<f64>, Lifetimes),
) -> AppResult<IssuedToken> {
    let mut v = Violations::new();
    let lifetime_days = v.check(lifetimes.days(requested_days));
    let name = v.check(text::required("name", name, 120));
    v.finish(())?;
    let (name, lifetime_days) = (name.unwrap_or_default(), lifetime_days.unwrap_or(lifetimes.default_days));
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

/// The tokens the caller may see (their own; admins everyone's), by cursor.
pub async fn listed(ctx: &Ctx<'_>, page: PageRequest) -> AppResult<Page<TokenView>> {
    list(ctx.db, crate::policy::token::list_scope(&ctx.viewer), page).await
}

async fn list(db: &DatabaseConnection, owner: Option<Uuid>, page: PageRequest) -> AppResult<Page<TokenView>> {
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

/// Page `page` of the tokens the caller may see, newest first, for the tokens page.
pub async fn newest_first(ctx: &Ctx<'_>, page: Option<usize>, per_page: usize) -> AppResult<Paged<TokenView>> {
    let (db, owner) = (ctx.db, crate::policy::token::list_scope(&ctx.viewer));
    let mut q = api_token::Entity::find().order_by_desc(api_token::Column::Id);
    if let Some(owner) = owner {
        q = q.filter(api_token::Column::UserId.eq(owner));
    }
    numbered(db, q, page, per_page).await?.try_map(|t| Ok(TokenView::from(&t)))
}

pub async fn get(db: &DatabaseConnection, id: Uuid) -> AppResult<api_token::Model> {
    api_token::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)
}

/// Revokes a token; revoking twice is harmless. Returns the digest so the caller can drop
/// it from the cache.
/// Revokes a token the caller may manage (their own; admins any); another user's answers
/// like a missing one.
pub async fn revoke(ctx: &Ctx<'_>, id: Uuid, cache: &TokenCache) -> AppResult<()> {
    let token = get(ctx.db, id).await?;
    crate::policy::token::manage(&ctx.viewer, token.user_id)?;
    revoked(ctx.db, ctx.now, &ctx.actor, token, cache).await
}

async fn revoked(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    t: api_token::Model,
    cache: &TokenCache,
) -> AppResult<()> {
    // Whether it was revoked before or now, it stops working at once on this replica: the
    // cache forgets it once the revocation is committed.
    let forget = |digest: &str| {
        if let Some(key) = secret::digest_from_hex(digest) {
            cache.invalidate(&key);
        }
    };
    let digest = t.token_hash.clone();
    if t.revoked_at.is_some() {
        forget(&digest);
        return Ok(());
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
    forget(&digest);
    Ok(())
}
