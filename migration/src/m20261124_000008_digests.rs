//! KPI digests (SPEC §3 Digest subscription, §6): who receives which digest when, the
//! images a queued message carries inline (charts), stored once by content hash however many
//! messages show them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("digest_subscriptions")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string_len("cadence", 16))
                .col(string_len_null("weekday", 3))
                .col(integer_null("month_day"))
                .col(string_len("local_time", 5))
                .col(string_len("timezone", 64))
                .col(string_len("language", 8))
                // Null: every engagement the recipient may see.
                .col(json_binary_null("engagement_ids"))
                .col(boolean("skip_unchanged"))
                .col(boolean("active"))
                .col(timestamp_with_time_zone("next_due_at"))
                .col(timestamp_with_time_zone_null("last_sent_at"))
                .col(string_len_null("last_period", 32))
                .col(string_len_null("last_fingerprint", 64))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone_null("last_error_at"))
                .col(integer("skipped"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("digest_subscriptions", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("digest_subscriptions", &["user_id"], false)).await?;
        m.create_index(index("digest_subscriptions", &["active", "next_due_at"], false)).await?;

        m.create_table(
            Table::create()
                .table("mail_images")
                // The SHA-256 of the bytes, hex: also the message's Content-ID.
                .col(string_len("id", 64).primary_key())
                .col(string_len("content_type", 64))
                .col(blob("bytes"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.alter_table(Table::alter().table("notifications").add_column(json_binary_null("images")).to_owned()).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("notifications").drop_column("images").to_owned()).await?;
        for table in ["mail_images", "digest_subscriptions"] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
