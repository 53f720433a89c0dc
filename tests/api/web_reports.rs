//! The report pages: the agency's form (decimal comma, errors next to their fields, nothing
//! stored on error), the upload with row errors shown on the file's rows, the review screen
//! (per-value comments, request changes, accept), who may do what, and the two flows in a
//! real browser.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use chrono::Duration as Days;
use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::json;
use uuid::Uuid;
use veedor::{
    app::reports,
    db::{audit::Actor, entity},
    domain::{
        enums::{Language, Role},
        report::{ReportContent, ReportStatus, ReviewDecision, ValueInput},
    },
};

use crate::{
    helpers::{Caller, PASSWORD, TestApp, id_of, kpi_body, scope_body},
    web_pages::{DEMO, demo_app, set_language},
    webkit::{Browser, WebSession, local_links},
};

const AGENCY: &str = "lucia@marea.example";
const AGENCY_EN: &str = "tom@marea.example";
const LEAD: &str = "javier@brisa.example";
const ADMIN: &str = "admin@brisa.example";
const EXEC: &str = "direccion@brisa.example";
const OUTSIDER: &str = "pablo@otra.example";

struct World {
    app: TestApp,
    agency: Caller,
    lead: Caller,
    engagement: Uuid,
    reach: Uuid,
    sentiment: Uuid,
    period: String,
}

async fn caller(app: &TestApp, email: &str, role: Role, vendor: Option<Uuid>, language: Language) -> Caller {
    let id = app.user_in(email, role, vendor, language).await;
    Caller { id, token: app.token_for(id).await }
}

/// An active engagement that started today with two KPIs: reach (a count, broken down by
/// Instagram and TikTok) and net sentiment (a score that may be negative). The executive is
/// on its team; another agency's user is not.
async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = caller(&app, ADMIN, Role::Admin, None, Language::Es).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let other_vendor = app.vendor(&admin, "Otra Agencia").await;
    let lead = caller(&app, LEAD, Role::Lead, None, Language::En).await;
    let agency = caller(&app, AGENCY, Role::Vendor, Some(vendor), Language::Es).await;
    caller(&app, AGENCY_EN, Role::Vendor, Some(vendor), Language::En).await;
    let exec = caller(&app, EXEC, Role::Executive, None, Language::Es).await;
    caller(&app, OUTSIDER, Role::Vendor, Some(other_vendor), Language::Es).await;
    let engagement = app.engagement(&lead, vendor, "internal", Some(lead.id)).await;
    let base = format!("/api/v1/engagements/{engagement}");
    app.post(&lead, &format!("{base}/scope"), scope_body()).await;
    let (status, body) =
        app.post(&lead, &format!("{base}/team"), json!({ "user_id": exec.id, "team_role": "executive" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut reach = kpi_body("Alcance");
    reach["unit"] = json!("count");
    reach["objective"] = json!("Llegar a más clientes potenciales");
    reach["baseline"] = json!(350000);
    reach["target"] = json!(500000);
    reach["warning_threshold"] = json!(400000);
    reach["critical_threshold"] = json!(300000);
    reach["aggregation"] = json!("sum");
    reach["channels"] = json!(["instagram", "tiktok"]);
    let mut sentiment = kpi_body("Sentimiento neto");
    sentiment["unit"] = json!("score");
    sentiment["allow_negative"] = json!(true);
    sentiment["channels"] = json!([]);
    let mut kpis = Vec::new();
    for body in [reach, sentiment] {
        let (status, k) = app.post(&lead, &format!("{base}/kpis"), body).await;
        assert_eq!(status, StatusCode::CREATED, "{k}");
        kpis.push(id_of(&k));
    }
    app.activate(&lead, engagement).await;
    let (_, periods) = app.get(&agency, &format!("{base}/periods")).await;
    let period = periods[0]["start_date"].as_str().unwrap().to_string();
    World { app, agency, lead, engagement, reach: kpis[0], sentiment: kpis[1], period }
}

impl World {
    fn new_form(&self, period: &str) -> String {
        format!("/engagements/{}/reports/new?period_start={period}", self.engagement)
    }

    fn import_path(&self) -> String {
        format!("/engagements/{}/reports/import", self.engagement)
    }

    /// The engagement's reports, from the store.
    async fn reports(&self) -> Vec<reports::ReportView> {
        reports::list(&self.app.state.db, self.engagement).await.unwrap()
    }

    async fn detail(&self, id: Uuid) -> reports::ReportDetail {
        let r = reports::get(&self.app.state.db, id).await.unwrap();
        reports::detail(&self.app.state.db, &r).await.unwrap()
    }

    /// A report of `period` written and submitted by the agency through the store.
    async fn submitted(&self, period: &str, reach: f64) -> Uuid {
        let value = |kpi_id, value| ValueInput {
            kpi_id,
            value,
            breakdown: Default::default(),
            comment: None,
            evidence_url: None,
        };
        let content = ReportContent {
            narrative: "Buen mes".into(),
            values: vec![value(self.reach, reach), value(self.sentiment, 4.0)],
            signals: vec![],
        };
        let actor = Actor { id: Some(self.agency.id), label: AGENCY.into() };
        let (db, rules) = (&self.app.state.db, &self.app.state.rules);
        let created = reports::system::create(
            db,
            self.app.clock_now(),
            &actor,
            self.engagement,
            period.parse().unwrap(),
            content,
            Some(rules),
        )
        .await
        .unwrap();
        created.report.id
    }

    async fn accept(&self, id: Uuid) {
        let actor = Actor { id: Some(self.lead.id), label: LEAD.into() };
        let (db, rules) = (&self.app.state.db, &self.app.state.rules);
        let now = self.app.clock_now();
        reports::system::review(db, now, (&actor, Role::Lead), id, ReviewDecision::Accept, None, vec![], rules)
            .await
            .unwrap();
    }

    /// Starts the second period (and returns its first day).
    async fn second_period(&self) -> String {
        self.app.clock.advance(Days::days(40));
        let path = format!("/api/v1/engagements/{}/periods", self.engagement);
        let (_, periods) = self.app.get(&self.agency, &path).await;
        periods[1]["start_date"].as_str().unwrap().to_string()
    }
}

/// The report a redirect lands on: `/reports/{id}?notice=…`.
fn landed(location: Option<&str>, notice: &str) -> Uuid {
    let location = location.expect("a redirect");
    let rest = location.strip_prefix("/reports/").unwrap_or_else(|| panic!("not a report: {location}"));
    let (id, query) = rest.split_once('?').expect("a notice");
    assert_eq!(query, format!("notice={notice}"));
    id.parse().unwrap()
}

/// Posts the upload form (multipart) with the session's CSRF token unless `csrf` is false.
async fn upload(
    session: &WebSession,
    path: &str,
    file: Option<(&str, Vec<u8>)>,
    fields: &[(&str, &str)],
    csrf: bool,
) -> (StatusCode, Option<String>, String) {
    let mut form = reqwest::multipart::Form::new();
    if csrf {
        form = form.text("_csrf", session.csrf().await);
    }
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    if let Some((name, bytes)) = file {
        form = form.part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()));
    }
    let response = session.client.post(session.url(path)).multipart(form).send().await.unwrap();
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (response.status(), location, response.text().await.unwrap())
}

fn xlsx(rows: &[[&str; 2]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            match cell.parse::<f64>() {
                Ok(n) if r > 0 => sheet.write_number(r as u32, c as u16, n).unwrap(),
                _ => sheet.write_string(r as u32, c as u16, *cell).unwrap(),
            };
        }
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn the_agency_drafts_and_submits_through_the_form() {
    let w = world().await;
    let agency = WebSession::login(&w.app, AGENCY).await;
    let (status, page) = agency.get(&w.new_form(&w.period)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for expected in ["Alcance", "Sentimiento neto", "Llegar a más clientes potenciales", "objetivo: al menos 500.000"]
    {
        assert!(page.contains(expected), "{expected} missing");
    }
    assert!(page.contains(&format!("id=\"f-value_{}\"", w.reach)) && page.contains("inputmode=\"decimal\""));

    // Spanish numbers (decimal comma, thousands point), a breakdown, a signal, a comment.
    let reach = format!("value_{}", w.reach);
    let sentiment = format!("value_{}", w.sentiment);
    let instagram = format!("bd_{}_instagram", w.reach);
    let fields = [
        ("period_start", w.period.as_str()),
        ("signal_rows", "2"),
        (reach.as_str(), "480.000"),
        (instagram.as_str(), "300000,5"),
        (sentiment.as_str(), "-3,5"),
        ("sig_0_category", "criticism"),
        ("sig_0_severity", "high"),
        ("sig_0_description", "Quejas por retrasos en envíos"),
        ("sig_1_category", "opportunity"),
        ("sig_1_severity", "low"),
        ("narrative", "Buen mes"),
        ("action", "save"),
    ];
    let path = format!("/engagements/{}/reports", w.engagement);
    let (status, location, _) = agency.post_form(&path, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = landed(location.as_deref(), "rep_saved");
    let detail = w.detail(id).await;
    assert_eq!(detail.report.status, ReportStatus::Draft);
    let v = &detail.versions[0];
    assert_eq!(v.narrative, "Buen mes");
    let value_of = |kpi| v.values.iter().find(|x| x.kpi_id == kpi).unwrap();
    assert_eq!(value_of(w.reach).value, 480_000.0);
    assert_eq!(value_of(w.reach).breakdown.values().copied().collect::<Vec<_>>(), [300_000.5]);
    assert_eq!(value_of(w.sentiment).value, -3.5);
    assert_eq!(v.signals.len(), 1, "the empty signal row is skipped");
    assert_eq!(v.signals[0].description, "Quejas por retrasos en envíos");

    // The draft page refills the form as the agency types numbers.
    let (status, page) = agency.get(&format!("/reports/{id}?notice=rep_saved")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Se ha guardado el borrador."));
    assert!(page.contains("value=\"-3,5\"") && page.contains("value=\"300000,5\""), "{page}");
    assert!(page.contains("Quejas por retrasos en envíos"));
    // The form of a period that has a report leads to it.
    let (status, _) = agency.get(&w.new_form(&w.period)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Submitting from the draft's page.
    let mut fields = fields.to_vec();
    fields.retain(|(k, _)| *k != "action");
    fields.push(("action", "submit"));
    let (status, location, _) = agency.post_form(&format!("/reports/{id}"), &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(landed(location.as_deref(), "rep_submitted"), id);
    let detail = w.detail(id).await;
    assert_eq!((detail.report.status, detail.report.version), (ReportStatus::Submitted, 1));
    // A submitted report is read, not edited, by the agency.
    let (_, page) = agency.get(&format!("/reports/{id}")).await;
    assert!(page.contains("Enviado") && !page.contains("name=\"action\" value=\"submit\""));
    // A form posted from a stale page is refused, and the page says why.
    let before = w.app.snapshot().await;
    let (status, _, page) = agency.post_form(&format!("/reports/{id}"), &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("el informe no admite esa acción en su estado actual"), "{page}");
    let stale = [("period_start", w.period.as_str())];
    let file = Some(("c.csv", b"kpi;valor\nAlcance;1\n".to_vec()));
    let (status, _, page) = upload(&agency, &w.import_path(), file, &stale, true).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("el informe no admite esa acción en su estado actual"), "{page}");
    assert_eq!(w.app.snapshot().await, before);
}

#[tokio::test]
async fn a_bad_value_is_refused_with_everything_typed_kept() {
    let w = world().await;
    let agency = WebSession::login(&w.app, AGENCY).await;
    let before = w.app.snapshot().await;
    let reach = format!("value_{}", w.reach);
    let sentiment = format!("value_{}", w.sentiment);
    let path = format!("/engagements/{}/reports", w.engagement);
    let fields = [
        ("period_start", w.period.as_str()),
        ("signal_rows", "2"),
        (reach.as_str(), "doce"),
        (sentiment.as_str(), "-3,5"),
        ("sig_0_category", "risk"),
        ("sig_0_severity", "medium"),
        ("sig_0_description", "Rumor en foros"),
        ("sig_0_link", "foro"),
        ("narrative", "Un mes raro"),
        ("action", "submit"),
    ];
    let (status, _, page) = agency.post_form(&path, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("value=\"doce\"") && page.contains("value=\"-3,5\"") && page.contains("Un mes raro"));
    assert!(page.contains("value=\"Rumor en foros\""));
    let error = format!("id=\"e-{reach}\"><span aria-hidden=\"true\">⚠</span> no es un número");
    assert!(page.contains(&error), "the error sits next to its field:\n{page}");
    assert!(page.contains(&format!("href=\"#f-{reach}\">Alcance</a>: no es un número")), "and in the summary");
    assert_eq!(w.app.snapshot().await, before, "nothing stored");

    // Errors only the store finds (a negative reach, a link that is not one) are placed too.
    let mut fields = fields.to_vec();
    fields[2] = (reach.as_str(), "-5");
    let (status, _, page) = agency.post_form(&path, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(&format!(
        "id=\"e-{reach}\"><span aria-hidden=\"true\">⚠</span> este KPI no admite valores negativos"
    )));
    assert!(page.contains("id=\"e-sig_0_link\"><span aria-hidden=\"true\">⚠</span> debe ser una dirección web"));
    assert!(page.contains("value=\"-5\"") && page.contains("value=\"foro\""));
    assert_eq!(w.app.snapshot().await, before, "nothing stored");

    // A form without the session's token changes nothing either.
    let (status, _, _) = agency.post_raw(&path, &[("period_start", w.period.as_str()), ("action", "save")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(w.app.snapshot().await, before);
}

#[tokio::test]
async fn an_uploaded_file_with_a_bad_row_is_shown_in_place_and_nothing_stored() {
    let w = world().await;
    let agency = WebSession::login(&w.app, AGENCY_EN).await;
    let before = w.app.snapshot().await;
    let bad = "kpi;value;comment\nAlcance;480.000;Campaña\nSentimiento neto;doce;\n";
    let period = [("period_start", w.period.as_str())];
    let (status, _, page) = upload(&agency, &w.import_path(), Some(("cifras.csv", bad.into())), &period, true).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("row 3, column value: not a number"), "{page}");
    assert!(page.contains("Nothing was stored"));
    // The file's rows, the offending cell marked with its message.
    assert!(page.contains("<tr class=\"row-error\">"));
    assert!(page.contains(
        "class=\"cell-error\">doce<span class=\"error small\"><span aria-hidden=\"true\">⚠</span> not a number"
    ));
    assert!(page.contains(">Campaña</td>"), "the good rows are shown too");
    assert_eq!(w.app.snapshot().await, before, "nothing stored");

    // An error only the store finds names its file row too.
    let negative = "kpi;value\nAlcance;-5\nSentimiento neto;3\n";
    let (status, _, page) = upload(&agency, &w.import_path(), Some(("c.csv", negative.into())), &period, true).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("row 2, column value: this KPI does not take negative values"), "{page}");
    // Not a spreadsheet at all; no file; no token.
    let (status, _, page) = upload(&agency, &w.import_path(), Some(("c.txt", b"x".to_vec())), &period, true).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("id=\"e-file\"><span aria-hidden=\"true\">⚠</span> only .csv and .xlsx files can be uploaded")
    );
    let (status, _, _) = upload(&agency, &w.import_path(), None, &period, true).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _, _) = upload(&agency, &w.import_path(), Some(("c.csv", negative.into())), &period, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(w.app.snapshot().await, before, "nothing stored");

    // The fixed file creates the draft, and the agency lands on it.
    let fixed = bad.replace("doce", "4,5");
    let (status, location, _) =
        upload(&agency, &w.import_path(), Some(("cifras.csv", fixed.into())), &period, true).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = landed(location.as_deref(), "rep_imported");
    let detail = w.detail(id).await;
    assert_eq!(detail.report.status, ReportStatus::Draft);
    let values: Vec<f64> = detail.versions[0].values.iter().map(|v| v.value).collect();
    assert_eq!(values, [480_000.0, 4.5]);

    // A refused file for a period with a report is shown on the report's page.
    let (status, _, page) = upload(&agency, &w.import_path(), Some(("cifras.csv", bad.into())), &period, true).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = page.replace("&#x2f;", "/");
    assert!(page.contains("row 3, column value: not a number") && page.contains(&format!("action=\"/reports/{id}\"")));
    assert_eq!(w.detail(id).await.versions[0].values.len(), 2);
}

#[tokio::test]
async fn an_xlsx_upload_can_submit_at_once() {
    let w = world().await;
    let agency = WebSession::login(&w.app, AGENCY).await;
    let bad = xlsx(&[["kpi", "value"], ["Alcance", "480000"], ["Sentimiento neto", "mucho"]]);
    let fields = [("period_start", w.period.as_str()), ("submit", "true")];
    let (status, _, page) = upload(&agency, &w.import_path(), Some(("cifras.xlsx", bad)), &fields, true).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("fila 3, columna valor: no es un número"), "the column in the reader's language: {page}");
    assert!(page.contains("name=\"submit\" value=\"true\" checked"), "the choice to submit is kept");
    assert!(w.reports().await.is_empty());

    let good = xlsx(&[["kpi", "value"], ["Alcance", "480000"], ["Sentimiento neto", "-2.25"]]);
    let (status, location, _) = upload(&agency, &w.import_path(), Some(("cifras.xlsx", good)), &fields, true).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = landed(location.as_deref(), "rep_submitted");
    let detail = w.detail(id).await;
    assert_eq!(detail.report.status, ReportStatus::Submitted);
    assert_eq!(detail.versions[0].values.iter().map(|v| v.value).collect::<Vec<_>>(), [480_000.0, -2.25]);
}

#[tokio::test]
async fn another_agency_sees_nothing() {
    let w = world().await;
    let id = w.submitted(&w.period, 480_000.0).await;
    let outsider = WebSession::login(&w.app, OUTSIDER).await;
    let before = w.app.snapshot().await;
    let reach = format!("value_{}", w.reach);
    for path in [w.new_form(&w.period), format!("/reports/{id}"), format!("/engagements/{}/reports", w.engagement)] {
        let (status, page) = outsider.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.contains("Alcance"), "{path} shows nothing of the report");
    }
    let fields = [("period_start", w.period.as_str()), (reach.as_str(), "1"), ("action", "submit")];
    let create = format!("/engagements/{}/reports", w.engagement);
    assert_eq!(outsider.post_form(&create, &fields).await.0, StatusCode::NOT_FOUND);
    assert_eq!(outsider.post_form(&format!("/reports/{id}"), &fields).await.0, StatusCode::NOT_FOUND);
    let review = [("decision", "accept")];
    assert_eq!(outsider.post_form(&format!("/reports/{id}/review"), &review).await.0, StatusCode::NOT_FOUND);
    let file = Some(("c.csv", b"kpi;valor\nAlcance;1\n".to_vec()));
    let (status, _, _) = upload(&outsider, &w.import_path(), file, &[("period_start", w.period.as_str())], true).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(outsider.get(&format!("/reports/{}", Uuid::nil())).await.0, StatusCode::NOT_FOUND);
    assert_eq!(outsider.get("/reports/not-an-id").await.0, StatusCode::NOT_FOUND);
    assert_eq!(w.app.snapshot().await, before, "nothing changed");
}

#[tokio::test]
async fn a_lead_requests_changes_per_value_then_accepts_the_answer() {
    let w = world().await;
    let id = w.submitted(&w.period, 480_000.0).await;
    let lead = WebSession::login(&w.app, LEAD).await;
    let (status, page) = lead.get(&format!("/reports/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    // The review screen: each value with its KPI, target and status, a comment box per value.
    assert!(page.contains(&format!("action=\"/reports/{id}/review\"")), "{page}");
    assert!(
        page.contains(&format!("name=\"vc_{}\"", w.reach)) && page.contains(&format!("name=\"vc_{}\"", w.sentiment))
    );
    assert!(page.contains("target: at least 500,000") && page.contains("480,000"));
    assert!(page.contains("At risk"), "480,000 is below the target, above the warning threshold");
    assert!(page.contains("Request changes") && page.contains(">Accept</button>"));

    // Requesting changes needs a reason: refused, nothing changed, the page says where.
    let before = w.app.snapshot().await;
    let (status, _, page) = lead.post_form(&format!("/reports/{id}/review"), &[("decision", "request_changes")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("id=\"e-review_comment\"><span aria-hidden=\"true\">⚠</span> say why you request changes"),
        "{page}"
    );
    assert_eq!(w.app.snapshot().await, before);

    let vc = format!("vc_{}", w.reach);
    let fields = [("decision", "request_changes"), (vc.as_str(), "Falta el alcance de TikTok")];
    let (status, location, _) = lead.post_form(&format!("/reports/{id}/review"), &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(landed(location.as_deref(), "rep_changes_requested"), id);
    let detail = w.detail(id).await;
    assert_eq!(detail.report.status, ReportStatus::ChangesRequested);
    assert_eq!(detail.reviews[0].value_comments[0].comment, "Falta el alcance de TikTok");
    // The lead's page shows the comment under the reviewer's column, not the agency's.
    let (_, page) = lead.get(&format!("/reports/{id}")).await;
    let at = page.find("Falta el alcance de TikTok").expect("the comment is shown");
    let label = page[..at].rsplit("data-label=\"").next().and_then(|l| l.split('"').next());
    assert_eq!(label, Some("Reviewer&#x27;s comment"), "{page}");

    // The agency sees the comment next to the value, and answers with a new version.
    let agency = WebSession::login(&w.app, AGENCY).await;
    let (_, page) = agency.get(&format!("/reports/{id}")).await;
    assert!(page.contains("Se han pedido cambios") && page.contains("Falta el alcance de TikTok"), "{page}");
    let reach = format!("value_{}", w.reach);
    let tiktok = format!("bd_{}_tiktok", w.reach);
    let sentiment = format!("value_{}", w.sentiment);
    let answer = [
        (reach.as_str(), "510000"),
        (tiktok.as_str(), "30000"),
        (sentiment.as_str(), "4"),
        ("narrative", "Añadido TikTok"),
        ("action", "submit"),
    ];
    let (status, location, _) = agency.post_form(&format!("/reports/{id}"), &answer).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    landed(location.as_deref(), "rep_submitted");
    let detail = w.detail(id).await;
    assert_eq!((detail.report.status, detail.report.version), (ReportStatus::Submitted, 2));

    // The lead accepts; both versions and the review history stay readable.
    let (status, location, _) = lead.post_form(&format!("/reports/{id}/review"), &[("decision", "accept")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    landed(location.as_deref(), "rep_accepted");
    assert_eq!(w.detail(id).await.report.status, ReportStatus::Accepted);
    let (_, page) = lead.get(&format!("/reports/{id}?notice=rep_accepted")).await;
    assert!(page.contains("The report was accepted.") && page.contains("Version 2") && page.contains("Version 1"));
    assert!(page.contains("Falta el alcance de TikTok"), "the request stays in the history");
    assert!(!page.contains("/review\""), "no decision left to take");
}

#[tokio::test]
async fn the_review_screen_flags_implausible_values() {
    let w = world().await;
    let first = w.submitted(&w.period, 100_000.0).await;
    w.accept(first).await;
    let second_period = w.second_period().await;
    let id = w.submitted(&second_period, 900_000.0).await;
    let lead = WebSession::login(&w.app, LEAD).await;
    let (_, page) = lead.get(&format!("/reports/{id}")).await;
    assert!(page.contains("Unusual jump") && page.contains("from 100,000 last period to 900,000"), "{page}");
    assert!(page.contains("1 value looks implausible"), "one value, singular: {page}");
    // The list of the engagement's reports leads to both.
    let (status, list) = lead.get(&format!("/engagements/{}/reports", w.engagement)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains(&format!("/reports/{first}")) && list.contains(&format!("/reports/{id}")));
    assert!(!list.contains("/reports/new"), "leads do not write reports");
}

/// Who may open the form, post a report, read it, review it, upload and list.
#[tokio::test]
async fn who_may_do_what_on_report_pages() {
    let w = world().await;
    let id = w.submitted(&w.period, 480_000.0).await;
    let next = w.second_period().await;
    let reach = format!("value_{}", w.reach);
    // Refused input: an authorized post reaches validation (422) and stores nothing.
    let bad = [("period_start", next.as_str()), (reach.as_str(), "x"), ("action", "save")];
    const OK: u16 = 200;
    const INVALID: u16 = 422;
    const FORBIDDEN: u16 = 403;
    const HIDDEN: u16 = 404;
    // role: form, post report, edit report, view report, review, upload, list
    let matrix = [
        (ADMIN, [OK, INVALID, INVALID, OK, INVALID, INVALID, OK]),
        (LEAD, [FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, INVALID, FORBIDDEN, OK]),
        (EXEC, [FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN, OK]),
        (AGENCY, [OK, INVALID, INVALID, OK, FORBIDDEN, INVALID, OK]),
        (OUTSIDER, [HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN]),
    ];
    let mut sessions = Vec::new();
    for (email, expected) in matrix {
        sessions.push((email, WebSession::login(&w.app, email).await, expected));
    }
    let before = w.app.snapshot().await;
    for (email, s, expected) in sessions {
        let actual = [
            s.get(&w.new_form(&next)).await.0,
            s.post_form(&format!("/engagements/{}/reports", w.engagement), &bad).await.0,
            s.post_form(&format!("/reports/{id}"), &bad).await.0,
            s.get(&format!("/reports/{id}")).await.0,
            s.post_form(&format!("/reports/{id}/review"), &[("decision", "maybe")]).await.0,
            upload(&s, &w.import_path(), None, &[("period_start", next.as_str())], true).await.0,
            s.get(&format!("/engagements/{}/reports", w.engagement)).await.0,
        ]
        .map(|s| s.as_u16());
        assert_eq!(actual, expected, "{email}: form, post, edit, view, review, upload, list");
    }
    assert_eq!(w.app.snapshot().await, before, "nothing changed");
}

/// Every link the report pages show a demo role answers 200 for that role, in both
/// languages, and each report template is rendered in both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_report_link_answers_for_the_role_that_sees_it() {
    let app = demo_app().await;
    let engagements = entity::engagement::Entity::find().all(&app.state.db).await.unwrap();
    let mine =
        |link: &str| link.starts_with("/reports/") || (link.starts_with("/engagements/") && link.contains("/reports"));
    for language in [Language::Es, Language::En] {
        for (email, password) in DEMO {
            set_language(&app, email, language).await;
            let session = WebSession::login_with(&app, email, password).await;
            // The lists of the engagements this role may read (the others answer 404).
            let mut queue: VecDeque<String> = VecDeque::from(["/".to_string()]);
            for e in &engagements {
                let list = format!("/engagements/{}/reports", e.id);
                match session.get(&list).await.0 {
                    StatusCode::OK => queue.push_back(list),
                    status => assert_eq!(status, StatusCode::NOT_FOUND, "{email} {list}"),
                }
            }
            let mut seen = BTreeSet::new();
            while let Some(path) = queue.pop_front() {
                if !seen.insert(path.clone()) {
                    continue;
                }
                let (status, page) = session.get(&path).await;
                assert_eq!(status, StatusCode::OK, "{email} {path}:\n{}", &page[..page.len().min(2000)]);
                for link in local_links(&page) {
                    let link = link.split('#').next().unwrap_or(&link).to_string();
                    if mine(&link) && !link.contains("page=") && !seen.contains(&link) {
                        queue.push_back(link);
                    }
                }
            }
        }
    }
    let rendered = app.state.pages.rendered();
    for name in ["reports/new.html", "reports/show.html", "reports/list.html"] {
        for lang in ["es", "en"] {
            assert!(rendered.contains(&format!("{name}:{lang}")), "{name} never rendered in {lang}");
        }
    }
}

/// Waits until the browser's path contains `part`.
async fn wait_for_path(b: &Browser, part: &str) -> String {
    for _ in 0..100 {
        let path = b.path().await;
        if path.contains(part) {
            return path;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the browser never reached {part}; it is on {}", b.path().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_the_agency_fixes_a_refused_upload_and_submits() {
    let w = world().await;
    let Some(b) = Browser::start(&w.app).await else { return };
    b.login(AGENCY, PASSWORD).await;
    b.goto(&w.new_form(&w.period)).await;
    b.fill(&format!("#f-value_{}", w.reach), "480.000").await;
    b.fill(&format!("#f-value_{}", w.sentiment), "-3,5").await;
    b.fill("#f-narrative", "Buen mes, con quejas por envíos").await;
    b.client.execute("document.getElementById('form-h').scrollIntoView()", vec![]).await.unwrap();
    b.screenshot("report-form").await;
    b.click("button[name=action][value=save]").await;
    let path = wait_for_path(&b, "notice=rep_saved").await;
    let id: Uuid = path.trim_start_matches("/reports/").split('?').next().unwrap().parse().unwrap();
    assert!(b.main_text().await.contains("Se ha guardado el borrador."));

    // A file with one bad row: refused, the row shown with its error, nothing stored.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("cifras.csv");
    std::fs::write(&bad, "kpi;valor\nAlcance;510.000\nSentimiento neto;doce\n").unwrap();
    b.find("#f-file").await.send_keys(bad.to_str().unwrap()).await.unwrap();
    b.click(".upload-form button[type=submit]").await;
    b.find(".upload-preview .cell-error").await;
    let text = b.main_text().await;
    assert!(text.contains("fila 3, columna valor: no es un número"), "{text}");
    assert!(text.contains("No se ha guardado nada"));
    b.screenshot("report-upload-error").await;
    assert_eq!(w.detail(id).await.versions[0].values[0].value, 480_000.0, "nothing stored");

    // Fixed, and submitted with the upload.
    let fixed = dir.path().join("cifras-corregidas.csv");
    std::fs::write(&fixed, "kpi;valor\nAlcance;510.000\nSentimiento neto;-2,5\n").unwrap();
    b.find("#f-file").await.send_keys(fixed.to_str().unwrap()).await.unwrap();
    b.click("#f-upload-submit").await;
    b.click(".upload-form button[type=submit]").await;
    wait_for_path(&b, "notice=rep_submitted").await;
    assert!(b.main_text().await.contains("Se ha enviado el informe a revisión."));
    let detail = w.detail(id).await;
    assert_eq!(detail.report.status, ReportStatus::Submitted);
    assert_eq!(detail.versions[0].values.iter().map(|v| v.value).collect::<Vec<_>>(), [510_000.0, -2.5]);
    assert_eq!(detail.versions[0].narrative, "Buen mes, con quejas por envíos", "the comment is kept");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a_lead_requests_a_change_then_accepts() {
    let w = world().await;
    let id = w.submitted(&w.period, 480_000.0).await;
    let Some(b) = Browser::start(&w.app).await else { return };
    b.login(LEAD, PASSWORD).await;
    b.goto(&format!("/reports/{id}")).await;
    b.fill(&format!("#f-vc_{}", w.reach), "Falta el alcance de TikTok").await;
    b.screenshot("report-review").await;
    b.click("button[name=decision][value=request_changes]").await;
    wait_for_path(&b, "notice=rep_changes_requested").await;
    assert_eq!(w.detail(id).await.report.status, ReportStatus::ChangesRequested);
    assert!(b.main_text().await.contains("Falta el alcance de TikTok"));

    // The agency answers through its form.
    let agency = WebSession::login(&w.app, AGENCY).await;
    let reach = format!("value_{}", w.reach);
    let sentiment = format!("value_{}", w.sentiment);
    let answer = [(reach.as_str(), "520000"), (sentiment.as_str(), "4"), ("action", "submit")];
    let (status, _, _) = agency.post_form(&format!("/reports/{id}"), &answer).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    b.goto(&format!("/reports/{id}")).await;
    assert!(b.main_text().await.contains("520,000"));
    b.click("button[name=decision][value=accept]").await;
    wait_for_path(&b, "notice=rep_accepted").await;
    assert!(b.main_text().await.contains("The report was accepted."));
    assert_eq!(w.detail(id).await.report.status, ReportStatus::Accepted);
    b.logout().await;
    b.close().await;
}
