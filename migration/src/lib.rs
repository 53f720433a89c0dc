//! Database schema of Veedor, as ordered migrations that run unchanged on SQLite and PostgreSQL.
//!
//! Enumerations are stored as strings and every timestamp is written from Rust in UTC, so the
//! same schema behaves identically on both back ends.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_core;
mod m20261124_000002_reports;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261124_000001_core::Migration), Box::new(m20261124_000002_reports::Migration)]
    }
}
