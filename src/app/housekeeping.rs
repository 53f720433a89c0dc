//! Keeping the database small and the outbox honest: the clean-up and outbox-sweep jobs.
//! Each statement is a plain bulk delete or update by time, so running it twice (or on two
//! replicas at once) changes nothing the second time.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;

use crate::domain::alert::AlertState;
use crate::error::AppResult;
use crate::{
    app::outbox::NotificationStatus,
    db::entity::{
        alert, idempotency_key, job_slot, login_attempt, mail_image, notification, notification_attempt, session,
    },
};

/// What one clean-up removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Cleanup {
    pub sessions: u64,
    pub idempotency_keys: u64,
    pub login_attempts: u64,
    pub notifications: u64,
    pub alerts: u64,
    pub job_slots: u64,
    pub images: u64,
}

/// How long things are kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub session_idle: Duration,
    pub login_window: Duration,
    /// Sent and failed messages, resolved alerts, job runs.
    pub history: Duration,
}

pub async fn cleanup(db: &DatabaseConnection, now: DateTime<Utc>, keep: Retention) -> AppResult<Cleanup> {
    let mut out = Cleanup {
        sessions: session::Entity::delete_many()
            .filter(
                sea_orm::Condition::any()
                    .add(session::Column::ExpiresAt.lt(now))
                    .add(session::Column::LastSeenAt.lt(now - keep.session_idle)),
            )
            .exec(db)
            .await?
            .rows_affected,
        idempotency_keys: idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?
            .rows_affected,
        // Attempts inside the window still count against the login limits.
        login_attempts: login_attempt::Entity::delete_many()
            .filter(login_attempt::Column::At.lt(now - keep.login_window))
            .exec(db)
            .await?
            .rows_affected,
        ..Cleanup::default()
    };
    let cutoff = now - keep.history;
    // Old delivered or given-up messages, in chunks, their attempts first.
    loop {
        let ids: Vec<uuid::Uuid> = notification::Entity::find()
            .select_only()
            .column(notification::Column::Id)
            .filter(
                notification::Column::Status
                    .is_in([NotificationStatus::Sent.to_string(), NotificationStatus::Failed.to_string()]),
            )
            .filter(notification::Column::CreatedAt.lt(cutoff))
            .limit(500)
            .into_tuple()
            .all(db)
            .await?;
        if ids.is_empty() {
            break;
        }
        let txn = crate::db::begin_write(db).await?;
        notification_attempt::Entity::delete_many()
            .filter(notification_attempt::Column::NotificationId.is_in(ids.iter().copied()))
            .exec(&txn)
            .await?;
        out.notifications += notification::Entity::delete_many()
            .filter(notification::Column::Id.is_in(ids.iter().copied()))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
    }
    out.alerts = alert::Entity::delete_many()
        .filter(alert::Column::State.eq(AlertState::Resolved))
        .filter(alert::Column::ResolutionPending.eq(false))
        .filter(alert::Column::ResolvedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected;
    out.job_slots =
        job_slot::Entity::delete_many().filter(job_slot::Column::DueAt.lt(cutoff)).exec(db).await?.rows_affected;
    out.images = prune_images(db, now).await?;
    Ok(out)
}

/// Images no message still to be sent shows. A day's grace covers a digest run that stored
/// its charts and is about to queue the messages.
async fn prune_images(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<u64> {
    let unsent: Vec<Option<serde_json::Value>> = notification::Entity::find()
        .select_only()
        .column(notification::Column::Images)
        .filter(notification::Column::Images.is_not_null())
        .filter(
            notification::Column::Status
                .is_in([NotificationStatus::Pending.to_string(), NotificationStatus::Sending.to_string()]),
        )
        .into_tuple()
        .all(db)
        .await?;
    let keep: HashSet<String> = unsent
        .into_iter()
        .flatten()
        .flat_map(|v| serde_json::from_value::<Vec<String>>(v).unwrap_or_default())
        .collect();
    let old: Vec<String> = mail_image::Entity::find()
        .select_only()
        .column(mail_image::Column::Id)
        .filter(mail_image::Column::CreatedAt.lt(now - Duration::days(1)))
        .into_tuple()
        .all(db)
        .await?;
    let gone: Vec<String> = old.into_iter().filter(|id| !keep.contains(id)).collect();
    let mut removed = 0;
    for chunk in gone.chunks(500) {
        removed += mail_image::Entity::delete_many()
            .filter(mail_image::Column::Id.is_in(chunk.iter().cloned()))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(removed)
}

/// Hands messages whose worker's lease ran out (the worker died mid-send) back to pending,
/// so that the outbox shows them as waiting; any worker then sends them. Leases are on the
/// wall clock (see `mail::delivery::claim`).
pub async fn sweep_outbox(db: &DatabaseConnection) -> AppResult<u64> {
    let now = crate::mail::delivery::lease_clock();
    let released = notification::Entity::update_many()
        .col_expr(notification::Column::Status, NotificationStatus::Pending.to_string().into())
        .col_expr(notification::Column::LeaseUntil, Option::<DateTime<Utc>>::None.into())
        .col_expr(notification::Column::LeasedBy, Option::<String>::None.into())
        .filter(notification::Column::Status.eq(NotificationStatus::Sending))
        .filter(notification::Column::LeaseUntil.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    if released > 0 {
        tracing::warn!(released, "messages whose worker stopped mid-send are pending again");
    }
    Ok(released)
}
