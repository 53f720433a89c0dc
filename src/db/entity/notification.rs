//! The `notifications` table: the outbox.

use sea_orm::entity::prelude::*;

use crate::domain::enums::Language;
use crate::domain::outbox::NotificationStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub dedup_key: Option<String>,
    pub user_id: Option<Uuid>,
    pub to_address: String,
    pub to_name: String,
    pub language: Language,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub alert_ids: Json,
    pub status: NotificationStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    pub leased_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// Content ids of the `mail_images` shown inline (digest charts).
    pub images: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
