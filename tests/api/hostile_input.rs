//! Hostile input, on every surface: control characters in free text (the API, the pages, the
//! import and query strings), bodies over the limit, a body sent to an action that takes
//! none, unknown fields in a page form, and `-0`. Each is refused with a problem (or a page)
//! naming what was wrong, and the database is left exactly as it was; `-0` is stored as `0`.
//! Run on PostgreSQL too (`VEEDOR_TEST_DATABASE_URL`), where a NUL used to be a 500.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::domain::enums::Role;

use crate::{
    helpers::{Caller, TestApp, assert_problem, engagement_body, id_of, kpi_body, read, scope_body},
    web_forms::beside,
    webkit::WebSession,
};

const LEAD: &str = "javier@brisa.example";
const AGENCY: &str = "lucia@marea.example";

struct World {
    app: TestApp,
    admin: Caller,
    lead: Caller,
    agency: Caller,
    vendor: Uuid,
    /// Active, with one KPI (`Alcance`, a count broken down by Instagram) and a scope item.
    engagement: Uuid,
    kpi: Uuid,
    period: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let lead = app.actor(LEAD, Role::Lead, None).await;
    let agency = app.actor(AGENCY, Role::Vendor, Some(vendor)).await;
    let engagement = app.engagement(&lead, vendor, "internal", Some(lead.id)).await;
    let base = format!("/api/v1/engagements/{engagement}");
    app.post(&lead, &format!("{base}/scope"), scope_body()).await;
    let mut reach = kpi_body("Alcance");
    reach["unit"] = json!("count");
    let (status, k) = app.post(&lead, &format!("{base}/kpis"), reach).await;
    assert_eq!(status, StatusCode::CREATED, "{k}");
    app.activate(&lead, engagement).await;
    let (_, periods) = app.get(&agency, &format!("{base}/periods")).await;
    let period = periods[0]["start_date"].as_str().unwrap().to_string();
    // A token's first use is recorded; done here so that snapshots compare only the rest.
    for caller in [&admin, &lead, &agency] {
        assert_eq!(app.get(caller, "/api/v1/me").await.0, StatusCode::OK);
    }
    World { app, admin, lead, agency, vendor, engagement, kpi: id_of(&k), period }
}

impl World {
    fn e(&self) -> String {
        format!("/api/v1/engagements/{}", self.engagement)
    }

    fn report(&self, narrative: &str, comment: &str, signal: &str) -> Value {
        json!({
            "period_start": self.period,
            "narrative": narrative,
            "values": [{ "kpi_id": self.kpi, "value": 10, "comment": comment }],
            "signals": [{ "category": "risk", "severity": "low", "description": signal }],
        })
    }

    /// Sends `body` and expects a refusal naming `field`, with nothing stored.
    async fn refused(&self, who: &Caller, method: Method, path: &str, body: Value, status: u16, field: &str) -> Value {
        let before = self.app.snapshot().await;
        let response = reqwest::Client::new()
            .request(method, self.app.url(path))
            .bearer_auth(&who.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, StatusCode::from_u16(status).unwrap(), field).await;
        assert_eq!(self.app.snapshot().await, before, "{path} {field}: the database changed");
        problem
    }
}

/// The code the problem gives `field`.
fn code_of(problem: &Value, field: &str) -> String {
    problem["errors"].as_array().unwrap().iter().find(|e| e["field"] == field).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn control_characters_in_free_text_are_refused_by_field() {
    let w = world().await;
    let e = w.e();
    let nul = "Marea\u{0}Digital";
    let with = |mut base: Value, key: &str, value: &str| {
        base[key] = json!(value);
        base
    };
    let engagement = engagement_body(w.vendor, "internal", None);
    let mut brief = engagement.clone();
    brief["brief"]["want"] = json!(nul);
    let cases: Vec<(&Caller, Method, String, Value, &str)> = vec![
        (&w.admin, Method::POST, "/api/v1/vendors".into(), json!({ "name": nul }), "name"),
        (&w.admin, Method::POST, "/api/v1/vendors".into(), json!({ "name": "Otra", "notes": nul }), "notes"),
        (&w.admin, Method::PATCH, format!("/api/v1/vendors/{}", w.vendor), json!({ "notes": nul }), "notes"),
        (
            &w.admin,
            Method::POST,
            "/api/v1/vendors".into(),
            json!({ "name": "Otra", "website": "https://marea.example/\u{0}" }),
            "website",
        ),
        (&w.lead, Method::POST, "/api/v1/engagements".into(), with(engagement.clone(), "title", nul), "title"),
        (&w.lead, Method::POST, "/api/v1/engagements".into(), brief, "brief.want"),
        (&w.lead, Method::PATCH, e.clone(), json!({ "title": "Gestión\u{1b}[31m" }), "title"),
        (&w.lead, Method::POST, format!("{e}/kpis"), with(kpi_body("A"), "name", nul), "name"),
        (&w.lead, Method::POST, format!("{e}/kpis"), with(kpi_body("B"), "objective", nul), "objective"),
        (&w.lead, Method::POST, format!("{e}/scope"), with(scope_body(), "description", nul), "description"),
        (&w.agency, Method::POST, format!("{e}/reports"), w.report(nul, "ok", "ok"), "narrative"),
        (&w.agency, Method::POST, format!("{e}/reports"), w.report("ok", nul, "ok"), "values[0].comment"),
        (&w.agency, Method::POST, format!("{e}/reports"), w.report("ok", "ok", nul), "signals[0].description"),
        (
            &w.agency,
            Method::POST,
            format!("{e}/incidents"),
            json!({ "title": nul, "severity": "low", "description": "Quejas" }),
            "title",
        ),
        (
            &w.agency,
            Method::POST,
            format!("{e}/content"),
            json!({ "channel": "instagram", "body": "Hola\u{7f}", "planned_at": w.app.clock_now() + chrono::Duration::days(7) }),
            "body",
        ),
        (
            &w.lead,
            Method::POST,
            format!("{e}/amendments"),
            json!({ "reason": nul, "terms": { "monthly_fee_minor": 500_000 } }),
            "reason",
        ),
        (&w.lead, Method::POST, format!("{e}/crisis"), json!({ "reason": nul }), "reason"),
        (
            &w.admin,
            Method::POST,
            "/api/v1/users".into(),
            json!({ "email": "n@brisa.example", "name": nul, "role": "lead" }),
            "name",
        ),
        (&w.admin, Method::PATCH, format!("/api/v1/users/{}", w.lead.id), json!({ "name": nul }), "name"),
        (&w.admin, Method::POST, "/api/v1/tokens".into(), json!({ "name": nul }), "name"),
    ];
    for (who, method, path, body, field) in cases {
        let problem = w.refused(who, method, &path, body, 422, field).await;
        assert_eq!(code_of(&problem, field), "control_character", "{path} {field}: {problem}");
        let detail = problem["errors"][0]["detail"].as_str().unwrap();
        assert!(detail.starts_with("Contiene un carácter de control invisible (U+"), "{detail}");
    }

    // A name is one line: no tab or line break either.
    let problem =
        w.refused(&w.admin, Method::POST, "/api/v1/vendors", json!({ "name": "Marea\tDigital" }), 422, "name").await;
    assert_eq!(code_of(&problem, "name"), "line_break");
    w.refused(&w.lead, Method::PATCH, &e, json!({ "title": "Gestión\nde comunidad" }), 422, "title").await;
    // A text of several lines keeps its line breaks and tabs.
    let notes = "Primera línea\r\n\tSegunda línea";
    let (status, created) =
        w.app.post(&w.admin, "/api/v1/vendors", json!({ "name": "Brisa Studio", "notes": notes })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["notes"], notes);
}

#[tokio::test]
async fn control_characters_in_a_query_are_refused_by_parameter() {
    let w = world().await;
    for (path, field) in [
        ("/api/v1/audit?object_type=engagement%00", "object_type"),
        ("/api/v1/audit?object_id=%0Aabc", "object_id"),
        ("/api/v1/engagements?cursor=%00", "cursor"),
    ] {
        let response = reqwest::Client::new().get(w.app.url(path)).bearer_auth(&w.admin.token).send().await.unwrap();
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, field).await;
        assert!(["control_character", "line_break"].contains(&code_of(&problem, field).as_str()), "{problem}");
    }
    // The pages' filters too, on the error page.
    let lead = WebSession::login(&w.app, LEAD).await;
    for path in ["/audit?object_type=engagement%00", "/content?status=%1B"] {
        let (status, page) = lead.get(path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(page.contains("Contiene un carácter de control invisible"), "{path}: {page}");
    }
}

#[tokio::test]
async fn control_characters_in_a_login_are_refused_before_any_lookup() {
    let app = TestApp::spawn().await;
    let before = app.snapshot().await;
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": "ana\u{0}@brisa.example", "password": "x" }))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "email").await;
    assert_eq!(code_of(&problem, "email"), "control_character");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn control_characters_in_an_import_are_named_by_row_and_column() {
    let w = world().await;
    let before = w.app.snapshot().await;
    let file = b"kpi;value;comment\nAlcance;10;Campa\x01a\n".to_vec();
    let form = reqwest::multipart::Form::new()
        .text("period_start", w.period.clone())
        .part("file", reqwest::multipart::Part::bytes(file).file_name("cifras.csv"));
    let response = reqwest::Client::new()
        .post(w.app.url(&format!("{}/reports/import", w.e())))
        .bearer_auth(&w.agency.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "rows[2].comment").await;
    assert_eq!(code_of(&problem, "rows[2].comment"), "control_character", "{problem}");
    assert_eq!(w.app.snapshot().await, before);
    // A comment of several lines (quoted, as a spreadsheet writes it) is imported.
    let file = b"kpi;value;comment\nAlcance;10;\"Campa\xf1a\r\nde oto\xf1o\"\n".to_vec();
    let form = reqwest::multipart::Form::new()
        .text("period_start", w.period.clone())
        .part("file", reqwest::multipart::Part::bytes(file).file_name("cifras.csv"));
    let response = reqwest::Client::new()
        .post(w.app.url(&format!("{}/reports/import", w.e())))
        .bearer_auth(&w.agency.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, detail) = read(response).await;
    assert_eq!(status, StatusCode::CREATED, "{detail}");
    assert_eq!(detail["versions"][0]["values"][0]["comment"], "Campaña\r\nde otoño");
}

#[tokio::test]
async fn control_characters_in_page_forms_are_shown_beside_the_field() {
    let w = world().await;
    let lead = WebSession::login(&w.app, LEAD).await;
    let before = w.app.snapshot().await;
    let engagement = w.engagement.to_string();
    let fields = [
        ("engagement_id", engagement.as_str()),
        ("severity", "low"),
        ("title", "Quejas\u{0} en Instagram"),
        ("description", "Primera línea\nSegunda línea"),
    ];
    let (status, _, page) = lead.post_form("/incidents/new", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(beside(&page, "title").starts_with("Contiene un carácter de control invisible (U+0000)"), "{page}");
    assert_eq!(beside(&page, "description"), "", "line breaks are fine in a description");
    assert_eq!(w.app.snapshot().await, before, "nothing stored");
}

#[tokio::test]
async fn every_size_refusal_is_a_problem_document() {
    let w = world().await;
    let big = "x".repeat(1_100_000);
    let lead = WebSession::login(&w.app, LEAD).await;
    let before = w.app.snapshot().await;
    let response = reqwest::Client::new()
        .post(w.app.url(&format!("{}/reports", w.e())))
        .bearer_auth(&w.agency.token)
        .json(&w.report(&big, "ok", "ok"))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "body").await;
    // A JSON body elsewhere, read by the shared extractor.
    let response = reqwest::Client::new()
        .put(w.app.url(&format!("/api/v1/engagements/{}/kpis/{}", w.engagement, w.kpi)))
        .bearer_auth(&w.lead.token)
        .json(&kpi_body(&big))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "body").await;
    // The import takes bigger files, up to its own limit.
    let file = vec![b'x'; 6 * 1024 * 1024];
    let form = reqwest::multipart::Form::new()
        .text("period_start", w.period.clone())
        .part("file", reqwest::multipart::Part::bytes(file).file_name("cifras.csv"));
    let response = reqwest::Client::new()
        .post(w.app.url(&format!("{}/reports/import", w.e())))
        .bearer_auth(&w.agency.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "body").await;
    // Pages: a form over the limit is answered as a page or a problem, never as plain text.
    let token = lead.csrf().await;
    for path in ["/incidents/new".to_string(), "/login".to_string(), format!("/engagements/{}/reports", w.engagement)] {
        let fields = [("_csrf", token.as_str()), ("title", big.as_str())];
        let response = lead.client.post(lead.url(&path)).form(&fields).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        let media = response.headers()["content-type"].to_str().unwrap().to_string();
        assert!(media.starts_with("text/html") || media == "application/problem+json", "{path}: {media}");
    }
    assert_eq!(w.app.snapshot().await, before);
}

#[tokio::test]
async fn actions_without_input_refuse_a_body() {
    let w = world().await;
    let app = &w.app;
    let (status, report) = app.post(&w.agency, &format!("{}/reports", w.e()), w.report("Buen mes", "ok", "ok")).await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    let report = id_of(&report);
    let (_, token) = app.post(&w.admin, "/api/v1/tokens", json!({ "name": "informes" })).await;
    let (_, amendment) = app
        .post(
            &w.lead,
            &format!("{}/amendments", w.e()),
            json!({ "reason": "Más vídeo", "terms": { "monthly_fee_minor": 500_000 } }),
        )
        .await;
    let (_, scope) = app.get(&w.lead, &format!("{}/scope", w.e())).await;
    let accepted = json!({ "status": "accepted" });
    let cases = [
        (&w.agency, Method::POST, format!("/api/v1/reports/{report}/submit")),
        (&w.lead, Method::POST, format!("/api/v1/amendments/{}/withdraw", id_of(&amendment))),
        (&w.admin, Method::DELETE, format!("/api/v1/tokens/{}", id_of(&token))),
        (&w.lead, Method::DELETE, format!("{}/scope/{}", w.e(), id_of(&scope[0]))),
        (&w.lead, Method::DELETE, format!("{}/team/{}", w.e(), w.lead.id)),
        (&w.admin, Method::POST, "/api/v1/alerts/evaluate".to_string()),
        (&w.admin, Method::POST, "/api/v1/digests/run".to_string()),
        (&w.admin, Method::POST, "/api/v1/auth/logout".to_string()),
    ];
    for (who, method, path) in &cases {
        let problem = w.refused(who, method.clone(), path, accepted.clone(), 422, "status").await;
        assert_eq!(code_of(&problem, "status"), "unknown_field", "{path}");
        // Not an object at all.
        w.refused(who, method.clone(), path, json!([1]), 422, "body").await;
    }
    // Plain text is not a body these actions read either.
    let response = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/reports/{report}/submit")))
        .bearer_auth(&w.agency.token)
        .header("content-type", "text/plain")
        .body("accepted")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "content-type").await;
    // No body, or an empty object, is what they take.
    let submitted = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/reports/{report}/submit")))
        .bearer_auth(&w.agency.token)
        .send()
        .await
        .unwrap();
    let (status, body) = read(submitted).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("submitted")), "{body}");
    let (status, body) =
        app.post(&w.lead, &format!("/api/v1/amendments/{}/withdraw", id_of(&amendment)), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn page_forms_refuse_fields_they_do_not_have() {
    let w = world().await;
    let app = &w.app;
    let agency = WebSession::login(app, AGENCY).await;
    let lead = WebSession::login(app, LEAD).await;
    app.user("root@brisa.example", Role::Admin, None).await;
    let admin_session = WebSession::login(app, "root@brisa.example").await;
    let engagement = w.engagement.to_string();
    let draft = app.engagement(&w.lead, w.vendor, "internal", Some(w.lead.id)).await;
    let before = app.snapshot().await;
    let planned = (app.clock_now() + chrono::Duration::days(7)).format("%Y-%m-%dT%H:%M").to_string();
    let content = [
        ("engagement_id", engagement.as_str()),
        ("channel", "instagram"),
        ("body", "Novedades"),
        ("planned_at", planned.as_str()),
        ("status", "approved"),
    ];
    let (status, _, page) = agency.post_form("/content", &content).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the content form: {page}");
    assert!(page.contains("Este campo no existe."), "the page says why");
    let incident = [
        ("engagement_id", engagement.as_str()),
        ("severity", "low"),
        ("title", "Quejas"),
        ("description", "En Instagram"),
        ("status", "resolved"),
    ];
    let (status, _, _) = agency.post_form("/incidents/new", &incident).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the incident form");
    let kpi = [
        ("name", "Seguidores"),
        ("objective", "Crecer"),
        ("unit", "count"),
        ("direction", "higher_is_better"),
        ("aggregation", "sum"),
        ("target", "100"),
        ("warning_threshold", "80"),
        ("critical_threshold", "50"),
        ("engagement_id", engagement.as_str()),
    ];
    let (status, _, _) = lead.post_form(&format!("/engagements/{draft}/kpis/new"), &kpi).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the KPI form");
    let value = format!("value_{}", w.kpi);
    let report =
        [("period_start", w.period.as_str()), (value.as_str(), "10"), ("narrative", "Bien"), ("status", "accepted")];
    let (status, _, _) = agency.post_form(&format!("/engagements/{}/reports", w.engagement), &report).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the report form");
    let (status, _, _) = admin_session.post_form("/admin/tokens", &[("name", "x"), ("scope", "admin")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the token form");
    let user_edit = format!("/admin/users/{}/edit", w.agency.id);
    let (status, _, _) = admin_session
        .post_form(&user_edit, &[("name", "Lucía"), ("role", "vendor"), ("language", "es"), ("is_admin", "1")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the user form");
    let crisis = format!("/engagements/{}/crisis", w.engagement);
    let (status, _, _) = lead.post_form(&crisis, &[("reason", "Quejas"), ("until", "2030-01-01")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the crisis form");
    let (status, _, _) = lead.post_form("/settings/notifications", &[("quiet_start", "22:00"), ("x", "1")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the notifications form");
    assert_eq!(app.snapshot().await, before, "nothing stored");

    // Without the extra field, the content form is accepted.
    let (status, _, page) = agency.post_form("/content", &content[..4]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
}

#[tokio::test]
async fn negative_zero_is_stored_as_zero() {
    let w = world().await;
    let app = &w.app;
    let draft = app.engagement(&w.lead, w.vendor, "internal", Some(w.lead.id)).await;
    let mut kpi = kpi_body("Sentimiento");
    kpi["allow_negative"] = json!(true);
    kpi["channels"] = json!([]);
    for (key, value) in [("baseline", -0.0), ("target", 0.0), ("warning_threshold", -0.0), ("critical_threshold", -1.0)]
    {
        kpi[key] = json!(value);
    }
    let response = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/engagements/{draft}/kpis")))
        .bearer_auth(&w.lead.token)
        .json(&kpi)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created = response.text().await.unwrap();
    assert!(!created.contains("-0.0") && created.contains("\"baseline\":0.0"), "{created}");
    let stored: Value = serde_json::from_str(&created).unwrap();
    let answer = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/engagements/{draft}/kpis/{}", id_of(&stored))))
        .bearer_auth(&w.lead.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!answer.contains("-0.0") && answer.contains("\"warning_threshold\":0.0"), "read back: {answer}");

    let mut report = w.report("Bien", "ok", "ok");
    report["values"][0]["value"] = json!(-0.0);
    report["values"][0]["breakdown"] = json!({ "instagram": -0.0 });
    let response = reqwest::Client::new()
        .post(app.url(&format!("{}/reports", w.e())))
        .bearer_auth(&w.agency.token)
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = id_of(&response.json::<Value>().await.unwrap());
    let answer = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/reports/{id}")))
        .bearer_auth(&w.agency.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!answer.contains(":-0.0"), "read back: {answer}");
    let agency = WebSession::login(app, AGENCY).await;
    let (status, page) = agency.get(&format!("/reports/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(">-0<") && !page.contains(">-0 "), "the report page writes 0");
}
