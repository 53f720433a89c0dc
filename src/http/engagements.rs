//! Engagements (the contracts), their status transitions and governance assessment.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{
    app::engagements::{self, ListFilter},
    auth::Principal,
    db::pagination::PageRequest,
    domain::{
        confidentiality::Visibility,
        engagement::{EngagementInput, EngagementPatch, Transition},
        enums::EngagementStatus,
        governance::{Finding, GovernanceReport},
    },
    error::{AppResult, Problem},
    policy::{self, engagement::Action},
    state::AppState,
    views::{EngagementView, Page},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update))
        .routes(routes!(transition))
        .routes(routes!(governance))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EngagementQuery {
    pub status: Option<EngagementStatus>,
    pub vendor_id: Option<Uuid>,
    /// Opaque cursor from the previous page's `next_cursor`.
    #[param(pattern = "^([A-Za-z0-9_-]{21}[AQgw])?$")]
    pub cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// Engagements I may see.
#[utoipa::path(
    get, path = "/api/v1/engagements", tag = "engagements", operation_id = "listEngagements", params(EngagementQuery),
    responses((status = 200, body = Page<EngagementView>))
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<EngagementQuery>,
) -> AppResult<Json<Page<EngagementView>>> {
    let page = PageRequest::parse(q.cursor.as_deref(), q.limit)?;
    let filter = ListFilter { status: q.status, vendor_id: q.vendor_id };
    Ok(Json(engagements::list(&state.db, &principal.viewer(), filter, page).await?))
}

/// Open an engagement as a draft (admins and leads).
#[utoipa::path(
    post, path = "/api/v1/engagements", tag = "engagements", operation_id = "createEngagement",
    request_body = EngagementInput,
    responses(
        (status = 201, body = EngagementView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<EngagementInput>,
) -> AppResult<(StatusCode, Json<EngagementView>)> {
    policy::engagement::create(&principal.viewer())?;
    let m = engagements::create(&state.db, state.clock.now(), &principal.actor(), input).await?;
    Ok((StatusCode::CREATED, Json(EngagementView::new(&m, Visibility::Full)?)))
}

/// One engagement (vendors get the vendor view).
#[utoipa::path(
    get, path = "/api/v1/engagements/{id}", tag = "engagements", operation_id = "getEngagement",
    params(("id" = Uuid, Path, description = "The engagement")),
    responses(
        (status = 200, body = EngagementView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<EngagementView>> {
    let (m, visibility) = engagements::load(&state.db, &principal.viewer(), id, Action::Read).await?;
    Ok(Json(EngagementView::new(&m, visibility)?))
}

/// Change an engagement. Once active, fee, currency, term and reporting rhythm change only by
/// amendment (409).
#[utoipa::path(
    patch, path = "/api/v1/engagements/{id}", tag = "engagements", operation_id = "updateEngagement",
    params(("id" = Uuid, Path, description = "The engagement")),
    request_body = EngagementPatch,
    responses(
        (status = 200, body = EngagementView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An amendment is needed", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<EngagementPatch>,
) -> AppResult<Json<EngagementView>> {
    engagements::load(&state.db, &principal.viewer(), id, Action::Manage).await?;
    let m = engagements::update(&state.db, state.clock.now(), &principal.actor(), id, patch).await?;
    Ok(Json(EngagementView::new(&m, Visibility::Full)?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    pub action: Transition,
    /// Why, for the audit log.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransitionResponse {
    pub engagement: EngagementView,
    /// Governance warnings that did not block the change.
    pub warnings: Vec<Finding>,
    /// The activation approval a submission opened.
    pub approval_id: Option<Uuid>,
}

/// Move an engagement through draft → pending approval → active → suspended / ended.
/// Submitting requires the governance rules to pass (422 listing what is missing) and opens
/// the activation approval, whose last approval activates the engagement; `activate` itself
/// is never requested (409 `approval_required`).
#[utoipa::path(
    post, path = "/api/v1/engagements/{id}/transitions", tag = "engagements", operation_id = "transitionEngagement",
    params(("id" = Uuid, Path, description = "The engagement")),
    request_body = TransitionRequest,
    responses(
        (status = 200, body = TransitionResponse),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed from the current status", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Governance rules not met", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn transition(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<TransitionRequest>,
) -> AppResult<Json<TransitionResponse>> {
    engagements::load(&state.db, &principal.viewer(), id, Action::Manage).await?;
    let reason = crate::domain::text::optional_paragraphs("reason", body.reason.as_deref(), 2000)
        .map_err(|e| crate::error::AppError::Invalid(vec![e]))?;
    let rules = &state.rules;
    let outcome =
        engagements::transition(&state.db, state.clock.now(), &principal.actor(), id, body.action, reason, rules)
            .await?;
    Ok(Json(TransitionResponse {
        engagement: EngagementView::new(&outcome.engagement, Visibility::Full)?,
        warnings: outcome.warnings,
        approval_id: outcome.approval_id,
    }))
}

/// The governance assessment: what blocks activation and what deserves a warning.
#[utoipa::path(
    get, path = "/api/v1/engagements/{id}/governance", tag = "engagements", operation_id = "getGovernance",
    params(("id" = Uuid, Path, description = "The engagement")),
    responses(
        (status = 200, body = GovernanceReport),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn governance(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<GovernanceReport>> {
    let (m, _) = engagements::load(&state.db, &principal.viewer(), id, Action::ReadGovernance).await?;
    let report =
        engagements::governance(&state.db, &m, state.clock.now(), state.config.realism_max_yearly_growth).await?;
    Ok(Json(report))
}
