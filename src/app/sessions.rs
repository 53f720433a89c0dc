//! Logging in with e-mail and password, rate limited per account and per client address.
//!
//! Failed attempts are rows in `login_attempts`, so the limit holds across replicas. Once an
//! account or an address has used up its failures within the window, every attempt (even
//! with the right password) is refused until the oldest failure leaves the window.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use crate::{
    app::audit,
    db::{
        audit::{Actor, AuditEntry},
        entity::{login_attempt, user},
    },
    error::{AppError, AppResult},
};
use crate::{
    auth::{Identity, password, session},
    config::Config,
};

pub struct LoginOutcome {
    pub user: user::Model,
    pub session: session::NewSession,
}

pub struct Client {
    pub ip: String,
    pub user_agent: Option<String>,
    /// The session cookie the browser still had, replaced by the new one (rotation).
    pub previous_session: Option<String>,
}

pub async fn login(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    config: &Config,
    email: &str,
    password_given: String,
    client: Client,
) -> AppResult<LoginOutcome> {
    // Typed text like any other: a control character is refused before it reaches a query.
    crate::domain::text::plain("email", email, crate::domain::text::Lines::One)
        .map_err(|e| AppError::Invalid(vec![e]))?;
    let email_key = email.trim().to_lowercase();
    check_limits(db, config, &email_key, &client.ip, now).await?;

    let found = user::Entity::find().filter(user::Column::Email.eq(email_key.as_str())).one(db).await?;
    let hash = found.as_ref().map(|u| u.password_hash.clone());
    let verified = password::verify(password_given, hash).await?;
    let user = match found {
        Some(u) if verified && u.active => u,
        _ => {
            record_attempt(db, &email_key, &client.ip, false, now).await?;
            return Err(AppError::BadCredentials);
        }
    };

    let txn = crate::db::begin_write(db).await?;
    record_attempt(&txn, &email_key, &client.ip, true, now).await?;
    if let Some(previous) = &client.previous_session {
        session::close(&txn, previous).await?;
    }
    let new_session = session::open(&txn, user.id, now, config, (Some(client.ip.clone()), client.user_agent)).await?;
    let identity = Identity::try_from(&user)?;
    audit::record(
        &txn,
        now,
        &Actor { id: Some(identity.id), label: identity.email.clone() },
        AuditEntry::new("session.login", "user", user.id),
    )
    .await?;
    txn.commit().await?;
    Ok(LoginOutcome { user, session: new_session })
}

/// Ends the browser session named by `cookie_value`, recording it in the audit log.
pub async fn logout(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    user_id: Uuid,
    cookie_value: &str,
) -> AppResult<()> {
    let txn = crate::db::begin_write(db).await?;
    session::close(&txn, cookie_value).await?;
    audit::record(&txn, now, actor, AuditEntry::new("session.logout", "user", user_id)).await?;
    txn.commit().await?;
    Ok(())
}

async fn check_limits(
    db: &DatabaseConnection,
    config: &Config,
    email_key: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let window = chrono::Duration::minutes(config.login_window_minutes);
    let since = now - window;
    let limits = [
        (login_attempt::Column::EmailKey, email_key, config.login_max_failures_per_account),
        (login_attempt::Column::Ip, ip, config.login_max_failures_per_address),
    ];
    for (column, value, max) in limits {
        let failures = login_attempt::Entity::find()
            .filter(column.eq(value))
            .filter(login_attempt::Column::Succeeded.eq(false))
            .filter(login_attempt::Column::At.gt(since));
        if failures.clone().count(db).await? >= max {
            let oldest = failures.order_by_asc(login_attempt::Column::At).one(db).await?;
            let free_at = oldest.map_or(now + window, |a| a.at + window);
            let retry_after_secs = (free_at - now).num_seconds().max(1) as u64;
            tracing::warn!(%email_key, %ip, "login refused by rate limit");
            return Err(AppError::RateLimited { retry_after_secs });
        }
    }
    Ok(())
}

async fn record_attempt<C: sea_orm::ConnectionTrait>(
    db: &C,
    email_key: &str,
    ip: &str,
    succeeded: bool,
    at: DateTime<Utc>,
) -> AppResult<()> {
    login_attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        email_key: Set(email_key.chars().take(320).collect()),
        ip: Set(ip.to_owned()),
        succeeded: Set(succeeded),
        at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(())
}
