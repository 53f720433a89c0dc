//! Vendor reports: versions, late submissions, review, idempotency, concurrency, bad input.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::domain::enums::Role;

use crate::helpers::{Caller, TestApp, assert_problem, id_of, kpi_body, scope_body};

struct World {
    app: TestApp,
    admin: Caller,
    lead: Caller,
    agency: Caller,
    engagement: Uuid,
    kpis: Vec<Uuid>,
    period: String,
}

/// An active engagement that started today, with two KPIs (one allowing negatives).
async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let lead = app.actor("javier@brisa.example", Role::Lead, None).await;
    let agency = app.actor("lucia@marea.example", Role::Vendor, Some(vendor)).await;
    let engagement = app.engagement(&lead, vendor, "internal", Some(lead.id)).await;
    let base = format!("/api/v1/engagements/{engagement}");
    app.post(&lead, &format!("{base}/scope"), scope_body()).await;
    let mut kpis = Vec::new();
    let mut reach = kpi_body("Alcance");
    reach["unit"] = json!("count");
    reach["channels"] = json!(["instagram", "tiktok"]);
    let mut sentiment = kpi_body("Sentimiento neto");
    sentiment["allow_negative"] = json!(true);
    sentiment["channels"] = json!([]);
    for body in [reach, sentiment] {
        let (status, k) = app.post(&lead, &format!("{base}/kpis"), body).await;
        assert_eq!(status, StatusCode::CREATED, "{k}");
        kpis.push(id_of(&k));
    }
    app.activate(&lead, engagement).await;
    let (_, periods) = app.get(&agency, &format!("{base}/periods")).await;
    let period = periods[0]["start_date"].as_str().unwrap().to_string();
    World { app, admin, lead, agency, engagement, kpis, period }
}

fn report(w: &World, values: Value) -> Value {
    json!({ "period_start": w.period, "narrative": "Buen mes", "values": values })
}

#[tokio::test]
async fn a_report_from_draft_through_changes_to_acceptance() {
    let w = world().await;
    let app = &w.app;
    let path = format!("/api/v1/engagements/{}/reports", w.engagement);
    let first = json!([
        { "kpi_id": w.kpis[0], "value": 480000, "breakdown": { "instagram": 300000, "tiktok": 180000 } },
        { "kpi_id": w.kpis[1], "value": -3.5, "comment": "Quejas por envíos" },
    ]);
    let (status, created) = app.post(&w.agency, &path, report(&w, first)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!((created["status"].as_str(), created["version"].as_i64()), (Some("draft"), Some(1)));
    let id = id_of(&created);

    // Past the due date, a submission is accepted but marked late.
    let (_, periods) = app.get(&w.agency, &format!("/api/v1/engagements/{}/periods", w.engagement)).await;
    let due: chrono::NaiveDate = periods[0]["due_date"].as_str().unwrap().parse().unwrap();
    // The day after the due date (the boundary itself is `domain::period`'s unit tests').
    let late = due.succ_opt().unwrap().and_hms_opt(12, 0, 0).unwrap().and_utc();
    app.clock.set(late);
    let (status, submitted) = app.post(&w.agency, &format!("/api/v1/reports/{id}/submit"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{submitted}");
    assert_eq!((submitted["status"].as_str(), submitted["late"].as_bool()), (Some("submitted"), Some(true)));

    let changes = json!({ "decision": "request_changes", "value_comments": [{ "kpi_id": w.kpis[0], "comment": "Falta TikTok orgánico" }] });
    let (status, reviewed) = app.post(&w.lead, &format!("/api/v1/reports/{id}/review"), changes).await;
    assert_eq!((status, reviewed["status"].as_str()), (StatusCode::OK, Some("changes_requested")), "{reviewed}");

    // The correction is a new version; the first stays readable.
    let second = json!({ "narrative": "Corregido", "values": [{ "kpi_id": w.kpis[0], "value": 510000 }] });
    let (status, edited) = app.call(Some(&w.agency), Method::PUT, &format!("/api/v1/reports/{id}"), Some(second)).await;
    assert_eq!(
        (status, edited["version"].as_i64(), edited["status"].as_str()),
        (StatusCode::OK, Some(2), Some("draft"))
    );
    app.post(&w.agency, &format!("/api/v1/reports/{id}/submit"), json!({})).await;
    let (status, accepted) =
        app.post(&w.lead, &format!("/api/v1/reports/{id}/review"), json!({ "decision": "accept" })).await;
    assert_eq!((status, accepted["status"].as_str()), (StatusCode::OK, Some("accepted")));

    let (_, detail) = app.get(&w.lead, &format!("/api/v1/reports/{id}")).await;
    let versions = detail["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        (versions[0]["version"].as_i64(), versions[0]["values"][0]["value"].as_f64()),
        (Some(2), Some(510000.0))
    );
    assert_eq!(versions[1]["values"].as_array().unwrap().len(), 2, "version 1 unchanged");
    assert_eq!(versions[1]["values"][0]["breakdown"]["tiktok"], 180000.0);
    let decisions: Vec<&str> =
        detail["reviews"].as_array().unwrap().iter().map(|r| r["decision"].as_str().unwrap()).collect();
    assert_eq!(decisions, ["request_changes", "accept"]);
    assert_eq!(detail["reviews"][0]["value_comments"][0]["comment"], "Falta TikTok orgánico");
    // Accepted reports are final.
    let (status, _) = app.call(Some(&w.agency), Method::PUT, &format!("/api/v1/reports/{id}"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, list) = app.get(&w.agency, &path).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, audit) = app.get(&w.admin, &format!("/api/v1/audit?object_type=report&object_id={id}")).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["report.accept", "report.submit", "report.edit", "report.request_changes", "report.submit", "report.create"]
    );
    // The log keeps each write's counts and a digest of the content, not the figures.
    let edit = &audit["items"][2];
    assert_eq!((edit["before"]["values"].as_u64(), edit["after"]["values"].as_u64()), (Some(2), Some(1)), "{edit}");
    let digest = edit["after"]["content_sha256"].as_str().unwrap();
    assert_eq!(digest.len(), 64);
    assert_ne!(Some(digest), edit["before"]["content_sha256"].as_str());
}

#[tokio::test]
async fn who_may_write_and_review() {
    let w = world().await;
    let app = &w.app;
    let path = format!("/api/v1/engagements/{}/reports", w.engagement);
    assert_eq!(app.post(&w.lead, &path, report(&w, json!([]))).await.0, StatusCode::FORBIDDEN, "the agency reports");
    let (_, created) = app.post(&w.agency, &path, report(&w, json!([]))).await;
    let id = id_of(&created);
    app.post(&w.agency, &format!("/api/v1/reports/{id}/submit"), json!({})).await;
    let accept = json!({ "decision": "accept" });
    assert_eq!(
        app.post(&w.agency, &format!("/api/v1/reports/{id}/review"), accept.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let other_vendor = app.vendor(&w.admin, "Otra Agencia").await;
    let outsider = app.actor("pablo@otra.example", Role::Vendor, Some(other_vendor)).await;
    assert_eq!(app.get(&outsider, &format!("/api/v1/reports/{id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.post(&outsider, &path, report(&w, json!([]))).await.0, StatusCode::NOT_FOUND);
    let (status, body) =
        app.post(&w.lead, &format!("/api/v1/reports/{id}/review"), json!({ "decision": "request_changes" })).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("comment")));
}

#[tokio::test]
async fn bad_reports_are_refused_by_field_and_change_nothing() {
    let w = world().await;
    let app = &w.app;
    let path = format!("/api/v1/engagements/{}/reports", w.engagement);
    // Another engagement's KPI.
    let other = app.engagement(&w.lead, app.vendor(&w.admin, "Otra").await, "internal", None).await;
    let (_, foreign) = app.post(&w.lead, &format!("/api/v1/engagements/{other}/kpis"), kpi_body("Ajeno")).await;
    let tomorrow_month = {
        let (_, periods) = app.get(&w.agency, &format!("/api/v1/engagements/{}/periods", w.engagement)).await;
        periods[1]["start_date"].as_str().unwrap().to_string()
    };
    let (r, s) = (w.kpis[0], w.kpis[1]);
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("unknown KPI", report(&w, json!([{ "kpi_id": Uuid::now_v7(), "value": 1 }])), 422, "values[0].kpi_id"),
        ("foreign KPI", report(&w, json!([{ "kpi_id": id_of(&foreign), "value": 1 }])), 422, "values[0].kpi_id"),
        ("text value", report(&w, json!([{ "kpi_id": r, "value": "mucho" }])), 422, "values[0].value"),
        ("NaN as text", report(&w, json!([{ "kpi_id": r, "value": "NaN" }])), 422, "values[0].value"),
        ("negative", report(&w, json!([{ "kpi_id": r, "value": -1 }])), 422, "values[0].value"),
        (
            "same KPI twice",
            report(&w, json!([{ "kpi_id": s, "value": 1 }, { "kpi_id": s, "value": 2 }])),
            422,
            "values[1].kpi_id",
        ),
        (
            "undeclared channel",
            report(&w, json!([{ "kpi_id": r, "value": 1, "breakdown": { "youtube": 1 } }])),
            422,
            "values[0].breakdown.youtube",
        ),
        ("future period", json!({ "period_start": tomorrow_month, "values": [] }), 422, "period_start"),
        ("not a period start", json!({ "period_start": "2020-01-01", "values": [] }), 422, "period_start"),
        ("unknown field", json!({ "period_start": w.period, "mood": "great" }), 422, "mood"),
        (
            "bad evidence link",
            report(&w, json!([{ "kpi_id": r, "value": 1, "evidence_url": "informe.pdf" }])),
            422,
            "values[0].evidence_url",
        ),
        (
            "bad signal",
            json!({ "period_start": w.period, "signals": [{ "category": "gossip", "severity": "high", "description": "x" }] }),
            422,
            "signals[0].category",
        ),
    ];
    for (name, body, status, field) in cases {
        let before = app.snapshot().await;
        let response =
            reqwest::Client::new().post(app.url(&path)).bearer_auth(&w.agency.token).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{name}");
        assert_problem(response, StatusCode::from_u16(status).unwrap(), field).await;
        assert_eq!(app.snapshot().await, before, "{name}: the database changed");
    }
    assert_eq!(app.post(&w.agency, &path, report(&w, json!([]))).await.0, StatusCode::CREATED);
    let before = app.snapshot().await;
    let (status, body) = app.post(&w.agency, &path, report(&w, json!([]))).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (StatusCode::CONFLICT, Some("period_start")));
    assert_eq!(app.snapshot().await, before);
}

async fn post_with_key(app: &TestApp, caller: &Caller, path: &str, key: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(&caller.token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_answer() {
    let w = world().await;
    let app = &w.app;
    let path = format!("/api/v1/engagements/{}/reports", w.engagement);
    let body = report(&w, json!([{ "kpi_id": w.kpis[1], "value": 2.5 }]));
    let first = post_with_key(app, &w.agency, &path, "k-1", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_body: Value = first.json().await.unwrap();
    let again = post_with_key(app, &w.agency, &path, "k-1", &body).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first_body);
    let (_, list) = app.get(&w.agency, &path).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "stored once");

    let before = app.snapshot().await;
    let mut changed = body.clone();
    changed["narrative"] = json!("Otro texto");
    assert_problem(
        post_with_key(app, &w.agency, &path, "k-1", &changed).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Idempotency-Key",
    )
    .await;
    assert_eq!(app.snapshot().await, before);

    // Submission too: the retry answers the same, and the report is submitted once.
    let id = id_of(&first_body);
    let submit = format!("/api/v1/reports/{id}/submit");
    let a = post_with_key(app, &w.agency, &submit, "s-1", &json!({})).await;
    let b = post_with_key(app, &w.agency, &submit, "s-1", &json!({})).await;
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    let c = post_with_key(app, &w.agency, &submit, "s-2", &json!({})).await;
    assert_eq!(c.status(), StatusCode::CONFLICT, "a new key is a new submission, refused once submitted");
}

#[tokio::test]
async fn concurrent_reports_for_one_period_create_one() {
    let w = world().await;
    let app = &w.app;
    let path = format!("/api/v1/engagements/{}/reports", w.engagement);
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..6 {
        let request = reqwest::Client::new()
            .post(app.url(&path))
            .bearer_auth(&w.agency.token)
            .json(&json!({ "period_start": w.period, "narrative": format!("intento {i}") }));
        attempts.spawn(async move { request.send().await.unwrap().status() });
    }
    let statuses = attempts.join_all().await;
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    let conflicts = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    assert_eq!((created, conflicts), (1, 5), "{statuses:?}");
    let (_, list) = app.get(&w.lead, &path).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

async fn upload(w: &World, caller: &Caller, name: &str, bytes: Vec<u8>, period: &str) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("period_start", period.to_string())
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()));
    reqwest::Client::new()
        .post(w.app.url(&format!("/api/v1/engagements/{}/reports/import", w.engagement)))
        .bearer_auth(&caller.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn figures_import_from_the_template_as_spanish_excel_writes_it() {
    let w = world().await;
    let app = &w.app;
    let template = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/engagements/{}/reports/template", w.engagement)))
        .bearer_auth(&w.agency.token)
        .send()
        .await
        .unwrap();
    assert_eq!(template.headers()["content-type"], "text/csv; charset=utf-8");
    let text = template.text().await.unwrap();
    assert!(text.starts_with('\u{feff}'), "a BOM, so Excel reads UTF-8");
    assert!(text.contains("Alcance") && text.contains("Sentimiento neto") && text.contains("instagram"), "{text}");

    // Filled in by Spanish Excel: Windows-1252, `;`, decimal commas and thousands dots.
    let mut file = b"kpi;value;comment;evidence_url;instagram;tiktok\r\n".to_vec();
    file.extend_from_slice(b"Alcance;480.000;Campa\xf1a de oto\xf1o;;300.000;180.000\r\n");
    file.extend_from_slice(b"Sentimiento neto;-3,5;Quejas por env\xedos;;;\r\n");
    let response = upload(&w, &w.agency, "cifras.csv", file, &w.period).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let detail: Value = response.json().await.unwrap();
    // The answer is built from what was written; it must equal what is read back.
    let (_, mut stored) = app.get(&w.agency, &format!("/api/v1/reports/{}", id_of(&detail))).await;
    stored.as_object_mut().unwrap().remove("plausibility");
    assert_eq!(stored, detail);
    let values = &detail["versions"][0]["values"];
    assert_eq!(values[0]["value"], 480000.0);
    assert_eq!(values[0]["breakdown"]["tiktok"], 180000.0);
    assert_eq!(values[0]["comment"], "Campaña de otoño");
    assert_eq!(values[1]["value"], -3.5);

    // Importing again replaces the draft's figures.
    let again = upload(&w, &w.agency, "cifras.csv", b"kpi;value\nAlcance;500.000\n".to_vec(), &w.period).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    let (_, list) = app.get(&w.agency, &format!("/api/v1/engagements/{}/reports", w.engagement)).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_file_with_bad_rows_is_refused_whole() {
    let w = world().await;
    let app = &w.app;
    let before = app.snapshot().await;
    let file = b"kpi;value;evidence_url\nAlcance;mucho;\nDesconocido;1;\nSentimiento neto;2;informe.pdf\n".to_vec();
    let response = upload(&w, &w.agency, "cifras.csv", file, &w.period).await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "rows[2].value").await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["rows[2].value", "rows[3].kpi", "rows[4].evidence_url"]);
    // A negative value for a KPI that forbids it is named by its row too.
    let response =
        upload(&w, &w.agency, "cifras.csv", b"kpi;value\nSentimiento neto;1\nAlcance;-5\n".to_vec(), &w.period).await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "rows[3].value").await;
    // An XLSX named .csv, and an empty file.
    let mut workbook = rust_xlsxwriter::Workbook::new();
    workbook.add_worksheet().write(0, 0, "kpi").unwrap();
    let xlsx = workbook.save_to_buffer().unwrap();
    assert_problem(
        upload(&w, &w.agency, "cifras.csv", xlsx, &w.period).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "file",
    )
    .await;
    assert_problem(
        upload(&w, &w.agency, "cifras.csv", vec![], &w.period).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "file",
    )
    .await;
    // A zip bomb: 8 MiB of zeros in a workbook of a few kilobytes, refused unopened.
    let bomb = {
        use std::io::Write;
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        writer.start_file("xl/workbook.xml", options).unwrap();
        writer.write_all(b"<workbook/>").unwrap();
        writer.start_file("xl/worksheets/sheet1.xml", options).unwrap();
        writer.write_all(&vec![0u8; 8 << 20]).unwrap();
        writer.finish().unwrap().into_inner()
    };
    assert!(bomb.len() < 100_000);
    let problem = assert_problem(
        upload(&w, &w.agency, "cifras.xlsx", bomb, &w.period).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "file",
    )
    .await;
    assert!(problem.to_string().contains("zip bomb"), "{problem}");
    let huge = vec![b'1'; 6 << 20];
    let response = upload(&w, &w.agency, "cifras.csv", huge, &w.period).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.snapshot().await, before, "nothing was stored");
    // Only the agency imports.
    let response = upload(&w, &w.lead, "cifras.csv", b"kpi;value\nAlcance;1\n".to_vec(), &w.period).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn figures_import_from_a_workbook() {
    let w = world().await;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, header) in ["kpi", "valor", "instagram", "tiktok"].iter().enumerate() {
        sheet.write(0, col as u16, *header).unwrap();
    }
    sheet.write(1, 0, "Alcance").unwrap();
    sheet.write(1, 1, 480000.0).unwrap();
    sheet.write(1, 2, 300000.0).unwrap();
    sheet.write(1, 3, 180000.0).unwrap();
    sheet.write(2, 0, w.kpis[1].to_string()).unwrap();
    sheet.write(2, 1, -1.25).unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    let response = upload(&w, &w.agency, "cifras.xlsx", bytes, &w.period).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let detail: Value = response.json().await.unwrap();
    assert_eq!(detail["versions"][0]["values"][1]["value"], -1.25);
}

/// An engagement over calendar 2026, active since 10 January, with the given KPIs.
struct Dated {
    app: TestApp,
    admin: Caller,
    lead: Caller,
    agency: Caller,
    engagement: Value,
    base: String,
    kpis: Vec<Uuid>,
}

async fn dated(kpi_names: &[&str]) -> Dated {
    let app = TestApp::spawn().await;
    app.clock.set("2026-01-10T10:00:00Z".parse().unwrap());
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let lead = app.actor("javier@brisa.example", Role::Lead, None).await;
    let agency = app.actor("lucia@marea.example", Role::Vendor, Some(vendor)).await;
    let mut body = crate::helpers::engagement_body(vendor, "internal", Some(lead.id));
    body["start_date"] = json!("2026-01-01");
    body["end_date"] = json!("2026-12-31");
    let (_, engagement) = app.post(&lead, "/api/v1/engagements", body).await;
    let base = format!("/api/v1/engagements/{}", id_of(&engagement));
    app.post(&lead, &format!("{base}/scope"), scope_body()).await;
    let mut kpis = Vec::new();
    for name in kpi_names {
        kpis.push(id_of(&app.post(&lead, &format!("{base}/kpis"), kpi_body(name)).await.1));
    }
    app.activate(&lead, id_of(&engagement)).await;
    Dated { app, admin, lead, agency, engagement, base, kpis }
}

#[tokio::test]
async fn the_dashboard_shows_series_statuses_late_and_missing_periods() {
    let Dated { app, admin, lead, agency, engagement: e, base, kpis } = dated(&["Tasa de engagement"]).await;
    let kpi = kpis[0];

    // January on time, February late, March never, April on time with a signal.
    let submissions = [
        ("2026-01-01", "2026-02-03T10:00:00Z", 3.2, json!([])),
        ("2026-02-01", "2026-03-10T10:00:00Z", 2.4, json!([])),
        (
            "2026-04-01",
            "2026-04-20T10:00:00Z",
            2.0,
            json!([{ "category": "criticism", "severity": "high", "description": "Quejas por envíos" }]),
        ),
    ];
    for (period, at, value, signals) in submissions {
        app.clock.set(at.parse().unwrap());
        let report = json!({ "period_start": period, "values": [{ "kpi_id": kpi, "value": value }], "signals": signals, "submit": true });
        let (status, body) = app.post(&agency, &format!("{base}/reports"), report).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // A draft is not shown to the company.
    app.post(
        &agency,
        &format!("{base}/reports"),
        json!({ "period_start": "2026-03-01", "values": [{ "kpi_id": kpi, "value": 9.9 }] }),
    )
    .await;

    let (status, dash) = app.get(&lead, &format!("{base}/dashboard")).await;
    assert_eq!(status, StatusCode::OK, "{dash}");
    let series = &dash["kpis"][0];
    let statuses: Vec<&str> =
        series["series"].as_array().unwrap().iter().map(|p| p["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["green", "amber", "grey", "red"]);
    assert_eq!(series["series"][2]["value"], Value::Null, "the March draft is not counted");
    assert_eq!((series["latest_status"].as_str(), series["trend"].as_str()), (Some("red"), Some("worsening")));
    assert!((series["aggregate"].as_f64().unwrap() - (3.2 + 2.4 + 2.0) / 3.0).abs() < 1e-9);
    let flags: Vec<(bool, bool)> = dash["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["late"].as_bool().unwrap(), p["missing"].as_bool().unwrap()))
        .collect();
    assert_eq!(flags, [(false, false), (true, false), (false, true), (false, false)]);
    assert_eq!(dash["health"]["overall"], "red");
    assert_eq!(dash["signals"][0]["category"], "criticism");

    let (_, range) = app.get(&agency, &format!("{base}/dashboard?from=2026-02-01&to=2026-03-31")).await;
    assert_eq!(range["kpis"][0]["series"].as_array().unwrap().len(), 2);
    let r = reqwest::Client::new()
        .get(app.url(&format!("{base}/dashboard?from=2026-03-01&to=2026-02-01")))
        .bearer_auth(&lead.token)
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "to").await;

    // The portfolio: the same figures for every engagement the caller may see, in one call.
    let other_vendor = app.vendor(&admin, "Otra Agencia").await;
    let quiet = app.engagement(&lead, other_vendor, "internal", None).await;
    let (status, portfolio) = app.get(&lead, "/api/v1/portfolio").await;
    assert_eq!(status, StatusCode::OK);
    let items = portfolio.as_array().unwrap();
    assert_eq!(items.len(), 2);
    let item = &items[0];
    assert_eq!(item["engagement_id"], json!(id_of(&e)));
    assert_eq!(item["health"]["overall"], "red");
    let counts = [&item["late_periods"], &item["missing_periods"], &item["signals"], &item["high_severity_signals"]];
    assert_eq!(counts.map(|c| c.as_u64().unwrap()), [1, 1, 1, 1]);
    assert_eq!(
        (items[1]["engagement_id"].clone(), items[1]["health"]["overall"].as_str()),
        (json!(quiet), Some("grey"))
    );
    let (_, for_agency) = app.get(&agency, "/api/v1/portfolio").await;
    assert_eq!(for_agency.as_array().unwrap().len(), 1, "only its own vendor's engagement");
}

#[tokio::test]
async fn reviewers_see_implausible_jumps() {
    let Dated { app, lead, agency, base, kpis, .. } = dated(&["Alcance", "Tasa"]).await;
    app.clock.set("2026-03-02T10:00:00Z".parse().unwrap());
    let values = |a: f64, b: f64| json!([{ "kpi_id": kpis[0], "value": a }, { "kpi_id": kpis[1], "value": b }]);
    let january = json!({ "period_start": "2026-01-01", "values": values(100.0, 3.0), "submit": true });
    assert_eq!(app.post(&agency, &format!("{base}/reports"), january).await.0, StatusCode::CREATED);
    // February: reach ×5 (flagged), rate ×1.1 (fine).
    let february = json!({ "period_start": "2026-02-01", "values": values(500.0, 3.3), "submit": true });
    let (_, created) = app.post(&agency, &format!("{base}/reports"), february).await;
    let (_, detail) = app.get(&lead, &format!("/api/v1/reports/{}", id_of(&created))).await;
    let flags = detail["plausibility"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{detail}");
    assert_eq!((flags[0]["kpi_id"].clone(), flags[0]["check"].as_str()), (json!(kpis[0]), Some("jump")));
    assert_eq!((flags[0]["previous"].as_f64(), flags[0]["current"].as_f64()), (Some(100.0), Some(500.0)));
    // Flags inform; they do not block acceptance.
    let (status, _) =
        app.post(&lead, &format!("/api/v1/reports/{}/review", id_of(&created)), json!({ "decision": "accept" })).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn ratio_kpis_are_checked_for_consistency_and_values_keep_their_status() {
    let app = TestApp::spawn().await;
    app.clock.set("2026-01-10T10:00:00Z".parse().unwrap());
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let lead = app.actor("javier@brisa.example", Role::Lead, None).await;
    let agency = app.actor("lucia@marea.example", Role::Vendor, Some(vendor)).await;
    let mut body = crate::helpers::engagement_body(vendor, "internal", Some(lead.id));
    body["start_date"] = json!("2026-01-01");
    body["end_date"] = json!("2026-12-31");
    let (_, engagement) = app.post(&lead, "/api/v1/engagements", body).await;
    let base = format!("/api/v1/engagements/{}", id_of(&engagement));
    app.post(&lead, &format!("{base}/scope"), scope_body()).await;
    let count = |name: &str, target: f64| {
        let mut k = kpi_body(name);
        k["unit"] = json!("count");
        k["baseline"] = json!(target * 0.9);
        (k["target"], k["warning_threshold"], k["critical_threshold"]) =
            (json!(target), json!(target * 0.8), json!(target * 0.5));
        k
    };
    let interactions = id_of(&app.post(&lead, &format!("{base}/kpis"), count("Interacciones", 10_000.0)).await.1);
    let reach = id_of(&app.post(&lead, &format!("{base}/kpis"), count("Alcance", 400_000.0)).await.1);
    let foreign = {
        let other = app.engagement(&lead, vendor, "internal", None).await;
        id_of(&app.post(&lead, &format!("/api/v1/engagements/{other}/kpis"), kpi_body("Ajeno")).await.1)
    };
    let ratio = |numerator: Uuid, denominator: Uuid| {
        let mut k = kpi_body("Tasa de engagement");
        k["ratio_of"] = json!({ "numerator_kpi_id": numerator, "denominator_kpi_id": denominator });
        k
    };
    let kpis_url = app.url(&format!("{base}/kpis"));
    let client = reqwest::Client::new();
    for (body, field) in [
        (ratio(foreign, reach), "ratio_of.numerator_kpi_id"),
        (ratio(interactions, Uuid::now_v7()), "ratio_of.denominator_kpi_id"),
        (ratio(reach, reach), "ratio_of.denominator_kpi_id"),
    ] {
        let before = app.snapshot().await;
        let r = client.post(&kpis_url).bearer_auth(&lead.token).json(&body).send().await.unwrap();
        assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, field).await;
        assert_eq!(app.snapshot().await, before, "{field}: nothing stored");
    }
    let (status, rate) = app.post(&lead, &format!("{base}/kpis"), ratio(interactions, reach)).await;
    assert_eq!(status, StatusCode::CREATED, "{rate}");
    assert_eq!(rate["ratio_of"]["denominator_kpi_id"], json!(reach));
    let rate = id_of(&rate);
    let r = client.delete(app.url(&format!("{base}/kpis/{reach}"))).bearer_auth(&lead.token).send().await.unwrap();
    assert_problem(r, StatusCode::CONFLICT, "kpi_id").await;
    app.activate(&lead, id_of(&engagement)).await;

    app.clock.set("2026-02-02T10:00:00Z".parse().unwrap());
    // 12 000 / 400 000 = 3 %, but the agency wrote 4.5 %.
    let values = json!([
        { "kpi_id": interactions, "value": 12_000 },
        { "kpi_id": reach, "value": 150_000 },
        { "kpi_id": rate, "value": 4.5 },
    ]);
    let (status, created) = app
        .post(
            &agency,
            &format!("{base}/reports"),
            json!({ "period_start": "2026-01-01", "values": values, "submit": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, detail) = app.get(&lead, &format!("/api/v1/reports/{}", id_of(&created))).await;
    let flags = detail["plausibility"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{detail}");
    assert_eq!((flags[0]["kpi_id"].clone(), flags[0]["check"].as_str()), (json!(rate), Some("ratio")));
    assert!((flags[0]["expected"].as_f64().unwrap() - 8.0).abs() < 1e-9, "12 000 / 150 000 = 8 %");
    // Each submitted value carries the status it was judged with.
    let judged: Vec<(Value, Value)> = detail["versions"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["status"].clone(), v["breach"].clone()))
        .collect();
    assert_eq!(
        judged,
        [(json!("green"), json!("none")), (json!("red"), json!("critical")), (json!("green"), json!("none")),],
        "{detail}"
    );
}

#[tokio::test]
async fn stored_statuses_are_rejudged_set_wise() {
    use sea_orm::{ConnectionTrait, Statement};
    use veedor::app::evaluation::{self, Selection};

    let Dated { app, agency, base, kpis, .. } = dated(&["Tasa"]).await;
    app.clock.set("2026-06-02T10:00:00Z".parse().unwrap());
    for (month, value) in [("01", 3.1), ("02", 2.5), ("03", 2.0), ("04", 3.0), ("05", 2.9)] {
        let report = json!({ "period_start": format!("2026-{month}-01"), "values": [{ "kpi_id": kpis[0], "value": value }], "submit": true });
        assert_eq!(app.post(&agency, &format!("{base}/reports"), report).await.0, StatusCode::CREATED);
    }
    let db = &app.state.db;
    let statuses = || async {
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT status, breach FROM report_values ORDER BY period_start",
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                let status: Option<String> = r.try_get("", "status").unwrap();
                let breach: Option<String> = r.try_get("", "breach").unwrap();
                format!("{}/{}", status.unwrap_or_default(), breach.unwrap_or_default())
            })
            .collect::<Vec<_>>()
    };
    let judged = ["green/none", "amber/warning", "red/critical", "green/none", "amber/none"];
    assert_eq!(statuses().await, judged);
    // Spoil three results: only those rows are written back.
    db.execute_unprepared("UPDATE report_values SET status = NULL WHERE value < 2.6").await.unwrap();
    db.execute_unprepared("UPDATE report_values SET status = 'red' WHERE value = 3.0").await.unwrap();
    let outcome = evaluation::evaluate(db, Selection::All).await.unwrap();
    assert_eq!((outcome.evaluated, outcome.changed), (5, 3));
    assert_eq!(statuses().await, judged);
    let again = evaluation::evaluate(db, Selection::Kpi(kpis[0])).await.unwrap();
    assert_eq!((again.evaluated, again.changed), (5, 0));
}

#[tokio::test]
async fn the_portfolio_counts_what_the_company_sees() {
    let Dated { app, lead, agency, base, kpis, .. } = dated(&["Tasa", "Alcance"]).await;
    let value = |a: f64, b: f64| json!([{ "kpi_id": kpis[0], "value": a }, { "kpi_id": kpis[1], "value": b }]);
    let signal =
        |severity: &str| json!([{ "category": "risk", "severity": severity, "description": "Rumor de cierre" }]);
    let send = |period: &str, at: &str, values: Value, signals: Value| {
        let (app, agency, base) = (&app, &agency, &base);
        let body = json!({ "period_start": period, "values": values, "signals": signals, "submit": true });
        let at: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
        async move {
            app.clock.set(at);
            let (status, created) = app.post(agency, &format!("{base}/reports"), body).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            id_of(&created)
        }
    };
    // January on time with a critical signal, then sent back and resubmitted red without it.
    let january = send("2026-01-01", "2026-02-02T09:00:00Z", value(3.5, 3.5), signal("critical")).await;
    let review = |decision: &str| json!({ "decision": decision, "comment": "Revisad el alcance" });
    app.post(&lead, &format!("/api/v1/reports/{january}/review"), review("request_changes")).await;
    let resubmission = json!({ "narrative": "Corregido", "values": value(2.0, 3.5), "signals": signal("low") });
    let (status, body) =
        app.call(Some(&agency), Method::PUT, &format!("/api/v1/reports/{january}"), Some(resubmission)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.post(&agency, &format!("/api/v1/reports/{january}/submit"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // February late; March missing; April only a draft; May reported early (running).
    send("2026-02-01", "2026-03-09T09:00:00Z", value(3.1, 2.4), signal("high")).await;
    app.clock.set("2026-05-20T09:00:00Z".parse().unwrap());
    app.post(&agency, &format!("{base}/reports"), json!({ "period_start": "2026-04-01", "values": value(9.0, 9.0) }))
        .await;
    send("2026-05-01", "2026-05-20T09:00:00Z", value(3.0, 2.9), json!([])).await;

    assert_eq!(crate::helpers::assert_portfolio_matches_dashboards(&app, &lead).await, 1);
    let (_, portfolio) = app.get(&lead, "/api/v1/portfolio").await;
    let item = &portfolio[0];
    // Rate: May green (reported early); reach: May amber. April is due and unreported, but
    // May's values are later.
    assert_eq!(item["health"], json!({ "green": 1, "amber": 1, "red": 0, "grey": 0, "overall": "amber" }));
    let counts = [&item["late_periods"], &item["missing_periods"], &item["signals"], &item["high_severity_signals"]];
    assert_eq!(counts.map(|c| c.as_u64().unwrap()), [1, 2, 2, 1], "{item}");
}
