//! Amendments: changes to an active engagement's terms, scope and KPIs, proposed by its leads
//! and applied when their approval completes. The company reads them as the engagement's
//! history; the agency does not.

use axum::{Json, extract::State, http::StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Empty};
use crate::{
    app::amendments::{self, AmendmentView},
    auth::Principal,
    domain::amendment::AmendmentInput,
    error::{AppResult, Problem},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, propose)).routes(routes!(get, revise)).routes(routes!(withdraw))
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
    Ok(Json(amendments::listed(&state.ctx(&principal), id).await?))
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
    let v = amendments::propose(&state.ctx(&principal), id, input).await?;
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
    Ok(Json(amendments::read(&state.ctx(&principal), id).await?))
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
    Ok(Json(amendments::revise(&state.ctx(&principal), id, input).await?))
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
    Ok(Json(amendments::withdraw(&state.ctx(&principal), id).await?))
}
