//! The composition root: builds the application from a configuration (database, shared
//! state, router, listener, background workers). `main` and the tests start Veedor the same
//! way, through [`Application::build`].

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context;
use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware::{from_fn, from_fn_with_state},
};
use tokio::net::TcpListener;
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

use crate::{
    app::outbox,
    clock::{Clock, SystemClock},
    config::Config,
    db, http,
    mail::delivery,
    security_headers::{self, SecurityHeaders},
    state::AppState,
    telemetry,
};

/// The whole HTTP application for a state.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = http::api_router().split_for_parts();
    // Problems are written in the caller's language, which the authentication finds first.
    let api = api
        .layer(from_fn(crate::error::plain_rejections))
        .layer(from_fn(http::problems::localize))
        .layer(from_fn_with_state(state.clone(), http::authenticate::authenticate));
    let app = Router::new()
        .merge(api)
        .merge(http::ops::router())
        .merge(http::docs::router(openapi))
        .merge(crate::web::router(state.clone()))
        .method_not_allowed_fallback(http::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(from_fn(crate::error::plain_rejections))
        .layer(from_fn(telemetry::track_metrics));
    outermost(app, SecurityHeaders::for_base_url(&state.config.base_url)).with_state(state)
}

/// The layers around everything: a panic becomes a 500 problem document, then the trace,
/// then the security headers, so that no answer leaves without them.
fn outermost<S: Clone + Send + Sync + 'static>(app: Router<S>, headers: SecurityHeaders) -> Router<S> {
    app.layer(CatchPanicLayer::custom(panicked))
        .layer(TraceLayer::new_for_http())
        .layer(from_fn_with_state(headers, security_headers::layer))
}

/// A handler that panicked answers a plain 500 problem document (the panic is logged, its
/// message is not shown), through the same outer layers as any other answer.
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    crate::error::AppError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
}

/// A built, listening, not yet serving Veedor.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Connects to the database, applies pending migrations and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let clock: Arc<dyn Clock> = match &config.clock_file {
            Some(path) => {
                tracing::warn!(path = %path.display(), "reading the time from clock_file: for tests only");
                Arc::new(crate::clock::FileClock::new(path.clone()))
            }
            None => Arc::new(SystemClock),
        };
        Self::build_with_clock(config, clock).await
    }

    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        // Migrations run on a connection of their own, closed before the pool opens: a pooled
        // SQLite connection that read the schema before a migration may keep it stale, and
        // then rejects statements that need a newer index (e.g. an `ON CONFLICT` target).
        let migrator = db::connect(&config.database_url, 1)
            .await
            .with_context(|| format!("connecting to {}", redact(&config.database_url)))?;
        db::migrate(&migrator).await.context("applying migrations")?;
        migrator.close().await.context("closing the migration connection")?;
        let db = db::connect(&config.database_url, config.database_max_connections)
            .await
            .with_context(|| format!("connecting to {}", redact(&config.database_url)))?;
        let listener = TcpListener::bind(config.bind).await.with_context(|| format!("binding {}", config.bind))?;
        Ok(Self { listener, state: AppState::new(db, config, clock)? })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let app = router(self.state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let scheduler = crate::scheduler::Scheduler::start(self.state.clone()).await.map_err(std::io::Error::other)?;
        let mut background = Vec::new();
        let config = &self.state.config;
        let settings = delivery::WorkerSettings {
            batch: config.outbox_batch,
            lease: chrono::Duration::seconds(config.outbox_lease_secs),
            max_attempts: config.outbox_max_attempts,
            concurrency: config.outbox_concurrency,
            give_up: outbox::give_up,
        };
        for n in 0..config.outbox_workers {
            let (db, mailer, clock) = (self.state.db.clone(), self.state.mailer.clone(), self.state.clock.clone());
            background.push(tokio::spawn(delivery::run_worker(db, mailer, clock, settings, n)));
        }
        axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await?;
        if let Some(scheduler) = scheduler {
            scheduler.shutdown().await;
        }
        for task in background {
            task.abort();
        }
        self.state.db.clone().close().await.ok();
        Ok(())
    }
}

/// A database URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request, routing::get};
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_panic_answers_a_problem_with_the_security_headers() {
        async fn boom() -> &'static str {
            panic!("a handler that fails")
        }
        let app = Router::new().route("/boom", get(boom));
        let app = outermost(app, SecurityHeaders { https: true });
        let response = app.oneshot(Request::get("/boom").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let h = response.headers();
        assert_eq!(h["content-type"], "application/problem+json");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cache-control"], "no-store");
        assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert!(h.contains_key("strict-transport-security"));
    }
}
