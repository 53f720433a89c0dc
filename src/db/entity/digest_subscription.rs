//! The `digest_subscriptions` table.

use sea_orm::entity::prelude::*;

use crate::domain::digest::CadenceKind;
use crate::domain::enums::Language;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "digest_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub cadence: CadenceKind,
    pub weekday: Option<String>,
    pub month_day: Option<i32>,
    pub local_time: String,
    pub timezone: String,
    pub language: Language,
    pub engagement_ids: Option<Json>,
    pub skip_unchanged: bool,
    pub active: bool,
    pub next_due_at: DateTimeUtc,
    pub last_sent_at: Option<DateTimeUtc>,
    pub last_period: Option<String>,
    pub last_fingerprint: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTimeUtc>,
    pub skipped: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
