//! Amendments (SPEC §3 Engagement): the changes to an active engagement's terms, scope and
//! KPIs, held as pending until their approval completes, and kept afterwards as the
//! engagement's history with what each one changed.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("amendments")
                .col(pk_uuid("id"))
                .col(uuid("engagement_id"))
                .col(string_len("status", 24))
                .col(text("reason"))
                // The proposed change, as submitted (terms, scope and KPI changes).
                .col(json_binary("changes"))
                // What applying it changed: each touched term, scope item and KPI before and after.
                .col(json_binary_null("applied"))
                .col(uuid_null("author_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .foreign_key(&mut fk("amendments", "engagement_id", "engagements"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("amendments", &["engagement_id", "status"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("amendments").if_exists().to_owned()).await
    }
}
