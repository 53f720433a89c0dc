//! Claiming job slots: the first replica to insert a slot's row runs it; the others see the
//! insert change nothing and skip it. Works the same on SQLite and PostgreSQL
//! (`INSERT … ON CONFLICT DO NOTHING` on the unique `(job, due_at)`).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::OnConflict,
};
use uuid::Uuid;

use super::entity::job_slot;
use crate::error::AppResult;

/// Claims `(job, due_at)` for `worker`; true when this call won the slot.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    job: &str,
    due_at: DateTime<Utc>,
    worker: &str,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let row = job_slot::ActiveModel {
        id: Set(Uuid::now_v7()),
        job: Set(job.to_string()),
        due_at: Set(due_at),
        claimed_by: Set(worker.to_string()),
        claimed_at: Set(now),
        finished_at: Set(None),
        outcome: Set(None),
    };
    let inserted = job_slot::Entity::insert(row)
        .on_conflict(OnConflict::columns([job_slot::Column::Job, job_slot::Column::DueAt]).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// Records how a claimed slot ended.
pub async fn finish<C: ConnectionTrait>(
    db: &C,
    job: &str,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
    outcome: &str,
) -> AppResult<()> {
    job_slot::Entity::update_many()
        .col_expr(job_slot::Column::FinishedAt, Some(now).into())
        .col_expr(job_slot::Column::Outcome, Some(outcome.to_string()).into())
        .filter(job_slot::Column::Job.eq(job))
        .filter(job_slot::Column::DueAt.eq(due_at))
        .exec(db)
        .await?;
    Ok(())
}

/// The latest slot of `job` any replica claimed.
pub async fn last_claimed<C: ConnectionTrait>(db: &C, job: &str) -> AppResult<Option<DateTime<Utc>>> {
    Ok(job_slot::Entity::find()
        .filter(job_slot::Column::Job.eq(job))
        .order_by_desc(job_slot::Column::DueAt)
        .one(db)
        .await?
        .map(|s| s.due_at))
}
