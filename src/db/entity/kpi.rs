//! The `kpis` table.

use sea_orm::entity::prelude::*;

use crate::domain::enums::{Aggregation, KpiDirection, KpiUnit};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "kpis")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub engagement_id: Uuid,
    pub name: String,
    pub name_key: String,
    pub objective: String,
    pub unit: KpiUnit,
    pub direction: KpiDirection,
    pub baseline: Option<f64>,
    pub target: f64,
    pub target_upper: Option<f64>,
    pub warning_threshold: f64,
    pub critical_threshold: f64,
    pub aggregation: Aggregation,
    pub channels: Json,
    pub allow_negative: bool,
    pub ratio_numerator_id: Option<Uuid>,
    pub ratio_denominator_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
