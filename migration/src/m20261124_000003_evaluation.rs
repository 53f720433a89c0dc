//! Stored evaluation and ratio KPIs: each reported value keeps the status and breach it was
//! judged with (so that alerts and lists can select on them set-wise), values and signals
//! say whether they are the ones the company sees, and a KPI may be defined as the ratio of
//! two others of its engagement, for the plausibility check.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in ["status", "breach"] {
            m.alter_table(Table::alter().table("report_values").add_column(string_len_null(column, 8)).to_owned())
                .await?;
        }
        m.create_index(index("report_values", &["engagement_id", "status"], false)).await?;
        // Whether a value or signal belongs to its report's latest submitted version: what
        // the company sees, selectable without joining the versions.
        for table in ["report_values", "report_signals"] {
            m.alter_table(Table::alter().table(table).add_column(boolean("shown").default(false)).to_owned()).await?;
        }
        // Submitting re-marks a report's rows as shown or not: find them by report.
        m.create_index(index("report_values", &["report_id"], false)).await?;
        m.create_index(index("report_signals", &["report_id"], false)).await?;
        // A column-level REFERENCES is the one form of foreign key both SQLite and PostgreSQL
        // accept in ALTER TABLE … ADD COLUMN.
        let uuid_type = match m.get_database_backend() {
            DatabaseBackend::Sqlite => "uuid_text",
            _ => "uuid",
        };
        for column in ["ratio_numerator_id", "ratio_denominator_id"] {
            m.get_connection()
                .execute_unprepared(&format!(
                    r#"ALTER TABLE "kpis" ADD COLUMN "{column}" {uuid_type} NULL REFERENCES "kpis" ("id") ON DELETE RESTRICT"#
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, name) in
            [("report_values", "ix_report_values_report_id"), ("report_signals", "ix_report_signals_report_id")]
        {
            m.drop_index(Index::drop().name(name).table(table).to_owned()).await?;
        }
        m.drop_index(Index::drop().name("ix_report_values_engagement_id_status").table("report_values").to_owned())
            .await?;
        for (table, column) in [
            ("report_signals", "shown"),
            ("report_values", "shown"),
            ("kpis", "ratio_denominator_id"),
            ("kpis", "ratio_numerator_id"),
            ("report_values", "breach"),
            ("report_values", "status"),
        ] {
            m.alter_table(Table::alter().table(table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
