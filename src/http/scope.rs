//! Scope items of an engagement.

use axum::{Json, extract::State, http::StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Empty};
use crate::{
    app::{engagements, scope},
    auth::Principal,
    domain::scope::ScopeItemInput,
    error::{AppResult, Problem},
    policy::engagement::Action,
    state::AppState,
    views::ScopeItemView,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(replace, delete))
}

/// The engagement's scope.
#[utoipa::path(
    get, path = "/api/v1/engagements/{id}/scope", tag = "engagements", operation_id = "listScope",
    params(("id" = Uuid, Path, description = "The engagement")),
    responses((status = 200, body = Vec<ScopeItemView>), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Vec<ScopeItemView>>> {
    let (e, _) = engagements::load(&state.db, &principal.viewer(), id, Action::Read).await?;
    Ok(Json(scope::list(&state.db, e.id).await?))
}

/// Add a scope item (draft or pending engagements; later by amendment).
#[utoipa::path(
    post, path = "/api/v1/engagements/{id}/scope", tag = "engagements", operation_id = "createScopeItem",
    params(("id" = Uuid, Path, description = "The engagement")),
    request_body = ScopeItemInput,
    responses(
        (status = 201, body = ScopeItemView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ScopeItemInput>,
) -> AppResult<(StatusCode, Json<ScopeItemView>)> {
    let (e, _) = engagements::load(&state.db, &principal.viewer(), id, Action::Manage).await?;
    let item = scope::create(&state.db, state.clock.now(), &principal.actor(), &e, input).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

/// Replace a scope item.
#[utoipa::path(
    put, path = "/api/v1/engagements/{id}/scope/{item_id}", tag = "engagements", operation_id = "replaceScopeItem",
    params(("id" = Uuid, Path, description = "The engagement"), ("item_id" = Uuid, Path, description = "The scope item")),
    request_body = ScopeItemInput,
    responses(
        (status = 200, body = ScopeItemView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn replace(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, item_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<ScopeItemInput>,
) -> AppResult<Json<ScopeItemView>> {
    let (e, _) = engagements::load(&state.db, &principal.viewer(), id, Action::Manage).await?;
    Ok(Json(scope::replace(&state.db, state.clock.now(), &principal.actor(), &e, item_id, input).await?))
}

/// Remove a scope item.
#[utoipa::path(
    delete, path = "/api/v1/engagements/{id}/scope/{item_id}", tag = "engagements", operation_id = "deleteScopeItem",
    params(("id" = Uuid, Path, description = "The engagement"), ("item_id" = Uuid, Path, description = "The scope item")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, item_id)): ApiPath<(Uuid, Uuid)>,
    _: Empty,
) -> AppResult<StatusCode> {
    let (e, _) = engagements::load(&state.db, &principal.viewer(), id, Action::Manage).await?;
    scope::delete(&state.db, state.clock.now(), &principal.actor(), &e, item_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
