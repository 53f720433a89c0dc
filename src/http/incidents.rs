//! Incidents and crisis mode: anyone on an engagement, the agency included, reports
//! incidents and adds to their timeline; the company's admins and leads acknowledge and
//! resolve them, and switch crisis mode on and off.

use axum::{Json, extract::State, http::StatusCode};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{
    app::{
        crisis::{self, CrisisState},
        engagements,
        incidents::{self, IncidentDetail, IncidentFilter, IncidentView},
    },
    auth::Principal,
    db::pagination::PageRequest,
    domain::incident::{AcknowledgeInput, IncidentInput, IncidentSeverity, IncidentStatus, ResolveInput, UpdateInput},
    error::{AppResult, Problem},
    policy::{engagement::Action as EngagementAction, incident::Action},
    state::AppState,
    views::Page,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_engagement, open))
        .routes(routes!(list_all))
        .routes(routes!(get))
        .routes(routes!(add_update))
        .routes(routes!(acknowledge))
        .routes(routes!(resolve))
        .routes(routes!(crisis_state, crisis_start))
        .routes(routes!(crisis_end))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IncidentQuery {
    pub status: Option<IncidentStatus>,
    pub severity: Option<IncidentSeverity>,
    /// `true`: only incidents still unacknowledged at or after their deadline; `false`: the others.
    pub overdue: Option<bool>,
    /// Opaque cursor from the previous page's `next_cursor`.
    #[param(pattern = "^([A-Za-z0-9_-]{21}[AQgw])?$")]
    pub cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

impl IncidentQuery {
    fn split(self) -> AppResult<(IncidentFilter, PageRequest)> {
        let page = PageRequest::parse(self.cursor.as_deref(), self.limit)?;
        Ok((IncidentFilter { status: self.status, severity: self.severity, overdue: self.overdue }, page))
    }
}

/// The engagement's incidents, newest first.
#[utoipa::path(
    get, path = "/api/v1/engagements/{id}/incidents", tag = "incidents", operation_id = "listEngagementIncidents", params(("id" = Uuid, Path, description = "The engagement"), IncidentQuery),
    responses(
        (status = 200, body = Page<IncidentView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_engagement(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<IncidentQuery>,
) -> AppResult<Json<Page<IncidentView>>> {
    let ctx = state.ctx(&principal);
    incidents::engagement_for(&ctx, id, Action::Read).await?;
    let (filter, page) = q.split()?;
    Ok(Json(incidents::listed(&ctx, Some(id), filter, page).await?))
}

/// Every incident the caller may see, newest first.
#[utoipa::path(
    get, path = "/api/v1/incidents", tag = "incidents", operation_id = "listIncidents", params(IncidentQuery),
    responses(
        (status = 200, body = Page<IncidentView>),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_all(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<IncidentQuery>,
) -> AppResult<Json<Page<IncidentView>>> {
    let (filter, page) = q.split()?;
    Ok(Json(incidents::listed(&state.ctx(&principal), None, filter, page).await?))
}

/// Report an incident (anyone on the engagement, the agency included). A critical one
/// switches the engagement into crisis mode.
#[utoipa::path(
    post, path = "/api/v1/engagements/{id}/incidents", tag = "incidents", operation_id = "openIncident",
    params(("id" = Uuid, Path, description = "The engagement")),
    request_body = IncidentInput,
    responses(
        (status = 201, body = IncidentDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn open(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<IncidentInput>,
) -> AppResult<(StatusCode, Json<IncidentDetail>)> {
    let d = incidents::open(&state.ctx(&principal), id, input).await?;
    Ok((StatusCode::CREATED, Json(d)))
}

/// An incident with its description, timeline and the crisis period it started.
#[utoipa::path(
    get, path = "/api/v1/incidents/{id}", tag = "incidents", operation_id = "getIncident",
    params(("id" = Uuid, Path, description = "The incident")),
    responses((status = 200, body = IncidentDetail), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<IncidentDetail>> {
    Ok(Json(incidents::show(&state.ctx(&principal), id).await?.0))
}

/// Add a note to the timeline, optionally changing the severity (raising: anyone on the
/// engagement; lowering: admins and leads). Becoming critical switches crisis mode on.
#[utoipa::path(
    post, path = "/api/v1/incidents/{id}/updates", tag = "incidents", operation_id = "addIncidentUpdate",
    params(("id" = Uuid, Path, description = "The incident")),
    request_body = UpdateInput,
    responses(
        (status = 201, body = IncidentDetail),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The incident is resolved", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn add_update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<UpdateInput>,
) -> AppResult<(StatusCode, Json<IncidentDetail>)> {
    let d = incidents::add_update(&state.ctx(&principal), id, input).await?;
    Ok((StatusCode::CREATED, Json(d)))
}

/// Acknowledge an open incident (admins and leads): the company has seen it and owns it.
#[utoipa::path(
    post, path = "/api/v1/incidents/{id}/acknowledge", tag = "incidents", operation_id = "acknowledgeIncident",
    params(("id" = Uuid, Path, description = "The incident")),
    request_body = AcknowledgeInput,
    responses(
        (status = 200, body = IncidentDetail),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already acknowledged, or resolved", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn acknowledge(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<AcknowledgeInput>,
) -> AppResult<Json<IncidentDetail>> {
    Ok(Json(incidents::acknowledge(&state.ctx(&principal), id, input).await?))
}

/// Resolve an incident with a summary (admins and leads); an open one counts as
/// acknowledged at the same instant.
#[utoipa::path(
    post, path = "/api/v1/incidents/{id}/resolve", tag = "incidents", operation_id = "resolveIncident",
    params(("id" = Uuid, Path, description = "The incident")),
    request_body = ResolveInput,
    responses(
        (status = 200, body = IncidentDetail),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already resolved", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn resolve(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ResolveInput>,
) -> AppResult<Json<IncidentDetail>> {
    Ok(Json(incidents::resolve(&state.ctx(&principal), id, input).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CrisisRequest {
    /// Why crisis mode is switched on or off.
    pub reason: String,
}

/// The engagement's crisis mode: the running period, if any, and the history.
#[utoipa::path(
    get, path = "/api/v1/engagements/{id}/crisis", tag = "incidents", operation_id = "getCrisis",
    params(("id" = Uuid, Path, description = "The engagement")),
    responses((status = 200, body = CrisisState), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
async fn crisis_state(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<CrisisState>> {
    let (e, _) = engagements::load(&state.db, &principal.viewer(), id, EngagementAction::Read).await?;
    Ok(Json(crisis::state(&state.db, e.id).await?))
}

/// Switch crisis mode on (admins and leads).
#[utoipa::path(
    post, path = "/api/v1/engagements/{id}/crisis", tag = "incidents", operation_id = "startCrisis",
    params(("id" = Uuid, Path, description = "The engagement")),
    request_body = CrisisRequest,
    responses(
        (status = 200, body = CrisisState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Crisis mode is already on", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn crisis_start(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CrisisRequest>,
) -> AppResult<Json<CrisisState>> {
    let (e, _) = engagements::load(&state.db, &principal.viewer(), id, EngagementAction::Manage).await?;
    Ok(Json(crisis::start(&state.db, state.clock.now(), &principal.actor(), e.id, &body.reason).await?))
}

/// Switch crisis mode off (admins and leads).
#[utoipa::path(
    post, path = "/api/v1/engagements/{id}/crisis/end", tag = "incidents", operation_id = "endCrisis",
    params(("id" = Uuid, Path, description = "The engagement")),
    request_body = CrisisRequest,
    responses(
        (status = 200, body = CrisisState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Crisis mode is not on", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn crisis_end(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CrisisRequest>,
) -> AppResult<Json<CrisisState>> {
    let (e, _) = engagements::load(&state.db, &principal.viewer(), id, EngagementAction::Manage).await?;
    Ok(Json(crisis::end(&state.db, state.clock.now(), &principal.actor(), e.id, &body.reason).await?))
}
