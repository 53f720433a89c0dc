//! Alerts and email delivery against a real SMTP server (the Rust sink on loopback): what fires,
//! who receives it in which language, grouping, repeats, acknowledgement, resolution,
//! silences and quiet hours, walking the clock forward; the outbox under faults (the server
//! down then back, 4xx then 2xx, 5xx, a server that stalls, one that answers too late); and
//! failed messages sent again from the API, the page and the command line.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::{
    db::entity,
    domain::{
        alert::{AlertRule, AlertSeverity, AlertState},
        enums::{Language, Role},
    },
};

use crate::{
    helpers::{Caller, TestApp, id_of, kpi_body, scope_body},
    mailsink::{Mode, Received, SmtpSink},
};

/// An active engagement (owner and lead Javier, Spanish; executive Elena, English; agency
/// contact Lucía) with a realistic KPI and one whose target is not, on a monthly cadence
/// from 2026-01-01 (January's report due on 5 February).
struct World {
    app: TestApp,
    admin: Caller,
    lead: Caller,
    exec: Caller,
    agency: Caller,
    engagement: Uuid,
    kpi: Uuid,
}

async fn world(sink: &SmtpSink, adjust: impl FnOnce(&mut veedor::config::Config)) -> World {
    let url = sink.url();
    let app = TestApp::spawn_with(|c| {
        c.smtp_url = Some(url);
        c.base_url = "https://veedor.brisa.example".into();
        adjust(c);
    })
    .await;
    app.clock.set("2026-01-10T10:00:00Z".parse().unwrap());
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let lead = app.actor("javier@brisa.example", Role::Lead, None).await;
    let exec_id = app.user_in("elena@brisa.example", Role::Executive, None, Language::En).await;
    let exec = Caller { id: exec_id, token: app.token_for(exec_id).await };
    let agency = app.actor("lucia@marea.example", Role::Vendor, Some(vendor)).await;
    let mut body = crate::helpers::engagement_body(vendor, "internal", Some(lead.id));
    body["start_date"] = json!("2026-01-01");
    body["end_date"] = json!("2026-12-31");
    body["title"] = json!("Comunidad Brisa · Ñandú");
    let (_, e) = app.post(&lead, "/api/v1/engagements", body).await;
    let engagement = id_of(&e);
    let base = format!("/api/v1/engagements/{engagement}");
    app.post(&lead, &format!("{base}/scope"), scope_body()).await;
    let kpi = id_of(&app.post(&lead, &format!("{base}/kpis"), kpi_body("Tasa de engagement")).await.1);
    let mut magic = kpi_body("Seguidores");
    magic["unit"] = json!("count");
    magic["baseline"] = json!(10_000);
    magic["target"] = json!(1_000_000);
    magic["warning_threshold"] = json!(900_000);
    magic["critical_threshold"] = json!(500_000);
    let (status, body) = app.post(&lead, &format!("{base}/kpis"), magic).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for (who, role) in [(&lead, "lead"), (&exec, "executive"), (&agency, "agency_contact")] {
        let (status, body) =
            app.post(&lead, &format!("{base}/team"), json!({ "user_id": who.id, "team_role": role })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    app.activate(&lead, engagement).await;
    World { app, admin, lead, exec, agency, engagement, kpi }
}

impl World {
    async fn evaluate(&self) -> Value {
        let (status, body) = self.app.post(&self.admin, "/api/v1/alerts/evaluate", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    fn set_clock(&self, at: &str) {
        self.app.clock.set(at.parse::<DateTime<Utc>>().unwrap());
    }

    async fn alert(&self, rule: &str) -> Value {
        let (_, alerts) = self.app.get(&self.admin, &format!("/api/v1/alerts?rule={rule}")).await;
        alerts[0].clone()
    }

    /// Waits until every queued message has its last attempt recorded (a message reaches the
    /// server just before its worker records it).
    async fn settled(&self) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let all = self.outbox("").await;
            if all.iter().all(|n| n["status"] != "sending") {
                return all;
            }
            assert!(tokio::time::Instant::now() < deadline, "still being sent: {all:?}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    async fn outbox(&self, query: &str) -> Vec<Value> {
        let (status, body) = self.app.get(&self.admin, &format!("/api/v1/notifications{query}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }
}

fn to(m: &Received) -> String {
    assert_eq!(m.rcpt_tos.len(), 1, "one recipient per email: {:?}", m.rcpt_tos);
    m.rcpt_tos[0].clone()
}

/// The messages after the first `seen`, by recipient.
fn newer(all: &[Received], seen: usize) -> Vec<(String, Received)> {
    let mut out: Vec<(String, Received)> = all[seen..].iter().map(|m| (to(m), m.clone())).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn alerts_fire_group_repeat_resolve_and_respect_quiet_hours() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let w = world(&sink, |_| {}).await;
    let app = &w.app;

    // The implausible target fires at once: one email to the owner, who is also the lead.
    let first = w.evaluate().await;
    assert_eq!(first["fired"], 1, "{first}");
    let got = sink.wait_for(1, 10).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(to(m), "javier@brisa.example");
    // The subject names the rule and the object, then the engagement.
    assert_eq!(m.subject(), "[Veedor] Objetivo poco realista: Seguidores — Comunidad Brisa · Ñandú");
    assert!(m.text().contains("no parece realista: supone multiplicar por 100 el valor de partida"), "{}", m.text());
    // minijinja escapes `/` in HTML (`&#x2f;`), which every mail client decodes. The link is
    // the KPI's card on the engagement page, built from the router's paths.
    let html = m.html().replace("&#x2f;", "/");
    let target_kpi = w.alert("implausible_target").await["subject_id"].as_str().unwrap().to_string();
    assert!(
        html.contains(&format!("href=\"https://veedor.brisa.example/engagements/{}#kpi-{target_kpi}\"", w.engagement)),
        "{html}"
    );
    assert!(
        html.contains("href=\"https://veedor.brisa.example/settings/notifications\""),
        "the footer links to the notification settings page"
    );
    assert!(m.html().contains("<table"), "table layout");
    assert_eq!(w.evaluate().await["emails"], 0, "nothing new: nothing sent");

    // January's report is late: the agency, the lead and the owner hear of it. The lead's
    // email groups it with the repeat of the unacknowledged target alert.
    w.set_clock("2026-02-06T10:00:00Z");
    let second = w.evaluate().await;
    assert_eq!((second["fired"].as_i64(), second["emails"].as_i64()), (Some(1), Some(2)), "{second}");
    let got = sink.wait_for(3, 10).await;
    let by = newer(&got, 1);
    assert_eq!(by.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), ["javier@brisa.example", "lucia@marea.example"]);
    let javier = &by[0].1;
    assert_eq!(
        javier.subject(),
        "[Veedor] Informe pendiente: enero de 2026 — Comunidad Brisa · Ñandú (y otra alerta más)"
    );
    assert!(javier.text().contains("Falta el informe de enero de 2026; vencía el 05/02/2026."), "{}", javier.text());
    assert!(javier.text().contains("(recordatorio)"), "{}", javier.text());
    let lucia = &by[1].1;
    assert!(lucia.text().contains("Falta el informe") && !lucia.text().contains("realista"), "{}", lucia.text());

    // Acknowledged: no more repeats of the target alert; the late report still repeats daily.
    let target = w.alert("implausible_target").await;
    let (status, acked) =
        app.post(&w.lead, &format!("/api/v1/alerts/{}/acknowledge", target["id"].as_str().unwrap()), json!({})).await;
    assert_eq!((status, acked["acknowledged_by"].clone()), (StatusCode::OK, json!(w.lead.id)), "{acked}");
    w.set_clock("2026-02-07T10:00:01Z");
    assert_eq!(w.evaluate().await["emails"], 2);
    let got = sink.wait_for(5, 10).await;
    let by = newer(&got, 3);
    assert!(by[0].1.text().contains("Falta el informe") && !by[0].1.text().contains("realista"));

    // The late report arrives: the alert resolves in the same transaction, and says so once.
    let report = json!({
        "period_start": "2026-01-01",
        "values": [{ "kpi_id": w.kpi, "value": 2.8, "breakdown": { "instagram": 2.8 } }],
        "submit": true,
    });
    let (status, body) = app.post(&w.agency, &format!("/api/v1/engagements/{}/reports", w.engagement), report).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(w.alert("report_missing").await["state"], "resolved");
    let got = sink.wait_for(7, 10).await;
    let by = newer(&got, 5);
    assert_eq!(by.len(), 2);
    for (_, m) in &by {
        assert_eq!(m.subject(), "[Veedor] Resuelta: Informe pendiente: enero de 2026 — Comunidad Brisa · Ñandú");
        assert!(m.text().contains("Resueltas:"), "{}", m.text());
    }
    assert_eq!(w.evaluate().await["emails"], 0, "a resolution is told once");

    // Quiet hours: at 23:00 in Madrid a medium incident waits until 07:00 for the lead; a
    // critical one reaches him at once, and the executive, in English.
    let prefs = json!({ "quiet_start": "22:00", "quiet_end": "07:00", "muted_rules": [] });
    let (status, _) =
        app.call(Some(&w.lead), reqwest::Method::PUT, "/api/v1/me/notification-preferences", Some(prefs)).await;
    assert_eq!(status, StatusCode::OK);
    w.set_clock("2026-02-10T22:00:00Z");
    let incident = json!({ "title": "Caída del chat", "severity": "medium", "description": "Sin respuesta" });
    let path = format!("/api/v1/engagements/{}/incidents", w.engagement);
    assert_eq!(app.post(&w.agency, &path, incident).await.0, StatusCode::CREATED);
    let held = w.outbox("?status=pending").await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(
        (held[0]["to_address"].as_str(), held[0]["next_attempt_at"].as_str()),
        (Some("javier@brisa.example"), Some("2026-02-11T06:00:00Z"))
    );
    let critical = json!({ "title": "Crisis viral", "severity": "critical", "description": "Vídeo viral" });
    assert_eq!(app.post(&w.agency, &path, critical).await.0, StatusCode::CREATED);
    let got = sink.wait_for(9, 10).await;
    let by = newer(&got, 7);
    assert_eq!(by.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), ["elena@brisa.example", "javier@brisa.example"]);
    assert_eq!(by[0].1.subject(), "[Veedor] Critical · Incident opened: Crisis viral — Comunidad Brisa · Ñandú");
    assert!(by[0].1.text().contains("Incident opened (critical severity): Crisis viral."), "{}", by[0].1.text());
    assert!(by[1].1.text().contains("Crisis viral") && !by[1].1.text().contains("Caída del chat"));
    w.set_clock("2026-02-11T06:00:01Z");
    let got = sink.wait_for(10, 10).await;
    assert_eq!(got.len(), 10);
    assert!(got[9].text().contains("Caída del chat"), "{}", got[9].text());

    // Silenced: the rule keeps its alerts but sends nothing until the silence ends.
    let silence = json!({ "rule": "incident_opened", "engagement_id": w.engagement, "until": "2026-02-14T00:00:00Z", "reason": "Simulacro" });
    assert_eq!(app.post(&w.lead, "/api/v1/alerts/silences", silence).await.0, StatusCode::CREATED);
    let drill = json!({ "title": "Simulacro", "severity": "low", "description": "Ensayo" });
    assert_eq!(app.post(&w.agency, &path, drill).await.0, StatusCode::CREATED);
    // The critical incident is unacknowledged past its hour by now: that alert (critical,
    // climbing the ladder from the agency contact) goes out; the silenced one does not.
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    let outbox = w.settled().await;
    assert!(outbox.iter().all(|n| n["status"] == "sent"), "{outbox:?}");
    let got = sink.messages();
    assert!(got[10..].iter().all(|m| !m.text().contains("Simulacro")), "nothing sent about the silenced rule");
    let unacknowledged: Vec<String> = got[10..].iter().map(to).collect();
    assert_eq!(unacknowledged.len(), 3, "{unacknowledged:?}");
    assert!(got[10..].iter().all(|m| m.text().contains("Crisis viral")));
    let (_, firing) = app.get(&w.exec, "/api/v1/alerts?rule=incident_opened&state=firing").await;
    assert_eq!(firing.as_array().unwrap().len(), 3, "{firing}");
    assert_eq!(app.get(&w.agency, "/api/v1/alerts").await.0, StatusCode::FORBIDDEN);
}

/// Two alerts for two people, raised while the server is down; messages wait, then each
/// arrives exactly once when it is back.
#[tokio::test]
async fn messages_wait_while_the_server_is_down_and_arrive_once() {
    let mut sink = SmtpSink::start(Mode::Accept).await;
    let w = world(&sink, |_| {}).await;
    sink.stop().await;
    w.set_clock("2026-02-06T10:00:00Z");
    assert_eq!(w.evaluate().await["emails"], 2);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while w.outbox("").await.iter().any(|n| n["attempts"] == 0) {
        assert!(tokio::time::Instant::now() < deadline, "no attempt within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for n in w.outbox("").await {
        assert_eq!((n["status"].as_str(), n["attempts"].as_i64()), (Some("pending"), Some(1)), "{n}");
        assert_eq!(n["history"][0]["outcome"], "transient", "{n}");
    }
    sink.restart(Mode::Accept).await;
    w.set_clock("2026-02-06T10:02:00Z");
    let got = sink.wait_for(2, 15).await;
    assert_eq!(got.len(), 2);
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    let got = sink.messages();
    let mut ids: Vec<String> = got.iter().map(Received::message_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((got.len(), ids.len()), (2, 2), "each message once");
    for n in w.settled().await {
        assert_eq!(n["status"], "sent", "{n}");
        let outcomes: Vec<&str> =
            n["history"].as_array().unwrap().iter().map(|h| h["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes, ["transient", "sent"]);
    }
}

#[tokio::test]
async fn a_4xx_is_retried_and_a_5xx_is_given_up_and_alerted() {
    let sink = SmtpSink::start(Mode::FailFirst { n: 1, code: 451 }).await;
    let w = world(&sink, |_| {}).await;
    assert_eq!(w.evaluate().await["emails"], 1);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let n = &w.outbox("").await[0];
        if n["attempts"] == 1 {
            assert_eq!(n["status"], "pending");
            assert!(n["last_error"].as_str().unwrap().contains("451"), "{n}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    w.set_clock("2026-01-10T10:01:00Z");
    assert_eq!(sink.wait_for(1, 10).await.len(), 1);

    let rejecting = SmtpSink::start(Mode::Reject(550)).await;
    let w = world(&rejecting, |_| {}).await;
    assert_eq!(w.evaluate().await["emails"], 1);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while w.outbox("?status=failed").await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "not failed within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let failed = &w.outbox("?status=failed").await[0];
    assert_eq!(failed["attempts"], 1, "a 5xx is not retried");
    assert!(failed["history"][0]["reply"].as_str().unwrap().contains("550"), "{failed}");
    let alert = w.alert("delivery_failed").await;
    assert_eq!((alert["state"].as_str(), alert["severity"].as_str()), (Some("firing"), Some("critical")));
    assert_eq!(w.app.get(&w.lead, "/api/v1/notifications").await.0, StatusCode::FORBIDDEN);
    let metrics = reqwest::get(w.app.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("veedor_outbox_messages{status=\"failed\"} 1"), "{metrics}");
    // The admins are told; that message fails too, and raises nothing more.
    assert_eq!(w.evaluate().await["emails"], 2, "one email to each admin");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while w.outbox("?status=failed").await.len() < 3 {
        assert!(tokio::time::Instant::now() < deadline, "the admins' emails were not attempted");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let told: Vec<String> =
        w.outbox("?status=failed").await.iter().map(|n| n["to_address"].as_str().unwrap().to_string()).collect();
    assert!(told.contains(&"admin@brisa.example".to_string()), "{told:?}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (_, failures) = w.app.get(&w.admin, "/api/v1/alerts?rule=delivery_failed").await;
    assert_eq!(failures.as_array().unwrap().len(), 1, "{failures}");
    assert!(rejecting.messages().is_empty());
}

#[tokio::test]
async fn a_stalled_server_frees_the_worker_at_the_timeout() {
    let sink = SmtpSink::start(Mode::Stall).await;
    let w = world(&sink, |c| c.smtp_timeout_secs = 1).await;
    w.set_clock("2026-02-06T10:00:00Z");
    assert_eq!(w.evaluate().await["emails"], 2);
    let started = std::time::Instant::now();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let outbox = w.outbox("").await;
        if outbox.iter().all(|n| n["attempts"] == 1) {
            for n in &outbox {
                assert_eq!(n["status"], "pending", "{n}");
                assert!(n["last_error"].as_str().unwrap().contains("no answer within 1 s"), "{n}");
            }
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{outbox:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Both messages were tried one after the other by the one worker: the stall held it
    // about the timeout each, not for ever (the lettre retry on a dead connection included).
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
}

/// A relay that answers the end of the data only after the timeout, then refuses: the
/// timed-out connections are never used again, so the retries read their own replies (the
/// 554), are recorded as refused and raise the alert; nothing is recorded as sent and no
/// further copy arrives. (Before, lettre's pool kept the timed-out connections, and each
/// retry read the reply meant for the previous command: "sent" on a `354`.)
#[tokio::test]
async fn a_slow_relay_never_gets_a_timed_out_connection_reused() {
    let sink = SmtpSink::start(Mode::Slow { n: 2, delay: std::time::Duration::from_secs(2), then: 554 }).await;
    let w = world(&sink, |c| c.smtp_timeout_secs = 1).await;
    w.set_clock("2026-02-06T10:00:00Z");
    assert_eq!(w.evaluate().await["emails"], 2);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while !w.outbox("").await.iter().all(|n| n["attempts"] == 1 && n["status"] == "pending") {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", w.outbox("").await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The late answers are on the wire by now.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    w.set_clock("2026-02-06T10:02:00Z");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while w.outbox("").await.iter().any(|n| n["attempts"] == 1 || n["status"] == "sending") {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", w.outbox("").await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for n in w.outbox("").await {
        assert_eq!((n["status"].as_str(), n["attempts"].as_i64()), (Some("failed"), Some(2)), "{n}");
        let history: Vec<(&str, &str)> = n["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["outcome"].as_str().unwrap(), h["reply"].as_str().unwrap()))
            .collect();
        assert_eq!(history[0], ("transient", "no answer within 1 s"), "{n}");
        assert_eq!(history[1].0, "permanent", "{n}");
        assert!(history[1].1.contains("554"), "{n}");
    }
    let got = sink.messages();
    let mut ids: Vec<String> = got.iter().map(Received::message_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((got.len(), ids.len()), (2, 2), "the two late-accepted copies, nothing more");
    let alert = w.alert("delivery_failed").await;
    assert_eq!(alert["state"], "firing", "{alert}");
}

/// Without an SMTP server, every message is an `.eml` file in `mail_dir`, multipart, with an
/// encoded non-ASCII subject.
#[tokio::test]
async fn without_smtp_messages_are_written_as_eml_files() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let w = world(&sink, |c| c.smtp_url = None).await;
    assert_eq!(w.evaluate().await["emails"], 1);
    let dir = w.app.mail_dir.path().to_path_buf();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let file = loop {
        let found = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "eml"));
        if let Some(f) = found {
            break f;
        }
        assert!(tokio::time::Instant::now() < deadline, "no .eml file in {}", dir.display());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let raw = std::fs::read(&file).unwrap();
    let message = Received { rcpt_tos: vec!["javier@brisa.example".into()], raw };
    assert!(message.subject().contains("Objetivo poco realista: Seguidores"), "{}", message.subject());
    assert!(!message.text().is_empty() && !message.html().is_empty(), "both parts");
    let raw = String::from_utf8_lossy(&message.raw).to_lowercase();
    let subject_line = raw.lines().find(|l| l.starts_with("subject:")).unwrap_or_default().to_string();
    assert!(subject_line.contains("=?utf-8?"), "non-ASCII subject encoded (RFC 2047): {subject_line}");
    assert!(message.subject().ends_with("Comunidad Brisa · Ñandú"), "{}", message.subject());
    assert!(sink.messages().is_empty(), "nothing went to the server");
    // The file is written before the attempt is recorded: wait for the record.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while w.outbox("?status=sent").await.len() != 1 {
        assert!(tokio::time::Instant::now() < deadline, "not recorded as sent: {:?}", w.outbox("").await);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Two replicas on one database, each with its delivery worker: every queued message is
/// delivered once.
#[tokio::test]
async fn two_replicas_deliver_each_message_once() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| {
        c.smtp_url = Some(url);
        c.outbox_batch = 5;
    })
    .await;
    app.replica().await;
    let now = app.clock_now();
    let txn = veedor::db::begin_write(&app.state.db).await.unwrap();
    let messages = (0..40)
        .map(|i| veedor::app::outbox::NewNotification {
            kind: "alerts",
            dedup_key: None,
            user_id: None,
            to_address: format!("user{i}@brisa.example"),
            to_name: format!("Usuaria {i}"),
            language: Language::Es,
            subject: format!("Mensaje {i}"),
            text: "Hola".into(),
            html: "<p>Hola</p>".into(),
            alert_ids: vec![],
            image_ids: vec![],
            not_before: now,
        })
        .collect();
    veedor::app::outbox::enqueue_in(&txn, now, messages).await.unwrap();
    txn.commit().await.unwrap();
    let got = sink.wait_for(40, 20).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    let got = if got.len() < 41 { sink.messages() } else { got };
    let mut recipients: Vec<String> = got.iter().map(to).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!((got.len(), recipients.len()), (40, 40), "each message once");
}

/// A user who mutes a non-critical rule gets no email for it; critical alerts still arrive.
#[tokio::test]
async fn muted_rules_hold_back_only_non_critical_alerts() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let w = world(&sink, |_| {}).await;
    let app = &w.app;
    let prefs = json!({ "muted_rules": ["implausible_target", "incident_opened"] });
    let (status, saved) =
        app.call(Some(&w.lead), reqwest::Method::PUT, "/api/v1/me/notification-preferences", Some(prefs)).await;
    assert_eq!(
        (status, saved["muted_rules"].clone()),
        (StatusCode::OK, json!(["incident_opened", "implausible_target"]))
    );
    let bad = json!({ "quiet_start": "22:00" });
    let (status, problem) =
        app.call(Some(&w.lead), reqwest::Method::PUT, "/api/v1/me/notification-preferences", Some(bad)).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("quiet_end")));

    let evaluation = w.evaluate().await;
    assert_eq!((evaluation["fired"].as_i64(), evaluation["emails"].as_i64()), (Some(1), Some(0)), "{evaluation}");
    let path = format!("/api/v1/engagements/{}/incidents", w.engagement);
    let critical = json!({ "title": "Crisis viral", "severity": "critical", "description": "Vídeo viral" });
    assert_eq!(app.post(&w.agency, &path, critical).await.0, StatusCode::CREATED);
    let got = sink.wait_for(2, 10).await;
    let mut recipients: Vec<String> = got.iter().map(to).collect();
    recipients.sort();
    assert_eq!(recipients, ["elena@brisa.example", "javier@brisa.example"], "critical reaches the muted lead too");
    assert!(got.iter().all(|m| m.text().contains("Crisis viral") && !m.text().contains("realista")));
}

/// A pooled connection the server dropped while idle fails the next send without an SMTP
/// reply; the send is retried once on a fresh connection, so the message goes out at its
/// first attempt.
#[tokio::test]
async fn a_dead_pooled_connection_is_retried_once() {
    let mut sink = SmtpSink::start(Mode::Accept).await;
    let w = world(&sink, |_| {}).await;
    assert_eq!(w.evaluate().await["emails"], 1);
    assert_eq!(sink.wait_for(1, 10).await.len(), 1);
    // The server restarts: the connection lettre keeps in its pool is now dead.
    sink.restart(Mode::Accept).await;
    w.set_clock("2026-02-06T10:00:00Z");
    assert_eq!(w.evaluate().await["emails"], 2);
    let got = sink.wait_for(3, 15).await;
    assert_eq!(got.len(), 3, "both new messages arrived: {:?}", w.outbox("").await);
    for n in w.settled().await {
        assert_eq!((n["status"].as_str(), n["attempts"].as_i64()), (Some("sent"), Some(1)), "{n}");
    }
}

/// An in-memory alert of `rule` about real objects, as the evaluation would store it.
fn alert_of(
    facts: veedor::domain::alert::Facts,
    engagement: Option<Uuid>,
    subject: Option<Uuid>,
) -> entity::alert::Model {
    let now: DateTime<Utc> = "2026-02-06T10:00:00Z".parse().unwrap();
    let rule = facts.rule();
    entity::alert::Model {
        id: Uuid::now_v7(),
        dedup_key: format!("{rule}:{}", Uuid::now_v7()),
        rule,
        severity: if rule.is_operational() { AlertSeverity::Critical } else { AlertSeverity::Warning },
        engagement_id: engagement,
        subject_id: subject,
        facts: facts.stored(None),
        state: AlertState::Firing,
        started_at: now,
        last_seen_at: now,
        resolved_at: None,
        acknowledged_at: None,
        acknowledged_by: None,
        last_notified_at: None,
        notifications: 0,
        resolution_pending: false,
        escalation_level: 0,
    }
}

/// Every link of an email (`href`s of its HTML), relative to the base URL, without fragments.
fn email_links(html: &str, base: &str) -> Vec<String> {
    let html = html.replace("&#x2f;", "/").replace("&amp;", "&");
    let mut out = Vec::new();
    let mut rest = html.as_str();
    while let Some(i) = rest.find("href=\"") {
        rest = &rest[i + 6..];
        let end = rest.find('"').unwrap();
        let link = &rest[..end];
        assert!(link.starts_with(base), "a link off the site or not absolute: {link}");
        let path = link[base.len()..].split('#').next().unwrap().to_string();
        out.push(if path.is_empty() { "/".into() } else { path });
        rest = &rest[end..];
    }
    out
}

/// GETs `path` as `who`: a 200, or a login redirect that leads back to a 200.
async fn resolves(app: &TestApp, who: &crate::webkit::WebSession, email: &str, path: &str) {
    let (status, _) = who.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path} as {email}");
    // Signed out, the same link asks to sign in and comes back to the page.
    let anonymous = crate::webkit::WebSession::anonymous(app);
    let response = anonymous.client.get(anonymous.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path} signed out");
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/login"), "{path} → {location}");
}

/// Every alert email (one per rule, about real objects), the renewal packet and the digest,
/// in both languages: every link they carry opens a page for their recipient.
#[tokio::test]
async fn every_link_in_every_alert_email_and_digest_opens_a_page_for_its_recipient() {
    use veedor::{
        app::alerts::{Reader, preview},
        domain::{
            alert::{Facts, Notify},
            enums::KpiUnit,
            evaluation::Status,
            incident::IncidentSeverity,
            kpi::RealismIssue,
            report::{Severity, SignalCategory},
        },
    };
    let sink = SmtpSink::start(Mode::Accept).await;
    let w = world(&sink, |_| {}).await;
    let app = &w.app;
    let base = "https://veedor.brisa.example";
    let path = format!("/api/v1/engagements/{}/incidents", w.engagement);
    let incident = json!({ "title": "Caída del chat", "severity": "high", "description": "Sin respuesta" });
    let (status, incident) = app.post(&w.agency, &path, incident).await;
    assert_eq!(status, StatusCode::CREATED, "{incident}");
    let incident = id_of(&incident);
    let approval = entity::approval::Entity::find().one(&app.state.db).await.unwrap().unwrap().id;
    let (status, digest) = app.post(&w.admin, "/api/v1/digests", json!({ "cadence": { "every": "daily" } })).await;
    assert_eq!(status, StatusCode::CREATED, "{digest}");
    let digest = id_of(&digest);
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let at: DateTime<Utc> = "2026-02-06T10:00:00Z".parse().unwrap();
    let e = Some(w.engagement);
    let on_engagement = [
        alert_of(
            Facts::ReportMissing {
                period_start: d("2026-01-01"),
                period_end: d("2026-01-31"),
                due_date: d("2026-02-05"),
                count: 1,
            },
            e,
            None,
        ),
        alert_of(
            Facts::KpiBreach {
                kpi: "Tasa de engagement".into(),
                value: 1.5,
                target: 3.0,
                unit: KpiUnit::Percent,
                currency: "EUR".into(),
                period_start: d("2026-01-01"),
                period_end: d("2026-01-31"),
                status: Status::Red,
            },
            e,
            Some(w.kpi),
        ),
        alert_of(
            Facts::ApprovalOverdue {
                subject: None,
                title: "Alta".into(),
                stage: "Dirección".into(),
                preset: None,
                due_at: at,
            },
            e,
            Some(approval),
        ),
        alert_of(
            Facts::ContractExpiring {
                end_date: d("2026-12-31"),
                days: 30,
                accepted: 10,
                late: 1,
                missing: 0,
                breaches: 2,
                incidents: 1,
            },
            e,
            None,
        ),
        alert_of(
            Facts::IncidentOpened { title: "Caída del chat".into(), severity: IncidentSeverity::High, ack_due_at: at },
            e,
            Some(incident),
        ),
        alert_of(
            Facts::IncidentUnacknowledged {
                title: "Caída del chat".into(),
                severity: IncidentSeverity::High,
                ack_due_at: at,
            },
            e,
            Some(incident),
        ),
        alert_of(
            Facts::HighSeveritySignal {
                category: SignalCategory::Risk,
                severity: Severity::High,
                description: "Boicot".into(),
                period_start: d("2026-01-01"),
                period_end: d("2026-01-31"),
            },
            e,
            None,
        ),
        alert_of(
            Facts::ImplausibleTarget {
                kpi: "Seguidores".into(),
                issue: RealismIssue::ImplausibleGrowth,
                factor: Some(100.0),
            },
            e,
            Some(w.kpi),
        ),
    ];
    let operational = [
        alert_of(
            Facts::DeliveryFailed { to: "x@brisa.example".into(), reply: "550".into(), subject: "s".into() },
            None,
            Some(Uuid::now_v7()),
        ),
        alert_of(Facts::DigestFailed { to: "admin@brisa.example".into(), error: "boom".into() }, None, Some(digest)),
        alert_of(
            Facts::DigestSkipped {
                to: "admin@brisa.example".into(),
                cadence: veedor::domain::digest::CadenceKind::Daily,
                count: 2,
                first_due_at: at,
                last_due_at: at + chrono::Duration::days(1),
            },
            None,
            Some(digest),
        ),
    ];
    let notifier = &app.state.rules.notifier;
    // What a Spanish reader gets has no English words and no catalogue keys in it.
    let english = crate::untranslated::english_only();
    let mut untranslated = Vec::new();
    let mut check_spanish = |what: &str, parts: &[&str]| {
        for part in parts {
            let text = crate::untranslated::readable(part);
            let words = crate::untranslated::english_in(&text, &english);
            let keys = crate::untranslated::keys_in(&text);
            untranslated.extend(words.into_iter().chain(keys).map(|w| format!("{what}: {w}")));
        }
    };
    let mut subjects = std::collections::HashSet::new();
    let mut checked = 0;
    for (email, language, alerts) in [
        ("javier@brisa.example", Language::Es, &on_engagement[..]),
        ("elena@brisa.example", Language::En, &on_engagement[..]),
        ("admin@brisa.example", Language::Es, &operational[..]),
        ("admin@brisa.example", Language::En, &operational[..]),
    ] {
        let session = crate::webkit::WebSession::login(app, email).await;
        let reader = Reader { name: email.into(), language, timezone: chrono_tz::Europe::Madrid };
        for a in alerts {
            for kind in [Notify::Fired, Notify::Resolved] {
                let rendered = preview(&app.state.db, notifier, &reader, &[(a.clone(), kind)]).await.unwrap();
                assert!(subjects.insert(rendered.subject.clone()), "two emails share the subject {}", rendered.subject);
                if language == Language::Es {
                    check_spanish(&rendered.subject, &[&rendered.subject, &rendered.text, &rendered.html]);
                }
                let links = email_links(&rendered.html, base);
                assert!(links.len() >= 2, "the alert's page and the settings: {links:?}");
                assert!(links.contains(&"/settings/notifications".to_string()));
                for link in &links {
                    assert!(rendered.text.contains(&format!("{base}{link}")), "the text part has {link} too");
                    resolves(app, &session, email, link).await;
                    checked += 1;
                }
            }
        }
    }
    // The digest (its sections, alerts and footer), in both languages.
    w.set_clock("2026-02-06T10:00:00Z");
    w.evaluate().await;
    for (caller, email) in [(&w.lead, "javier@brisa.example"), (&w.exec, "elena@brisa.example")] {
        let response =
            app.client.get(app.url("/api/v1/digests/preview")).bearer_auth(&caller.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let html = response.text().await.unwrap();
        if email == "javier@brisa.example" {
            check_spanish("digest", &[&html]);
        }
        let links = email_links(&html, base);
        assert!(links.iter().any(|l| l.starts_with("/engagements/")), "{links:?}");
        assert!(links.contains(&"/settings/digests".to_string()), "{links:?}");
        let session = crate::webkit::WebSession::login(app, email).await;
        for link in &links {
            resolves(app, &session, email, link).await;
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} links checked");
    assert!(untranslated.is_empty(), "English in Spanish emails:\n{}", untranslated.join("\n"));
}

/// The page behind every alert email's footer: my quiet hours and muted rules, saved, shown
/// again, and refused with the error beside the field in my language.
#[tokio::test]
async fn notification_preferences_have_a_page_in_both_languages() {
    let app = TestApp::spawn().await;
    app.user("ana@brisa.example", Role::Lead, None).await;
    let ana = crate::webkit::WebSession::login(&app, "ana@brisa.example").await;
    let (status, page) = ana.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/settings/notifications\""), "linked from every page");
    let (status, page) = ana.get("/settings/notifications").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Mis avisos") && page.contains("Horas de descanso") && page.contains("KPI fuera de objetivo")
    );
    let fields = [
        ("quiet_start", "22:00"),
        ("quiet_end", "07:00"),
        ("muted_rules", "kpi_breach"),
        ("muted_rules", "incident_opened"),
    ];
    let (status, location, _) = ana.post_form("/settings/notifications", &fields).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/settings/notifications?notice=notifications_saved"))
    );
    let me: Value =
        ana.client.get(ana.url("/api/v1/me/notification-preferences")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        me,
        json!({ "quiet_start": "22:00", "quiet_end": "07:00", "muted_rules": ["kpi_breach", "incident_opened"] })
    );
    let (_, page) = ana.get("/settings/notifications?notice=notifications_saved").await;
    assert!(page.contains("Sus avisos se han guardado") && page.contains("value=\"22:00\""));
    assert!(page.contains("value=\"kpi_breach\" checked"), "muted rules stay ticked");

    let (status, _, page) = ana.post_form("/settings/notifications", &[("quiet_start", "22:00")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"e-quiet_end\"") && page.contains("Indique el inicio y el final"), "{page}");
    assert!(page.contains("value=\"22:00\""), "what was typed stays");
    let (status, _, page) =
        ana.post_form("/settings/notifications", &[("quiet_start", "25:00"), ("quiet_end", "07:00")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Escriba una hora como HH:MM"));
    let (status, _, _) = ana.post_form("/language", &[("lang", "en"), ("next", "/settings/notifications")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = ana.get("/settings/notifications").await;
    assert!(page.contains("My notifications") && page.contains("Quiet hours"), "English");
    let (status, _, page) =
        ana.post_form("/settings/notifications", &[("quiet_start", "07:00"), ("quiet_end", "07:00")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("The end must differ from the start"));
    let me: Value =
        ana.client.get(ana.url("/api/v1/me/notification-preferences")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["quiet_start"], "22:00", "refused input changed nothing");
}

/// Alert and digest emails fit a 375 px phone and a 600 px window: no sideways scrolling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_and_digest_emails_fit_a_phone_and_a_narrow_window() {
    use veedor::{
        app::alerts::{Reader, preview},
        domain::{
            alert::{Facts, Notify},
            enums::KpiUnit,
            evaluation::Status,
        },
    };
    let sink = SmtpSink::start(Mode::Accept).await;
    let w = world(&sink, |_| {}).await;
    let app = &w.app;
    w.set_clock("2026-02-06T10:00:00Z");
    w.evaluate().await;
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let long = "Tasa de respuesta a mensajes directos en todas las redes sociales de la marca";
    let alerts: Vec<(entity::alert::Model, Notify)> = [
        Facts::KpiBreach {
            kpi: long.into(),
            value: 123_456_789.0,
            target: 987_654_321.0,
            unit: KpiUnit::CurrencyMinor,
            currency: "EUR".into(),
            period_start: d("2026-01-01"),
            period_end: d("2026-01-31"),
            status: Status::Red,
        },
        Facts::ReportMissing {
            period_start: d("2026-01-01"),
            period_end: d("2026-01-31"),
            due_date: d("2026-02-05"),
            count: 4,
        },
    ]
    .into_iter()
    .map(|f| (alert_of(f, Some(w.engagement), Some(w.kpi)), Notify::Fired))
    .collect();
    let reader = Reader {
        name: "Begoña Ibáñez de la Fuente".into(),
        language: Language::Es,
        timezone: chrono_tz::Europe::Madrid,
    };
    let email = preview(&app.state.db, &app.state.rules.notifier, &reader, &alerts).await.unwrap().html;
    let response = app.client.get(app.url("/api/v1/digests/preview")).bearer_auth(&w.lead.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let digest = response.text().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, html) in [("alerts", &email), ("digest", &digest)] {
        std::fs::write(dir.path().join(format!("{name}.html")), html).unwrap();
    }
    for width in [375, 600] {
        let Some(b) = crate::webkit::Browser::start_sized(app, width, 800).await else { return };
        for name in ["alerts", "digest"] {
            let file = format!("file://{}", dir.path().join(format!("{name}.html")).display());
            b.client.goto(&file).await.unwrap();
            let sizes = b
                .client
                .execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![])
                .await
                .unwrap();
            assert!(sizes[0].as_i64() <= sizes[1].as_i64(), "{name} at {width} px scrolls sideways: {sizes}");
        }
        b.close().await;
    }
}

/// Alerts written before typed facts (English summaries, ISO strings, stored links) are
/// converted by the migration, and read and worded like new ones.
#[tokio::test]
async fn the_migration_types_the_facts_of_alerts_stored_before() {
    use migration::MigratorTrait;
    use sea_orm::{ConnectionTrait, Statement};
    let (url, _database) = crate::helpers::test_database().await;
    let db = sea_orm::Database::connect(url.as_str()).await.unwrap();
    migration::Migrator::up(&db, Some(8)).await.unwrap();
    let backend = db.get_database_backend();
    let old = [
        (
            "report_missing",
            "warning",
            json!({ "period": "2026-01-01 – 2026-01-31", "due": "2026-02-05", "count": 2, "others": 1, "phase": "2026-01-01" }),
        ),
        (
            "approval_overdue",
            "warning",
            json!({ "title": "Alta", "stage": "Dirección", "due": "2026-02-01 10:00 UTC", "phase": 1 }),
        ),
        ("digest_failed", "critical", json!({ "to": "ana@brisa.example", "error": "no such table" })),
    ];
    for (rule, severity, facts) in &old {
        let now = "2026-02-06T10:00:00Z";
        let sql = format!(
            "INSERT INTO alerts (id, dedup_key, rule, severity, summary, facts, link, state, started_at, last_seen_at, \
             notifications, resolution_pending, escalation_level) VALUES ({mark}, '{rule}:1', '{rule}', '{severity}', \
             'an English sentence', '{facts}', '/engagements/x/dashboard', 'firing', '{now}', '{now}', 0, false, 0)",
            mark = if backend == sea_orm::DatabaseBackend::Postgres { "$1" } else { "?" },
        );
        db.execute_raw(Statement::from_sql_and_values(backend, sql, [sea_orm::Value::from(Uuid::now_v7())]))
            .await
            .unwrap();
    }
    migration::Migrator::up(&db, None).await.unwrap();
    let rows = entity::alert::Entity::find().all(&db).await.unwrap();
    assert_eq!(rows.len(), 3);
    for a in &rows {
        let facts =
            veedor::domain::alert::Facts::read(&a.facts).unwrap_or_else(|e| panic!("{}: {e}: {}", a.rule, a.facts));
        assert_eq!(facts.rule(), a.rule);
        let text = veedor::present::alerts::sentence(&facts, Language::Es, chrono_tz::Europe::Madrid);
        assert!(!text.contains("2026-") && !text.contains("UTC"), "{text}");
        if a.rule == AlertRule::ReportMissing {
            assert_eq!(text, "Falta el informe de enero de 2026; vencía el 05/02/2026. Hay otro periodo sin informe.");
            assert_eq!(a.facts["phase"], "2026-01-01", "the dedup phase is kept");
        }
        if a.rule == AlertRule::ApprovalOverdue {
            assert!(text.contains("vencía el 01/02/2026 11:00"), "{text}");
        }
    }
}

/// After the relay comes back, the first message it accepts releases the ones waiting on
/// their backoff: they go out at once, not when their retry time comes (the clock stands
/// still here: without the release, the refused message would wait 15–30 s of it).
#[tokio::test]
async fn the_first_success_releases_the_messages_waiting_to_retry() {
    let sink = SmtpSink::start(Mode::FailFirst { n: 1, code: 451 }).await;
    let w = world(&sink, |c| c.outbox_concurrency = 1).await;
    w.set_clock("2026-02-06T10:00:00Z");
    assert_eq!(w.evaluate().await["emails"], 2);
    let got = sink.wait_for(2, 10).await;
    assert_eq!(got.len(), 2, "{:?}", w.outbox("").await);
    let mut histories: Vec<Vec<String>> = w
        .settled()
        .await
        .iter()
        .map(|n| n["history"].as_array().unwrap().iter().map(|h| h["outcome"].as_str().unwrap().to_string()).collect())
        .collect();
    histories.sort();
    assert_eq!(histories, [vec!["sent"], vec!["transient", "sent"]]);
}

/// Waits until `n` messages are failed for good, and returns them.
async fn failed(w: &World, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let failed = w.outbox("?status=failed").await;
        if failed.len() >= n {
            return failed;
        }
        assert!(tokio::time::Instant::now() < deadline, "not failed within 10 s: {:?}", w.outbox("").await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn resend(w: &World, who: &Caller, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    w.app.call(Some(who), reqwest::Method::POST, &format!("/api/v1/notifications{path}"), body).await
}

/// Messages given up on are sent again when an admin asks, each once: asking again, asking
/// for a sent message, or two admins asking at the same moment sends nothing more. Only
/// admins may; an unknown id is 404; each resend is audited.
#[tokio::test]
async fn an_admin_resends_failed_messages_and_each_goes_out_once() {
    let mut sink = SmtpSink::start(Mode::Reject(550)).await;
    let w = world(&sink, |_| {}).await;
    w.set_clock("2026-02-06T10:00:00Z");
    assert_eq!(w.evaluate().await["emails"], 2);
    let given_up = failed(&w, 2).await;
    let one = given_up[0]["id"].as_str().unwrap().to_string();
    sink.restart(Mode::Accept).await;

    assert_eq!(resend(&w, &w.lead, &format!("/{one}/resend"), None).await.0, StatusCode::FORBIDDEN);
    let (status, body) = resend(&w, &w.admin, &format!("/{}/resend", Uuid::now_v7()), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = resend(&w, &w.admin, &format!("/{one}/resend"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["requeued"], json!([one]), "{body}");
    assert_eq!(sink.wait_for(1, 10).await.len(), 1);
    let settled = w.settled().await;
    let n = settled.iter().find(|n| n["id"] == one.as_str()).unwrap();
    assert_eq!(n["status"], "sent", "{n}");
    let outcomes: Vec<&str> = n["history"].as_array().unwrap().iter().map(|h| h["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["permanent", "sent"]);
    // Again: it is sent already, so nothing happens.
    let (status, body) = resend(&w, &w.admin, &format!("/{one}/resend"), None).await;
    assert_eq!((status, &body["requeued"]), (StatusCode::OK, &json!([])), "{body}");

    // All failed, filtered like the list: nobody's matches nothing; two admins at once
    // re-send the other message once between them.
    let (status, body) = resend(&w, &w.admin, "/resend", Some(json!({ "user_id": Uuid::now_v7() }))).await;
    assert_eq!((status, &body["requeued"]), (StatusCode::OK, &json!([])), "{body}");
    let (status, body) = resend(&w, &w.admin, "/resend", Some(json!({ "status": "sent" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "only failed messages are re-sent: {body}");
    let second_admin = w.app.actor("admin2@brisa.example", Role::Admin, None).await;
    let (a, b) = tokio::join!(
        resend(&w, &w.admin, "/resend", Some(json!({}))),
        resend(&w, &second_admin, "/resend", Some(json!({})))
    );
    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK), "{a:?} {b:?}");
    let both: Vec<Value> = [a.1["requeued"].clone(), b.1["requeued"].clone()]
        .into_iter()
        .flat_map(|r| r.as_array().unwrap().clone())
        .collect();
    assert_eq!(both, [given_up[1]["id"].clone()], "{a:?} {b:?}");
    assert_eq!(sink.wait_for(2, 10).await.len(), 2);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let got = sink.messages();
    let mut ids: Vec<String> = got.iter().map(Received::message_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((got.len(), ids.len()), (2, 2), "each message once");
    assert!(w.settled().await.iter().all(|n| n["status"] == "sent"));

    let (_, audit) = w.app.get(&w.admin, "/api/v1/audit?object_type=notification").await;
    let entries: Vec<&Value> =
        audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "notification.resend").collect();
    assert_eq!(entries.len(), 2, "one per message sent again: {audit}");
    assert_eq!((&entries[1]["object_id"], &entries[1]["actor_id"]), (&json!(one), &json!(w.admin.id)));
    assert_eq!(
        (entries[1]["before"]["status"].as_str(), entries[1]["after"]["status"].as_str()),
        (Some("failed"), Some("pending"))
    );
}

/// The admins' page lists the failed messages with a button each and one for all of them;
/// both re-send through the same function as the API, in the admin's language.
#[tokio::test]
async fn the_notifications_page_resends_failed_messages() {
    let mut sink = SmtpSink::start(Mode::Reject(550)).await;
    let w = world(&sink, |_| {}).await;
    w.set_clock("2026-02-06T10:00:00Z");
    assert_eq!(w.evaluate().await["emails"], 2);
    let given_up = failed(&w, 2).await;
    sink.restart(Mode::Accept).await;
    let admin = crate::webkit::WebSession::login(&w.app, "admin@brisa.example").await;
    let (status, page) = admin.get("/settings/notifications").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Mensajes no entregados"), "{page}");
    let one = given_up[0]["id"].as_str().unwrap();
    assert!(page.contains(&format!("value=\"{one}\"")), "a button per failed message: {page}");
    let (status, location, body) = admin.post_form("/settings/notifications/resend", &[("id", one)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location.as_deref(), Some("/settings/notifications?notice=notifications_resent"));
    assert_eq!(sink.wait_for(1, 10).await.len(), 1);
    let (status, _, body) = admin.post_form("/settings/notifications/resend", &[("id", "not-an-id")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _, body) = admin.post_form("/settings/notifications/resend", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "all failed: {body}");
    assert_eq!(sink.wait_for(2, 10).await.len(), 2);
    let (_, page) = admin.get("/settings/notifications?notice=notifications_resent").await;
    assert!(page.contains("Se han vuelto a poner en cola"), "{page}");
    assert!(!page.contains(&format!("value=\"{one}\"")), "nothing failed any more: {page}");
    let lead = crate::webkit::WebSession::login(&w.app, "javier@brisa.example").await;
    let (_, page) = lead.get("/settings/notifications").await;
    assert!(!page.contains("Mensajes no entregados"), "only admins see the outbox");
    let (status, _, _) = lead.post_form("/settings/notifications/resend", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// `veedor outbox resend` re-sends failed messages from the command line, through the same
/// function: by id, or all of them; a sent one is left alone.
#[tokio::test]
async fn the_command_line_resends_failed_messages() {
    let mut sink = SmtpSink::start(Mode::Reject(550)).await;
    let w = world(&sink, |_| {}).await;
    w.set_clock("2026-02-06T10:00:00Z");
    assert_eq!(w.evaluate().await["emails"], 2);
    let given_up = failed(&w, 2).await;
    sink.restart(Mode::Accept).await;
    let url = w.app.config.database_url.clone();
    let veedor = |args: &'static [&'static str], id: Option<String>| {
        let url = url.clone();
        async move {
            let mut args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
            args.extend(id.map(Into::into));
            let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
            let output = crate::helpers::run_veedor(&url, &args).await;
            let said = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
            (output.status.success(), said)
        }
    };
    let one = given_up[0]["id"].as_str().unwrap();
    let (ok, out) = veedor(&["outbox", "resend", "--id"], Some(one.to_string())).await;
    assert!(ok, "{out}");
    assert!(out.starts_with("1 "), "{out}");
    assert_eq!(sink.wait_for(1, 10).await.len(), 1);
    w.settled().await;
    let (ok, out) = veedor(&["outbox", "resend", "--id"], Some(one.to_string())).await;
    assert!(ok && out.starts_with("0 "), "a sent message is not sent again: {out}");
    let (ok, out) = veedor(&["outbox", "resend", "--all-failed"], None).await;
    assert!(ok && out.starts_with("1 "), "{out}");
    assert_eq!(sink.wait_for(2, 10).await.len(), 2);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 2);
    let (ok, _) = veedor(&["outbox", "resend"], None).await;
    assert!(!ok, "either --id or --all-failed");
}
