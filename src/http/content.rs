//! Content items: the agency's proposed publications and the content calendar.

use axum::{Json, extract::State, http::StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{
    app::{
        content::{self, Calendar, ContentAction, ContentView},
        engagements,
    },
    auth::Principal,
    domain::content::ContentInput,
    error::{AppResult, Problem},
    policy::approval::Action,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(calendar))
        .routes(routes!(propose))
        .routes(routes!(get, edit))
        .routes(routes!(transition))
}

/// The content calendar over every engagement the caller may see, by planned time
/// (`from` inclusive, `to` exclusive; at most 1,000 items).
#[utoipa::path(
    get, path = "/api/v1/content", tag = "content", operation_id = "listContent",
    params(Calendar),
    responses((status = 200, body = Vec<ContentView>), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
async fn calendar(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(c): ApiQuery<Calendar>,
) -> AppResult<Json<Vec<ContentView>>> {
    let visible: Vec<Uuid> = engagements::visible(&state.db, &principal.viewer()).await?.iter().map(|e| e.id).collect();
    Ok(Json(content::calendar(&state.db, &visible, &c).await?))
}

/// Propose a publication (channel, body, media link, planned time in the future); its
/// approval opens at once under the engagement's content workflow.
#[utoipa::path(
    post, path = "/api/v1/engagements/{id}/content", tag = "content", operation_id = "proposeContent",
    params(("id" = Uuid, Path, description = "The engagement")),
    request_body = ContentInput,
    responses(
        (status = 201, body = ContentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn propose(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ContentInput>,
) -> AppResult<(StatusCode, Json<ContentView>)> {
    let item = content::propose(&state.ctx(&principal), id, input).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

async fn load(state: &AppState, principal: &Principal, id: Uuid, action: Action) -> AppResult<ContentView> {
    Ok(content::load(&state.ctx(principal), id, action).await?.0)
}

#[utoipa::path(
    get, path = "/api/v1/content/{id}", tag = "content", operation_id = "getContent",
    params(("id" = Uuid, Path, description = "The publication")),
    responses((status = 200, body = ContentView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ContentView>> {
    Ok(Json(load(&state, &principal, id, Action::ReadContent).await?))
}

/// Replace the item; it goes (back) to approval, the previous approval superseded, even if
/// it was already approved.
#[utoipa::path(
    put, path = "/api/v1/content/{id}", tag = "content", operation_id = "editContent",
    params(("id" = Uuid, Path, description = "The publication")),
    request_body = ContentInput,
    responses(
        (status = 200, body = ContentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn edit(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ContentInput>,
) -> AppResult<Json<ContentView>> {
    Ok(Json(content::edit(&state.ctx(&principal), id, input).await?))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentTransition {
    pub action: ContentAction,
}

/// `withdraw` the item, or `publish` it once approved.
#[utoipa::path(
    post, path = "/api/v1/content/{id}/transitions", tag = "content", operation_id = "transitionContent",
    params(("id" = Uuid, Path, description = "The publication")),
    request_body = ContentTransition,
    responses(
        (status = 200, body = ContentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn transition(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(t): ApiJson<ContentTransition>,
) -> AppResult<Json<ContentView>> {
    Ok(Json(content::transition(&state.ctx(&principal), id, t.action).await?))
}
