//! Vendor reports: one per engagement and period, with versions, values per KPI, signals and
//! review decisions; and the idempotency keys that make report writes safe to retry.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("reports")
                .col(pk_uuid("id"))
                .col(uuid("engagement_id"))
                .col(date("period_start"))
                .col(date("period_end"))
                .col(string_len("status", 24))
                .col(integer("version"))
                .col(boolean("late"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("submitted_at"))
                .col(timestamp_with_time_zone_null("accepted_at"))
                .foreign_key(&mut fk("reports", "engagement_id", "engagements"))
                .to_owned(),
        )
        .await?;
        // One report per engagement and period, whatever races.
        m.create_index(index("reports", &["engagement_id", "period_start"], true)).await?;

        m.create_table(
            Table::create()
                .table("report_versions")
                .col(pk_uuid("id"))
                .col(uuid("report_id"))
                .col(integer("version"))
                .col(text("narrative"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("submitted_at"))
                .col(uuid_null("submitted_by"))
                .col(boolean("late"))
                .foreign_key(&mut fk("report_versions", "report_id", "reports"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("report_versions", &["report_id", "version"], true)).await?;

        m.create_table(
            Table::create()
                .table("report_values")
                .col(pk_uuid("id"))
                .col(uuid("version_id"))
                .col(uuid("report_id"))
                .col(uuid("engagement_id"))
                .col(uuid("kpi_id"))
                .col(date("period_start"))
                .col(double("value"))
                .col(json_binary("breakdown"))
                .col(text_null("comment"))
                .col(string_len_null("evidence_url", 500))
                .foreign_key(&mut fk("report_values", "version_id", "report_versions"))
                .foreign_key(&mut fk("report_values", "kpi_id", "kpis"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("report_values", &["version_id", "kpi_id"], true)).await?;
        m.create_index(index("report_values", &["kpi_id", "period_start"], false)).await?;

        m.create_table(
            Table::create()
                .table("report_signals")
                .col(pk_uuid("id"))
                .col(uuid("version_id"))
                .col(uuid("report_id"))
                .col(uuid("engagement_id"))
                .col(string_len("category", 16))
                .col(string_len("severity", 16))
                .col(text("description"))
                .col(string_len_null("link", 500))
                .foreign_key(&mut fk("report_signals", "version_id", "report_versions"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("report_signals", &["engagement_id"], false)).await?;

        m.create_table(
            Table::create()
                .table("report_reviews")
                .col(pk_uuid("id"))
                .col(uuid("report_id"))
                .col(integer("version"))
                .col(string_len("decision", 24))
                .col(text("comment"))
                .col(json_binary("value_comments"))
                .col(uuid_null("reviewer_id"))
                .col(timestamp_with_time_zone("decided_at"))
                .foreign_key(&mut fk("report_reviews", "report_id", "reports"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("report_reviews", &["report_id"], false)).await?;

        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string_len("idem_key", 200))
                .col(string_len("request_hash", 64))
                .col(integer_null("response_status"))
                .col(text_null("response_body"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idempotency_keys", &["user_id", "idem_key"], true)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in
            ["idempotency_keys", "report_reviews", "report_signals", "report_values", "report_versions", "reports"]
        {
            m.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
