//! Incident pages: the incidents of the engagements a visitor sees, reporting a new one, and
//! an incident's timeline with the forms to add to it, acknowledge it and resolve it. The
//! alert pages ([`alerts`]) sit beside them: both are how the company learns that something
//! is going wrong and shows that it is being handled.
//!
//! Every handler authorizes exactly as `crate::http::incidents` does (the engagement must be
//! visible, then `policy::incident`), so anyone on an engagement, the agency included,
//! reports and adds updates, and only the company's admins and leads acknowledge, resolve
//! or lower a severity.

use crate::present::links::paths;
use std::collections::{BTreeMap, HashMap};

use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use strum::IntoEnumIterator;
use uuid::Uuid;

use super::kit::{
    Typed, all_of, engagement_options, name_of, page_number, path_id as object_id, people, query_param as param,
};
use super::{
    error::{PageError, PageResult},
    paging::PER_PAGE,
    session::{PageForm, SignedIn},
};
use crate::{
    app::{
        engagements,
        incidents::{self, IncidentDetail, IncidentFilter, IncidentUpdateView, IncidentView},
    },
    auth::Principal,
    domain::incident::{
        AcknowledgeInput, IncidentInput, IncidentSeverity, IncidentStatus, ResolveInput, UpdateInput, UpdateKind,
    },
    error::AppResult,
    policy::incident::Action,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::INCIDENTS, get(list))
        .route(paths::INCIDENT_NEW, get(new_form).post(open))
        .route(paths::INCIDENT, get(show))
        .route(paths::INCIDENT_UPDATES, post(add_update))
        .route(paths::INCIDENT_ACKNOWLEDGE, post(acknowledge))
        .route(paths::INCIDENT_RESOLVE, post(resolve))
}

// ---------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------

/// One row of the incident list.
#[derive(Debug, Serialize)]
struct Row {
    #[serde(flatten)]
    incident: IncidentView,
    engagement: String,
    opened_by_name: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult<Html<String>> {
    let viewer = user.principal.viewer();
    let filter = IncidentFilter {
        status: param(&query, "status")?,
        severity: param(&query, "severity")?,
        overdue: param(&query, "overdue")?,
    };
    let engagement_id = param::<Uuid>(&query, "engagement_id")?;
    let ctx = state.ctx(&user.principal);
    let found = incidents::numbered(&ctx, engagement_id, filter, page_number(&query), PER_PAGE).await?;
    let visible = engagements::visible(&state.db, &viewer).await?;
    let titles: HashMap<Uuid, &str> = visible.iter().map(|e| (e.id, e.title.as_str())).collect();
    let people = people(&state, found.items.iter().map(|i| i.opened_by)).await?;
    let incidents = found.map(|i| Row {
        engagement: titles.get(&i.engagement_id).copied().unwrap_or_default().to_string(),
        opened_by_name: name_of(&people, i.opened_by),
        incident: i,
    });
    let filters: BTreeMap<&str, String> = ["engagement_id", "status", "severity", "overdue"]
        .into_iter()
        .map(|k| (k, query.get(k).map(|v| v.trim().to_string()).unwrap_or_default()))
        .collect();
    user.render(
        &state,
        "incidents/list.html",
        json!({
            "incidents": incidents,
            "filters": filters,
            "engagements": engagement_options(visible.iter().map(|e| (e.id, e.title.as_str()))),
            "severities": all_of::<IncidentSeverity>(),
            "statuses": all_of::<IncidentStatus>(),
        }),
    )
}

// ---------------------------------------------------------------------------------------
// Reporting an incident
// ---------------------------------------------------------------------------------------

/// The form to report an incident; `?engagement_id=` chooses the engagement.
async fn new_form(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult<Response> {
    let mut typed = Typed::default();
    if let Some(id) = query.get("engagement_id") {
        typed.values.insert("engagement_id".into(), id.clone());
    }
    render_new(&state, &user, StatusCode::OK, typed).await
}

async fn render_new(state: &AppState, user: &SignedIn, status: StatusCode, typed: Typed) -> PageResult<Response> {
    let visible = engagements::visible(&state.db, &user.principal.viewer()).await?;
    user.render_status(
        state,
        status,
        "incidents/new.html",
        json!({
            "engagements": engagement_options(visible.iter().map(|e| (e.id, e.title.as_str()))),
            "severities": all_of::<IncidentSeverity>(),
            "values": typed.values,
            "errors": typed.errors,
        }),
    )
}

/// The fields of the report form. Title and description may be blank here so that the
/// domain's validation names every missing field at once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenForm {
    engagement_id: Uuid,
    severity: IncidentSeverity,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
}

async fn open(State(state): State<AppState>, form: PageForm) -> PageResult<Response> {
    match open_incident(&state, &form).await {
        Ok(d) => Ok(Redirect::to(&format!("/incidents/{}?notice=inc_opened", d.incident.id)).into_response()),
        Err(err) => match Typed::after(&form, &err) {
            Some(typed) => render_new(&state, &form.user, StatusCode::UNPROCESSABLE_ENTITY, typed).await,
            None => Err(err.into()),
        },
    }
}

async fn open_incident(state: &AppState, form: &PageForm) -> AppResult<IncidentDetail> {
    let fields: OpenForm = form.parse()?;
    let input = IncidentInput { title: fields.title, severity: fields.severity, description: fields.description };
    incidents::open(&state.ctx(&form.user.principal), fields.engagement_id, input).await
}

// ---------------------------------------------------------------------------------------
// One incident and its timeline
// ---------------------------------------------------------------------------------------

/// Checks the caller may do `action` on the incident before its form is read (so that a
/// refusal answers like the API's, not as a form error).
async fn authorize(state: &AppState, principal: &Principal, incident_id: Uuid, action: Action) -> AppResult<()> {
    incidents::load(&state.ctx(principal), incident_id, action).await?;
    Ok(())
}

/// One entry of the timeline as the page shows it.
#[derive(Debug, Serialize)]
struct Entry {
    #[serde(flatten)]
    update: IncidentUpdateView,
    author: Option<String>,
    /// A severity change: from and to.
    change: Option<(String, String)>,
}

fn entry(update: IncidentUpdateView, people: &HashMap<Uuid, String>) -> Entry {
    let change = (update.kind == UpdateKind::SeverityChanged)
        .then(|| update.body.split_once(" → ").map(|(a, b)| (a.trim().to_string(), b.trim().to_string())))
        .flatten();
    Entry { author: name_of(people, update.author_id), change, update }
}

/// What the visitor may do with the incident now.
#[derive(Debug, Serialize)]
struct Allowed {
    update: bool,
    acknowledge: bool,
    resolve: bool,
    /// Severities the update form offers: all to the oversight team, only raising to others.
    severities: Vec<String>,
}

fn allowed(incident: &IncidentView, may_handle: bool) -> Allowed {
    let live = incident.status != IncidentStatus::Resolved;
    let severities =
        IncidentSeverity::iter().filter(|s| may_handle || *s >= incident.severity).map(|s| s.to_string()).collect();
    Allowed {
        update: live,
        acknowledge: may_handle && incident.status == IncidentStatus::Open,
        resolve: may_handle && live,
        severities,
    }
}

async fn show(State(state): State<AppState>, user: SignedIn, Path(raw): Path<String>) -> PageResult<Response> {
    let id = object_id(&raw)?;
    render_incident(&state, &user, id, StatusCode::OK, Typed::default()).await
}

async fn render_incident(
    state: &AppState,
    user: &SignedIn,
    id: Uuid,
    status: StatusCode,
    typed: Typed,
) -> PageResult<Response> {
    let ctx = state.ctx(&user.principal);
    let (d, e, seen) = incidents::show(&ctx, id).await?;
    let may_handle = incidents::allowed(&ctx, Action::Handle, seen);
    let i = &d.incident;
    let people =
        people(state, d.timeline.iter().map(|u| u.author_id).chain([i.opened_by, i.acknowledged_by, i.resolved_by]))
            .await?;
    let allowed = allowed(i, may_handle);
    let page = json!({
        "incident": i,
        "engagement": { "id": e.id, "title": e.title },
        "opened_by": name_of(&people, i.opened_by),
        "acknowledged_by": name_of(&people, i.acknowledged_by),
        "resolved_by": name_of(&people, i.resolved_by),
        "crisis": d.crisis_period,
        "timeline": d.timeline.into_iter().map(|u| entry(u, &people)).collect::<Vec<_>>(),
        "allowed": allowed,
        "values": typed.values,
        "errors": typed.errors,
    });
    user.render_status(state, status, "incidents/show.html", page)
}

/// After a change to an incident: back to it with a notice, or the page again with what was
/// typed and what was wrong with it.
async fn after_change(
    state: &AppState,
    form: &PageForm,
    id: Uuid,
    result: AppResult<IncidentDetail>,
    notice: &str,
) -> PageResult<Response> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/incidents/{id}?notice={notice}")).into_response()),
        Err(err) => match Typed::after(form, &err) {
            Some(typed) => render_incident(state, &form.user, id, StatusCode::UNPROCESSABLE_ENTITY, typed).await,
            None => Err(PageError::from(err)),
        },
    }
}

async fn add_update(State(state): State<AppState>, Path(raw): Path<String>, form: PageForm) -> PageResult<Response> {
    let id = object_id(&raw)?;
    let principal = &form.user.principal;
    authorize(&state, principal, id, Action::Report).await?;
    let result = match form.parse::<UpdateInput>() {
        Ok(input) => incidents::add_update(&state.ctx(principal), id, input).await,
        Err(err) => Err(err),
    };
    after_change(&state, &form, id, result, "inc_updated").await
}

async fn acknowledge(State(state): State<AppState>, Path(raw): Path<String>, form: PageForm) -> PageResult<Response> {
    let id = object_id(&raw)?;
    let principal = &form.user.principal;
    authorize(&state, principal, id, Action::Handle).await?;
    let result = match form.parse::<AcknowledgeInput>() {
        Ok(input) => incidents::acknowledge(&state.ctx(principal), id, input).await,
        Err(err) => Err(err),
    };
    after_change(&state, &form, id, result, "inc_acknowledged").await
}

async fn resolve(State(state): State<AppState>, Path(raw): Path<String>, form: PageForm) -> PageResult<Response> {
    let id = object_id(&raw)?;
    let principal = &form.user.principal;
    authorize(&state, principal, id, Action::Handle).await?;
    let result = match form.parse::<ResolveInput>() {
        Ok(input) => incidents::resolve(&state.ctx(principal), id, input).await,
        Err(err) => Err(err),
    };
    after_change(&state, &form, id, result, "inc_resolved").await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    use crate::error::AppError;

    fn view(severity: IncidentSeverity, status: IncidentStatus) -> IncidentView {
        let now = Utc::now();
        IncidentView {
            id: Uuid::nil(),
            engagement_id: Uuid::nil(),
            title: "t".into(),
            severity,
            status,
            opened_by: None,
            opened_at: now,
            ack_due_at: now,
            ack_overdue: false,
            acknowledged_by: None,
            acknowledged_at: None,
            resolved_by: None,
            resolved_at: None,
            resolution: None,
        }
    }

    #[test]
    fn the_forms_follow_the_status_and_the_role() {
        let open = allowed(&view(IncidentSeverity::Medium, IncidentStatus::Open), true);
        assert!(open.update && open.acknowledge && open.resolve);
        assert_eq!(open.severities.len(), 4, "the oversight team may lower");
        let reporter = allowed(&view(IncidentSeverity::Medium, IncidentStatus::Open), false);
        assert!(reporter.update && !reporter.acknowledge && !reporter.resolve);
        assert_eq!(reporter.severities, ["medium", "high", "critical"], "others only raise");
        let acknowledged = allowed(&view(IncidentSeverity::Low, IncidentStatus::Acknowledged), true);
        assert!(acknowledged.update && !acknowledged.acknowledge && acknowledged.resolve);
        let resolved = allowed(&view(IncidentSeverity::Low, IncidentStatus::Resolved), true);
        assert!(!resolved.update && !resolved.acknowledge && !resolved.resolve);
    }

    #[test]
    fn query_parameters_are_checked_by_name() {
        let query: HashMap<String, String> =
            [("severity", "high"), ("status", " "), ("overdue", "maybe")].map(|(k, v)| (k.into(), v.into())).into();
        assert_eq!(param::<IncidentSeverity>(&query, "severity").ok().flatten(), Some(IncidentSeverity::High));
        assert_eq!(param::<IncidentStatus>(&query, "status").ok().flatten(), None);
        assert!(matches!(param::<bool>(&query, "overdue"), Err(AppError::Invalid(e)) if e[0].field == "overdue"));
        assert!(matches!(object_id("nope"), Err(AppError::NotFound)));
    }

    #[test]
    fn a_severity_change_is_split_for_translation() {
        let update = IncidentUpdateView {
            id: Uuid::nil(),
            kind: UpdateKind::SeverityChanged,
            body: "low → critical".into(),
            author_id: None,
            at: Utc::now(),
        };
        let e = entry(update, &HashMap::new());
        assert_eq!(e.change, Some(("low".into(), "critical".into())));
        assert_eq!(e.author, None);
    }
}
