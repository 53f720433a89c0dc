//! The oversight team of an engagement.

use axum::{Json, extract::State, http::StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Empty};
use crate::{
    app::{engagements, team},
    auth::Principal,
    domain::team::TeamMemberInput,
    error::{AppResult, Problem},
    policy::engagement::Action,
    state::AppState,
    views::TeamMemberView,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, add)).routes(routes!(remove))
}

/// The team.
#[utoipa::path(
    get, path = "/api/v1/engagements/{id}/team", tag = "engagements", operation_id = "listTeam",
    params(("id" = Uuid, Path, description = "The engagement")),
    responses((status = 200, body = Vec<TeamMemberView>), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Vec<TeamMemberView>>> {
    let (e, _) = engagements::load(&state.db, &principal.viewer(), id, Action::Read).await?;
    Ok(Json(team::list(&state.db, e.id).await?))
}

/// Add someone to the team.
#[utoipa::path(
    post, path = "/api/v1/engagements/{id}/team", tag = "engagements", operation_id = "addTeamMember",
    params(("id" = Uuid, Path, description = "The engagement")),
    request_body = TeamMemberInput,
    responses(
        (status = 201, body = TeamMemberView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already on the team", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn add(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<TeamMemberInput>,
) -> AppResult<(StatusCode, Json<TeamMemberView>)> {
    let (e, _) = engagements::load(&state.db, &principal.viewer(), id, Action::Manage).await?;
    let member = team::add(&state.db, state.clock.now(), &principal.actor(), &e, input).await?;
    Ok((StatusCode::CREATED, Json(member)))
}

/// Take someone off the team.
#[utoipa::path(
    delete, path = "/api/v1/engagements/{id}/team/{user_id}", tag = "engagements", operation_id = "removeTeamMember",
    params(("id" = Uuid, Path, description = "The engagement"), ("user_id" = Uuid, Path, description = "The team member (their user id)")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, user_id)): ApiPath<(Uuid, Uuid)>,
    _: Empty,
) -> AppResult<StatusCode> {
    let (e, _) = engagements::load(&state.db, &principal.viewer(), id, Action::Manage).await?;
    team::remove(&state.db, state.clock.now(), &principal.actor(), &e, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
