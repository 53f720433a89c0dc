//! Personal API tokens.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, Empty};
use crate::{
    app::tokens::{self, Lifetimes},
    auth::Principal,
    db::pagination::{PageQuery, PageRequest},
    error::{AppResult, Problem},
    state::AppState,
    views::{Page, TokenView},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for, e.g. "Reporting script".
    pub name: String,
    /// Lifetime in days (default and maximum from the configuration).
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedTokenResponse {
    #[serde(flatten)]
    pub token: TokenView,
    /// The bearer secret. Shown this once; store it now.
    pub secret: String,
}

/// My tokens (admins: everyone's).
#[utoipa::path(
    get, path = "/api/v1/tokens", tag = "tokens", operation_id = "listTokens", params(PageQuery),
    responses((status = 200, body = Page<TokenView>))
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> AppResult<Json<Page<TokenView>>> {
    let page = PageRequest::try_from(&q)?;
    Ok(Json(tokens::listed(&state.ctx(&principal), page).await?))
}

/// Issue a token for myself; the secret is in this answer only.
#[utoipa::path(
    post, path = "/api/v1/tokens", tag = "tokens", operation_id = "createToken",
    request_body = NewToken,
    responses(
        (status = 201, body = IssuedTokenResponse),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<NewToken>,
) -> AppResult<(StatusCode, Json<IssuedTokenResponse>)> {
    let lifetime = (body.expires_in_days.map(|d| d as f64), Lifetimes::from_config(&state.config));
    let issued =
        tokens::issue(&state.db, state.clock.now(), &principal.actor(), principal.user.id, &body.name, lifetime)
            .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedTokenResponse { token: TokenView::from(&issued.token), secret: issued.secret }),
    ))
}

/// Revoke a token; it stops working at once.
#[utoipa::path(
    delete, path = "/api/v1/tokens/{id}", tag = "tokens", operation_id = "revokeToken",
    params(("id" = Uuid, Path, description = "The token")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    _: Empty,
) -> AppResult<StatusCode> {
    tokens::revoke(&state.ctx(&principal), id, &state.tokens).await?;
    Ok(StatusCode::NO_CONTENT)
}
