//! The transactional outbox: every email is first a row written in the same transaction as
//! the change that causes it ([`enqueue_in`]), so a message is never lost when the mail
//! server is down or the process dies. The workers that deliver the rows are
//! `mail::delivery`; this module queues, lists the ledger and lets an admin queue failed
//! messages again ([`resend`]). A message can reach the server twice only when Veedor cannot
//! know it was taken: a worker that dies after the server accepted a message but before
//! recording it leaves the row leased, so once the lease runs out another worker sends that
//! message again; a server that keeps a message but answers after the timeout gets a retry.
//! Two workers never hold the same row.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::enums::Language;
pub use crate::domain::outbox::NotificationStatus;
use crate::error::{AppError, AppResult};
use crate::{
    app::audit::{Actor, AuditEntry},
    db::entity::{mail_image, notification, notification_attempt},
};

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub kind: &'static str,
    pub dedup_key: Option<String>,
    pub user_id: Option<Uuid>,
    pub to_address: String,
    pub to_name: String,
    pub language: Language,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub alert_ids: Vec<Uuid>,
    /// Inline images (stored with [`store_images`]) the HTML shows by `cid:`.
    pub image_ids: Vec<String>,
    /// Not before this instant (quiet hours).
    pub not_before: DateTime<Utc>,
}

/// An image to show inline in messages, identified by the SHA-256 of its bytes.
#[derive(Debug, Clone)]
pub struct StoredImage {
    pub id: String,
    pub content_type: &'static str,
    pub bytes: std::sync::Arc<[u8]>,
}

impl StoredImage {
    pub fn png(bytes: Vec<u8>) -> StoredImage {
        use sha2::Digest;
        StoredImage { id: hex::encode(sha2::Sha256::digest(&bytes)), content_type: "image/png", bytes: bytes.into() }
    }
}

/// Stores images once each (by content hash), before the messages that show them are queued.
pub async fn store_images<C: ConnectionTrait>(db: &C, now: DateTime<Utc>, images: &[StoredImage]) -> AppResult<()> {
    for chunk in images.chunks(100) {
        let rows = chunk.iter().map(|i| mail_image::ActiveModel {
            id: Set(i.id.clone()),
            content_type: Set(i.content_type.to_string()),
            bytes: Set(i.bytes.to_vec()),
            created_at: Set(now),
        });
        mail_image::Entity::insert_many(rows)
            .on_conflict(OnConflict::column(mail_image::Column::Id).do_nothing().to_owned())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Queues messages inside the caller's transaction. A message whose `dedup_key` is already
/// queued is skipped (exactly once per key).
pub async fn enqueue_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    messages: Vec<NewNotification>,
) -> AppResult<usize> {
    let mut queued = 0;
    for m in messages {
        if let Some(key) = &m.dedup_key {
            let exists = notification::Entity::find()
                .filter(notification::Column::DedupKey.eq(key.clone()))
                .one(txn)
                .await?
                .is_some();
            if exists {
                continue;
            }
        }
        notification::ActiveModel {
            id: Set(Uuid::now_v7()),
            kind: Set(m.kind.to_string()),
            dedup_key: Set(m.dedup_key),
            user_id: Set(m.user_id),
            to_address: Set(m.to_address),
            to_name: Set(m.to_name),
            language: Set(m.language),
            subject: Set(m.subject),
            body_text: Set(m.text),
            body_html: Set(m.html),
            alert_ids: Set(serde_json::to_value(&m.alert_ids).map_err(anyhow::Error::from)?),
            status: Set(NotificationStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(m.not_before.max(now)),
            lease_until: Set(None),
            leased_by: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            sent_at: Set(None),
            images: Set((!m.image_ids.is_empty())
                .then(|| serde_json::to_value(&m.image_ids))
                .transpose()
                .map_err(anyhow::Error::from)?),
        }
        .insert(txn)
        .await?;
        queued += 1;
    }
    metrics::counter!("veedor_notifications_queued_total").increment(queued as u64);
    Ok(queued)
}

/// Counts by status, for `/metrics`.
pub async fn counts(db: &DatabaseConnection) -> AppResult<Vec<(String, i64)>> {
    Ok(notification::Entity::find()
        .select_only()
        .column(notification::Column::Status)
        .column_as(notification::Column::Id.count(), "n")
        .group_by(notification::Column::Status)
        .into_tuple()
        .all(db)
        .await?)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempted_at: DateTime<Utc>,
    pub outcome: String,
    pub reply: String,
    pub worker: String,
    pub duration_ms: i32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    pub kind: String,
    pub user_id: Option<Uuid>,
    pub to_address: String,
    pub language: Language,
    pub subject: String,
    pub status: NotificationStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub alert_ids: Vec<Uuid>,
    /// Every attempt, oldest first.
    pub history: Vec<AttemptView>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationFilter {
    pub status: Option<NotificationStatus>,
    pub user_id: Option<Uuid>,
}

/// The most notifications one answer lists.
pub const LIST_LIMIT: u64 = 500;

/// The outbox, newest first, with each message's attempts.
pub async fn list(db: &DatabaseConnection, filter: &NotificationFilter) -> AppResult<Vec<NotificationView>> {
    let mut q = notification::Entity::find().order_by_desc(notification::Column::Id).limit(LIST_LIMIT);
    if let Some(status) = filter.status {
        q = q.filter(notification::Column::Status.eq(status));
    }
    if let Some(user) = filter.user_id {
        q = q.filter(notification::Column::UserId.eq(user));
    }
    let rows = q.all(db).await?;
    let attempts = notification_attempt::Entity::find()
        .filter(notification_attempt::Column::NotificationId.is_in(rows.iter().map(|r| r.id)))
        .order_by_asc(notification_attempt::Column::Id)
        .all(db)
        .await?;
    rows.into_iter()
        .map(|m| {
            Ok(NotificationView {
                id: m.id,
                kind: m.kind,
                user_id: m.user_id,
                to_address: m.to_address,
                language: m.language,
                subject: m.subject,
                status: m.status,
                attempts: m.attempts,
                next_attempt_at: m.next_attempt_at,
                last_error: m.last_error,
                created_at: m.created_at,
                sent_at: m.sent_at,
                alert_ids: serde_json::from_value(m.alert_ids).map_err(anyhow::Error::from)?,
                history: attempts
                    .iter()
                    .filter(|a| a.notification_id == m.id)
                    .map(|a| AttemptView {
                        attempted_at: a.attempted_at,
                        outcome: a.outcome.clone(),
                        reply: a.reply.clone(),
                        worker: a.worker.clone(),
                        duration_ms: a.duration_ms,
                    })
                    .collect(),
            })
        })
        .collect::<Result<_, AppError>>()
}

/// Which failed messages to send again.
#[derive(Debug, Clone)]
pub enum Resend {
    /// One message, by id (404 when there is none).
    One(Uuid),
    /// Every failed message the filter selects (its `status`, if given, must be `failed`).
    Failed(NotificationFilter),
}

/// What a resend did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Resent {
    /// The messages queued again; a message that was not `failed` (sent, or queued already)
    /// is left alone and not listed.
    pub requeued: Vec<Uuid>,
}

/// Queues failed messages again, with a fresh budget of attempts and as the same rows (the
/// same `Message-ID`): the one way the API, the page and the command line re-send. Only a
/// `failed` row moves, by a conditional update, so a sent message is never sent again, a
/// second resend does nothing, and two at once re-queue each message once between them.
/// Each message queued again is audited.
pub async fn resend(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, which: Resend) -> AppResult<Resent> {
    let failed = NotificationStatus::Failed.to_string();
    let mut selected = Condition::all().add(notification::Column::Status.eq(failed.clone()));
    let txn = crate::db::begin_write(db).await?;
    match &which {
        Resend::One(id) => {
            if notification::Entity::find_by_id(*id).one(&txn).await?.is_none() {
                txn.rollback().await?;
                return Err(AppError::NotFound);
            }
            selected = selected.add(notification::Column::Id.eq(*id));
        }
        Resend::Failed(filter) => {
            if filter.status.is_some_and(|s| s != NotificationStatus::Failed) {
                txn.rollback().await?;
                return Err(AppError::invalid("status", "only_failed", "only failed messages are sent again"));
            }
            if let Some(user) = filter.user_id {
                selected = selected.add(notification::Column::UserId.eq(user));
            }
        }
    }
    let update = notification::Entity::update_many()
        .col_expr(notification::Column::Status, NotificationStatus::Pending.to_string().into())
        .col_expr(notification::Column::Attempts, 0.into())
        .col_expr(notification::Column::LeaseUntil, Option::<DateTime<Utc>>::None.into())
        .col_expr(notification::Column::LeasedBy, Option::<String>::None.into());
    // The update repeats the condition, so a row another resend took meanwhile is not
    // counted twice: PostgreSQL says which rows it changed; SQLite has no `RETURNING` here,
    // but `begin_write` holds its only write lock from the start, so reading the rows first
    // selects exactly those the update changes.
    let rows = match db.get_database_backend() {
        DatabaseBackend::Postgres => update.filter(selected).exec_with_returning(&txn).await?,
        _ => {
            let rows = notification::Entity::find().filter(selected.clone()).all(&txn).await?;
            update.filter(selected).exec(&txn).await?;
            rows
        }
    };
    for row in &rows {
        let entry = AuditEntry::new("notification.resend", "notification", row.id)
            .before(&serde_json::json!({ "status": failed, "attempts": row.attempts, "kind": row.kind }))
            .after(&serde_json::json!({ "status": NotificationStatus::Pending, "attempts": 0 }));
        crate::app::audit::record(&txn, now, actor, entry).await?;
    }
    txn.commit().await?;
    metrics::counter!("veedor_notifications_resent_total").increment(rows.len() as u64);
    Ok(Resent { requeued: rows.into_iter().map(|r| r.id).collect() })
}

/// The message queued for `dedup_key`, if any (`veedor digest send` tells what became of it).
pub async fn by_dedup_key<C: ConnectionTrait>(db: &C, dedup_key: &str) -> AppResult<Option<notification::Model>> {
    Ok(notification::Entity::find().filter(notification::Column::DedupKey.eq(dedup_key)).one(db).await?)
}

/// The delivery workers' [`GiveUp`](crate::mail::delivery::GiveUp) hook: a message failed for
/// good raises the `delivery_failed` alert in the transaction that records it.
pub fn give_up<'a>(
    txn: &'a sea_orm::DatabaseTransaction,
    now: DateTime<Utc>,
    failed: &'a notification::Model,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = AppResult<()>> + Send + 'a>> {
    Box::pin(crate::app::alerts::delivery_failed_in(txn, now, failed))
}
