//! Crisis periods started by a critical incident keep the incident's title as their reason;
//! the words around it ("Incidente crítico: …") are the reader's, not the database's. Earlier
//! versions stored `Critical incident: <title>` in English.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const PREFIX: &str = "Critical incident: ";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let start = PREFIX.chars().count() + 1;
        m.get_connection()
            .execute_unprepared(&format!(
                "UPDATE crisis_periods SET reason = SUBSTR(reason, {start}) \
                 WHERE incident_id IS NOT NULL AND reason LIKE '{PREFIX}%'"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
