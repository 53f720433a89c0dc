//! The approvals queue: what the caller may decide now, or what they may see.

use super::ApprovalView;
use super::deciders_of;
use super::views;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::entity::approval;
use crate::{
    domain::{
        approval::{ApprovalStatus, SubjectKind},
        enums::Language,
    },
    error::AppResult,
};

/// Which part of the queue to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueView {
    /// Pending approvals the caller may decide now.
    WaitingOnMe,
    /// Approvals of subjects the caller authored.
    SubmittedByMe,
    /// Everything the caller may see.
    #[default]
    All,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueFilter {
    #[serde(default)]
    pub view: QueueView,
    pub status: Option<ApprovalStatus>,
    pub subject_kind: Option<SubjectKind>,
    pub engagement_id: Option<Uuid>,
    /// Only pending approvals past their stage deadline.
    pub overdue: Option<bool>,
}

/// The most approvals one queue answer lists, newest first.
pub const QUEUE_LIMIT: u64 = 500;

/// The queue over the given engagements (those the caller may see). Vendor users see only
/// the approvals of subjects they authored.
pub async fn queue<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
    caller: Uuid,
    caller_is_vendor: bool,
    filter: &QueueFilter,
    now: DateTime<Utc>,
    language: Language,
) -> AppResult<Vec<ApprovalView>> {
    let mut q = approval::Entity::find().filter(approval::Column::EngagementId.is_in(engagements.iter().copied()));
    if caller_is_vendor || filter.view == QueueView::SubmittedByMe {
        q = q.filter(approval::Column::AuthorId.eq(caller));
    }
    if filter.view == QueueView::WaitingOnMe {
        q = q.filter(approval::Column::Status.eq(ApprovalStatus::Pending));
    }
    if let Some(s) = filter.status {
        q = q.filter(approval::Column::Status.eq(s));
    }
    if let Some(k) = filter.subject_kind {
        q = q.filter(approval::Column::SubjectKind.eq(k));
    }
    if let Some(e) = filter.engagement_id {
        q = q.filter(approval::Column::EngagementId.eq(e));
    }
    match filter.overdue {
        Some(true) => {
            q = q
                .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
                .filter(approval::Column::StageDueAt.lte(now))
        }
        Some(false) => {
            q = q.filter(
                Condition::any()
                    .add(approval::Column::Status.ne(ApprovalStatus::Pending))
                    .add(approval::Column::StageDueAt.gt(now)),
            )
        }
        None => {}
    }
    let mut rows = q.order_by_desc(approval::Column::Id).limit(QUEUE_LIMIT).all(db).await?;
    if filter.view == QueueView::WaitingOnMe {
        rows.retain(|a| a.author_id != Some(caller) && deciders_of(a).is_ok_and(|d| d.contains(&caller)));
    }
    views(db, &rows, now, language).await
}
