//! Digest subscriptions (mine, or anyone's for admins), a preview of the next digest, and
//! running the due digests now.

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, Empty};
use crate::app::digests::preview;
use crate::{
    app::digests::{
        run::{self, RunReport},
        subscriptions::{self, SubscriptionFilter, SubscriptionInput, SubscriptionView},
    },
    auth::Principal,
    error::{AppError, AppResult, Problem},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(preview))
        .routes(routes!(run_now))
        .routes(routes!(read, update, delete))
}

/// My digest subscriptions (admins: everyone's, or one user's with `user_id`). Another
/// user's `user_id` answers 404 to anyone but admins, as their subscriptions do.
#[utoipa::path(
    get, path = "/api/v1/digests", tag = "digests", operation_id = "listDigests", params(SubscriptionFilter),
    responses(
        (status = 200, body = Vec<SubscriptionView>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<SubscriptionFilter>,
) -> AppResult<Json<Vec<SubscriptionView>>> {
    Ok(Json(subscriptions::listed(&state.ctx(&principal), filter.user_id).await?))
}

/// Subscribe to a digest: cadence (`{"every": "daily"}`, `{"every": "weekly", "weekday":
/// "mon"}`, `{"every": "monthly", "day": 31}`), local time and zone, language, engagements.
#[utoipa::path(
    post, path = "/api/v1/digests", tag = "digests", operation_id = "createDigest", request_body = SubscriptionInput,
    responses(
        (status = 201, body = SubscriptionView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<SubscriptionInput>,
) -> AppResult<(StatusCode, Json<SubscriptionView>)> {
    let view = subscriptions::subscribe(&state.ctx(&principal), input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(
    get, path = "/api/v1/digests/{id}", tag = "digests", operation_id = "getDigest",
    params(("id" = Uuid, Path, description = "The digest subscription")),
    responses((status = 200, body = SubscriptionView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<SubscriptionView>> {
    Ok(Json(subscriptions::read(&state.ctx(&principal), id).await?))
}

/// Replace a subscription; its next send is computed afresh.
#[utoipa::path(
    put, path = "/api/v1/digests/{id}", tag = "digests", operation_id = "updateDigest",
    params(("id" = Uuid, Path, description = "The digest subscription")), request_body = SubscriptionInput,
    responses(
        (status = 200, body = SubscriptionView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<SubscriptionInput>,
) -> AppResult<Json<SubscriptionView>> {
    Ok(Json(subscriptions::change(&state.ctx(&principal), id, input).await?))
}

#[utoipa::path(
    delete, path = "/api/v1/digests/{id}", tag = "digests", operation_id = "deleteDigest",
    params(("id" = Uuid, Path, description = "The digest subscription")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    _: Empty,
) -> AppResult<StatusCode> {
    subscriptions::unsubscribe(&state.ctx(&principal), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// The subscription to preview (default: my first one, or the default weekly digest).
    pub subscription_id: Option<Uuid>,
    /// First and last day of the period (default: the period a digest sent now would cover).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// `html` (default, charts inlined) or `text`.
    pub format: Option<String>,
}

/// The digest as it would be sent now, as a page (its charts inlined) or as plain text.
#[utoipa::path(
    get, path = "/api/v1/digests/preview", tag = "digests", operation_id = "previewDigest", params(PreviewQuery),
    responses(
        (status = 200, description = "The digest's HTML", content_type = "text/html"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn preview(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PreviewQuery>,
) -> AppResult<Response> {
    let ctx = state.ctx(&principal);
    let target = preview::target(&ctx, q.subscription_id).await?;
    let period = preview::period(&ctx, &target, q.from, q.to)?;
    let format = q.format.as_deref().unwrap_or("html");
    if !matches!(format, "html" | "text") {
        return Err(AppError::invalid("format", "invalid", "html or text"));
    }
    let built = preview::build(&ctx, &target, period, state.config.digest_charts).await?.ok_or_else(|| {
        AppError::invalid("subscription_id", "nothing_to_report", "the recipient sees no reporting engagement")
    })?;
    Ok(match format {
        "text" => {
            ([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], built.rendered.text).into_response()
        }
        _ => Html(run::html_with_data_uris(&built)).into_response(),
    })
}

/// Build and queue every digest due now (admins); the scheduler does it every
/// `digest_interval_secs`. Safe to run at any time: each period is sent once.
#[utoipa::path(
    post, path = "/api/v1/digests/run", tag = "digests", operation_id = "runDigests",
    responses((status = 200, body = RunReport), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
async fn run_now(State(state): State<AppState>, principal: Principal, _: Empty) -> AppResult<Json<RunReport>> {
    let settings = run::RunSettings::from_config(&state.config);
    Ok(Json(run::run_on_request(&state.ctx(&principal), settings).await?))
}
