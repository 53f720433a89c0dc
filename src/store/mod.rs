//! Persistence: entities, and the use cases that change them. Each use case runs in one
//! transaction that applies the domain rules, writes the change and appends its audit entry.

pub mod amendments;
pub mod approvals;
pub mod audit;
pub mod content;
pub mod crisis;
pub mod dashboard;
pub mod engagements;
pub mod entity;
pub mod evaluation;
pub mod idempotency;
pub mod incidents;
pub mod kpis;
pub mod pagination;
pub mod portfolio;
pub mod reports;
pub mod scope;
pub mod team;
pub mod tokens;
pub mod users;
pub mod vendors;

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Starts a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`IMMEDIATE`), so concurrent writers wait out the busy timeout instead of failing at once
/// when a read is upgraded to a write. Other databases ignore the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
