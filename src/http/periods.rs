//! The reporting periods of an engagement.

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::ApiPath;
use crate::{
    app::engagements,
    auth::Principal,
    domain::period::Period,
    error::{AppResult, Problem},
    policy::engagement::Action,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodView {
    #[serde(flatten)]
    pub period: Period,
    /// Whether the period has begun (reports may be submitted).
    pub started: bool,
    /// Whether the due date has passed.
    pub due_passed: bool,
}

impl PeriodView {
    fn new(p: &Period, now: DateTime<Utc>) -> Self {
        Self { period: *p, started: p.has_started(now), due_passed: p.is_late(now) }
    }
}

/// Every reporting period of the engagement's term, in the engagement's time zone.
#[utoipa::path(
    get, path = "/api/v1/engagements/{id}/periods", tag = "engagements", operation_id = "listPeriods",
    params(("id" = Uuid, Path, description = "The engagement")),
    responses(
        (status = 200, body = Vec<PeriodView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Vec<PeriodView>>> {
    let (e, _) = engagements::load(&state.db, &principal.viewer(), id, Action::Read).await?;
    let now = state.clock.now();
    let periods = engagements::schedule(&e)?.periods();
    Ok(Json(periods.iter().map(|p| PeriodView::new(p, now)).collect()))
}
