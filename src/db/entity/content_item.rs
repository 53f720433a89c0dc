//! The `content_items` table.

use sea_orm::entity::prelude::*;

use crate::domain::content::ContentStatus;
use crate::domain::enums::Channel;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "content_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub engagement_id: Uuid,
    pub channel: Channel,
    pub body: String,
    pub media_url: Option<String>,
    pub planned_at: DateTimeUtc,
    pub status: ContentStatus,
    pub approval_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
