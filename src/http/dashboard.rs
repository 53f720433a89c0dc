//! The engagement dashboard ("cuadro de mando").

use axum::{Json, extract::State};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiPath, ApiQuery};
use crate::{
    app::{self, dashboard, engagements, portfolio::PortfolioItem},
    auth::Principal,
    error::{AppError, AppResult, Problem},
    policy::engagement::Action,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get)).routes(routes!(portfolio))
}

/// Every engagement the caller may see, with its health over the whole term, late and
/// missing periods and signals.
#[utoipa::path(
    get, path = "/api/v1/portfolio", tag = "engagements", operation_id = "getPortfolio",
    responses((status = 200, body = Vec<PortfolioItem>))
)]
async fn portfolio(State(state): State<AppState>, principal: Principal) -> AppResult<Json<Vec<PortfolioItem>>> {
    let engagements = engagements::visible(&state.db, &principal.viewer()).await?;
    Ok(Json(app::portfolio::portfolio(&state.db, &engagements, state.clock.now()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Range {
    /// First day of the range (default: the start of the term).
    pub from: Option<NaiveDate>,
    /// Last day of the range (default: the end of the term).
    pub to: Option<NaiveDate>,
}

/// Per KPI the series of values and statuses over a date range, the latest status and
/// trend; late and missing periods; signals; the engagement's health.
#[utoipa::path(
    get, path = "/api/v1/engagements/{id}/dashboard", tag = "engagements", operation_id = "getDashboard", params(("id" = Uuid, Path, description = "The engagement"), Range),
    responses(
        (status = 200, body = dashboard::Dashboard),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(range): ApiQuery<Range>,
) -> AppResult<Json<dashboard::Dashboard>> {
    let (e, _) = engagements::load(&state.db, &principal.viewer(), id, Action::Read).await?;
    let (from, to) = (range.from.unwrap_or(e.start_date), range.to.unwrap_or(e.end_date));
    if to < from {
        return Err(AppError::invalid("to", "before_from", "must not be before from"));
    }
    Ok(Json(dashboard::build(&state.db, &e, from, to, state.clock.now()).await?))
}
