//! The JSON API under `/api/v1`: one module per resource, each with thin handlers that parse,
//! authorize, call the store and map the result. The OpenAPI document is generated from the
//! handlers' annotations.

pub mod alerts;
pub mod amendments;
pub mod answers;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod authenticate;
pub mod content;
pub mod dashboard;
pub mod digests;
pub mod docs;
pub mod engagements;
pub mod extract;
pub mod idempotent;
pub mod incidents;
pub mod kpis;
pub mod me;
pub mod ops;
pub mod periods;
pub mod problems;
pub mod reports;
pub mod scope;
pub mod team;
pub mod tokens;
pub mod users;
pub mod vendors;

use axum::response::{IntoResponse, Response};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::router::OpenApiRouter;

use crate::{error::AppError, state::AppState};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Veedor API",
        description = "Governance of outsourced social-media and community management: contracts, \
                       KPIs, vendor reports, approvals, alerts. Errors are RFC 9457 problem documents.",
    ),
    modifiers(&SecuritySchemes),
    components(schemas(crate::error::Problem, crate::error::ProblemField, crate::app::approvals::QueueView)),
    security(("bearer" = []), ("session" = [])),
    tags(
        (name = "auth", description = "Sessions and the current user"),
        (name = "users"), (name = "tokens"), (name = "vendors"),
        (name = "engagements"), (name = "reports", description = "Vendor reports, versions and reviews"),
        (name = "approvals", description = "Workflows, the approvals queue and decisions"),
        (name = "amendments", description = "Changes to active engagements, applied on approval"),
        (name = "alerts", description = "Alerts, silences, notification preferences and the email outbox"),
        (name = "digests", description = "KPI digest subscriptions, previews and runs"),
        (name = "content", description = "Publications the agency proposes, and the content calendar"),
        (name = "audit"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("API token from POST /api/v1/tokens"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::session::COOKIE,
                "Browser session from POST /api/v1/auth/login; writes also need the X-CSRF-Token header",
            ))),
        );
    }
}

/// Every API route, with its OpenAPI description.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(me::router())
        .merge(users::router())
        .merge(tokens::router())
        .merge(vendors::router())
        .merge(engagements::router())
        .merge(scope::router())
        .merge(team::router())
        .merge(kpis::router())
        .merge(periods::router())
        .merge(reports::router())
        .merge(dashboard::router())
        .merge(incidents::router())
        .merge(audit::router())
        .merge(approvals::router())
        .merge(amendments::router())
        .merge(alerts::router())
        .merge(digests::router())
        .merge(content::router())
}

pub async fn not_found() -> Response {
    AppError::NotFound.into_response()
}

pub async fn method_not_allowed() -> Response {
    let problem = crate::error::Problem {
        kind: "/problems/method-not-allowed".into(),
        title: "Method not allowed".into(),
        status: 405,
        detail: "this resource does not support the method".into(),
        errors: Vec::new(),
    };
    crate::error::problem_response(axum::http::StatusCode::METHOD_NOT_ALLOWED, &problem, None)
}
