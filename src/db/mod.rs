//! Persistence: the connection and migrations (SQLite and PostgreSQL alike), the entities,
//! write transactions, cursor pagination, idempotency keys, job slot claims and the audit
//! log's writer. No HTTP, no email, no authorization: the use cases in `app` decide.

pub mod audit;
pub mod entity;
pub mod idempotency;
pub mod names;
pub mod pagination;
pub mod slots;
pub mod stored_enums;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

/// Opens the pool. On SQLite every pooled connection gets WAL, a busy timeout and foreign
/// keys, set by the driver at connect time rather than by one `PRAGMA` on one connection.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // A local file cannot drop a connection the way a network peer can: skip the ping
        // sqlx would otherwise send every time a connection leaves the pool.
        options.test_before_acquire(false);
        options.map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    }
    Database::connect(options).await
}

/// Applies pending migrations. On PostgreSQL they run in one transaction holding an advisory
/// lock, so replicas starting together migrate one after the other. A database that already
/// holds every migration this binary knows is left alone, also when it holds newer ones (a
/// release being rolled back, or the previous release still running during a rollout).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if migrations_current(db).await? {
        return Ok(());
    }
    if db.get_database_backend() == DatabaseBackend::Postgres {
        let txn = db.begin().await?;
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(7318062415)").await?;
        Migrator::up(&txn, None).await?;
        return txn.commit().await;
    }
    Migrator::up(db, None).await
}

/// Whether every migration this binary knows has been applied (for `/readyz`). Newer ones,
/// applied by a later release, do not make it stale: migrations only add.
pub async fn migrations_current(db: &DatabaseConnection) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let exists = match backend {
        DatabaseBackend::Postgres => "SELECT 1 FROM information_schema.tables WHERE table_name = 'seaql_migrations'",
        _ => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'",
    };
    if db.query_one_raw(Statement::from_string(backend, exists)).await?.is_none() {
        return Ok(false);
    }
    let rows = db.query_all_raw(Statement::from_string(backend, "SELECT version FROM seaql_migrations")).await?;
    let applied: std::collections::HashSet<String> =
        rows.iter().filter_map(|r| r.try_get::<String>("", "version").ok()).collect();
    Ok(Migrator::migrations().iter().all(|m| applied.contains(m.name())))
}

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

/// Whether the database answers, and whether every migration has been applied (`/readyz`).
pub async fn readiness(db: &DatabaseConnection) -> (bool, bool) {
    let answers = db.execute_unprepared("SELECT 1").await.is_ok();
    (answers, answers && migrations_current(db).await.unwrap_or(false))
}

/// The pool's open and idle connections (`/metrics`).
pub fn pool_stats(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    }
}
