//! The audit log as a page: newest first, narrowed by actor, action, object, engagement and
//! dates (a GET form, so a filtered view is a link), a page of entries at a time with an
//! "older" link carrying the cursor and the filters. Each entry shows what changed between
//! its before and after, field by field. Same visibility as `GET /api/v1/audit`: admins and
//! leads, leads without entries about secret engagements they are not part of.

use crate::present::links::paths;
use std::collections::{BTreeMap, HashMap};

use axum::{
    Router,
    extract::{Query, State},
    http::StatusCode,
    response::Response,
    routing::get,
};
use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::kit::{QueryMap, form_errors, query_date, query_parse, query_value};
use crate::{
    app::{
        audit::{self, AuditEventView, AuditFilter, AuditWindow},
        engagements, users,
    },
    db::pagination::PageRequest,
    domain::{digest::local_instant, enums::Language},
    error::{AppError, AppResult},
    policy::{self, audit::AuditScope},
    present::{self, format},
    state::AppState,
    web::{error::PageResult, paging::PER_PAGE, session::SignedIn},
};

pub fn router() -> Router<AppState> {
    Router::new().route(paths::AUDIT, get(list))
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

/// One field that differs between an entry's before and after, as the reader reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Change {
    /// Dotted path of the field as stored (`brief.budget_minor`), for programs and tests.
    field: String,
    /// The field's name in the reader's language ("Presupuesto").
    label: String,
    before: Option<String>,
    after: Option<String>,
}

/// The vocabularies a field's codes belong to (`status` of a report: `report_status`).
fn vocabularies(field: &str, object_type: &str) -> &'static [&'static str] {
    match (field, object_type) {
        ("status", "engagement") => &["engagement_status"],
        ("status", "report") => &["report_status"],
        ("status", "approval") => &["approval_status"],
        ("status", "content") => &["content_status"],
        ("status", "incident") => &["incident_status"],
        ("status", "alert") => &["alert_state"],
        ("status", _) => {
            &["engagement_status", "report_status", "approval_status", "content_status", "incident_status"]
        }
        ("severity", _) => &["severity", "alert_severity"],
        ("channel" | "channels", _) => &["channel"],
        ("cadence", _) => &["cadence"],
        ("confidentiality", _) => &["confidentiality"],
        ("role", _) => &["role"],
        ("team_role", _) => &["team_role"],
        ("decision", _) => &["decision"],
        ("unit", _) => &["unit"],
        ("direction", _) => &["direction"],
        ("aggregation", _) => &["aggregation"],
        ("function", _) => &["function"],
        ("subject_kind", _) => &["subject_kind"],
        ("preset", _) => &["stage"],
        ("rule", _) => &["rule"],
        ("language", _) => &["language"],
        ("category", _) => &["signal_category"],
        ("issue", _) => &["eng.realism"],
        ("code", _) => &["gov.finding", "eng.realism"],
        _ => &[],
    }
}

/// How one entry's values are worded for the reader: codes as the vocabulary's words,
/// instants in the reader's time zone, dates, numbers and money in the reader's formats,
/// people and engagements by name.
struct Reader<'a> {
    language: Language,
    tz: Tz,
    object_type: &'a str,
    names: &'a HashMap<Uuid, String>,
    titles: &'a HashMap<Uuid, String>,
}

impl Reader<'_> {
    /// The leaves of a JSON document by dotted path; arrays are one value, and a finding (an
    /// object with a `code` or an `issue`) is one sentence in the reader's language.
    fn flatten(&self, prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                if let Some(sentence) = self.finding(map) {
                    out.insert(prefix.to_string(), Value::String(sentence));
                    return;
                }
                // Entries written before the log kept kinds only carry an English `message`
                // beside a finding's code.
                let finding = map.contains_key("code") || map.contains_key("issue");
                for (key, inner) in map.iter().filter(|(k, _)| !(finding && *k == "message")) {
                    let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                    self.flatten(&path, inner, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.clone());
            }
        }
    }

    /// A finding worded from its code and parameters, when the catalogue words it.
    fn finding(&self, map: &serde_json::Map<String, Value>) -> Option<String> {
        if let (Some(code), Some(Value::Object(params))) = (map.get("code").and_then(Value::as_str), map.get("params"))
        {
            // A governance finding: worded as the engagement page words it.
            let finding = crate::domain::governance::Finding {
                field: map.get("field").and_then(Value::as_str).unwrap_or_default().to_string(),
                code: code.to_string(),
                params: params.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                message: String::new(),
            };
            return Some(present::findings::sentence(&finding, self.language));
        }
        let mut code = map.get("issue").or_else(|| map.get("code")).and_then(Value::as_str)?;
        // As the KPI page words it: growth from a zero baseline has no factor.
        if code == "implausible_growth" && map.get("implied_factor").is_some_and(Value::is_null) {
            code = "unbounded";
        }
        let catalog = present::catalog().ok()?;
        let key = ["eng.realism", "gov.finding"].iter().map(|k| format!("{k}.{code}")).find(|k| catalog.has(k))?;
        let factor = |name: &str| map.get(name).and_then(Value::as_f64).map(|v| format::number(v, 2, self.language));
        let mut params: Vec<(&str, String)> = map
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str(),
                    v.as_str()
                        .map(str::to_string)
                        .or_else(|| v.as_f64().map(|n| format::number(n, 2, self.language)))?,
                ))
            })
            .collect();
        params.extend(factor("implied_factor").map(|f| ("implied", f)));
        params.extend(factor("plausible_factor").map(|f| ("plausible", f)));
        Some(present::text(&key, self.language, &params))
    }

    fn label(&self, path: &str) -> String {
        let leaf = path.rsplit('.').next().unwrap_or(path);
        let key = format!("aud.field.{}", if leaf.is_empty() { "value" } else { leaf });
        match present::catalog().ok().and_then(|c| c.get(&key, self.language)) {
            Some(label) => label.to_string(),
            None => path.to_string(),
        }
    }

    /// A value as people read it (nothing for null), cut short when long.
    fn shown(&self, path: &str, value: &Value, currency: &str) -> Option<String> {
        let leaf = path.rsplit('.').next().unwrap_or(path);
        let lang = self.language;
        let text = match value {
            Value::Null => return None,
            Value::Bool(yes) => present::text(if *yes { "common.yes" } else { "common.no" }, lang, &[]),
            Value::Number(n) => {
                let v = n.as_f64()?;
                match n.as_i64() {
                    Some(minor) if leaf.ends_with("_minor") => format::money_minor(minor, currency, lang),
                    _ => format::number(v, 4, lang),
                }
            }
            Value::String(s) => self.word(leaf, s),
            Value::Array(items) if items.is_empty() => present::text("aud.empty_list", lang, &[]),
            Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
                items.iter().filter_map(|i| self.shown(path, i, currency)).collect::<Vec<_>>().join(", ")
            }
            Value::Array(items) => {
                let sentences: Option<Vec<String>> =
                    items.iter().map(|i| i.as_object().and_then(|m| self.finding(m))).collect();
                match sentences {
                    Some(sentences) => sentences.join(" · "),
                    None => present::text("aud.items", lang, &[("n", items.len().to_string())]),
                }
            }
            Value::Object(_) => return None,
        };
        Some(if text.chars().count() > MAX_VALUE_CHARS {
            format!("{}…", text.chars().take(MAX_VALUE_CHARS).collect::<String>())
        } else {
            text
        })
    }

    fn word(&self, field: &str, s: &str) -> String {
        if let Ok(id) = Uuid::parse_str(s) {
            return self.names.get(&id).or_else(|| self.titles.get(&id)).cloned().unwrap_or_else(|| s.to_string());
        }
        if let Ok(at) = DateTime::parse_from_rfc3339(s) {
            return format::datetime(at.with_timezone(&Utc), self.tz, self.language);
        }
        if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return format::date(day, self.language);
        }
        let catalog = present::catalog().ok();
        for kind in vocabularies(field, self.object_type) {
            let key = format!("{kind}.{s}");
            if let Some(word) = catalog.and_then(|c| c.get(&key, self.language)) {
                return word.to_string();
            }
        }
        s.to_string()
    }

    /// The fields that differ between `before` and `after` (every field of a creation or a
    /// deletion), in the order of their paths, at most [`MAX_CHANGES`].
    fn changes(&self, before: Option<&Value>, after: Option<&Value>) -> Vec<Change> {
        let leaves = |v: Option<&Value>| {
            let mut out = BTreeMap::new();
            if let Some(v) = v {
                self.flatten("", v, &mut out);
            }
            out
        };
        let currency = [after, before]
            .into_iter()
            .flatten()
            .find_map(|v| v.get("currency").and_then(Value::as_str))
            .unwrap_or("EUR")
            .to_string();
        let (before, after) = (leaves(before), leaves(after));
        let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
        fields.sort();
        fields.dedup();
        fields
            .into_iter()
            .filter(|f| before.get(*f) != after.get(*f))
            .map(|f| Change {
                field: if f.is_empty() { "value".to_string() } else { f.clone() },
                label: self.label(f),
                before: before.get(f).and_then(|v| self.shown(f, v, &currency)),
                after: after.get(f).and_then(|v| self.shown(f, v, &currency)),
            })
            .filter(|c| c.before != c.after)
            .take(MAX_CHANGES)
            .collect()
    }
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

fn entry(e: AuditEventView, reader: &Reader<'_>) -> Entry {
    let kind = match (&e.before, &e.after) {
        (None, Some(_)) => "created",
        (Some(_), None) => "deleted",
        (Some(_), Some(_)) => "changed",
        (None, None) => "event",
    };
    let reader = Reader { object_type: &e.object_type, ..*reader };
    Entry {
        changes: reader.changes(e.before.as_ref(), e.after.as_ref()),
        engagement_title: e.engagement_id.and_then(|id| reader.titles.get(&id).cloned()),
        actor_name: e.actor_id.and_then(|id| reader.names.get(&id).cloned()),
        id: e.id,
        at: e.at,
        actor_label: e.actor_label.clone(),
        action: e.action.clone(),
        object_type: e.object_type.clone(),
        object_id: e.object_id.clone(),
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
    let actors = users::choices(&state.db, users::Pickable::Everyone).await?;
    let tz = user.principal.user.timezone.parse().unwrap_or(chrono_tz::Tz::UTC);
    let values: BTreeMap<&str, &str> = FILTERS.iter().map(|f| (*f, query_value(&q, f).unwrap_or_default())).collect();
    let mut context = json!({
        "values": values,
        "filtered": values.values().any(|v| !v.is_empty()),
        "errors": {},
        "entries": [],
        "older": null,
        "newest": query_value(&q, "cursor").is_some().then(|| query_string(&q, None)),
        "actors": actors,
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
    let names: HashMap<Uuid, String> = actors.iter().map(|u| (u.id, u.name.clone())).collect();
    let reader = Reader { language: user.frame.lang, tz, object_type: "", names: &names, titles: &titles };
    let entries: Vec<Entry> = found.items.into_iter().map(|e| entry(e, &reader)).collect();
    context["entries"] = json!(entries);
    context["older"] = json!(found.next_cursor.map(|c| query_string(&q, Some(("cursor", &c)))));
    user.render_status(&state, StatusCode::OK, "audit/list.html", context)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader<'a>(language: Language, names: &'a HashMap<Uuid, String>) -> Reader<'a> {
        static NONE: std::sync::OnceLock<HashMap<Uuid, String>> = std::sync::OnceLock::new();
        let titles = NONE.get_or_init(HashMap::new);
        Reader { language, tz: chrono_tz::Europe::Madrid, object_type: "report", names, titles }
    }

    #[test]
    fn only_changed_fields_are_shown() {
        let names = HashMap::new();
        let before =
            json!({ "title": "Brisa", "brief": { "budget_minor": 100, "want": "x" }, "owner_id": null, "tags": [1] });
        let after =
            json!({ "title": "Brisa 2", "brief": { "budget_minor": 100, "want": "y" }, "owner_id": "u1", "tags": [1] });
        let got = reader(Language::Es, &names).changes(Some(&before), Some(&after));
        let fields: Vec<&str> = got.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["brief.want", "owner_id", "title"]);
        let labels: Vec<&str> = got.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["Qué queremos", "Responsable interno", "Título"]);
        assert_eq!(got[1].before, None);
        assert_eq!(got[1].after.as_deref(), Some("u1"));
        assert_eq!(got[2].before.as_deref(), Some("Brisa"));
    }

    #[test]
    fn values_are_worded_for_the_reader() {
        let lead = Uuid::now_v7();
        let names: HashMap<Uuid, String> = [(lead, "Marta Ruiz".to_string())].into();
        let after = json!({
            "status": "changes_requested", "submitted_at": "2026-12-02T10:39:31.845857741Z",
            "period_start": "2026-11-01", "monthly_fee_minor": 450000, "currency": "EUR", "late": true,
            "created_by": lead.to_string(), "target": 1234.5, "values": [{ "kpi": 1 }, { "kpi": 2 }],
        });
        let es = reader(Language::Es, &names).changes(None, Some(&after));
        let shown: HashMap<&str, &str> =
            es.iter().map(|c| (c.field.as_str(), c.after.as_deref().unwrap_or_default())).collect();
        assert_eq!(shown["status"], "Cambios solicitados");
        assert_eq!(shown["submitted_at"], "02/12/2026 11:39", "the reader's time zone");
        assert_eq!(shown["period_start"], "01/11/2026");
        assert_eq!(shown["monthly_fee_minor"], "4.500,00\u{a0}€");
        assert_eq!(shown["late"], "Sí");
        assert_eq!(shown["created_by"], "Marta Ruiz");
        assert_eq!(shown["target"], "1.234,5");
        assert_eq!(shown["values"], "2 elementos");
        let en = reader(Language::En, &names).changes(None, Some(&after));
        let status = en.iter().find(|c| c.field == "status").unwrap();
        assert_eq!((status.label.as_str(), status.after.as_deref()), ("Status", Some("Changes requested")));
    }

    #[test]
    fn a_creation_shows_every_field_and_long_values_are_cut() {
        let names = HashMap::new();
        let r = reader(Language::Es, &names);
        let after = json!({ "name": "x".repeat(500), "n": 3, "none": null });
        let got = r.changes(None, Some(&after));
        assert_eq!(got.len(), 2, "null fields say nothing");
        assert_eq!(got[0].after.as_deref(), Some("3"));
        assert!(got[1].after.as_ref().unwrap().ends_with('…'));
        assert_eq!(r.changes(None, None), vec![]);
        assert_eq!(r.changes(Some(&json!("a")), Some(&json!("b")))[0].field, "value");
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
