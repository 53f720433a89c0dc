//! User accounts (admins manage them).

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{
    app::users,
    auth::Principal,
    db::pagination::PageRequest,
    domain::{
        enums::Role,
        user::{NewUserInput, UserPatch},
    },
    error::{AppResult, Problem},
    policy,
    state::AppState,
    views::{Page, UserView},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get, update))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub role: Option<Role>,
    /// Opaque cursor from the previous page's `next_cursor`.
    #[param(pattern = "^([A-Za-z0-9_-]{21}[AQgw])?$")]
    pub cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// List users (admins and leads).
#[utoipa::path(
    get, path = "/api/v1/users", tag = "users", operation_id = "listUsers", params(UserQuery),
    responses(
        (status = 200, body = Page<UserView>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> AppResult<Json<Page<UserView>>> {
    policy::user::list(&principal.viewer())?;
    let page = PageRequest::parse(q.cursor.as_deref(), q.limit)?;
    Ok(Json(users::list(&state.db, page, q.role).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUserResponse {
    pub user: UserView,
    /// The generated password, when none was given. Shown this once.
    pub password: Option<String>,
}

/// Create a user (admins).
#[utoipa::path(
    post, path = "/api/v1/users", tag = "users", operation_id = "createUser",
    request_body = NewUserInput,
    responses(
        (status = 201, body = CreatedUserResponse),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "E-mail taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<NewUserInput>,
) -> AppResult<(StatusCode, Json<CreatedUserResponse>)> {
    policy::user::write(&principal.viewer(), None)?;
    let created = users::create(&state.db, state.clock.now(), &principal.actor(), input).await?;
    let body = CreatedUserResponse { user: UserView::try_from(&created.user)?, password: created.generated_password };
    Ok((StatusCode::CREATED, Json(body)))
}

/// One user.
#[utoipa::path(
    get, path = "/api/v1/users/{id}", tag = "users", operation_id = "getUser",
    params(("id" = Uuid, Path, description = "The user")),
    responses(
        (status = 200, body = UserView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<UserView>> {
    policy::user::read(&principal.viewer(), id)?;
    Ok(Json(UserView::try_from(&users::get(&state.db, id).await?)?))
}

/// Change a user (admins); `active: false` disables the account at once.
#[utoipa::path(
    patch, path = "/api/v1/users/{id}", tag = "users", operation_id = "updateUser",
    params(("id" = Uuid, Path, description = "The user")),
    request_body = UserPatch,
    responses(
        (status = 200, body = UserView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> AppResult<Json<UserView>> {
    policy::user::write(&principal.viewer(), Some(id))?;
    let updated = users::update(&state.db, state.clock.now(), &principal.actor(), id, patch, &state.tokens).await?;
    Ok(Json(UserView::try_from(&updated)?))
}
