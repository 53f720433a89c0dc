//! Operations endpoints: liveness, readiness and Prometheus metrics.

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use serde_json::json;

use crate::{db, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// Ready to serve: the database answers and every migration has been applied.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (database, migrations) = db::readiness(&state.db).await;
    let status = if database && migrations { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({ "database": database, "migrations_current": migrations })))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let (size, idle) = db::pool_stats(&state.db);
    metrics::gauge!("db_pool_connections").set(size as f64);
    metrics::gauge!("db_pool_idle_connections").set(idle as f64);
    metrics::gauge!("db_pool_max_connections").set(state.config.database_max_connections as f64);
    // The outbox by status: `failed` above zero means messages that will not be delivered.
    match crate::app::outbox::counts(&state.db).await {
        Ok(counts) => {
            for status in ["pending", "sending", "sent", "failed"] {
                let n = counts.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
                metrics::gauge!("veedor_outbox_messages", "status" => status).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "counting the outbox failed"),
    }
    state.metrics.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
