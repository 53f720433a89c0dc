//! The alerts page: what fires (and fired) on the engagements a company user sees, with the
//! facts that made it fire and the page to act on; the oversight team acknowledges firing
//! alerts and silences a rule for a while from here, and sees the silences still running.
//!
//! The policy is the API's (`crate::http::alerts`): company users read, admins and leads
//! handle, alerts of no engagement are the admins'; the agency gets its emails, not this page
//! (403, as the API answers).

use crate::present::links::paths;
use std::collections::{BTreeMap, HashMap};

use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::kit::{
    Typed, all_of, engagement_options, name_of, page_number, path_id as object_id, people, query_param as param,
};
use crate::{
    app::{
        alerts::{self, AlertFilter, AlertView, ReadBy, SilenceInput},
        engagements,
    },
    domain::{
        Violations,
        alert::{AlertRule, AlertState},
    },
    error::AppResult,
    policy::alert::{Action, authorize},
    state::AppState,
    web::{
        error::PageResult,
        paging::{PER_PAGE, Paged},
        session::{PageForm, SignedIn},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ALERTS, get(list))
        .route(paths::ALERT_ACKNOWLEDGE, post(acknowledge))
        .route(paths::ALERT_SILENCES, post(silence))
}

/// The filters of the list, which the acknowledge form carries to come back to them.
const FILTERS: [&str; 3] = ["engagement_id", "state", "rule"];

/// One alert as the list shows it (worded for the visitor: `title`, `text`, `link`).
#[derive(Debug, Serialize)]
struct Row {
    #[serde(flatten)]
    alert: AlertView,
    engagement: Option<String>,
    acknowledged_by_name: Option<String>,
    may_acknowledge: bool,
}

async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult<Response> {
    render(&state, &user, &query, StatusCode::OK, None).await
}

/// The list with its filters, and the silence form (again after `typed`, if given).
async fn render(
    state: &AppState,
    user: &SignedIn,
    query: &HashMap<String, String>,
    status: StatusCode,
    typed: Option<Typed>,
) -> PageResult<Response> {
    let viewer = user.principal.viewer();
    authorize(&viewer, Action::Read, false)?;
    let global = authorize(&viewer, Action::Read, true).is_ok();
    let filter = AlertFilter {
        state: param(query, "state")?,
        rule: param(query, "rule")?,
        engagement_id: param(query, "engagement_id")?,
    };
    let now = state.clock.now();
    let visible = engagements::visible(&state.db, &viewer).await?;
    let ids: Vec<Uuid> = visible.iter().map(|e| e.id).collect();
    let titles: HashMap<Uuid, &str> = visible.iter().map(|e| (e.id, e.title.as_str())).collect();
    let reader = ReadBy::new(user.frame.lang, &user.frame.tz);
    let found = alerts::list(&state.db, &ids, global, &filter, reader).await?;
    let silences = alerts::silences(&state.db, now, &ids).await?;
    let people =
        people(state, found.iter().map(|a| a.acknowledged_by).chain(silences.iter().map(|s| s.created_by))).await?;
    let title_of = |id: Option<Uuid>| id.and_then(|id| titles.get(&id).map(|t| t.to_string()));
    let rows: Vec<Row> = found
        .into_iter()
        .map(|a| Row {
            engagement: title_of(a.engagement_id),
            acknowledged_by_name: name_of(&people, a.acknowledged_by),
            may_acknowledge: a.state == AlertState::Firing
                && a.acknowledged_at.is_none()
                && authorize(&viewer, Action::Handle, a.engagement_id.is_none()).is_ok(),
            alert: a,
        })
        .collect();
    let silences: Vec<Value> = silences
        .into_iter()
        .map(|s| {
            json!({ "engagement": title_of(s.engagement_id), "created_by_name": name_of(&people, s.created_by), "silence": s })
        })
        .collect();
    let filters: BTreeMap<&str, String> =
        FILTERS.into_iter().map(|k| (k, query.get(k).map(|v| v.trim().to_string()).unwrap_or_default())).collect();
    let typed = typed.unwrap_or_else(|| silence_defaults(&filters, now, &user.frame.tz));
    let page = json!({
        "alerts": Paged::of(rows, page_number(query), PER_PAGE),
        "silences": silences,
        "filters": filters,
        "engagements": engagement_options(visible.iter().map(|e| (e.id, e.title.as_str()))),
        "rules": all_of::<AlertRule>(),
        "states": all_of::<AlertState>(),
        "may_silence": authorize(&viewer, Action::Handle, false).is_ok(),
        "may_silence_everywhere": authorize(&viewer, Action::Handle, true).is_ok(),
        "max_silence_days": alerts::MAX_SILENCE_DAYS,
        "values": typed.values,
        "errors": typed.errors,
    });
    user.render_status(state, status, "alerts/list.html", page)
}

/// The silence form starts from the filters shown, for a week.
fn silence_defaults(filters: &BTreeMap<&str, String>, now: DateTime<Utc>, tz: &str) -> Typed {
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for key in ["engagement_id", "rule"] {
        values.insert(key.into(), filters.get(key).cloned().unwrap_or_default());
    }
    let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    let week = (now + Duration::days(7)).with_timezone(&tz);
    values.insert("until".into(), week.format("%Y-%m-%dT%H:%M").to_string());
    Typed { values, errors: BTreeMap::new() }
}

/// Back to the list with the filters the form came from.
fn back_to_list(form: &PageForm, notice: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for key in FILTERS {
        if let Some(v) = form.get(key) {
            query.append_pair(key, v);
        }
    }
    query.append_pair("notice", notice);
    format!("/alerts?{}", query.finish())
}

async fn acknowledge(State(state): State<AppState>, Path(raw): Path<String>, form: PageForm) -> PageResult<Response> {
    let id = object_id(&raw)?;
    let principal = &form.user.principal;
    form.only(&FILTERS)?;
    let reader = ReadBy::new(principal.user.language, &principal.user.timezone);
    alerts::acknowledge(&state.ctx(principal), id, reader).await?;
    Ok(Redirect::to(&back_to_list(&form, "alert_acknowledged")).into_response())
}

/// The fields of the silence form; `until` is a local time in the visitor's time zone.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SilenceForm {
    rule: Option<AlertRule>,
    engagement_id: Option<Uuid>,
    until: Option<String>,
    #[serde(default)]
    reason: String,
}

/// A `datetime-local` value (`2026-03-02T14:05`) in time zone `tz`, as an instant.
fn local_instant(text: &str, tz: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    let tz: chrono_tz::Tz = tz.parse().ok()?;
    tz.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc))
}

/// The API's input from the form, or every field that is missing or does not fit.
fn silence_input(fields: SilenceForm, tz: &str) -> AppResult<SilenceInput> {
    let mut v = Violations::new();
    if fields.rule.is_none() {
        v.add("rule", "required", "choose the rule to silence");
    }
    let until = fields.until.as_deref().and_then(|u| local_instant(u, tz));
    if until.is_none() {
        v.add("until", "invalid_value", "give the date and time the silence ends");
    }
    if fields.reason.trim().is_empty() {
        v.add("reason", "required", "say why the rule is silenced");
    }
    match (fields.rule, until) {
        (Some(rule), Some(until)) if v.is_empty() => {
            Ok(SilenceInput { rule, engagement_id: fields.engagement_id, until, reason: fields.reason })
        }
        _ => Err(v.into()),
    }
}

async fn silence(State(state): State<AppState>, form: PageForm) -> PageResult<Response> {
    let principal = &form.user.principal;
    let result = async {
        let input = silence_input(form.parse()?, &principal.user.timezone)?;
        alerts::silence(&state.ctx(principal), input).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&back_to_list(&form, "alert_silenced")).into_response()),
        Err(err) => match Typed::after(&form, &err) {
            Some(typed) => {
                render(&state, &form.user, &HashMap::new(), StatusCode::UNPROCESSABLE_ENTITY, Some(typed)).await
            }
            None => Err(err.into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[test]
    fn the_silence_form_reads_local_times_and_names_every_problem() {
        let at = local_instant("2026-07-01T10:30", "Europe/Madrid");
        assert_eq!(at, Some("2026-07-01T08:30:00Z".parse().unwrap()));
        assert_eq!(local_instant("tomorrow", "Europe/Madrid"), None);
        let blank = SilenceForm { rule: None, engagement_id: None, until: None, reason: " ".into() };
        let Err(AppError::Invalid(errors)) = silence_input(blank, "UTC") else { panic!("invalid") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["rule", "until", "reason"]);
        let ok = SilenceForm {
            rule: Some(AlertRule::KpiBreach),
            engagement_id: None,
            until: Some("2026-07-01T10:30".into()),
            reason: "Campaña".into(),
        };
        assert_eq!(silence_input(ok, "UTC").unwrap().until, "2026-07-01T10:30:00Z".parse::<DateTime<Utc>>().unwrap());
    }
}
