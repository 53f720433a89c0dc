//! KPI digests: subscriptions and their validation, weeks of digests walked through with the
//! clock (DST changes in Madrid both ways, Bogotá without DST, month ends and the 31st), each
//! period sent once to a real SMTP server with its charts inline, the catch-up window (long
//! downtime: `digests_downtime`), fail
//! closed, skipping unchanged digests, the preview, the command line, and the scheduler with
//! two replicas.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use mail_parser::MimeHeaders;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::domain::enums::{Language, Role};

use crate::{
    helpers::{Caller, TestApp, id_of, kpi_body, scope_body},
    mailsink::{Mode, Received, SmtpSink},
};

/// An active engagement on a monthly cadence from 2026-01-01, with one KPI, reported (red)
/// for the given periods; the lead Javier (Spanish, Madrid) and the executive Elena (English, Bogotá).
pub struct World {
    pub app: TestApp,
    pub admin: Caller,
    pub lead: Caller,
    pub exec: Caller,
    pub agency: Caller,
    pub engagement: Uuid,
    pub kpi: Uuid,
}

pub async fn world(app: TestApp, start: &str, reported: &[&str]) -> World {
    app.clock.set(start.parse().unwrap());
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let lead = app.actor("javier@brisa.example", Role::Lead, None).await;
    let exec_id = app.user_in("elena@brisa.example", Role::Executive, None, Language::En).await;
    let (status, body) = app
        .call(
            Some(&admin),
            reqwest::Method::PATCH,
            &format!("/api/v1/users/{exec_id}"),
            Some(json!({ "timezone": "America/Bogota" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let exec = Caller { id: exec_id, token: app.token_for(exec_id).await };
    let agency = app.actor("lucia@marea.example", Role::Vendor, Some(vendor)).await;
    let mut body = crate::helpers::engagement_body(vendor, "internal", Some(lead.id));
    body["start_date"] = json!("2026-01-01");
    body["end_date"] = json!("2027-12-31");
    body["title"] = json!("Comunidad Brisa · Ñandú");
    let (_, e) = app.post(&lead, "/api/v1/engagements", body).await;
    let engagement = id_of(&e);
    let base = format!("/api/v1/engagements/{engagement}");
    app.post(&lead, &format!("{base}/scope"), scope_body()).await;
    let kpi = id_of(&app.post(&lead, &format!("{base}/kpis"), kpi_body("Tasa de interacción")).await.1);
    for (who, role) in [(&lead, "lead"), (&exec, "executive"), (&agency, "agency_contact")] {
        let (status, body) =
            app.post(&lead, &format!("{base}/team"), json!({ "user_id": who.id, "team_role": role })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    app.activate(&lead, engagement).await;
    let w = World { app, admin, lead, exec, agency, engagement, kpi };
    for period in reported {
        w.report(period, 2.1).await;
    }
    w
}

impl World {
    pub async fn report(&self, period: &str, value: f64) {
        let report = json!({
            "period_start": period,
            "values": [{ "kpi_id": self.kpi, "value": value, "breakdown": { "instagram": value } }],
            "signals": [{ "category": "criticism", "severity": "high", "description": "Quejas por envíos lentos" }],
            "submit": true,
        });
        let path = format!("/api/v1/engagements/{}/reports", self.engagement);
        let (status, body) = self.app.post(&self.agency, &path, report).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // Accepted at once, so that no approval is pending (and turns overdue) in the digests.
        let review = format!("/api/v1/reports/{}/review", id_of(&body));
        let (status, body) = self.app.post(&self.lead, &review, json!({ "decision": "accept" })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// A fresh admin token: walks outlive tokens.
    async fn admin(&self) -> Caller {
        Caller { id: self.admin.id, token: self.app.token_for(self.admin.id).await }
    }

    /// `POST /api/v1/digests/run`, as an admin would.
    pub async fn run(&self) -> Value {
        let (status, body) = self.app.post(&self.admin().await, "/api/v1/digests/run", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// The digest job, called as the scheduler calls it.
    pub async fn job(&self) -> veedor::app::digests::run::RunReport {
        let state = &self.app.state;
        let settings = veedor::app::digests::run::RunSettings::from_config(&state.config);
        veedor::app::digests::run::run(&state.db, &state.rules.notifier, self.app.clock_now(), settings).await.unwrap()
    }

    pub async fn digests(&self) -> Vec<Value> {
        let (status, body) = self.app.get(&self.admin().await, "/api/v1/notifications").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut rows: Vec<Value> = body.as_array().unwrap().iter().filter(|n| n["kind"] == "digest").cloned().collect();
        rows.sort_by_key(|n| n["created_at"].as_str().unwrap_or_default().to_string());
        rows
    }

    pub async fn subscriptions(&self, who: &Caller) -> Vec<Value> {
        let who = Caller { id: who.id, token: self.app.token_for(who.id).await };
        let (status, body) = self.app.get(&who, "/api/v1/digests").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    /// Waits until every queued message is delivered (a message reaches the server just
    /// before its worker records it).
    pub async fn delivered(&self) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (_, all) = self.app.get(&self.admin().await, "/api/v1/notifications").await;
            if all.as_array().unwrap().iter().all(|n| n["status"] == "sent") {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "still being sent: {all}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Walks the clock from now to `until` in `step`s, running the digests at each.
    pub async fn walk(&self, until: &str, step: Duration) {
        let until: DateTime<Utc> = until.parse().unwrap();
        while self.app.clock_now() < until {
            self.app.clock.advance(step);
            self.job().await;
        }
    }
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[tokio::test]
async fn subscriptions_are_checked_by_field_and_executives_get_a_weekly_one_on_joining_a_team() {
    let w = world(TestApp::spawn().await, "2026-03-02T10:00:00Z", &["2026-01-01"]).await;
    let app = &w.app;
    // Elena joined the team as executive: Mondays at 08:00 in her zone, in English.
    let elena = w.subscriptions(&w.exec).await;
    assert_eq!(elena.len(), 1, "{elena:?}");
    assert_eq!(elena[0]["cadence"], json!({ "every": "weekly", "weekday": "Mon" }));
    assert_eq!(
        (elena[0]["local_time"].as_str(), elena[0]["timezone"].as_str()),
        (Some("08:00"), Some("America/Bogota"))
    );
    assert_eq!(elena[0]["language"], "en");
    assert_eq!(elena[0]["next_due_at"], "2026-03-02T13:00:00Z", "08:00 in Bogotá is 13:00 UTC, today");
    assert!(w.subscriptions(&w.lead).await.is_empty(), "leads choose their own");

    let before = app.snapshot().await;
    let cases = [
        (json!({ "cadence": { "every": "monthly", "day": 32 } }), "cadence.day"),
        (json!({ "cadence": { "every": "daily" }, "local_time": "25:00" }), "local_time"),
        (json!({ "cadence": { "every": "daily" }, "timezone": "Mars/Olympus" }), "timezone"),
        (json!({ "cadence": { "every": "daily" }, "engagement_ids": [Uuid::now_v7()] }), "engagement_ids[0]"),
        (json!({ "cadence": { "every": "hourly" } }), "cadence.every"),
        (json!({ "cadence": { "every": "daily" }, "colour": "red" }), "colour"),
        (json!({ "cadence": { "every": "daily" }, "user_id": w.agency.id }), "user_id"),
    ];
    for (body, field) in cases {
        let response =
            app.client.post(app.url("/api/v1/digests")).bearer_auth(&w.admin.token).json(&body).send().await.unwrap();
        crate::helpers::assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, field).await;
    }
    assert_eq!(app.snapshot().await, before, "refused input changes nothing");
    let (status, _) = app.post(&w.agency, "/api/v1/digests", json!({ "cadence": { "every": "daily" } })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the agency has no digests");

    // Javier subscribes: daily at 07:30 in Madrid, only this engagement.
    let body = json!({ "cadence": { "every": "daily" }, "local_time": "07:30", "engagement_ids": [w.engagement] });
    let (status, created) = app.post(&w.lead, "/api/v1/digests", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["next_due_at"], "2026-03-03T06:30:00Z");
    assert_eq!(created["language"], "es");
    let id = id_of(&created);
    let (status, changed) = app
        .call(
            Some(&w.lead),
            reqwest::Method::PUT,
            &format!("/api/v1/digests/{id}"),
            Some(json!({ "cadence": { "every": "monthly", "day": 31 }, "local_time": "09:00" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["next_due_at"], "2026-03-31T07:00:00Z", "the 31st at 09:00 in Madrid, summer time");
    assert_eq!(changed["engagement_ids"], Value::Null, "PUT replaces the whole subscription");
    let (status, _) = app.get(&w.exec, &format!("/api/v1/digests/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another user's subscription is invisible");
    let (status, audit) =
        app.get(&w.admin, &format!("/api/v1/audit?object_type=digest_subscription&object_id={id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(audit.to_string().contains(&id.to_string()), "the change is audited: {audit}");
    let (status, _) = app.call(Some(&w.lead), reqwest::Method::DELETE, &format!("/api/v1/digests/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(w.subscriptions(&w.lead).await.is_empty());
}

/// What a digest shows, read from the received message.
fn check_digest(m: &Received, language: Language) {
    let parsed = m.parsed();
    let html = m.html();
    let text = m.text();
    assert!(text.contains("Comunidad Brisa · Ñandú") && html.contains("Comunidad Brisa · Ñandú"));
    let word = match language {
        Language::Es => "Fuera de objetivo",
        Language::En => "Off track",
    };
    assert!(text.contains(word) && html.contains(word), "status in words beside the colour:\n{text}");
    // One chart per KPI: an inline PNG whose Content-ID the HTML names, with alt text.
    let images: Vec<_> = parsed
        .attachments()
        .filter(|a| a.content_type().is_some_and(|c| c.c_subtype.as_deref() == Some("png")))
        .collect();
    assert_eq!(images.len(), 1, "one chart");
    let cid = images[0].content_id().expect("inline image with a Content-ID").to_string();
    assert!(html.contains(&format!("cid:{cid}")), "the HTML shows the chart by cid");
    assert!(html.contains("alt=\""), "alt text");
    assert!(images[0].contents().starts_with(b"\x89PNG"), "a PNG");
    assert!(!html.contains("<svg") && !html.contains("<link"), "no SVG, no external CSS");
}

#[tokio::test]
async fn weeks_of_digests_arrive_once_each_at_the_local_hour_across_dst_and_month_ends() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| {
        c.smtp_url = Some(url);
        c.base_url = "https://veedor.brisa.example".into();
    })
    .await;
    let w = world(app, "2026-03-16T12:00:00Z", &["2026-01-01", "2026-02-01"]).await;
    // Javier: daily at 07:30 in Madrid, and monthly on the 31st at 09:00.
    for body in [
        json!({ "cadence": { "every": "daily" }, "local_time": "07:30" }),
        json!({ "cadence": { "every": "monthly", "day": 31 }, "local_time": "09:00" }),
    ] {
        let (status, b) = w.app.post(&w.lead, "/api/v1/digests", body).await;
        assert_eq!(status, StatusCode::CREATED, "{b}");
    }
    // Spring: Madrid moves to summer time on 29 March. Walk half-hours to 7 April.
    w.walk("2026-04-07T00:00:00Z", Duration::minutes(30)).await;
    let sent = w.digests().await;
    let by: BTreeMap<String, Vec<String>> = sent.iter().fold(BTreeMap::new(), |mut m, n| {
        m.entry(n["to_address"].as_str().unwrap().to_string())
            .or_default()
            .push(n["created_at"].as_str().unwrap().to_string());
        m
    });
    let javier = &by["javier@brisa.example"];
    // Daily at 07:30 Madrid: 06:30 UTC in winter, 05:30 UTC from 29 March; plus 31 March.
    let daily: Vec<&String> = javier.iter().filter(|t| !t.starts_with("2026-03-31T07:00")).collect();
    assert_eq!(daily.len(), 21, "17 March to 6 April, one a day: {javier:?}");
    assert!(daily.iter().take(12).all(|t| t.contains("T06:30:00")), "{daily:?}");
    assert!(daily.iter().skip(12).all(|t| t.contains("T05:30:00")), "{daily:?}");
    assert!(javier.iter().any(|t| t.starts_with("2026-03-31T07:00:00")), "the monthly one on the 31st: {javier:?}");
    // Elena: weekly, Mondays at 08:00 in Bogotá (no DST): always 13:00 UTC.
    assert_eq!(
        by["elena@brisa.example"],
        ["2026-03-16T13:00:00Z", "2026-03-23T13:00:00Z", "2026-03-30T13:00:00Z", "2026-04-06T13:00:00Z"]
    );

    // Each period once at the server, charts inline, in the recipient's language.
    w.delivered().await;
    let received: Vec<Received> = sink
        .messages()
        .into_iter()
        .filter(|m| m.subject().contains("digest") || m.subject().contains("Resumen"))
        .collect();
    assert_eq!(received.len(), sent.len(), "no duplicates, none missing");
    let elena: Vec<&Received> = received.iter().filter(|m| m.rcpt_tos == ["elena@brisa.example"]).collect();
    assert_eq!(elena.len(), 4);
    assert!(elena[0].subject().starts_with("[Veedor] Weekly digest"), "{}", elena[0].subject());
    check_digest(elena[0], Language::En);
    let monthly = received.iter().find(|m| m.subject().contains("Resumen mensual")).expect("the monthly digest");
    assert!(monthly.subject().contains("28/02/2026 – 30/03/2026"), "{}", monthly.subject());
    check_digest(monthly, Language::Es);
    let (_, again) = (w.run().await, w.digests().await);
    assert_eq!(again.len(), sent.len(), "running again sends nothing");

    // Months later (beyond the catch-up window) nothing is replayed: skipped and counted.
    w.app.clock.set(at("2026-10-20T12:00:00Z"));
    let report = w.run().await;
    // Javier's daily digest of this morning (05:30 UTC) is within the 12-hour window; his
    // monthly of 30 September and Elena's weekly of yesterday, the latest of theirs and
    // younger than their cadence, go out late (see digests_downtime.rs).
    assert_eq!((report["queued"].as_u64(), report["late"].as_u64()), (Some(3), Some(2)), "{report}");
    assert!(report["skipped"].as_u64().unwrap() > 150, "{report}");
    // Autumn: Madrid returns to winter time on 25 October.
    let before = w.digests().await.len();
    w.walk("2026-10-28T00:00:00Z", Duration::minutes(30)).await;
    let times: Vec<String> = w.digests().await[before..]
        .iter()
        .filter(|n| n["to_address"] == "javier@brisa.example")
        .map(|n| n["created_at"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(times.len(), 7, "{times:?}");
    assert!(times.iter().take(4).all(|t| t.contains("T05:30:00")), "summer time until the 24th: {times:?}");
    assert!(times.iter().skip(4).all(|t| t.contains("T06:30:00")), "winter time from the 25th: {times:?}");
    let subs = w.subscriptions(&w.lead).await;
    let monthly = subs.iter().find(|s| s["cadence"]["every"] == "monthly").unwrap();
    assert_eq!(monthly["next_due_at"], "2026-10-31T08:00:00Z", "31 October at 09:00, winter time");
}

#[tokio::test]
async fn a_monthly_digest_on_the_31st_goes_out_on_every_months_last_day() {
    let w = world(TestApp::spawn().await, "2026-01-01T12:00:00Z", &[]).await;
    let body = json!({ "cadence": { "every": "monthly", "day": 31 }, "local_time": "09:00" });
    assert_eq!(w.app.post(&w.lead, "/api/v1/digests", body).await.0, StatusCode::CREATED);
    w.walk("2027-01-01T12:00:00Z", Duration::hours(12)).await;
    let days: Vec<String> = w
        .digests()
        .await
        .iter()
        .filter(|n| n["to_address"] == "javier@brisa.example")
        .map(|n| n["created_at"].as_str().unwrap()[..10].to_string())
        .collect();
    assert_eq!(
        days,
        [
            "2026-01-31",
            "2026-02-28",
            "2026-03-31",
            "2026-04-30",
            "2026-05-31",
            "2026-06-30",
            "2026-07-31",
            "2026-08-31",
            "2026-09-30",
            "2026-10-31",
            "2026-11-30",
            "2026-12-31"
        ]
    );
    let subs = w.subscriptions(&w.lead).await;
    assert!(subs[0]["last_period"].as_str().unwrap().starts_with("2026-11-30.."), "{subs:?}");
}

#[tokio::test]
async fn a_digest_whose_data_cannot_be_read_is_not_sent_but_recorded_and_alerted() {
    let w = world(TestApp::spawn().await, "2026-03-02T12:00:00Z", &["2026-01-01"]).await;
    let body = json!({ "cadence": { "every": "daily" }, "local_time": "07:30" });
    let id = id_of(&w.app.post(&w.lead, "/api/v1/digests", body).await.1);
    let db = &w.app.state.db;
    use sea_orm::ConnectionTrait;
    db.execute_unprepared("ALTER TABLE report_signals RENAME TO report_signals_away").await.unwrap();
    w.app.clock.set(at("2026-03-03T07:00:00Z"));
    let report = w.run().await;
    // Javier's daily digest, and Elena's weekly of yesterday (13:00 UTC), missed beyond the
    // catch-up window and the latest of hers: neither can be built.
    assert_eq!(report["failed"], 2, "{report}");
    db.execute_unprepared("ALTER TABLE report_signals_away RENAME TO report_signals").await.unwrap();
    assert!(w.digests().await.is_empty(), "no half-empty digest");
    let (_, sub) = w.app.get(&w.lead, &format!("/api/v1/digests/{id}")).await;
    assert!(sub["last_error"].as_str().unwrap().contains("report_signals"), "{sub}");
    assert_eq!(sub["next_due_at"], "2026-03-03T06:30:00Z", "still due");
    let (_, alerts) = w.app.get(&w.admin, "/api/v1/alerts?rule=digest_failed").await;
    let firing: Vec<&Value> = alerts.as_array().unwrap().iter().filter(|a| a["state"] == "firing").collect();
    assert!(!firing.is_empty(), "the admins are alerted: {alerts}");
    let (_, lead_view) = w.app.get(&w.lead, "/api/v1/alerts?rule=digest_failed").await;
    assert_eq!(lead_view, json!([]), "an operational alert is the admins'");

    // The next run, data readable again: the digest goes out and the alert resolves.
    w.app.clock.advance(Duration::minutes(1));
    let report = w.run().await;
    assert_eq!((report["queued"].as_u64(), report["late"].as_u64()), (Some(2), Some(1)), "{report}");
    let (_, sub) = w.app.get(&w.lead, &format!("/api/v1/digests/{id}")).await;
    assert_eq!(sub["last_error"], Value::Null);
    let (_, alerts) = w.app.get(&w.admin, "/api/v1/alerts?rule=digest_failed").await;
    assert!(alerts.as_array().unwrap().iter().all(|a| a["state"] == "resolved"), "{alerts}");
}

#[tokio::test]
async fn an_unchanged_digest_is_skipped_when_asked_and_sent_again_once_something_changes() {
    let w = world(TestApp::spawn().await, "2026-03-10T12:00:00Z", &["2026-01-01", "2026-02-01"]).await;
    let body = json!({ "cadence": { "every": "daily" }, "local_time": "07:30", "skip_unchanged": true });
    let id = id_of(&w.app.post(&w.lead, "/api/v1/digests", body).await.1);
    let mine = |all: Vec<Value>| all.into_iter().filter(|n| n["to_address"] == "javier@brisa.example").count();
    // The reports arrived on the 10th: the digest of the 10th shows their signals, that of
    // the 11th no longer does (signals are the period's), that of the 12th says the same.
    for (day, expected) in [("2026-03-11", 1), ("2026-03-12", 2), ("2026-03-13", 2)] {
        w.app.clock.set(at(&format!("{day}T07:00:00Z")));
        w.run().await;
        assert_eq!(mine(w.digests().await), expected, "{day}");
    }
    let (_, sub) = w.app.get(&w.lead, &format!("/api/v1/digests/{id}")).await;
    assert_eq!(sub["skipped"], 1, "the 12th said what the 11th said: {sub}");
    let incident =
        json!({ "title": "Caída del chat", "severity": "high", "description": "Sin atención desde las 9:00" });
    let (status, body) =
        w.app.post(&w.agency, &format!("/api/v1/engagements/{}/incidents", w.engagement), incident).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    w.app.clock.set(at("2026-03-14T07:00:00Z"));
    w.run().await;
    assert_eq!(mine(w.digests().await), 3, "an incident opened (an alert fires): sent");
}

#[tokio::test]
async fn the_preview_shows_the_digest_with_its_charts_and_the_command_line_writes_one() {
    let w = world(TestApp::spawn().await, "2026-03-02T12:00:00Z", &["2026-01-01"]).await;
    let response =
        w.app.client.get(w.app.url("/api/v1/digests/preview")).bearer_auth(&w.exec.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("Weekly digest") || html.contains("Digest for"), "Elena's default, in English");
    assert!(html.contains("data:image/png;base64,") && !html.contains("cid:"), "charts inlined for the browser");
    let (status, text) = w.app.get(&w.exec, "/api/v1/digests/preview?format=text&from=2026-01-01&to=2026-01-31").await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.as_str().unwrap().contains("Jan 1, 2026 to Jan 31, 2026"), "{text}");
    let response = w
        .app
        .client
        .get(w.app.url("/api/v1/digests/preview?from=2026-02-01"))
        .bearer_auth(&w.exec.token)
        .send()
        .await
        .unwrap();
    crate::helpers::assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "to").await;

    // `veedor digest send --dry-run` against the same database writes the message to a file.
    let out = tempfile::tempdir().unwrap();
    let args = ["digest", "send", "--dry-run", "--to", "elena@brisa.example", "--period", "2026-01-01..2026-01-31"];
    let mut args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    args.extend([std::ffi::OsStr::new("--out"), out.path().as_os_str()]);
    let output = crate::helpers::run_veedor(&w.app.config.database_url, &args).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let files: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    // It names the file it wrote.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.trim_end().ends_with(&format!("written to {}", files[0].display())), "{stdout} vs {files:?}");
    let raw = std::fs::read(&files[0]).unwrap();
    let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert!(m.subject().unwrap().contains("Jan 1, 2026 – Jan 31, 2026"), "{:?}", m.subject());
    assert_eq!(m.attachments().count(), 1, "the chart travels with it");
    assert!(w.digests().await.is_empty(), "a dry run queues nothing");
}

/// `veedor digest send` for a period whose digest failed for good queues that digest again
/// (it used to answer "was queued already" whatever had become of it), and says so; for a
/// digest sent already it says that, and sends nothing more.
#[tokio::test]
async fn the_command_line_queues_a_failed_digest_again() {
    let mut sink = SmtpSink::start(Mode::Reject(550)).await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| {
        c.smtp_url = Some(url);
        c.base_url = "https://veedor.brisa.example".into();
    })
    .await;
    let w = world(app, "2026-03-02T12:00:00Z", &["2026-01-01"]).await;
    let body = json!({ "cadence": { "every": "monthly", "day": 1 }, "local_time": "09:00" });
    let (status, b) = w.app.post(&w.lead, "/api/v1/digests", body).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    // The command line queues at the system's time: the server's clock goes past it.
    w.app.clock.set(Utc::now() + Duration::hours(1));
    let url = w.app.config.database_url.clone();
    let send = || {
        let url = url.clone();
        async move {
            let args = ["digest", "send", "--to", "javier@brisa.example", "--period", "2026-01-01..2026-01-31"];
            let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
            let output = crate::helpers::run_veedor(&url, &args).await;
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            String::from_utf8_lossy(&output.stdout).to_string()
        }
    };
    assert!(send().await.contains("queued"));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !w.digests().await.iter().any(|n| n["status"] == "failed") {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", w.digests().await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    sink.restart(Mode::Accept).await;
    let out = send().await;
    assert!(out.contains("queued again"), "{out}");
    // Only the digests: with the clock this far on, alerts about late reports go out too.
    let digests = |sink: &SmtpSink| sink.messages().into_iter().filter(|m| m.subject().contains("Resumen")).count();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while digests(&sink) < 1 || w.digests().await.iter().any(|n| n["status"] != "sent") {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", w.digests().await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let out = send().await;
    assert!(out.contains("sent already"), "{out}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(digests(&sink), 1, "once");
    assert_eq!(w.digests().await.len(), 1, "the same message, not a second one");
}
