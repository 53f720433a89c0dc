//! Idempotency keys: a client that retries a write with the same `Idempotency-Key` gets the
//! first answer again instead of a second effect; the same key with another request is
//! refused. Keys belong to the user who sent them and expire after a day.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::entity::idempotency_key;
use crate::error::{AppError, AppResult};

pub const HEADER: &str = "idempotency-key";
const LIFETIME_HOURS: i64 = 24;

pub enum Claim {
    /// First use of the key: run the request, then [`complete`] (or [`abandon`]) this row.
    Fresh(Uuid),
    /// The key's request already ran: answer this.
    Replay { status: u16, body: String },
}

fn check_key(key: &str) -> AppResult<()> {
    if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::invalid("Idempotency-Key", "invalid_key", "must be 1 to 200 visible ASCII characters"));
    }
    Ok(())
}

pub async fn claim(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    user_id: Uuid,
    key: &str,
    request_hash: &str,
) -> AppResult<Claim> {
    check_key(key)?;
    let find = || {
        idempotency_key::Entity::find()
            .filter(idempotency_key::Column::UserId.eq(user_id))
            .filter(idempotency_key::Column::IdemKey.eq(key))
            .one(db)
    };
    if let Some(existing) = find().await? {
        if existing.expires_at > now {
            return decide(existing, request_hash);
        }
        idempotency_key::Entity::delete_by_id(existing.id).exec(db).await?;
    }
    let row = idempotency_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        idem_key: Set(key.to_owned()),
        request_hash: Set(request_hash.to_owned()),
        response_status: Set(None),
        response_body: Set(None),
        created_at: Set(now),
        expires_at: Set(now + chrono::Duration::hours(LIFETIME_HOURS)),
    };
    match row.insert(db).await {
        Ok(inserted) => Ok(Claim::Fresh(inserted.id)),
        // A concurrent request with the same key won the insert: judge against it.
        Err(err) if matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
            let winner =
                find().await?.ok_or_else(|| AppError::Internal(anyhow::anyhow!("idempotency key vanished")))?;
            decide(winner, request_hash)
        }
        Err(err) => Err(err.into()),
    }
}

fn decide(row: idempotency_key::Model, request_hash: &str) -> AppResult<Claim> {
    if row.request_hash != request_hash {
        return Err(AppError::invalid(
            "Idempotency-Key",
            "key_reused",
            "this key was already used for a different request",
        ));
    }
    match (row.response_status, row.response_body) {
        (Some(status), Some(body)) => Ok(Claim::Replay { status: u16::try_from(status).unwrap_or(500), body }),
        _ => Err(AppError::conflict(
            "Idempotency-Key",
            "in_progress",
            "a request with this key is still being handled; retry shortly",
        )),
    }
}

pub async fn complete(db: &DatabaseConnection, id: Uuid, status: u16, body: String) -> AppResult<()> {
    let update = idempotency_key::ActiveModel {
        id: Set(id),
        response_status: Set(Some(i32::from(status))),
        response_body: Set(Some(body)),
        ..Default::default()
    };
    update.update(db).await?;
    Ok(())
}

/// Frees the key after a server error, so that a retry runs the request again.
pub async fn abandon(db: &DatabaseConnection, id: Uuid) -> AppResult<()> {
    idempotency_key::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}
