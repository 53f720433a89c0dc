//! Periods, due dates, missing and late reports (issue 14): one due date on every surface,
//! one count of missing and late reports everywhere, no one-day period, and no repeated
//! "report missing" email when a late report arrives.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::domain::enums::Role;

use crate::{
    helpers::{Caller, TestApp, id_of, kpi_body, scope_body},
    mailsink::{Mode, SmtpSink},
    webkit::WebSession,
};

/// An active monthly engagement in Madrid (due 5 days after each period), led by Javier,
/// reported by Lucía of Marea Digital.
struct World {
    app: TestApp,
    admin: Caller,
    lead: Caller,
    agency: Caller,
    engagement: Uuid,
    kpi: Uuid,
}

const LEAD: &str = "javier@brisa.example";
const AGENCY: &str = "lucia@marea.example";

async fn world(app: TestApp, start: &str, end: &str, clock: &str) -> World {
    app.clock.set(clock.parse().unwrap());
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let lead = app.actor(LEAD, Role::Lead, None).await;
    let agency = app.actor(AGENCY, Role::Vendor, Some(vendor)).await;
    let mut body = crate::helpers::engagement_body(vendor, "internal", Some(lead.id));
    body["start_date"] = json!(start);
    body["end_date"] = json!(end);
    body["title"] = json!("Comunidad Brisa");
    let (status, e) = app.post(&lead, "/api/v1/engagements", body).await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let engagement = id_of(&e);
    let base = format!("/api/v1/engagements/{engagement}");
    app.post(&lead, &format!("{base}/scope"), scope_body()).await;
    let kpi = id_of(&app.post(&lead, &format!("{base}/kpis"), kpi_body("Tasa de engagement")).await.1);
    for (who, role) in [(&lead, "lead"), (&agency, "agency_contact")] {
        let (status, body) =
            app.post(&lead, &format!("{base}/team"), json!({ "user_id": who.id, "team_role": role })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    app.activate(&lead, engagement).await;
    World { app, admin, lead, agency, engagement, kpi }
}

impl World {
    fn set_clock(&self, at: &str) {
        self.app.clock.set(at.parse::<DateTime<Utc>>().unwrap());
    }

    /// Submits the report of the period starting on `period_start`, at the clock's time.
    async fn submit(&self, period_start: &str) {
        let report = json!({
            "period_start": period_start,
            "values": [{ "kpi_id": self.kpi, "value": 2.8, "breakdown": { "instagram": 2.8 } }],
            "submit": true,
        });
        let path = format!("/api/v1/engagements/{}/reports", self.engagement);
        let (status, body) = self.app.post(&self.agency, &path, report).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    async fn evaluate(&self) -> Value {
        let (status, body) = self.app.post(&self.admin, "/api/v1/alerts/evaluate", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn alert(&self, rule: &str) -> Value {
        let (_, alerts) = self.app.get(&self.admin, &format!("/api/v1/alerts?rule={rule}")).await;
        alerts.as_array().and_then(|a| a.first()).cloned().unwrap_or(Value::Null)
    }

    async fn periods(&self) -> Vec<Value> {
        let (status, body) =
            self.app.get(&self.lead, &format!("/api/v1/engagements/{}/periods", self.engagement)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    async fn dashboard_periods(&self) -> Vec<Value> {
        let path = format!("/api/v1/engagements/{}/dashboard?from=2026-01-01&to=2027-12-31", self.engagement);
        let (status, body) = self.app.get(&self.lead, &path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["periods"].as_array().unwrap().clone()
    }

    async fn digest_text(&self, from: &str, to: &str) -> String {
        let path = format!("/api/v1/digests/preview?format=text&from={from}&to={to}");
        let response = self.app.client.get(self.app.url(&path)).bearer_auth(&self.lead.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }
}

#[tokio::test]
async fn one_due_date_on_every_surface() {
    // November's report is due on 5 December; it is 10 December and nothing came.
    let w = world(TestApp::spawn().await, "2026-11-01", "2027-10-31", "2026-11-02T10:00:00Z").await;
    w.set_clock("2026-12-10T10:00:00Z");
    let periods = w.periods().await;
    assert_eq!(periods[0]["due_date"], "2026-12-05");
    assert!(periods[0].get("due_at").is_none(), "no instant that reads as the next day: {}", periods[0]);
    let dashboard = w.dashboard_periods().await;
    assert_eq!(
        (dashboard[0]["due_date"].as_str(), dashboard[0]["missing"].as_bool()),
        (Some("2026-12-05"), Some(true))
    );
    assert!(dashboard[0].get("due_at").is_none(), "{}", dashboard[0]);

    let lead = WebSession::login(&w.app, LEAD).await;
    let agency = WebSession::login(&w.app, AGENCY).await;
    let id = w.engagement;
    for (who, session, path) in [
        ("lead", &lead, format!("/engagements/{id}")),
        ("lead", &lead, format!("/engagements/{id}/reports")),
        ("agency", &agency, "/".to_string()),
        ("agency", &agency, format!("/engagements/{id}/reports/new?period_start=2026-11-01")),
    ] {
        let (status, page) = session.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{who} {path}");
        // minijinja escapes `/` in HTML.
        let page = page.replace("&#x2f;", "/");
        assert!(page.contains("05/12/2026"), "{who} {path} shows the due date:\n{page}");
        assert!(!page.contains("06/12/2026"), "{who} {path} shows the day after the due date");
        assert!(!page.contains("2026-12-05"), "{who} {path} shows an unformatted date");
    }

    // The alert's facts carry the same calendar date.
    w.evaluate().await;
    assert_eq!(w.alert("report_missing").await["facts"]["due_date"], "2026-12-05");
}

#[tokio::test]
async fn the_digest_lists_late_reports_on_their_due_date() {
    // January is due on 5 February and arrives late, on the 10th; February is due on
    // 5 March and never arrives.
    let w = world(TestApp::spawn().await, "2026-01-01", "2026-12-31", "2026-01-10T10:00:00Z").await;
    w.set_clock("2026-02-10T10:00:00Z");
    w.submit("2026-01-01").await;
    w.set_clock("2026-03-10T10:00:00Z");
    let text = w.digest_text("2026-02-01", "2026-03-09").await;
    assert!(text.contains("vencía el 05/02/2026; entregado tarde"), "{text}");
    assert!(text.contains("vencía el 05/03/2026; falta"), "{text}");
    assert!(!text.contains("06/02/2026") && !text.contains("06/03/2026"), "one day late:\n{text}");
    // A digest of the days up to the due date itself holds the late report too.
    let text = w.digest_text("2026-02-01", "2026-02-05").await;
    assert!(text.contains("vencía el 05/02/2026; entregado tarde"), "{text}");
    // The next one does not list it again.
    let text = w.digest_text("2026-02-06", "2026-02-12").await;
    assert!(!text.contains("05/02/2026"), "{text}");
}

#[tokio::test]
async fn every_surface_counts_the_same_missing_and_late_reports() {
    // The contract ends on 15 October 2026; it is 20 August. January to July are due (July
    // on 5 August): January came late, August early (before its due date), the other six
    // never came.
    let w = world(TestApp::spawn().await, "2026-01-01", "2026-10-15", "2026-01-10T10:00:00Z").await;
    w.set_clock("2026-02-10T10:00:00Z");
    w.submit("2026-01-01").await;
    w.set_clock("2026-08-20T10:00:00Z");
    w.submit("2026-08-01").await;
    w.evaluate().await;

    let missing = w.alert("report_missing").await;
    assert_eq!(missing["facts"]["count"], 6, "{missing}");
    let packet = w.alert("contract_expiring").await;
    assert_eq!((packet["facts"]["missing"].as_i64(), packet["facts"]["late"].as_i64()), (Some(6), Some(1)), "{packet}");

    let (_, portfolio) = w.app.get(&w.lead, "/api/v1/portfolio").await;
    let item = &portfolio[0];
    assert_eq!((item["missing_periods"].as_i64(), item["late_periods"].as_i64()), (Some(6), Some(1)), "{item}");

    let dashboard = w.dashboard_periods().await;
    let count = |key: &str| dashboard.iter().filter(|p| p[key] == true).count();
    assert_eq!((count("missing"), count("late")), (6, 1));
    crate::helpers::assert_portfolio_matches_dashboards(&w.app, &w.lead).await;

    let text = w.digest_text("2026-08-01", "2026-08-19").await;
    assert_eq!(text.matches("; falta)").count(), 6, "the page's word for a missing report: {text}");

    let lead = WebSession::login(&w.app, LEAD).await;
    let (_, page) = lead.get(&format!("/engagements/{}", w.engagement)).await;
    assert_eq!(page.matches("status-red\"><span class=\"icon\" aria-hidden=\"true\">✖").count(), 6, "{page}");
    let (_, page) = lead.get(&format!("/engagements/{}/reports", w.engagement)).await;
    assert_eq!(page.matches("⏰</span> vencido").count(), 6, "{page}");
}

#[tokio::test]
async fn a_monthly_contract_starting_on_the_31st_owes_no_report_for_one_day() {
    let w = world(TestApp::spawn().await, "2027-01-31", "2027-12-31", "2027-01-31T10:00:00Z").await;
    let periods = w.periods().await;
    let first = &periods[0];
    assert_eq!((first["start_date"].as_str(), first["end_date"].as_str()), (Some("2027-01-31"), Some("2027-02-28")));
    assert_eq!(first["due_date"], "2027-03-05");
    assert_eq!(periods[1]["start_date"], "2027-03-01");
    // On 6 February nothing is missing.
    w.set_clock("2027-02-06T10:00:00Z");
    assert_eq!(w.evaluate().await["fired"], 0);
    assert!(w.alert("report_missing").await.is_null());
    let (_, portfolio) = w.app.get(&w.lead, "/api/v1/portfolio").await;
    assert_eq!(portfolio[0]["missing_periods"], 0);
}

#[tokio::test]
async fn a_late_report_arriving_does_not_repeat_the_missing_report_email() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| {
        c.smtp_url = Some(url);
        c.base_url = "https://veedor.brisa.example".into();
        // No daily repeats: every email below is news, or a defect.
        c.alert_repeat_hours = 24 * 365;
    })
    .await;
    let w = world(app, "2026-01-01", "2026-12-31", "2026-01-10T10:00:00Z").await;
    // January and February are missing on 6 March: the lead and the agency are told.
    w.set_clock("2026-03-06T10:00:00Z");
    let first = w.evaluate().await;
    assert_eq!(first["fired"], 1, "{first}");
    let got = sink.wait_for(2, 10).await;
    assert_eq!(got.len(), 2, "the lead and the agency");
    assert_eq!(w.alert("report_missing").await["facts"]["count"], 2);

    // February's report arrives late: January is still missing, which is not news.
    w.set_clock("2026-03-06T11:00:00Z");
    w.submit("2026-02-01").await;
    assert_eq!(w.evaluate().await["emails"], 0);
    let alert = w.alert("report_missing").await;
    assert_eq!((alert["state"].as_str(), alert["facts"]["count"].as_i64()), (Some("firing"), Some(1)), "{alert}");
    assert_eq!(
        (alert["facts"]["period_start"].as_str(), alert["facts"]["period_end"].as_str()),
        (Some("2026-01-01"), Some("2026-01-31")),
        "{alert}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 2, "no new email");

    // March becoming missing on 6 April is news: both are told again.
    w.set_clock("2026-04-06T10:00:00Z");
    let news = w.evaluate().await;
    assert_eq!(news["emails"], 2, "{news}");
    assert_eq!(sink.wait_for(4, 10).await.len(), 4);
}
