//! Database schema of Veedor, as ordered migrations that run unchanged on SQLite and PostgreSQL.
//!
//! Enumerations are stored as strings and every timestamp is written from Rust in UTC, so the
//! same schema behaves identically on both back ends.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_core;
mod m20261124_000002_reports;
mod m20261124_000003_evaluation;
mod m20261124_000004_approvals;
mod m20261124_000005_amendments;
mod m20261124_000006_alerts;
mod m20261124_000007_job_slots;
mod m20261124_000008_digests;
mod m20261203_000001_alert_facts;
mod m20261203_000004_approval_subjects;
mod m20261203_000006_crisis_reasons;
mod m20261204_000005_unsigned_zeros;
mod m20261204_000007_audit_engagements;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_core::Migration),
            Box::new(m20261124_000002_reports::Migration),
            Box::new(m20261124_000003_evaluation::Migration),
            Box::new(m20261124_000004_approvals::Migration),
            Box::new(m20261124_000005_amendments::Migration),
            Box::new(m20261124_000006_alerts::Migration),
            Box::new(m20261124_000007_job_slots::Migration),
            Box::new(m20261124_000008_digests::Migration),
            Box::new(m20261203_000001_alert_facts::Migration),
            Box::new(m20261203_000004_approval_subjects::Migration),
            Box::new(m20261203_000006_crisis_reasons::Migration),
            Box::new(m20261204_000005_unsigned_zeros::Migration),
            Box::new(m20261204_000007_audit_engagements::Migration),
        ]
    }
}

/// A foreign key `from_table.from_col → to_table.id` that refuses to orphan rows.
fn fk(from_table: &'static str, from_col: &'static str, to_table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from_table}_{from_col}"))
        .from(from_table, from_col)
        .to(to_table, "id")
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

/// An index named `ix_<table>_<columns>`; the names are relied on to map unique violations
/// to request fields.
fn index(table: &'static str, cols: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(format!("ix_{table}_{}", cols.join("_"))).table(table);
    for col in cols {
        stmt.col(*col);
    }
    if unique {
        stmt.unique();
    }
    stmt.to_owned()
}
