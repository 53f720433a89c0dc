//! Sessions, CSRF, login rate limits, API tokens and password changes.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use veedor::domain::enums::Role;

use crate::helpers::{Caller, PASSWORD, TestApp, assert_problem, read};

fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("veedor_session="))
        .expect("session cookie")
        .to_string()
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
}

/// Logs in and returns (cookie header value, csrf token).
async fn session(app: &TestApp, email: &str) -> (String, String) {
    let r = login(app, email, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = cookie_pair(&session_cookie(&r));
    let (_, body) = read(r).await;
    (cookie, body["csrf_token"].as_str().unwrap().to_string())
}

async fn me_with_cookie(app: &TestApp, cookie: &str) -> (StatusCode, Value) {
    read(reqwest::Client::new().get(app.url("/api/v1/me")).header(header::COOKIE, cookie).send().await.unwrap()).await
}

#[tokio::test]
async fn login_opens_an_http_only_lax_session() {
    let app = TestApp::spawn().await;
    app.user("ana@brisa.example", Role::Lead, None).await;
    let r = login(&app, "  ANA@brisa.example ", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let set_cookie = session_cookie(&r);
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "plain http base URL: {set_cookie}");
    let (_, body) = read(r).await;
    assert_eq!(body["user"]["email"], "ana@brisa.example");
    assert!(body["user"].get("password_hash").is_none());
    let (status, me) = me_with_cookie(&app, &cookie_pair(&set_cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["authenticated_by"], "session");
    assert_eq!(me["csrf_token"], body["csrf_token"]);
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let app = TestApp::spawn_with(|c| c.base_url = "https://veedor.brisa.example".into()).await;
    app.user("ana@brisa.example", Role::Lead, None).await;
    let r = login(&app, "ana@brisa.example", PASSWORD).await;
    assert!(session_cookie(&r).contains("Secure"));
}

#[tokio::test]
async fn wrong_password_and_unknown_account_look_the_same() {
    let app = TestApp::spawn().await;
    app.user("ana@brisa.example", Role::Lead, None).await;
    let (s1, b1) = read(login(&app, "ana@brisa.example", "not the password at all").await).await;
    let (s2, b2) = read(login(&app, "nobody@brisa.example", "not the password at all").await).await;
    assert_eq!((s1, s2), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(b1, b2);
}

#[tokio::test]
async fn login_rotates_the_session() {
    let app = TestApp::spawn().await;
    app.user("ana@brisa.example", Role::Lead, None).await;
    let (first, _) = session(&app, "ana@brisa.example").await;
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .header(header::COOKIE, &first)
        .json(&json!({ "email": "ana@brisa.example", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let second = cookie_pair(&session_cookie(&r));
    assert_ne!(first, second);
    assert_eq!(me_with_cookie(&app, &first).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me_with_cookie(&app, &second).await.0, StatusCode::OK);
}

#[tokio::test]
async fn sessions_expire_when_idle_and_at_their_absolute_limit() {
    let app = TestApp::spawn().await;
    app.user("ana@brisa.example", Role::Lead, None).await;
    let (cookie, _) = session(&app, "ana@brisa.example").await;
    // Activity every 20 minutes keeps a 30-minute idle session alive...
    for _ in 0..3 {
        app.clock.advance(chrono::Duration::minutes(20));
        assert_eq!(me_with_cookie(&app, &cookie).await.0, StatusCode::OK);
    }
    // ...but 31 idle minutes end it.
    app.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(me_with_cookie(&app, &cookie).await.0, StatusCode::UNAUTHORIZED);

    let (cookie, _) = session(&app, "ana@brisa.example").await;
    for _ in 0..35 {
        app.clock.advance(chrono::Duration::minutes(20));
        assert_eq!(me_with_cookie(&app, &cookie).await.0, StatusCode::OK);
    }
    // Twelve hours after login the session ends however active it is.
    app.clock.advance(chrono::Duration::minutes(21));
    assert_eq!(me_with_cookie(&app, &cookie).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookie_writes_need_the_csrf_token_and_bearer_writes_do_not() {
    let app = TestApp::spawn().await;
    let id = app.user("ana@brisa.example", Role::Lead, None).await;
    let (cookie, csrf) = session(&app, "ana@brisa.example").await;
    let before = app.snapshot().await;
    let post = |csrf: Option<&str>| {
        let mut r = reqwest::Client::new()
            .post(app.url("/api/v1/tokens"))
            .header(header::COOKIE, &cookie)
            .json(&json!({"name": "script"}));
        if let Some(t) = csrf {
            r = r.header("X-CSRF-Token", t);
        }
        r.send()
    };
    let refused = post(None).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    assert_eq!(post(Some("forged")).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(app.snapshot().await, before);
    assert_eq!(post(Some(&csrf)).await.unwrap().status(), StatusCode::CREATED);
    let bearer = Caller { id, token: app.token_for(id).await };
    assert_eq!(app.post(&bearer, "/api/v1/tokens", json!({"name": "other"})).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::spawn().await;
    app.user("ana@brisa.example", Role::Lead, None).await;
    let (cookie, csrf) = session(&app, "ana@brisa.example").await;
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/auth/logout"))
        .header(header::COOKIE, &cookie)
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(session_cookie(&r).contains("Max-Age=0"));
    assert_eq!(me_with_cookie(&app, &cookie).await.0, StatusCode::UNAUTHORIZED);
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let (_, audit) = app.get(&admin, "/api/v1/audit?object_type=user").await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.starts_with(&["user.create", "session.logout", "session.login"]), "{actions:?}");
}

#[tokio::test]
async fn failed_logins_are_limited_per_account() {
    let app = TestApp::spawn().await;
    app.user("ana@brisa.example", Role::Lead, None).await;
    for _ in 0..5 {
        assert_eq!(login(&app, "ana@brisa.example", "wrong password guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    // Now even the right password is refused, with a hint when to retry.
    let limited = login(&app, "ana@brisa.example", PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_eq!(limited.headers()["content-type"], "application/problem+json");
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(login(&app, "ana@brisa.example", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn failed_logins_are_limited_per_address() {
    let app = TestApp::spawn_with(|c| {
        c.login_max_failures_per_address = 3;
        c.login_max_failures_per_account = 100;
    })
    .await;
    app.user("ana@brisa.example", Role::Lead, None).await;
    for i in 0..3 {
        let email = format!("guess{i}@brisa.example");
        assert_eq!(login(&app, &email, "wrong password guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&app, "ana@brisa.example", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn tokens_are_shown_once_work_and_stop_when_revoked_or_expired() {
    let app = TestApp::spawn().await;
    let ana = app.actor("ana@brisa.example", Role::Lead, None).await;
    let (status, issued) =
        app.post(&ana, "/api/v1/tokens", json!({"name": "Informe semanal", "expires_in_days": 2})).await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = issued["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("vdr_") && secret.len() > 40);
    let token = Caller { id: ana.id, token: secret.clone() };
    let (_, me) = app.get(&token, "/api/v1/me").await;
    assert_eq!((me["email"].as_str(), me["authenticated_by"].as_str()), (Some("ana@brisa.example"), Some("token")));
    let (_, list) = app.get(&ana, "/api/v1/tokens").await;
    assert!(!list.to_string().contains(&secret), "the secret is never listed");
    assert!(list["items"].as_array().unwrap().iter().any(|t| t["id"] == issued["id"] && t["last_used_at"].is_string()));

    // Expiry.
    app.clock.advance(chrono::Duration::days(2) + chrono::Duration::seconds(1));
    app.state.tokens.invalidate_all();
    assert_eq!(app.get(&token, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);

    // Revocation takes effect at once on this replica.
    let fresh = Caller { id: ana.id, token: app.token_for(ana.id).await };
    assert_eq!(app.get(&fresh, "/api/v1/me").await.0, StatusCode::OK);
    let (_, list) = app.get(&ana, "/api/v1/tokens?limit=200").await;
    let fresh_id = list["items"].as_array().unwrap().last().unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.call(Some(&ana), Method::DELETE, &format!("/api/v1/tokens/{fresh_id}"), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&fresh, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);

    let garbage = Caller { id: ana.id, token: "vdr_not-a-real-token".into() };
    assert_eq!(app.get(&garbage, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_revoked_token_is_refused_by_other_replicas_within_the_cache_time() {
    let app = TestApp::spawn_with(|c| c.auth_cache_seconds = 1).await;
    let ana = app.actor("ana@brisa.example", Role::Lead, None).await;
    let other = app.replica().await;
    let me_on_other = || reqwest::Client::new().get(format!("http://{other}/api/v1/me")).bearer_auth(&ana.token).send();
    assert_eq!(me_on_other().await.unwrap().status(), StatusCode::OK);
    let (_, list) = app.get(&ana, "/api/v1/tokens").await;
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.call(Some(&ana), Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await.0,
        StatusCode::NO_CONTENT
    );
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(me_on_other().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn disabling_a_user_ends_their_access() {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let ana = app.actor("ana@brisa.example", Role::Lead, None).await;
    let (cookie, _) = session(&app, "ana@brisa.example").await;
    assert_eq!(app.get(&ana, "/api/v1/me").await.0, StatusCode::OK);
    let (status, body) = app
        .call(Some(&admin), Method::PATCH, &format!("/api/v1/users/{}", ana.id), Some(json!({"active": false})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.get(&ana, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me_with_cookie(&app, &cookie).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&app, "ana@brisa.example", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn changing_the_password() {
    let app = TestApp::spawn().await;
    app.user("ana@brisa.example", Role::Lead, None).await;
    let (other_cookie, _) = session(&app, "ana@brisa.example").await;
    let (cookie, csrf) = session(&app, "ana@brisa.example").await;
    let change = |current: &str, new: &str| {
        reqwest::Client::new()
            .post(app.url("/api/v1/me/password"))
            .header(header::COOKIE, &cookie)
            .header("X-CSRF-Token", &csrf)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    assert_problem(
        change("wrong", "a brand new passphrase").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "current_password",
    )
    .await;
    assert_problem(change(PASSWORD, "short").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "new_password").await;
    assert_eq!(change(PASSWORD, "a brand new passphrase").await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(login(&app, "ana@brisa.example", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(me_with_cookie(&app, &cookie).await.0, StatusCode::OK, "the session that changed it stays");
    assert_eq!(me_with_cookie(&app, &other_cookie).await.0, StatusCode::UNAUTHORIZED, "other sessions end");
    assert_eq!(login(&app, "ana@brisa.example", "a brand new passphrase").await.status(), StatusCode::OK);
}
