//! The `report_signals` table.

use sea_orm::entity::prelude::*;

use crate::domain::report::{Severity, SignalCategory};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "report_signals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub version_id: Uuid,
    pub report_id: Uuid,
    pub engagement_id: Uuid,
    pub category: SignalCategory,
    pub severity: Severity,
    pub description: String,
    pub link: Option<String>,
    /// Part of the report's latest submitted version.
    pub shown: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
