//! The `engagements` table.

use sea_orm::entity::prelude::*;

use crate::domain::enums::{Cadence, Confidentiality, EngagementStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "engagements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub vendor_id: Uuid,
    pub title: String,
    pub brief_want: String,
    pub brief_feasible: String,
    pub brief_budget_minor: Option<i64>,
    pub confidentiality: Confidentiality,
    pub monthly_fee_minor: i64,
    pub currency: String,
    pub start_date: Date,
    pub end_date: Date,
    pub timezone: String,
    pub cadence: Cadence,
    pub due_offset_days: i32,
    pub owner_id: Option<Uuid>,
    pub status: EngagementStatus,
    pub status_changed_at: DateTimeUtc,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
