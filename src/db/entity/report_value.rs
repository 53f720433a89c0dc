//! The `report_values` table.

use sea_orm::entity::prelude::*;

use crate::domain::evaluation::{Breach, Status};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "report_values")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub version_id: Uuid,
    pub report_id: Uuid,
    pub engagement_id: Uuid,
    pub kpi_id: Uuid,
    pub period_start: Date,
    pub value: f64,
    pub breakdown: Json,
    pub comment: Option<String>,
    pub evidence_url: Option<String>,
    /// Stored evaluation (`domain::evaluation::Status`), written when the version is submitted.
    pub status: Option<Status>,
    pub breach: Option<Breach>,
    /// Part of the report's latest submitted version.
    pub shown: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
