//! Delivering the outbox: workers claim due messages with a lease (`FOR UPDATE SKIP LOCKED`
//! on PostgreSQL, so several workers and replicas never take the same row; SQLite has a single
//! writer), send them over the mailer, and record every attempt with the server's reply.
//! Transient failures are retried with exponential backoff and jitter; permanent ones (5xx)
//! stop and are marked failed, and the use-case layer's [`GiveUp`] hook raises the admin
//! alert in the same transaction; the first success releases the messages waiting on their
//! backoff. Queuing a message is `app::outbox`, in the transaction of the change that causes
//! it.

use std::{future::Future, pin::Pin, sync::Arc};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter, Statement,
};
use uuid::Uuid;

use crate::{
    clock::Clock,
    db::entity::{mail_image, notification, notification_attempt},
    domain::{alert::retry_delay, outbox::NotificationStatus},
    error::{AppError, AppResult},
    mail::{Email, InlineImage, Mailer, SendOutcome},
};

/// Called in the transaction that marks a message failed for good (the use-case layer
/// raises the `delivery_failed` alert there).
pub type GiveUp = for<'a> fn(
    &'a DatabaseTransaction,
    DateTime<Utc>,
    &'a notification::Model,
) -> Pin<Box<dyn Future<Output = AppResult<()>> + Send + 'a>>;

/// What a delivery worker needs besides the database and the mailer.
#[derive(Clone, Copy)]
pub struct WorkerSettings {
    pub batch: u64,
    pub lease: Duration,
    pub max_attempts: i32,
    pub concurrency: usize,
    pub give_up: GiveUp,
}

/// Claims up to `limit` due messages for `worker` for `lease`: pending ones whose time has
/// come at `now`, and ones whose previous worker's lease ran out.
///
/// Leases are measured on the wall clock ([`lease_clock`]), not on the injected business
/// clock: they say whether a worker is still alive, which has nothing to do with when a
/// message is due (a test that moves the business clock by a day must not expire the lease
/// of a message being sent right now).
pub async fn claim(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    worker: &str,
    limit: u64,
    lease: Duration,
) -> AppResult<Vec<notification::Model>> {
    let backend = db.get_database_backend();
    let wall = lease_clock();
    let until = wall + lease;
    let (sql, values): (&str, Vec<sea_orm::Value>) = match backend {
        DatabaseBackend::Postgres => (
            r#"UPDATE notifications SET status = 'sending', lease_until = $1, leased_by = $2
               WHERE id IN (
                   SELECT id FROM notifications
                   WHERE (status = 'pending' AND next_attempt_at <= $3)
                      OR (status = 'sending' AND lease_until < $4)
                   ORDER BY next_attempt_at
                   LIMIT $5
                   FOR UPDATE SKIP LOCKED)
               RETURNING *"#,
            vec![until.into(), worker.into(), now.into(), wall.into(), (limit as i64).into()],
        ),
        _ => (
            r#"UPDATE notifications SET status = 'sending', lease_until = ?, leased_by = ?
               WHERE id IN (
                   SELECT id FROM notifications
                   WHERE (status = 'pending' AND next_attempt_at <= ?)
                      OR (status = 'sending' AND lease_until < ?)
                   ORDER BY next_attempt_at
                   LIMIT ?)
               RETURNING *"#,
            vec![until.into(), worker.into(), now.into(), wall.into(), (limit as i64).into()],
        ),
    };
    // SQLite: the single write lock taken by `BEGIN IMMEDIATE` makes the claim atomic.
    let txn = crate::db::begin_write(db).await?;
    let rows =
        notification::Model::find_by_statement(Statement::from_sql_and_values(backend, sql, values)).all(&txn).await?;
    txn.commit().await?;
    Ok(rows)
}

/// The time leases are measured in: the system's, whatever clock the business runs on.
pub fn lease_clock() -> DateTime<Utc> {
    Utc::now()
}

/// What one attempt led to.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    Sent,
    Retry(DateTime<Utc>),
    Failed,
    /// The lease was lost meanwhile (another worker took the row over): nothing recorded
    /// but the attempt.
    LeaseLost,
}

/// Records an attempt by `worker` and moves the message on; the update only applies while
/// the worker still holds the lease.
pub async fn record(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    worker: &str,
    m: &notification::Model,
    outcome: &SendOutcome,
    elapsed: std::time::Duration,
    (max_attempts, give_up): (i32, GiveUp),
) -> AppResult<(Recorded, Option<notification::Model>)> {
    let jitter = rand::random::<f64>();
    let txn = crate::db::begin_write(db).await?;
    let (label, reply) = match outcome {
        SendOutcome::Sent { reply } => ("sent", reply),
        SendOutcome::Transient { reply } => ("transient", reply),
        SendOutcome::Permanent { reply } => ("permanent", reply),
    };
    notification_attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        notification_id: Set(m.id),
        attempted_at: Set(now),
        outcome: Set(label.to_string()),
        reply: Set(reply.chars().take(2_000).collect()),
        worker: Set(worker.to_string()),
        duration_ms: Set(i32::try_from(elapsed.as_millis()).unwrap_or(i32::MAX)),
    }
    .insert(&txn)
    .await?;
    let attempts = m.attempts + 1;
    let (status, next, recorded) = match outcome {
        SendOutcome::Sent { .. } => (NotificationStatus::Sent, m.next_attempt_at, Recorded::Sent),
        SendOutcome::Transient { .. } if attempts < max_attempts => {
            let at = now + retry_delay(attempts, jitter);
            (NotificationStatus::Pending, at, Recorded::Retry(at))
        }
        _ => (NotificationStatus::Failed, m.next_attempt_at, Recorded::Failed),
    };
    let mut update = notification::Entity::update_many()
        .col_expr(notification::Column::Status, status.to_string().into())
        .col_expr(notification::Column::Attempts, attempts.into())
        .col_expr(notification::Column::NextAttemptAt, next.into())
        .col_expr(notification::Column::LeaseUntil, Option::<DateTime<Utc>>::None.into())
        .col_expr(notification::Column::LeasedBy, Option::<String>::None.into())
        .filter(notification::Column::Id.eq(m.id))
        .filter(notification::Column::LeasedBy.eq(worker))
        .filter(notification::Column::Status.eq(NotificationStatus::Sending));
    update = match outcome {
        SendOutcome::Sent { .. } => update
            .col_expr(notification::Column::SentAt, Some(now).into())
            .col_expr(notification::Column::LastError, Option::<String>::None.into()),
        _ => update.col_expr(notification::Column::LastError, Some(reply.clone()).into()),
    };
    if update.exec(&txn).await?.rows_affected != 1 {
        txn.commit().await?;
        return Ok((Recorded::LeaseLost, None));
    }
    if recorded == Recorded::Sent {
        release_waiting(&txn, now).await?;
    }
    let updated = notification::Entity::find_by_id(m.id).one(&txn).await?;
    if recorded == Recorded::Failed
        && let Some(failed) = &updated
    {
        give_up(&txn, now, failed).await?;
    }
    txn.commit().await?;
    metrics::counter!("veedor_notifications_attempts_total", "outcome" => label).increment(1);
    if recorded == Recorded::Failed {
        metrics::counter!("veedor_notifications_failed_total").increment(1);
    }
    Ok((recorded, updated))
}

/// The relay just accepted a message: those waiting on their backoff after a failed attempt
/// (4xx, no answer, a timeout) are due now rather than up to an hour later. Messages held
/// by quiet hours have no attempt yet and keep their time.
async fn release_waiting<C: ConnectionTrait>(txn: &C, now: DateTime<Utc>) -> AppResult<()> {
    notification::Entity::update_many()
        .col_expr(notification::Column::NextAttemptAt, now.into())
        .filter(notification::Column::Status.eq(NotificationStatus::Pending))
        .filter(notification::Column::NextAttemptAt.gt(now))
        .filter(notification::Column::Attempts.gt(0))
        .exec(txn)
        .await?;
    Ok(())
}

/// Sends what `claim` returned, `concurrency` messages at a time over the mailer's pool,
/// recording each attempt as soon as its answer is in (so that a crash repeats at most the
/// messages in flight). Returns how many were delivered.
pub async fn deliver_batch(
    db: &DatabaseConnection,
    mailer: &Mailer,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    worker: &str,
    batch: Vec<notification::Model>,
    settings: WorkerSettings,
) -> AppResult<usize> {
    let (max_attempts, concurrency, give_up) = (settings.max_attempts, settings.concurrency, settings.give_up);
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let images = std::sync::Arc::new(images_of(db, &batch).await?);
    for m in batch {
        let permit = permits.clone().acquire_owned().await.map_err(anyhow::Error::from)?;
        let (db, mailer, clock, worker) = (db.clone(), mailer.clone(), clock.clone(), worker.to_string());
        let inline: Vec<InlineImage> = m
            .images
            .clone()
            .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
            .unwrap_or_default()
            .iter()
            .filter_map(|id| images.get(id).cloned())
            .collect();
        tasks.spawn(async move {
            let _permit = permit;
            let email = Email {
                id: m.id,
                to_address: m.to_address.clone(),
                to_name: (!m.to_name.is_empty()).then(|| m.to_name.clone()),
                subject: m.subject.clone(),
                text: m.body_text.clone(),
                html: m.body_html.clone(),
                inline,
            };
            let started = std::time::Instant::now();
            let outcome = mailer.send(&email).await;
            let (recorded, _) =
                record(&db, clock.now(), &worker, &m, &outcome, started.elapsed(), (max_attempts, give_up)).await?;
            match &recorded {
                Recorded::Sent => {}
                Recorded::Retry(at) => tracing::info!(id = %m.id, %at, ?outcome, "delivery will be retried"),
                Recorded::Failed => tracing::warn!(id = %m.id, ?outcome, "delivery failed for good"),
                Recorded::LeaseLost => tracing::warn!(id = %m.id, "lease lost during delivery"),
            }
            Ok::<bool, AppError>(recorded == Recorded::Sent)
        });
    }
    let mut sent = 0;
    while let Some(done) = tasks.join_next().await {
        if done.map_err(anyhow::Error::from)?? {
            sent += 1;
        }
    }
    Ok(sent)
}

/// The inline images of a batch of messages, by id.
async fn images_of(
    db: &DatabaseConnection,
    batch: &[notification::Model],
) -> AppResult<std::collections::HashMap<String, InlineImage>> {
    let ids: std::collections::BTreeSet<String> = batch
        .iter()
        .filter_map(|m| m.images.clone())
        .flat_map(|v| serde_json::from_value::<Vec<String>>(v).unwrap_or_default())
        .collect();
    let mut out = std::collections::HashMap::new();
    let ids: Vec<String> = ids.into_iter().collect();
    for chunk in ids.chunks(200) {
        for row in
            mail_image::Entity::find().filter(mail_image::Column::Id.is_in(chunk.iter().cloned())).all(db).await?
        {
            let image =
                InlineImage { content_id: row.id.clone(), content_type: row.content_type, bytes: row.bytes.into() };
            out.insert(row.id, image);
        }
    }
    Ok(out)
}

/// Delivers the outbox: claims due messages, sends them, records each attempt. Idles briefly
/// when nothing is due.
pub async fn run_worker(
    db: DatabaseConnection,
    mailer: Mailer,
    clock: Arc<dyn Clock>,
    settings: WorkerSettings,
    n: usize,
) {
    let worker = format!("{}-{}-{n}", crate::config::instance_name(), std::process::id());
    loop {
        let claimed = claim(&db, clock.now(), &worker, settings.batch, settings.lease).await;
        let idle = match claimed {
            Ok(batch) if batch.is_empty() => true,
            Ok(batch) => {
                if let Err(e) = deliver_batch(&db, &mailer, clock.clone(), &worker, batch, settings).await {
                    tracing::warn!(error = %e, "recording a delivery failed");
                }
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming messages failed");
                true
            }
        };
        if idle {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }
}
