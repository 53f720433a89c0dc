//! KPIs of an engagement.

use axum::{Json, extract::State, http::StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Empty};
use crate::{
    app::kpis,
    auth::Principal,
    domain::kpi::KpiInput,
    error::{AppResult, Problem},
    state::AppState,
    views::KpiView,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get, replace, delete))
}

/// The engagement's KPIs, each with its realism flag.
#[utoipa::path(
    get, path = "/api/v1/engagements/{id}/kpis", tag = "engagements", operation_id = "listKpis",
    params(("id" = Uuid, Path, description = "The engagement")),
    responses((status = 200, body = Vec<KpiView>), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Vec<KpiView>>> {
    Ok(Json(kpis::listed(&state.ctx(&principal), id).await?))
}

/// Agree a KPI (draft or pending engagements; later by amendment).
#[utoipa::path(
    post, path = "/api/v1/engagements/{id}/kpis", tag = "engagements", operation_id = "createKpi",
    params(("id" = Uuid, Path, description = "The engagement")),
    request_body = KpiInput,
    responses(
        (status = 201, body = KpiView),
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
    ApiJson(input): ApiJson<KpiInput>,
) -> AppResult<(StatusCode, Json<KpiView>)> {
    let kpi = kpis::create(&state.ctx(&principal), id, input).await?;
    Ok((StatusCode::CREATED, Json(kpi)))
}

/// One KPI.
#[utoipa::path(
    get, path = "/api/v1/engagements/{id}/kpis/{kpi_id}", tag = "engagements", operation_id = "getKpi",
    params(("id" = Uuid, Path, description = "The engagement"), ("kpi_id" = Uuid, Path, description = "The KPI")),
    responses((status = 200, body = KpiView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, kpi_id)): ApiPath<(Uuid, Uuid)>,
) -> AppResult<Json<KpiView>> {
    Ok(Json(kpis::read(&state.ctx(&principal), id, kpi_id).await?))
}

/// Replace a KPI.
#[utoipa::path(
    put, path = "/api/v1/engagements/{id}/kpis/{kpi_id}", tag = "engagements", operation_id = "replaceKpi",
    params(("id" = Uuid, Path, description = "The engagement"), ("kpi_id" = Uuid, Path, description = "The KPI")),
    request_body = KpiInput,
    responses(
        (status = 200, body = KpiView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn replace(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, kpi_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<KpiInput>,
) -> AppResult<Json<KpiView>> {
    Ok(Json(kpis::replace(&state.ctx(&principal), id, kpi_id, input).await?))
}

/// Remove a KPI.
#[utoipa::path(
    delete, path = "/api/v1/engagements/{id}/kpis/{kpi_id}", tag = "engagements", operation_id = "deleteKpi",
    params(("id" = Uuid, Path, description = "The engagement"), ("kpi_id" = Uuid, Path, description = "The KPI")),
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
    ApiPath((id, kpi_id)): ApiPath<(Uuid, Uuid)>,
    _: Empty,
) -> AppResult<StatusCode> {
    kpis::delete(&state.ctx(&principal), id, kpi_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
