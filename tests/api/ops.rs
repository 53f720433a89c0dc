//! Health, readiness, metrics and the API documentation.

use reqwest::StatusCode;
use veedor::domain::{
    enums::{Language, Role},
    outbox::NotificationStatus,
};

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

/// The clean-up job: what expired or aged out goes, what is still needed stays.
#[tokio::test]
async fn the_cleanup_job_removes_what_expired_and_keeps_what_is_still_needed() {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, PaginatorTrait};
    use veedor::{
        app::{
            housekeeping::{Retention, cleanup},
            outbox::{self, NewNotification, StoredImage},
        },
        db::entity::{idempotency_key, job_slot, login_attempt, mail_image, notification, session},
    };
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    let user = app.user("ana@brisa.example", Role::Lead, None).await;
    let login = serde_json::json!({ "email": "ana@brisa.example", "password": crate::helpers::PASSWORD });
    let response = app.client.post(app.url("/api/v1/auth/login")).json(&login).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let now = app.clock_now();
    idempotency_key::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        user_id: Set(user),
        idem_key: Set("k1".into()),
        request_hash: Set("h".into()),
        response_status: Set(Some(201)),
        response_body: Set(Some("{}".into())),
        created_at: Set(now),
        expires_at: Set(now + chrono::Duration::hours(24)),
    }
    .insert(db)
    .await
    .unwrap();
    let old_image = StoredImage::png(vec![1, 2, 3]);
    let kept_image = StoredImage::png(vec![4, 5, 6]);
    outbox::store_images(db, now, &[old_image.clone(), kept_image.clone()]).await.unwrap();
    let message = |to: &str, images: Vec<String>, not_before| NewNotification {
        kind: "digest",
        dedup_key: None,
        user_id: None,
        to_address: to.into(),
        to_name: String::new(),
        language: Language::Es,
        subject: "s".into(),
        text: "t".into(),
        html: "<p>h</p>".into(),
        alert_ids: vec![],
        image_ids: images,
        not_before,
    };
    let txn = veedor::db::begin_write(db).await.unwrap();
    outbox::enqueue_in(&txn, now, vec![message("old@brisa.example", vec![old_image.id.clone()], now)]).await.unwrap();
    txn.commit().await.unwrap();
    // The delivery worker writes it to a file and records it as sent.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while notification::Entity::find().all(db).await.unwrap().iter().any(|n| n.status != NotificationStatus::Sent) {
        assert!(std::time::Instant::now() < deadline, "not delivered");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    veedor::db::slots::claim(db, "alerts", now, "w", now).await.unwrap();

    // 100 days later a message still waits (quiet hours far ahead) with its image.
    app.clock.advance(chrono::Duration::days(100));
    let later = app.clock_now();
    let txn = veedor::db::begin_write(db).await.unwrap();
    let waiting = message("new@brisa.example", vec![kept_image.id.clone()], later + chrono::Duration::days(365));
    outbox::enqueue_in(&txn, later, vec![waiting]).await.unwrap();
    txn.commit().await.unwrap();
    let keep = Retention {
        session_idle: chrono::Duration::minutes(30),
        login_window: chrono::Duration::minutes(15),
        history: chrono::Duration::days(90),
    };
    let done = cleanup(db, later, keep).await.unwrap();
    assert_eq!((done.sessions, done.idempotency_keys, done.notifications, done.job_slots), (1, 1, 1, 1), "{done:?}");
    assert!(done.login_attempts >= 1 && done.images == 1, "{done:?}");
    assert_eq!(session::Entity::find().count(db).await.unwrap(), 0);
    assert_eq!(login_attempt::Entity::find().count(db).await.unwrap(), 0);
    assert_eq!(job_slot::Entity::find().count(db).await.unwrap(), 0);
    let left: Vec<String> =
        notification::Entity::find().all(db).await.unwrap().into_iter().map(|n| n.to_address).collect();
    assert_eq!(left, ["new@brisa.example"], "the message still to send stays");
    let images: Vec<String> = mail_image::Entity::find().all(db).await.unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(images, [kept_image.id], "its image stays too");
    assert_eq!(cleanup(db, later, keep).await.unwrap(), Default::default(), "a second run finds nothing");
}
