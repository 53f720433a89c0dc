//! KPI targets, thresholds and reported values no longer keep a negative zero: PostgreSQL
//! stored `-0` as `-0.0` (SQLite as `0.0`), and answers wrote it back as `-0.0`. `-0 = 0` is
//! true in SQL, so rewriting every zero as `0` clears the sign on both databases.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [(&str, &str); 6] = [
    ("kpis", "baseline"),
    ("kpis", "target"),
    ("kpis", "target_upper"),
    ("kpis", "warning_threshold"),
    ("kpis", "critical_threshold"),
    ("report_values", "value"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for (table, column) in COLUMNS {
            db.execute_unprepared(&format!("UPDATE {table} SET {column} = 0 WHERE {column} = 0")).await?;
        }
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
