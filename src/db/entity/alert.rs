//! The `alerts` table.

use sea_orm::entity::prelude::*;

use crate::domain::alert::{AlertRule, AlertSeverity, AlertState};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "alerts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dedup_key: String,
    pub rule: AlertRule,
    pub severity: AlertSeverity,
    pub engagement_id: Option<Uuid>,
    pub subject_id: Option<Uuid>,
    pub facts: Json,
    pub state: AlertState,
    pub started_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub acknowledged_by: Option<Uuid>,
    pub last_notified_at: Option<DateTimeUtc>,
    pub notifications: i32,
    pub resolution_pending: bool,
    pub escalation_level: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
