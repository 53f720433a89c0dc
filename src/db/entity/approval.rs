//! The `approvals` table.

use sea_orm::entity::prelude::*;

use crate::domain::approval::{ApprovalStatus, SubjectKind};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "approvals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub engagement_id: Uuid,
    pub subject_kind: SubjectKind,
    pub subject_id: Uuid,
    /// The part of the title people typed (engagement title, reason, post excerpt).
    pub title: String,
    /// What the approval is about: a `domain::approval::SubjectLabel` as JSON.
    pub subject_label: Option<Json>,
    pub author_id: Option<Uuid>,
    pub status: ApprovalStatus,
    pub stages: Json,
    pub current_stage: i32,
    pub stage_approvers: Json,
    pub stage_started_at: DateTimeUtc,
    pub stage_due_at: DateTimeUtc,
    pub escalated_at: Option<DateTimeUtc>,
    pub crisis: bool,
    pub created_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    pub revision: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
