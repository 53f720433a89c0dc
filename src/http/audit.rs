//! Reading the audit log.

use axum::{Json, extract::State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::ApiQuery;
use crate::{
    app::audit::{self, AuditEventView, AuditFilter},
    auth::Principal,
    db::pagination::PageRequest,
    error::{AppResult, Problem},
    policy::{self, audit::AuditScope},
    state::AppState,
    views::Page,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// e.g. `engagement`, `kpi`, `user`.
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub actor_id: Option<Uuid>,
    pub engagement_id: Option<Uuid>,
    /// Opaque cursor from the previous page's `next_cursor`.
    #[param(pattern = "^([A-Za-z0-9_-]{21}[AQgw])?$")]
    pub cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// The audit log, newest first (admins and leads).
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "audit", operation_id = "listAuditEntries", params(AuditQuery),
    responses(
        (status = 200, body = Page<AuditEventView>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> AppResult<Json<Page<AuditEventView>>> {
    let scope = policy::audit::read(&principal.viewer())?;
    let page = PageRequest::parse(q.cursor.as_deref(), q.limit)?;
    let hide = (scope == AuditScope::WithoutForeignSecrets).then_some(principal.user.id);
    let filter = AuditFilter {
        object_type: q.object_type,
        object_id: q.object_id,
        actor_id: q.actor_id,
        engagement_id: q.engagement_id,
    };
    Ok(Json(audit::list(&state.db, hide, filter, page).await?))
}
