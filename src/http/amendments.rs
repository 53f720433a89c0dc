//! Amendments: changes to an active engagement's terms, scope and KPIs, proposed by its leads
//! and applied when their approval completes. The company reads them as the engagement's
//! history; the agency does not.

use axum::{Json, extract::State, http::StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Empty};
use crate::{
    app::{
        amendments::{self, AmendmentView},
        engagements,
    },
    auth::Principal,
    db::entity::amendment,
    domain::amendment::AmendmentInput,
    error::{AppResult, Problem},
    policy::engagement::Action,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, propose)).routes(routes!(get, revise)).routes(routes!(withdraw))
}

/// Loads an amendment and checks `action` on its engagement (404 when the caller may not
/// see the engagement).
async fn authorize(state: &AppState, principal: &Principal, id: Uuid, action: Action) -> AppResult<amendment::Model> {
    let m = amendments::get(&state.db, id).await?;
    engagements::load(&state.db, &principal.viewer(), m.engagement_id, action).await?;
    Ok(m)
}

/// An engagement's amendments, newest first: what was proposed, decided and applied.
#[utoipa::path(
    get, path = "/api/v1/engagements/{id}/amendments", tag = "amendments", operation_id = "listAmendments",
    params(("id" = Uuid, Path, description = "The engagement")),
    responses(
        (status = 200, body = Vec<AmendmentView>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Vec<AmendmentView>>> {
    engagements::load(&state.db, &principal.viewer(), id, Action::ReadGovernance).await?;
    Ok(Json(amendments::list(&state.db, id).await?))
}

/// Propose an amendment to an active engagement (leads and admins). Every change is checked
/// now against the engagement as it is; nothing changes until the approval completes.
#[utoipa::path(
    post, path = "/api/v1/engagements/{id}/amendments", tag = "amendments", operation_id = "proposeAmendment",
    params(("id" = Uuid, Path, description = "The engagement")),
    request_body = AmendmentInput,
    responses(
        (status = 201, body = AmendmentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not active, or a change conflicts with the engagement", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn propose(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<AmendmentInput>,
) -> AppResult<(StatusCode, Json<AmendmentView>)> {
    engagements::load(&state.db, &principal.viewer(), id, Action::Manage).await?;
    let rules = &state.rules;
    let v = amendments::propose(&state.db, state.clock.now(), &principal.actor(), id, input, rules).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// One amendment.
#[utoipa::path(
    get, path = "/api/v1/amendments/{id}", tag = "amendments", operation_id = "getAmendment",
    params(("id" = Uuid, Path, description = "The amendment")),
    responses(
        (status = 200, body = AmendmentView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<AmendmentView>> {
    let m = authorize(&state, &principal, id, Action::ReadGovernance).await?;
    Ok(Json(amendments::detail(&state.db, &m).await?))
}

/// Revise a pending amendment, or one sent back for changes: its running approval is
/// superseded and a new one opens.
#[utoipa::path(
    put, path = "/api/v1/amendments/{id}", tag = "amendments", operation_id = "reviseAmendment",
    params(("id" = Uuid, Path, description = "The amendment")),
    request_body = AmendmentInput,
    responses(
        (status = 200, body = AmendmentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn revise(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<AmendmentInput>,
) -> AppResult<Json<AmendmentView>> {
    authorize(&state, &principal, id, Action::Manage).await?;
    let rules = &state.rules;
    Ok(Json(amendments::revise(&state.db, state.clock.now(), &principal.actor(), id, input, rules).await?))
}

/// Withdraw a pending amendment, or one sent back; its approval closes as withdrawn.
#[utoipa::path(
    post, path = "/api/v1/amendments/{id}/withdraw", tag = "amendments", operation_id = "withdrawAmendment",
    params(("id" = Uuid, Path, description = "The amendment")),
    responses(
        (status = 200, body = AmendmentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn withdraw(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    _: Empty,
) -> AppResult<Json<AmendmentView>> {
    authorize(&state, &principal, id, Action::Manage).await?;
    Ok(Json(amendments::withdraw(&state.db, state.clock.now(), &principal.actor(), id).await?))
}
