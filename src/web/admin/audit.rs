//! The audit log as a page: newest first, narrowed by actor, action, object, engagement and
//! dates (a GET form, so a filtered view is a link), a page of entries at a time with an
//! "older" link carrying the cursor and the filters. Each entry shows what changed between
//! its before and after, field by field. Same visibility as `GET /api/v1/audit`: admins and
//! leads, leads without entries about secret engagements they are not part of.

use std::collections::{BTreeMap, HashMap};

use axum::{
    Router,
    extract::{Query, State},
    http::StatusCode,
    response::Response,
    routing::get,
};
use chrono::{DateTime, Days, NaiveTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{QueryMap, every, form_errors, query_date, query_parse, query_value};
use crate::{
    app::AppState,
    domain::digest::local_instant,
    error::{AppError, AppResult},
    policy::{self, audit::AuditScope},
    store::{
        audit::{self, AuditEventView, AuditFilter, AuditWindow},
        engagements,
        pagination::PageRequest,
        users,
    },
    web::{error::PageResult, paging::PER_PAGE, session::SignedIn},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

/// The filters of the page, in the order the form shows them.
const FILTERS: [&str; 7] = ["actor_id", "action", "object_type", "object_id", "engagement_id", "from", "to"];

/// The actions Veedor records, for the filter.
const ACTIONS: [&str; 57] = [
    "alert.acknowledge",
    "alert.silence",
    "amendment.apply",
    "amendment.propose",
    "amendment.reject",
    "amendment.revise",
    "amendment.send_back",
    "amendment.withdraw",
    "approval.decide",
    "approval.escalate",
    "approval.open",
    "content.edit",
    "content.propose",
    "content.publish",
    "content.withdraw",
    "crisis.end",
    "crisis.start",
    "digest.delete",
    "digest.subscribe",
    "digest.update",
    "engagement.activate",
    "engagement.amend",
    "engagement.create",
    "engagement.end",
    "engagement.resume",
    "engagement.submit",
    "engagement.suspend",
    "engagement.update",
    "engagement.withdraw",
    "incident.acknowledge",
    "incident.open",
    "incident.resolve",
    "incident.update",
    "kpi.create",
    "kpi.delete",
    "kpi.update",
    "report.accept",
    "report.create",
    "report.edit",
    "report.request_changes",
    "report.submit",
    "scope_item.create",
    "scope_item.delete",
    "scope_item.update",
    "session.login",
    "session.logout",
    "team.add",
    "team.remove",
    "token.create",
    "token.revoke",
    "user.create",
    "user.notification_preferences",
    "user.password_change",
    "user.update",
    "vendor.create",
    "vendor.update",
    "workflow.set",
];

/// The kinds of object the log speaks of, for the filter.
const OBJECT_TYPES: [&str; 15] = [
    "alert",
    "alert_silence",
    "amendment",
    "api_token",
    "approval",
    "content",
    "digest_subscription",
    "engagement",
    "incident",
    "kpi",
    "report",
    "scope_item",
    "team_member",
    "user",
    "vendor",
];

/// Most fields an entry's change list shows, and most characters of each value.
const MAX_CHANGES: usize = 40;
const MAX_VALUE_CHARS: usize = 200;

/// One field that differs between an entry's before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Change {
    /// Dotted path of the field (`brief.budget_minor`).
    field: String,
    before: Option<String>,
    after: Option<String>,
}

/// The leaves of a JSON document by dotted path; arrays are one value.
fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, inner) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(&path, inner, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// A value as people read it: text without quotes, nothing for null, the rest as JSON,
/// cut short when long.
fn shown(value: &Value) -> Option<String> {
    let text = match value {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > MAX_VALUE_CHARS {
        Some(format!("{}…", text.chars().take(MAX_VALUE_CHARS).collect::<String>()))
    } else {
        Some(text)
    }
}

/// The fields that differ between `before` and `after` (every field of a creation or a
/// deletion), at most [`MAX_CHANGES`].
fn changes(before: Option<&Value>, after: Option<&Value>) -> Vec<Change> {
    let leaves = |v: Option<&Value>| {
        let mut out = BTreeMap::new();
        if let Some(v) = v {
            flatten("", v, &mut out);
        }
        out
    };
    let (before, after) = (leaves(before), leaves(after));
    let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| before.get(*f) != after.get(*f))
        .map(|f| Change {
            field: if f.is_empty() { "value".to_string() } else { f.clone() },
            before: before.get(f).and_then(shown),
            after: after.get(f).and_then(shown),
        })
        .filter(|c| c.before != c.after)
        .take(MAX_CHANGES)
        .collect()
}

/// An entry as the page shows it.
#[derive(Debug, Serialize)]
struct Entry {
    id: Uuid,
    at: DateTime<Utc>,
    actor_label: String,
    /// The actor's name, when the actor is a user.
    actor_name: Option<String>,
    action: String,
    object_type: String,
    object_id: String,
    engagement_id: Option<Uuid>,
    /// Set when the viewer may open the engagement.
    engagement_title: Option<String>,
    /// `created`, `deleted`, `changed` or `event` (nothing recorded before or after).
    kind: &'static str,
    changes: Vec<Change>,
}

fn entry(e: AuditEventView, titles: &HashMap<Uuid, String>, names: &HashMap<Uuid, String>) -> Entry {
    let kind = match (&e.before, &e.after) {
        (None, Some(_)) => "created",
        (Some(_), None) => "deleted",
        (Some(_), Some(_)) => "changed",
        (None, None) => "event",
    };
    Entry {
        changes: changes(e.before.as_ref(), e.after.as_ref()),
        engagement_title: e.engagement_id.and_then(|id| titles.get(&id).cloned()),
        actor_name: e.actor_id.and_then(|id| names.get(&id).cloned()),
        id: e.id,
        at: e.at,
        actor_label: e.actor_label,
        action: e.action,
        object_type: e.object_type,
        object_id: e.object_id,
        engagement_id: e.engagement_id,
        kind,
    }
}

/// The query as the store takes it; dates are whole days in the viewer's time zone.
fn filters(q: &QueryMap, tz: chrono_tz::Tz) -> AppResult<(AuditFilter, AuditWindow, PageRequest)> {
    let filter = AuditFilter {
        object_type: query_value(q, "object_type").map(str::to_string),
        object_id: query_value(q, "object_id").map(str::to_string),
        actor_id: query_parse(q, "actor_id", "a user")?,
        engagement_id: query_parse(q, "engagement_id", "an engagement")?,
    };
    let (from, to) = (query_date(q, "from")?, query_date(q, "to")?);
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        return Err(AppError::invalid("to", "before_from", "the last day comes after the first"));
    }
    let midnight = |d| local_instant(tz, d, NaiveTime::MIN);
    let window = AuditWindow {
        action: query_value(q, "action").map(str::to_string),
        from: from.map(midnight),
        until: to.and_then(|d| d.checked_add_days(Days::new(1))).map(midnight),
    };
    let page = PageRequest::parse(query_value(q, "cursor"), Some(PER_PAGE as u64))?;
    Ok((filter, window, page))
}

/// `key=value&…` of the filters in use, plus `extra`.
fn query_string(q: &QueryMap, extra: Option<(&str, &str)>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for name in FILTERS {
        if let Some(v) = query_value(q, name) {
            out.append_pair(name, v);
        }
    }
    if let Some((k, v)) = extra {
        out.append_pair(k, v);
    }
    out.finish()
}

async fn list(State(state): State<AppState>, user: SignedIn, Query(q): Query<QueryMap>) -> PageResult<Response> {
    let viewer = user.principal.viewer();
    let scope = policy::audit::read(&viewer)?;
    let hide = (scope == AuditScope::WithoutForeignSecrets).then_some(viewer.user_id);
    let visible = engagements::visible(&state.db, &viewer).await?;
    let titles: HashMap<Uuid, String> = visible.iter().map(|e| (e.id, e.title.clone())).collect();
    let mut actors = every(|p| users::list(&state.db, p, None)).await?;
    actors.sort_by_key(|u| u.identity.name.to_lowercase());
    let tz = user.principal.user.timezone.parse().unwrap_or(chrono_tz::Tz::UTC);
    let values: BTreeMap<&str, &str> = FILTERS.iter().map(|f| (*f, query_value(&q, f).unwrap_or_default())).collect();
    let mut context = json!({
        "values": values,
        "filtered": values.values().any(|v| !v.is_empty()),
        "errors": {},
        "entries": [],
        "older": null,
        "newest": query_value(&q, "cursor").is_some().then(|| query_string(&q, None)),
        "actors": actors.iter().map(|u| json!({ "id": u.identity.id.to_string(), "name": u.identity.name, "email": u.identity.email })).collect::<Vec<_>>(),
        "engagements": visible.iter().map(|e| json!({ "id": e.id.to_string(), "title": e.title })).collect::<Vec<_>>(),
        "actions": ACTIONS.as_slice(),
        "object_types": OBJECT_TYPES.as_slice(),
    });
    let (filter, window, page) = match filters(&q, tz) {
        Ok(parsed) => parsed,
        Err(err) => {
            context["errors"] = json!(form_errors(err, user.frame.lang)?);
            return user.render_status(&state, StatusCode::UNPROCESSABLE_ENTITY, "audit/list.html", context);
        }
    };
    let found = audit::list_within(&state.db, hide, filter, window, page).await?;
    let names: HashMap<Uuid, String> = actors.iter().map(|u| (u.identity.id, u.identity.name.clone())).collect();
    let entries: Vec<Entry> = found.items.into_iter().map(|e| entry(e, &titles, &names)).collect();
    context["entries"] = json!(entries);
    context["older"] = json!(found.next_cursor.map(|c| query_string(&q, Some(("cursor", &c)))));
    user.render_status(&state, StatusCode::OK, "audit/list.html", context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields_are_shown() {
        let before =
            json!({ "title": "Brisa", "brief": { "budget_minor": 100, "want": "x" }, "owner_id": null, "tags": [1] });
        let after =
            json!({ "title": "Brisa 2", "brief": { "budget_minor": 100, "want": "y" }, "owner_id": "u1", "tags": [1] });
        let got = changes(Some(&before), Some(&after));
        let fields: Vec<&str> = got.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["brief.want", "owner_id", "title"]);
        assert_eq!(got[1], Change { field: "owner_id".into(), before: None, after: Some("u1".into()) });
        assert_eq!(got[2].before.as_deref(), Some("Brisa"));
    }

    #[test]
    fn a_creation_shows_every_field_and_long_values_are_cut() {
        let after = json!({ "name": "x".repeat(500), "n": 3, "none": null });
        let got = changes(None, Some(&after));
        assert_eq!(got.len(), 2, "null fields say nothing");
        assert_eq!(got[0].after.as_deref(), Some("3"));
        assert!(got[1].after.as_ref().unwrap().ends_with('…'));
        assert_eq!(changes(None, None), vec![]);
        assert_eq!(changes(Some(&json!("a")), Some(&json!("b")))[0].field, "value");
    }

    #[test]
    fn dates_are_whole_days_in_the_viewers_zone() {
        let q: QueryMap = [("from".to_string(), "2026-03-02".to_string()), ("to".into(), "2026-03-02".into())].into();
        let (_, window, page) = filters(&q, chrono_tz::Europe::Madrid).unwrap();
        assert_eq!(window.from.unwrap().to_rfc3339(), "2026-03-01T23:00:00+00:00");
        assert_eq!(window.until.unwrap().to_rfc3339(), "2026-03-02T23:00:00+00:00");
        assert_eq!(page.limit, PER_PAGE as u64);
        let backwards: QueryMap =
            [("from".to_string(), "2026-03-02".to_string()), ("to".into(), "2026-03-01".into())].into();
        assert!(filters(&backwards, chrono_tz::UTC).is_err());
    }

    #[test]
    fn the_older_link_keeps_the_filters() {
        let q: QueryMap = [
            ("action".to_string(), "kpi.update".to_string()),
            ("cursor".into(), "old".into()),
            ("object_id".into(), String::new()),
        ]
        .into();
        assert_eq!(query_string(&q, Some(("cursor", "abc"))), "action=kpi.update&cursor=abc");
        assert_eq!(query_string(&q, None), "action=kpi.update");
    }
}
