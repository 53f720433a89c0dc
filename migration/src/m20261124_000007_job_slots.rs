//! Scheduled jobs (SPEC §6): one row per job and due instant. A replica runs a slot only after
//! inserting its row (`ON CONFLICT DO NOTHING`), so each slot runs once across replicas and
//! restarts.

use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("job_slots")
                .col(pk_uuid("id"))
                .col(string_len("job", 64))
                .col(timestamp_with_time_zone("due_at"))
                .col(string_len("claimed_by", 64))
                .col(timestamp_with_time_zone("claimed_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .col(text_null("outcome"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("job_slots", &["job", "due_at"], true)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("job_slots").if_exists().to_owned()).await
    }
}
