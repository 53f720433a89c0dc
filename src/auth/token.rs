//! Bearer API tokens: `vdr_` followed by 256 random bits, stored as a SHA-256 digest.
//!
//! Verified tokens are cached for `auth_cache_seconds` so that the hot path does not touch the
//! database; a revocation or a disabled user takes effect at once on the replica that made the
//! change and within that many seconds on the others.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::{AuthMethod, Identity, Principal, secret};
use crate::{
    app::AppState,
    error::{AppError, AppResult},
    store::entity::{api_token, user},
};

pub const PREFIX: &str = "vdr_";

#[derive(Debug, Clone)]
pub struct CachedToken {
    principal: Principal,
    expires_at: DateTime<Utc>,
}

pub type TokenCache = moka::sync::Cache<String, Arc<CachedToken>>;

pub fn cache(ttl: std::time::Duration) -> TokenCache {
    moka::sync::Cache::builder().max_capacity(10_000).time_to_live(ttl).build()
}

/// A new token secret, shown to its owner once.
pub fn generate() -> String {
    format!("{PREFIX}{}", secret::generate())
}

pub async fn authenticate(state: &AppState, presented: &str) -> AppResult<Principal> {
    let digest = secret::digest(presented);
    let now = state.clock.now();
    if let Some(cached) = state.tokens.get(&digest) {
        return if cached.expires_at > now { Ok(cached.principal.clone()) } else { Err(AppError::Unauthenticated) };
    }
    let token = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(digest.as_str()))
        .one(&state.db)
        .await?
        .filter(|t| t.revoked_at.is_none() && t.expires_at > now)
        .ok_or(AppError::Unauthenticated)?;
    let owner = user::Entity::find_by_id(token.user_id)
        .one(&state.db)
        .await?
        .filter(|u| u.active)
        .ok_or(AppError::Unauthenticated)?;
    let principal = Principal::new(Identity::try_from(&owner)?, AuthMethod::Token { token_id: token.id });
    if token.last_used_at.is_none_or(|at| now - at > chrono::Duration::minutes(1)) {
        let mut active: api_token::ActiveModel = token.clone().into();
        active.last_used_at = Set(Some(now));
        active.update(&state.db).await?;
    }
    state.tokens.insert(digest, Arc::new(CachedToken { principal: principal.clone(), expires_at: token.expires_at }));
    Ok(principal)
}
