//! The `report_reviews` table.

use sea_orm::entity::prelude::*;

use crate::domain::report::ReviewDecision;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "report_reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub report_id: Uuid,
    pub version: i32,
    pub decision: ReviewDecision,
    pub comment: String,
    pub value_comments: Json,
    pub reviewer_id: Option<Uuid>,
    pub decided_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
