//! Bearer API tokens: `vdr_` followed by 256 random bits, stored as a SHA-256 digest.
//!
//! Verified tokens are cached for `auth_cache_seconds` so that the hot path does not touch the
//! database; a revocation or a disabled user takes effect at once on the replica that made the
//! change and within that many seconds on the others.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::{AuthMethod, Identity, Principal, secret};
use crate::{
    db::entity::{api_token, user},
    error::{AppError, AppResult},
};

pub const PREFIX: &str = "vdr_";

#[derive(Debug, Clone)]
pub struct CachedToken {
    principal: Principal,
    expires_at: DateTime<Utc>,
    cached_at: Instant,
}

/// Verified tokens, keyed by the raw SHA-256 of the token so that a hit costs no
/// allocation, trusted for `ttl` after they were read from the database.
pub struct TokenCache {
    entries: quick_cache::sync::Cache<[u8; 32], Arc<CachedToken>>,
    ttl: Duration,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        Self { entries: quick_cache::sync::Cache::new(10_000), ttl }
    }

    fn get(&self, key: &[u8; 32]) -> Option<Arc<CachedToken>> {
        let entry = self.entries.get(key)?;
        if entry.cached_at.elapsed() < self.ttl {
            Some(entry)
        } else {
            self.entries.remove(key);
            None
        }
    }

    fn insert(&self, key: [u8; 32], principal: Principal, expires_at: DateTime<Utc>) {
        if !self.ttl.is_zero() {
            self.entries.insert(key, Arc::new(CachedToken { principal, expires_at, cached_at: Instant::now() }));
        }
    }

    pub fn invalidate(&self, key: &[u8; 32]) {
        self.entries.remove(key);
    }

    pub fn invalidate_all(&self) {
        self.entries.clear();
    }
}

/// A new token secret, shown to its owner once.
pub fn generate() -> String {
    format!("{PREFIX}{}", secret::generate())
}

/// The principal a presented bearer token stands for, from the cache when it was verified
/// recently; a revoked, expired or unknown token, or one of an inactive user, is refused.
pub async fn authenticate(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    cache: &TokenCache,
    presented: &str,
) -> AppResult<Principal> {
    let key = secret::digest_bytes(presented);
    if let Some(cached) = cache.get(&key) {
        return if cached.expires_at > now { Ok(cached.principal.clone()) } else { Err(AppError::Unauthenticated) };
    }
    let token = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hex::encode(key)))
        .one(db)
        .await?
        .filter(|t| t.revoked_at.is_none() && t.expires_at > now)
        .ok_or(AppError::Unauthenticated)?;
    let owner =
        user::Entity::find_by_id(token.user_id).one(db).await?.filter(|u| u.active).ok_or(AppError::Unauthenticated)?;
    let principal = Principal::new(Identity::try_from(&owner)?, AuthMethod::Token { token_id: token.id });
    if token.last_used_at.is_none_or(|at| now - at > chrono::Duration::minutes(1)) {
        let mut active: api_token::ActiveModel = token.clone().into();
        active.last_used_at = Set(Some(now));
        active.update(db).await?;
    }
    cache.insert(key, principal.clone(), token.expires_at);
    Ok(principal)
}
