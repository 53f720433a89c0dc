//! The append-only audit log: who changed what, when, with the object before and after.
//! Entries are written in the transaction of the change they describe; the database refuses
//! updates and deletes of existing entries.
//!
//! An entry is scoped by every engagement it references, kept one row each in
//! `audit_event_engagements`: the engagement it is about, any named with
//! [`AuditEntry::engagement`], and every `engagement_id`/`engagement_ids` its before and after
//! carry (a digest subscription's engagements, a silence's engagement), so that no writer can
//! forget one. A reader sees an entry only if they may see all of them.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::store::entity::{audit_event, audit_event_engagement};

/// Who made a change: a user, or the system itself (command line, jobs).
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub label: String,
}

impl Actor {
    pub fn system(label: &str) -> Self {
        Self { id: None, label: label.into() }
    }
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub action: &'static str,
    pub object_type: &'static str,
    pub object_id: String,
    pub engagement_id: Option<Uuid>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl AuditEntry {
    pub fn new(action: &'static str, object_type: &'static str, object_id: impl ToString) -> Self {
        Self { action, object_type, object_id: object_id.to_string(), engagement_id: None, before: None, after: None }
    }

    pub fn engagement(mut self, id: Uuid) -> Self {
        self.engagement_id = Some(id);
        self
    }

    pub fn before(mut self, value: &impl Serialize) -> Self {
        self.before = serde_json::to_value(value).ok().map(kinds_only);
        self
    }

    pub fn after(mut self, value: &impl Serialize) -> Self {
        self.after = serde_json::to_value(value).ok().map(kinds_only);
        self
    }
}

/// The engagements an entry references: its own, and those its before and after name. The
/// back-filling migration (`m20261204_000007_audit_engagements`) keeps its own copy of this
/// rule: a migration is a frozen snapshot and must not change when this code does.
fn references(entry: &AuditEntry) -> BTreeSet<Uuid> {
    fn collect(value: &Value, into: &mut BTreeSet<Uuid>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("engagement_id", Value::String(s)) => into.extend(s.parse::<Uuid>().ok()),
                        ("engagement_ids", Value::Array(ids)) => {
                            into.extend(ids.iter().filter_map(|i| i.as_str()?.parse::<Uuid>().ok()))
                        }
                        _ => collect(v, into),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| collect(i, into)),
            _ => {}
        }
    }
    let mut refs: BTreeSet<Uuid> = entry.engagement_id.into_iter().collect();
    for value in [&entry.before, &entry.after].into_iter().flatten() {
        collect(value, &mut refs);
    }
    refs
}

/// The log keeps what a finding is (its `code` or `issue` and parameters), never the English
/// sentence an API representation adds for programmers (`message`): readers see the finding
/// worded in their own language.
fn kinds_only(mut value: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.contains_key("code") || map.contains_key("issue") {
                    map.remove("message");
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}

pub async fn record<C: ConnectionTrait>(
    db: &C,
    at: DateTime<Utc>,
    actor: &Actor,
    entry: AuditEntry,
) -> Result<(), DbErr> {
    let id = Uuid::now_v7();
    let refs = references(&entry);
    // Without reading the row back: `after` may hold a large object (a report of thousands
    // of values).
    audit_event::Entity::insert(audit_event::ActiveModel {
        id: Set(id),
        at: Set(at),
        actor_id: Set(actor.id),
        actor_label: Set(actor.label.chars().take(320).collect()),
        action: Set(entry.action.into()),
        object_type: Set(entry.object_type.into()),
        object_id: Set(entry.object_id),
        engagement_id: Set(entry.engagement_id),
        before: Set(entry.before),
        after: Set(entry.after),
    })
    .exec_without_returning(db)
    .await?;
    if !refs.is_empty() {
        let rows = refs.into_iter().map(|engagement_id| audit_event_engagement::ActiveModel {
            audit_event_id: Set(id),
            engagement_id: Set(engagement_id),
        });
        audit_event_engagement::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    Ok(())
}

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
    page: super::pagination::PageRequest,
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
    page: super::pagination::PageRequest,
) -> crate::error::AppResult<crate::views::Page<AuditEventView>> {
    use sea_orm::{ColumnTrait, Condition, QueryFilter, QueryOrder, QuerySelect, sea_query::Query};

    use super::entity::{engagement, team_member};

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
            .and_where(engagement::Column::Confidentiality.eq("secret"))
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
