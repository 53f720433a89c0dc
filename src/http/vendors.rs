//! Vendors (agencies).

use axum::{Json, extract::State, http::StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{
    app::vendors,
    auth::Principal,
    db::pagination::{PageQuery, PageRequest},
    domain::vendor::{VendorInput, VendorPatch},
    error::{AppResult, Problem},
    policy,
    state::AppState,
    views::{Page, VendorView},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get, update))
}

/// Vendors I may see.
#[utoipa::path(
    get, path = "/api/v1/vendors", tag = "vendors", operation_id = "listVendors", params(PageQuery),
    responses((status = 200, body = Page<VendorView>))
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> AppResult<Json<Page<VendorView>>> {
    let only = policy::vendor::list_scope(&principal.viewer())?;
    Ok(Json(vendors::list(&state.db, PageRequest::try_from(&q)?, only, principal.user.role).await?))
}

/// Register a vendor (admins and leads).
#[utoipa::path(
    post, path = "/api/v1/vendors", tag = "vendors", operation_id = "createVendor",
    request_body = VendorInput,
    responses(
        (status = 201, body = VendorView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Name taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<VendorInput>,
) -> AppResult<(StatusCode, Json<VendorView>)> {
    policy::vendor::write(&principal.viewer(), None)?;
    let vendor = vendors::create(&state.db, state.clock.now(), &principal.actor(), input).await?;
    Ok((StatusCode::CREATED, Json(VendorView::try_from(&vendor)?)))
}

/// One vendor.
#[utoipa::path(
    get, path = "/api/v1/vendors/{id}", tag = "vendors", operation_id = "getVendor",
    params(("id" = Uuid, Path, description = "The vendor")),
    responses(
        (status = 200, body = VendorView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<VendorView>> {
    policy::vendor::read(&principal.viewer(), id)?;
    Ok(Json(VendorView::for_role(&vendors::get(&state.db, id).await?, principal.user.role)?))
}

/// Change a vendor (admins and leads).
#[utoipa::path(
    patch, path = "/api/v1/vendors/{id}", tag = "vendors", operation_id = "updateVendor",
    params(("id" = Uuid, Path, description = "The vendor")),
    request_body = VendorPatch,
    responses(
        (status = 200, body = VendorView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<VendorPatch>,
) -> AppResult<Json<VendorView>> {
    policy::vendor::write(&principal.viewer(), Some(id))?;
    let vendor = vendors::update(&state.db, state.clock.now(), &principal.actor(), id, patch).await?;
    Ok(Json(VendorView::try_from(&vendor)?))
}
