//! Approvals: workflow definitions per engagement and subject kind, opening an approval for a
//! subject, decisions (serialised per approval, compare-and-set on its revision), SLA and
//! escalation, and the queue. The rules are `domain::approval`; what an approved, rejected or
//! sent-back subject becomes is applied by the subject's own module in the same transaction.

mod decide;
mod escalation;
mod open;
mod queue;
mod views;
mod workflows;

pub use decide::*;
pub use escalation::*;
pub use open::*;
pub use queue::*;
pub use views::*;
pub use workflows::*;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::db::entity::approval;
use crate::{
    domain::{approval::Stage, enums::Language},
    error::{AppError, AppResult},
};

pub async fn get<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<approval::Model> {
    approval::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)
}

/// Views of the approvals with these ids (those that exist), in the reader's language.
pub async fn views_by_id<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
    now: DateTime<Utc>,
    language: Language,
) -> AppResult<Vec<ApprovalView>> {
    let found = approval::Entity::find().filter(approval::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    views(db, &found, now, language).await
}

/// Reads an approval, locking it for the rest of the transaction on PostgreSQL.
pub async fn lock<C: ConnectionTrait>(txn: &C, id: Uuid) -> AppResult<approval::Model> {
    let mut q = approval::Entity::find_by_id(id);
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(txn).await?.ok_or(AppError::NotFound)
}

fn stages_of(a: &approval::Model) -> AppResult<Vec<Stage>> {
    Ok(serde_json::from_value(a.stages.clone()).map_err(anyhow::Error::from)?)
}

fn deciders_of(a: &approval::Model) -> AppResult<Vec<Uuid>> {
    Ok(serde_json::from_value(a.stage_approvers.clone()).map_err(anyhow::Error::from)?)
}
