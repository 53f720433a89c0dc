//! Server-side browser sessions. The cookie holds a random secret; the database holds its
//! digest, the CSRF token and the idle and absolute expiry.

use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait};
use uuid::Uuid;

use super::{AuthMethod, Identity, Principal, secret};
use crate::{
    config::Config,
    db::entity::{session, user},
    error::AppResult,
};

pub const COOKIE: &str = "veedor_session";

/// A session just opened: the cookie secret goes to the browser, the rest stays here.
pub struct NewSession {
    pub cookie_value: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn open<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    now: DateTime<Utc>,
    config: &Config,
    client: (Option<String>, Option<String>),
) -> AppResult<NewSession> {
    let cookie_value = secret::generate();
    let csrf_token = secret::generate();
    let expires_at = now + config.session_absolute();
    session::ActiveModel {
        id: Set(secret::digest(&cookie_value)),
        user_id: Set(user_id),
        csrf_token: Set(csrf_token.clone()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(expires_at),
        ip: Set(client.0),
        user_agent: Set(client.1.map(|ua| ua.chars().take(300).collect())),
    }
    .insert(db)
    .await?;
    Ok(NewSession { cookie_value, csrf_token, expires_at })
}

/// Ends the session the cookie names, if any.
pub async fn close<C: ConnectionTrait>(db: &C, cookie_value: &str) -> AppResult<()> {
    session::Entity::delete_by_id(secret::digest(cookie_value)).exec(db).await?;
    Ok(())
}

/// The principal of a live session; expired sessions are deleted on sight.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    idle: chrono::Duration,
    cookie_value: &str,
) -> AppResult<Option<Principal>> {
    let id = secret::digest(cookie_value);
    let Some(found) = session::Entity::find_by_id(id.clone()).one(db).await? else {
        return Ok(None);
    };
    if now >= found.expires_at || now - found.last_seen_at >= idle {
        session::Entity::delete_by_id(id).exec(db).await?;
        return Ok(None);
    }
    let Some(owner) = user::Entity::find_by_id(found.user_id).one(db).await?.filter(|u| u.active) else {
        return Ok(None);
    };
    // Sliding idle expiry, written at most once a minute.
    if now - found.last_seen_at > chrono::Duration::minutes(1) {
        let csrf = found.csrf_token.clone();
        let mut active: session::ActiveModel = found.into();
        active.last_seen_at = Set(now);
        active.update(db).await?;
        return Ok(Some(principal(&owner, id, csrf)?));
    }
    Ok(Some(principal(&owner, id, found.csrf_token)?))
}

fn principal(owner: &user::Model, session_id: String, csrf_token: String) -> AppResult<Principal> {
    Ok(Principal::new(Identity::try_from(owner)?, AuthMethod::Session { session_id, csrf_token }))
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure behind https, gone at absolute expiry.
pub fn cookie(value: String, config: &Config) -> Cookie<'static> {
    Cookie::build((COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(config.secure_cookies())
        .path("/")
        .max_age(time_duration(config.session_absolute()))
        .build()
}

pub fn removal(config: &Config) -> Cookie<'static> {
    Cookie::build((COOKIE, ""))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(config.secure_cookies())
        .path("/")
        .max_age(time::Duration::ZERO)
        .build()
}

fn time_duration(d: chrono::Duration) -> time::Duration {
    time::Duration::seconds(d.num_seconds())
}
