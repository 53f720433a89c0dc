//! Reading the audit log, for the API and the audit page: entries filtered and paged, each
//! shown to a reader only when they may see every engagement it references. Writing an entry
//! is `db::audit::record`, in the transaction of the change it describes.

pub use crate::db::audit::{Actor, AuditEntry, record};

use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;
use serde::Serialize;
use uuid::Uuid;

use crate::db::entity::{audit_event, audit_event_engagement};
use crate::domain::enums::Confidentiality;

/// An audit entry as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEventView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_label: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub engagement_id: Option<Uuid>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl From<&audit_event::Model> for AuditEventView {
    fn from(m: &audit_event::Model) -> Self {
        Self {
            id: m.id,
            at: m.at,
            actor_id: m.actor_id,
            actor_label: m.actor_label.clone(),
            action: m.action.clone(),
            object_type: m.object_type.clone(),
            object_id: m.object_id.clone(),
            engagement_id: m.engagement_id,
            before: m.before.clone(),
            after: m.after.clone(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub actor_id: Option<Uuid>,
    pub engagement_id: Option<Uuid>,
}

/// Newest entries first. `hide_secrets_from` leaves out every entry that references a secret
/// engagement on which that user is neither owner nor team member.
pub async fn list(
    db: &sea_orm::DatabaseConnection,
    hide_secrets_from: Option<Uuid>,
    filter: AuditFilter,
    page: crate::db::pagination::PageRequest,
) -> crate::error::AppResult<crate::views::Page<AuditEventView>> {
    list_within(db, hide_secrets_from, filter, AuditWindow::default(), page).await
}

/// What the audit page narrows the log to beyond [`AuditFilter`]: one action, a time range.
#[derive(Debug, Clone, Default)]
pub struct AuditWindow {
    pub action: Option<String>,
    /// Entries at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Entries before this instant.
    pub until: Option<DateTime<Utc>>,
}

/// [`list`], narrowed further by `window`.
pub async fn list_within(
    db: &sea_orm::DatabaseConnection,
    hide_secrets_from: Option<Uuid>,
    filter: AuditFilter,
    window: AuditWindow,
    page: crate::db::pagination::PageRequest,
) -> crate::error::AppResult<crate::views::Page<AuditEventView>> {
    use sea_orm::{ColumnTrait, Condition, QueryFilter, QueryOrder, QuerySelect, sea_query::Query};

    use crate::db::entity::{engagement, team_member};

    let mut q = audit_event::Entity::find().order_by_desc(audit_event::Column::Id).limit(page.limit + 1);
    if let Some(before) = page.after {
        q = q.filter(audit_event::Column::Id.lt(before));
    }
    if let Some(t) = filter.object_type {
        q = q.filter(audit_event::Column::ObjectType.eq(t));
    }
    if let Some(id) = filter.object_id {
        q = q.filter(audit_event::Column::ObjectId.eq(id));
    }
    if let Some(actor) = filter.actor_id {
        q = q.filter(audit_event::Column::ActorId.eq(actor));
    }
    if let Some(e) = filter.engagement_id {
        q = q.filter(audit_event::Column::EngagementId.eq(e));
    }
    if let Some(action) = window.action {
        q = q.filter(audit_event::Column::Action.eq(action));
    }
    if let Some(from) = window.from {
        q = q.filter(audit_event::Column::At.gte(from));
    }
    if let Some(until) = window.until {
        q = q.filter(audit_event::Column::At.lt(until));
    }
    if let Some(user_id) = hide_secrets_from {
        let foreign_secrets = Query::select()
            .column(engagement::Column::Id)
            .from(engagement::Entity)
            .and_where(engagement::Column::Confidentiality.eq(Confidentiality::Secret))
            .cond_where(
                Condition::any()
                    .add(engagement::Column::OwnerId.is_null())
                    .add(engagement::Column::OwnerId.ne(user_id)),
            )
            .and_where(
                engagement::Column::Id.not_in_subquery(
                    Query::select()
                        .column(team_member::Column::EngagementId)
                        .from(team_member::Entity)
                        .and_where(team_member::Column::UserId.eq(user_id))
                        .to_owned(),
                ),
            )
            .to_owned();
        let touching_foreign_secrets = Query::select()
            .column(audit_event_engagement::Column::AuditEventId)
            .from(audit_event_engagement::Entity)
            .and_where(audit_event_engagement::Column::EngagementId.in_subquery(foreign_secrets))
            .to_owned();
        q = q.filter(audit_event::Column::Id.not_in_subquery(touching_foreign_secrets));
    }
    let rows = q.all(db).await?;
    Ok(page.page(rows, |r| r.id, |r| Ok(AuditEventView::from(r)))?)
}
