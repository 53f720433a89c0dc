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

use crate::db::entity::{audit_event, audit_event_engagement};

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
