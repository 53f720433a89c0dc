//! The `approval_decisions` table.

use sea_orm::entity::prelude::*;

use crate::domain::approval::Decision;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "approval_decisions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub approval_id: Uuid,
    pub stage: i32,
    pub decider_id: Uuid,
    pub decision: Decision,
    pub comment: String,
    pub decided_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
