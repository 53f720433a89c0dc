//! Alerts (firing and resolved, acknowledged, silenced), the outbox of emails, and each
//! user's notification preferences.

use axum::{Json, extract::State, http::StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, Empty};
use crate::{
    app::{
        alerts::{self, AlertFilter, AlertView, Evaluation, Preferences, ReadBy, SilenceInput, SilenceView},
        engagements,
        outbox::{self, NotificationFilter, NotificationView, Resend, Resent},
    },
    auth::Principal,
    error::{AppResult, Problem},
    policy::alert::{Action, authorize},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(acknowledge))
        .routes(routes!(list_silences, silence))
        .routes(routes!(evaluate))
        .routes(routes!(notifications))
        .routes(routes!(resend_one))
        .routes(routes!(resend_failed))
        .routes(routes!(get_preferences, set_preferences))
}

/// The engagements whose alerts the caller reads.
async fn visible_engagements(state: &AppState, principal: &Principal) -> AppResult<Vec<Uuid>> {
    Ok(engagements::visible(&state.db, &principal.viewer()).await?.into_iter().map(|e| e.id).collect())
}

/// Alerts on the engagements I see (admins: also those of no engagement), newest first, at
/// most 500; filters `state`, `rule`, `engagement_id`. Each carries its stable `rule` key and
/// typed `facts`, and its `title` and `text` in my language (dates in my time zone).
#[utoipa::path(
    get, path = "/api/v1/alerts", tag = "alerts", operation_id = "listAlerts", params(AlertFilter),
    responses(
        (status = 200, body = Vec<AlertView>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<AlertFilter>,
) -> AppResult<Json<Vec<AlertView>>> {
    let viewer = principal.viewer();
    authorize(&viewer, Action::Read, false)?;
    let global = authorize(&viewer, Action::Read, true).is_ok();
    let ids = visible_engagements(&state, &principal).await?;
    let reader = ReadBy::new(principal.user.language, &principal.user.timezone);
    Ok(Json(alerts::list(&state.db, &ids, global, &filter, reader).await?))
}

/// Acknowledge a firing alert: it is not repeated any more; it still resolves, and says so.
#[utoipa::path(
    post, path = "/api/v1/alerts/{id}/acknowledge", tag = "alerts", operation_id = "acknowledgeAlert",
    params(("id" = Uuid, Path, description = "The alert")),
    responses(
        (status = 200, body = AlertView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not firing, or acknowledged already", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn acknowledge(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    _: Empty,
) -> AppResult<Json<AlertView>> {
    let reader = ReadBy::new(principal.user.language, &principal.user.timezone);
    Ok(Json(alerts::acknowledge(&state.ctx(&principal), id, reader).await?))
}

/// Silences still running on the engagements I see.
#[utoipa::path(
    get, path = "/api/v1/alerts/silences", tag = "alerts", operation_id = "listAlertSilences",
    responses((status = 200, body = Vec<SilenceView>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
async fn list_silences(State(state): State<AppState>, principal: Principal) -> AppResult<Json<Vec<SilenceView>>> {
    authorize(&principal.viewer(), Action::Read, false)?;
    let ids = visible_engagements(&state, &principal).await?;
    Ok(Json(alerts::silences(&state.db, state.clock.now(), &ids).await?))
}

/// Silence a rule on an engagement (or, admins, everywhere) until a time: its alerts keep
/// their state but send no email.
#[utoipa::path(
    post, path = "/api/v1/alerts/silences", tag = "alerts", operation_id = "createAlertSilence",
    request_body = SilenceInput,
    responses(
        (status = 201, body = SilenceView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn silence(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<SilenceInput>,
) -> AppResult<(StatusCode, Json<SilenceView>)> {
    let view = alerts::silence(&state.ctx(&principal), input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Evaluate every alert rule now (admins); the server also does it every
/// `alert_interval_secs`.
#[utoipa::path(
    post, path = "/api/v1/alerts/evaluate", tag = "alerts", operation_id = "evaluateAlerts",
    responses((status = 200, body = Evaluation), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
async fn evaluate(State(state): State<AppState>, principal: Principal, _: Empty) -> AppResult<Json<Evaluation>> {
    authorize(&principal.viewer(), Action::Operate, true)?;
    Ok(Json(alerts::evaluate_alerts(&state.db, &state.rules.notifier, state.clock.now()).await?))
}

/// The outbox (admins): every email with its status and attempts, newest first, at most 500;
/// filters `status` (`pending`, `sending`, `sent`, `failed`) and `user_id`.
#[utoipa::path(
    get, path = "/api/v1/notifications", tag = "alerts", operation_id = "listNotifications", params(NotificationFilter),
    responses((status = 200, body = Vec<NotificationView>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
async fn notifications(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<NotificationFilter>,
) -> AppResult<Json<Vec<NotificationView>>> {
    authorize(&principal.viewer(), Action::Operate, true)?;
    Ok(Json(outbox::list(&state.db, &filter).await?))
}

/// Send a failed message again (admins): it is queued again as the same message, with a
/// fresh budget of attempts. Only a `failed` message moves: one sent already, or queued
/// again meanwhile, is left alone (`requeued` is then empty), so asking twice sends once.
/// Audited.
#[utoipa::path(
    post, path = "/api/v1/notifications/{id}/resend", tag = "alerts",
    params(("id" = Uuid, Path, description = "The message")),
    responses(
        (status = 200, body = Resent),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn resend_one(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Resent>> {
    authorize(&principal.viewer(), Action::Operate, true)?;
    Ok(Json(outbox::resend(&state.db, state.clock.now(), &principal.actor(), Resend::One(id)).await?))
}

/// Send every failed message again (admins), filtered as the outbox list is (`user_id`;
/// `status`, if given, must be `failed`). Each is queued again once, however many ask.
#[utoipa::path(
    post, path = "/api/v1/notifications/resend", tag = "alerts",
    request_body = NotificationFilter,
    responses(
        (status = 200, body = Resent),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn resend_failed(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(filter): ApiJson<NotificationFilter>,
) -> AppResult<Json<Resent>> {
    authorize(&principal.viewer(), Action::Operate, true)?;
    Ok(Json(outbox::resend(&state.db, state.clock.now(), &principal.actor(), Resend::Failed(filter)).await?))
}

/// My notification preferences: quiet hours and the non-critical rules I receive no email for.
#[utoipa::path(
    get, path = "/api/v1/me/notification-preferences", tag = "alerts", operation_id = "getNotificationPreferences",
    responses((status = 200, body = Preferences))
)]
async fn get_preferences(State(state): State<AppState>, principal: Principal) -> AppResult<Json<Preferences>> {
    Ok(Json(alerts::preferences(&state.db, principal.viewer().user_id).await?))
}

/// Set my notification preferences. Quiet hours ("HH:MM", both or neither, in my time zone)
/// hold non-critical emails until they end; muted rules never silence critical alerts.
#[utoipa::path(
    put, path = "/api/v1/me/notification-preferences", tag = "alerts", operation_id = "setNotificationPreferences",
    request_body = Preferences,
    responses((status = 200, body = Preferences), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
async fn set_preferences(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<Preferences>,
) -> AppResult<Json<Preferences>> {
    let user = principal.viewer().user_id;
    Ok(Json(alerts::set_preferences(&state.db, state.clock.now(), &principal.actor(), user, input).await?))
}
