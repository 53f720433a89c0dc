//! Health, readiness, metrics and the API documentation.

use reqwest::StatusCode;
use veedor::domain::enums::Role;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.unwrap(), "ok");
    let ready: serde_json::Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready, serde_json::json!({ "database": true, "migrations_current": true }));
}

/// During a rollout the previous release runs against a database a newer release has
/// migrated: it stays ready, and it can still start (migrations only add).
#[tokio::test]
async fn a_newer_releases_migration_keeps_this_release_ready_and_startable() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    let version = "m20991231_000001_from_a_later_release";
    db.execute_unprepared(&format!("INSERT INTO seaql_migrations (version, applied_at) VALUES ('{version}', 0)"))
        .await
        .unwrap();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert!(app.replica().await.port() > 0, "another instance starts on it");
    db.execute_unprepared("DELETE FROM seaql_migrations WHERE version LIKE 'm20261124_000008%'").await.unwrap();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE, "a known migration missing is not current");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    let me = app.actor("ana@brisa.example", Role::Lead, None).await;
    app.get(&me, "/api/v1/me").await;
    app.call(None, reqwest::Method::GET, "/api/v1/me", None).await;
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"http_requests_total{method="GET",route="/api/v1/me",status="200"}"#), "{text}");
    assert!(text.contains(r#"http_requests_total{method="GET",route="/api/v1/me",status="401"}"#), "{text}");
    assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("db_pool_connections"), "{text}");
}

#[tokio::test]
async fn openapi_document_and_offline_docs_page() {
    let app = TestApp::spawn().await;
    let doc: serde_json::Value =
        app.client.get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/api/v1/auth/login", "/api/v1/engagements/{id}/kpis", "/api/v1/audit"] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    let page = app.client.get(app.url("/api/docs")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("/api/docs/swagger-ui-bundle.js"));
    assert!(!page.contains("https://"), "the docs page must not load anything from the internet");
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css", "init.js"] {
        let r = app.client.get(app.url(&format!("/api/docs/{asset}"))).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{asset}");
        assert!(r.bytes().await.unwrap().len() > 100);
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problem_documents() {
    let app = TestApp::spawn().await;
    let r = app.client.get(app.url("/api/v1/nothing-here")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = app.client.delete(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}
