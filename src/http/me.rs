//! The current user.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::ApiJson;
use crate::{
    app::users,
    auth::{AuthMethod, Identity, Principal},
    error::{AppResult, Problem},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me)).routes(routes!(change_password))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    #[serde(flatten)]
    pub user: Identity,
    /// `session` or `token`.
    pub authenticated_by: String,
    /// For session callers: the token to send in `X-CSRF-Token` on writes.
    pub csrf_token: Option<String>,
}

/// Who am I?
#[utoipa::path(
    get, path = "/api/v1/me", tag = "auth", operation_id = "getMe",
    responses(
        (status = 200, body = MeResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn me(principal: Principal) -> Json<MeResponse> {
    let (authenticated_by, csrf_token) = match &principal.via {
        AuthMethod::Session { csrf_token, .. } => ("session", Some(csrf_token.clone())),
        AuthMethod::Token { .. } => ("token", None),
    };
    Json(MeResponse { user: principal.user.clone(), authenticated_by: authenticated_by.into(), csrf_token })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Change my password; my other sessions end.
#[utoipa::path(
    post, path = "/api/v1/me/password", tag = "auth", operation_id = "changePassword",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong current password or weak new one", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<PasswordChange>,
) -> AppResult<StatusCode> {
    let keep = match &principal.via {
        AuthMethod::Session { session_id, .. } => Some(session_id.as_str()),
        AuthMethod::Token { .. } => None,
    };
    users::change_password(
        &state.db,
        state.clock.now(),
        &principal.actor(),
        principal.user.id,
        keep,
        body.current_password,
        body.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
