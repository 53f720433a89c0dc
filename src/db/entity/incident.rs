//! The `incidents` table.

use sea_orm::entity::prelude::*;

use crate::domain::incident::{IncidentSeverity, IncidentStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "incidents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub engagement_id: Uuid,
    pub title: String,
    pub severity: IncidentSeverity,
    pub status: IncidentStatus,
    pub opened_by: Option<Uuid>,
    pub opened_at: DateTimeUtc,
    pub ack_due_at: DateTimeUtc,
    pub acknowledged_by: Option<Uuid>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub resolved_by: Option<Uuid>,
    pub resolved_at: Option<DateTimeUtc>,
    pub resolution: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
