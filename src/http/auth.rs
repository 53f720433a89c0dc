//! Logging in and out with a browser session.

use std::net::SocketAddr;

use axum::{
    Json,
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode, header},
};
use axum_extra::extract::CookieJar;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::{ApiJson, Empty};
use crate::{
    app::sessions::{self, Client},
    auth::{AuthMethod, Principal, session},
    error::{AppResult, Problem},
    state::AppState,
    views::UserView,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login_handler)).routes(routes!(logout))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub user: UserView,
    /// Send back in the `X-CSRF-Token` header on every write made with the session cookie.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Log in with e-mail and password; sets the session cookie.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth", operation_id = "login", security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the session cookie is set", body = LoginResponse),
        (status = 401, description = "Wrong e-mail or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts for this account or address", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn login_handler(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginRequest>,
) -> AppResult<(CookieJar, Json<LoginResponse>)> {
    let client = Client {
        ip: crate::request::client_ip(state.config.trust_proxy, &headers, peer),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        previous_session: jar.get(session::COOKIE).map(|c| c.value().to_owned()),
    };
    let outcome =
        sessions::login(&state.db, state.clock.now(), &state.config, &body.email, body.password, client).await?;
    let jar = jar.add(session::cookie(outcome.session.cookie_value, &state.config));
    Ok((
        jar,
        Json(LoginResponse {
            user: UserView::try_from(&outcome.user)?,
            csrf_token: outcome.session.csrf_token,
            expires_at: outcome.session.expires_at,
        }),
    ))
}

/// End the current browser session.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth", operation_id = "logout",
    responses(
        (status = 204, description = "Logged out; the cookie is cleared"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn logout(
    State(state): State<AppState>,
    principal: Principal,
    jar: CookieJar,
    _: Empty,
) -> AppResult<(StatusCode, CookieJar)> {
    if let (AuthMethod::Session { .. }, Some(cookie)) = (&principal.via, jar.get(session::COOKIE)) {
        sessions::logout(&state.db, state.clock.now(), &principal.actor(), principal.user.id, cookie.value()).await?;
    }
    Ok((StatusCode::NO_CONTENT, jar.add(session::removal(&state.config))))
}
