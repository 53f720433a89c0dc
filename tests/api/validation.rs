//! Bad input: every case answers a 4xx problem document naming the field, and leaves the
//! database exactly as it was.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use veedor::domain::enums::Role;

use crate::helpers::{Caller, TestApp, assert_problem, engagement_body, kpi_body};

enum Body {
    Json(Value),
    Raw(&'static str, Vec<u8>),
    None,
}

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    body: Body,
    status: StatusCode,
    field: &'static str,
}

fn case(
    name: &'static str,
    method: Method,
    path: impl Into<String>,
    body: Body,
    status: u16,
    field: &'static str,
) -> Case {
    Case { name, method, path: path.into(), body, status: StatusCode::from_u16(status).unwrap(), field }
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().unwrap().remove(key);
    base
}

async fn run(app: &TestApp, caller: &Caller, cases: Vec<Case>) {
    for c in cases {
        let before = app.snapshot().await;
        let mut request = reqwest::Client::new().request(c.method.clone(), app.url(&c.path)).bearer_auth(&caller.token);
        request = match c.body {
            Body::Json(v) => request.json(&v),
            Body::Raw(content_type, bytes) => request.header("content-type", content_type).body(bytes),
            Body::None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        assert_eq!(status, c.status, "{}: status", c.name);
        assert_problem(response, c.status, c.field).await;
        assert_eq!(app.snapshot().await, before, "{}: the database changed", c.name);
    }
}

#[tokio::test]
async fn bad_input_is_refused_by_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let lead = app.actor("javier@brisa.example", Role::Lead, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let engagement = app.engagement(&lead, vendor, "internal", None).await;
    let valid = engagement_body(vendor, "internal", None);
    let post = Method::POST;
    let e = format!("/api/v1/engagements/{engagement}");
    let cases = vec![
        case(
            "not JSON",
            post.clone(),
            "/api/v1/vendors",
            Body::Raw("application/json", b"not json".to_vec()),
            400,
            "body",
        ),
        case(
            "truncated JSON",
            post.clone(),
            "/api/v1/vendors",
            Body::Raw("application/json", br#"{"name": "#.to_vec()),
            400,
            "name",
        ),
        case(
            "wrong media type",
            post.clone(),
            "/api/v1/vendors",
            Body::Raw("text/plain", br#"{"name":"x"}"#.to_vec()),
            415,
            "content-type",
        ),
        case("wrong type", post.clone(), "/api/v1/vendors", Body::Json(json!({ "name": 5 })), 422, "name"),
        case(
            "unknown field",
            post.clone(),
            "/api/v1/vendors",
            Body::Json(json!({ "name": "X", "colour": "red" })),
            422,
            "colour",
        ),
        case(
            "nested unknown field",
            post.clone(),
            "/api/v1/vendors",
            Body::Json(json!({ "name": "X", "contacts": [{ "name": "A", "email": "a@b.co", "fax": "1" }] })),
            422,
            "contacts[0].fax",
        ),
        case(
            "bad contact e-mail",
            post.clone(),
            "/api/v1/vendors",
            Body::Json(json!({ "name": "X", "contacts": [{ "name": "A", "email": "nope" }] })),
            422,
            "contacts[0].email",
        ),
        case(
            "duplicate vendor name",
            post.clone(),
            "/api/v1/vendors",
            Body::Json(json!({ "name": "  marea   DIGITAL " })),
            409,
            "name",
        ),
        case(
            "oversized body",
            post.clone(),
            "/api/v1/vendors",
            Body::Raw("application/json", format!(r#"{{"name":"{}"}}"#, "x".repeat(1_100_000)).into_bytes()),
            413,
            "body",
        ),
        case(
            "missing field",
            post.clone(),
            "/api/v1/engagements",
            Body::Json(without(valid.clone(), "currency")),
            422,
            "currency",
        ),
        case(
            "invalid enum value",
            post.clone(),
            "/api/v1/engagements",
            Body::Json(with(valid.clone(), "confidentiality", json!("top_secret"))),
            422,
            "confidentiality",
        ),
        case(
            "end before start",
            post.clone(),
            "/api/v1/engagements",
            Body::Json(with(valid.clone(), "end_date", json!("2020-01-01"))),
            422,
            "end_date",
        ),
        case(
            "impossible date",
            post.clone(),
            "/api/v1/engagements",
            Body::Json(with(valid.clone(), "start_date", json!("2027-02-30"))),
            422,
            "start_date",
        ),
        case(
            "negative fee",
            post.clone(),
            "/api/v1/engagements",
            Body::Json(with(valid.clone(), "monthly_fee_minor", json!(-100))),
            422,
            "monthly_fee_minor",
        ),
        case(
            "fractional fee",
            post.clone(),
            "/api/v1/engagements",
            Body::Json(with(valid.clone(), "monthly_fee_minor", json!(10.5))),
            422,
            "monthly_fee_minor",
        ),
        case(
            "unknown currency",
            post.clone(),
            "/api/v1/engagements",
            Body::Json(with(valid.clone(), "currency", json!("EURO"))),
            422,
            "currency",
        ),
        case(
            "unknown time zone",
            post.clone(),
            "/api/v1/engagements",
            Body::Json(with(valid.clone(), "timezone", json!("Europe/Atlantis"))),
            422,
            "timezone",
        ),
        case(
            "unknown vendor",
            post.clone(),
            "/api/v1/engagements",
            Body::Json(with(valid.clone(), "vendor_id", json!(uuid::Uuid::now_v7()))),
            422,
            "vendor_id",
        ),
        case(
            "nested brief field",
            post.clone(),
            "/api/v1/engagements",
            Body::Json(with(valid.clone(), "brief", json!({ "want": "", "can_be_done": "x" }))),
            422,
            "brief.want",
        ),
        case(
            "patch unknown field",
            Method::PATCH,
            e.clone(),
            Body::Json(json!({ "vendor_id": vendor })),
            422,
            "vendor_id",
        ),
        case(
            "patch end before start",
            Method::PATCH,
            e.clone(),
            Body::Json(json!({ "end_date": "2000-01-01" })),
            422,
            "end_date",
        ),
        case("malformed id in path", Method::GET, "/api/v1/engagements/not-a-uuid", Body::None, 400, "id"),
        case(
            "KPI thresholds out of order",
            post.clone(),
            format!("{e}/kpis"),
            Body::Json(with(kpi_body("A"), "warning_threshold", json!(9.0))),
            422,
            "warning_threshold",
        ),
        case(
            "KPI NaN-like string",
            post.clone(),
            format!("{e}/kpis"),
            Body::Json(with(kpi_body("A"), "target", json!("NaN"))),
            422,
            "target",
        ),
        case(
            "KPI unknown channel",
            post.clone(),
            format!("{e}/kpis"),
            Body::Json(with(kpi_body("A"), "channels", json!(["myspace"]))),
            422,
            "channels[0]",
        ),
        case(
            "scope quantity zero",
            post.clone(),
            format!("{e}/scope"),
            Body::Json(json!({ "function": "training", "description": "x", "quantity_per_period": 0 })),
            422,
            "quantity_per_period",
        ),
        case(
            "unknown scope function",
            post.clone(),
            format!("{e}/scope"),
            Body::Json(json!({ "function": "magic", "description": "x" })),
            422,
            "function",
        ),
        case(
            "unknown team role",
            post.clone(),
            format!("{e}/team"),
            Body::Json(json!({ "user_id": lead.id, "team_role": "boss" })),
            422,
            "team_role",
        ),
        case(
            "unknown transition",
            post.clone(),
            format!("{e}/transitions"),
            Body::Json(json!({ "action": "explode" })),
            422,
            "action",
        ),
        case("bad cursor", Method::GET, "/api/v1/engagements?cursor=%%%", Body::None, 422, "cursor"),
        case("limit out of range", Method::GET, "/api/v1/vendors?limit=0", Body::None, 422, "limit"),
        case("unknown query parameter", Method::GET, "/api/v1/vendors?sort=name", Body::None, 422, "sort"),
        case("bad status filter", Method::GET, "/api/v1/engagements?status=paused", Body::None, 422, "status"),
        case(
            "token lifetime too long",
            post.clone(),
            "/api/v1/tokens",
            Body::Json(json!({ "name": "x", "expires_in_days": 5000 })),
            422,
            "expires_in_days",
        ),
        case("blank token name", post.clone(), "/api/v1/tokens", Body::Json(json!({ "name": "  " })), 422, "name"),
        case(
            "vendor user without vendor",
            post.clone(),
            "/api/v1/users",
            Body::Json(json!({ "email": "v@marea.example", "name": "V", "role": "vendor" })),
            422,
            "vendor_id",
        ),
        case(
            "invalid e-mail",
            post.clone(),
            "/api/v1/users",
            Body::Json(json!({ "email": "nope", "name": "V", "role": "lead" })),
            422,
            "email",
        ),
        case(
            "duplicate e-mail",
            post.clone(),
            "/api/v1/users",
            Body::Json(json!({ "email": "JAVIER@brisa.example", "name": "J", "role": "lead" })),
            409,
            "email",
        ),
        case(
            "weak password",
            post.clone(),
            "/api/v1/users",
            Body::Json(json!({ "email": "n@brisa.example", "name": "N", "role": "lead", "password": "123" })),
            422,
            "password",
        ),
        case(
            "invalid role",
            post,
            "/api/v1/users",
            Body::Json(json!({ "email": "n@brisa.example", "name": "N", "role": "root" })),
            422,
            "role",
        ),
    ];
    run(&app, &admin, cases).await;
}

#[tokio::test]
async fn login_input_is_checked_too() {
    let app = TestApp::spawn().await;
    let before = app.snapshot().await;
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": "a@b.co" }))
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "password").await;
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": "a@b.co", "password": "x", "remember": true }))
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "remember").await;
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn admins_cannot_lock_themselves_out() {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let path = format!("/api/v1/users/{}", admin.id);
    app.get(&admin, "/api/v1/me").await; // the token's first use is recorded; not part of this check
    let before = app.snapshot().await;
    for (body, field) in [(json!({ "active": false }), "active"), (json!({ "role": "lead" }), "role")] {
        let r =
            reqwest::Client::new().patch(app.url(&path)).bearer_auth(&admin.token).json(&body).send().await.unwrap();
        assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, field).await;
    }
    assert_eq!(app.snapshot().await, before);
}
