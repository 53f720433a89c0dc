//! Alerts and email delivery (SPEC §3 Alert, Notification; §4): alerts with their dedup key
//! and lifecycle, silences, each user's notification preferences, and the transactional
//! outbox of emails with every delivery attempt.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("alerts")
                .col(pk_uuid("id"))
                // What the alert is about; one row per key, reused when it fires again.
                .col(string_len("dedup_key", 300))
                .col(string_len("rule", 32))
                .col(string_len("severity", 16))
                .col(uuid_null("engagement_id"))
                .col(uuid_null("subject_id"))
                .col(text("summary"))
                .col(json_binary("facts"))
                .col(string_len("link", 500))
                .col(string_len("state", 16))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone("last_seen_at"))
                .col(timestamp_with_time_zone_null("resolved_at"))
                .col(timestamp_with_time_zone_null("acknowledged_at"))
                .col(uuid_null("acknowledged_by"))
                .col(timestamp_with_time_zone_null("last_notified_at"))
                .col(integer("notifications"))
                // Set when a resolution is yet to be notified.
                .col(boolean("resolution_pending"))
                .col(integer("escalation_level"))
                .foreign_key(&mut fk("alerts", "engagement_id", "engagements"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("alerts", &["dedup_key"], true)).await?;
        m.create_index(index("alerts", &["state", "rule"], false)).await?;
        m.create_index(index("alerts", &["engagement_id", "state"], false)).await?;

        m.create_table(
            Table::create()
                .table("alert_silences")
                .col(pk_uuid("id"))
                .col(string_len("rule", 32))
                // Null: every engagement.
                .col(uuid_null("engagement_id"))
                .col(timestamp_with_time_zone("until"))
                .col(text("reason"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("alert_silences", "engagement_id", "engagements"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("alert_silences", &["rule", "until"], false)).await?;

        m.create_table(
            Table::create()
                .table("notification_preferences")
                .col(pk_uuid("user_id"))
                // Local times "HH:MM" in the user's time zone; both null: no quiet hours.
                .col(string_len_null("quiet_start", 5))
                .col(string_len_null("quiet_end", 5))
                // Non-critical rules the user does not want email for.
                .col(json_binary("muted_rules"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("notification_preferences", "user_id", "users"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("notifications")
                .col(pk_uuid("id"))
                .col(string_len("kind", 16))
                // Exactly-once key where one exists (e.g. a digest's subscription and period).
                .col(string_len_null("dedup_key", 300))
                .col(uuid_null("user_id"))
                .col(string_len("to_address", 320))
                .col(string_len("to_name", 200))
                .col(string_len("language", 8))
                .col(text("subject"))
                .col(text("body_text"))
                .col(text("body_html"))
                .col(json_binary("alert_ids"))
                .col(string_len("status", 16))
                .col(integer("attempts"))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(timestamp_with_time_zone_null("lease_until"))
                .col(string_len_null("leased_by", 64))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("notifications", &["dedup_key"], true)).await?;
        m.create_index(index("notifications", &["status", "next_attempt_at"], false)).await?;

        m.create_table(
            Table::create()
                .table("notification_attempts")
                .col(pk_uuid("id"))
                .col(uuid("notification_id"))
                .col(timestamp_with_time_zone("attempted_at"))
                .col(string_len("outcome", 16))
                .col(text("reply"))
                .col(string_len("worker", 64))
                .col(integer("duration_ms"))
                .foreign_key(&mut fk("notification_attempts", "notification_id", "notifications"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("notification_attempts", &["notification_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["notification_attempts", "notifications", "notification_preferences", "alert_silences", "alerts"]
        {
            m.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
