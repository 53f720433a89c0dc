//! Alerts and email delivery against a real SMTP server (aiosmtpd on loopback): what fires,
//! who receives it in which language, grouping, repeats, acknowledgement, resolution,
//! silences and quiet hours, walking the clock forward; and the outbox under faults (the
//! server down then back, 4xx then 2xx, 5xx, a server that stalls).

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::domain::enums::{Language, Role};

use crate::{
    helpers::{Caller, TestApp, id_of, kpi_body, scope_body},
    mailsink::{Received, SmtpSink},
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
    let sink = SmtpSink::start(&[]).await;
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
    let mut sink = SmtpSink::start(&[]).await;
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
    sink.restart(&[]).await;
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
    let sink = SmtpSink::start(&["--fail-first", "1", "--code", "451"]).await;
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

    let rejecting = SmtpSink::start(&["--reject", "550"]).await;
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
    let sink = SmtpSink::start(&["--stall"]).await;
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

/// Without an SMTP server, every message is an `.eml` file in `mail_dir`, multipart, with an
/// encoded non-ASCII subject.
#[tokio::test]
async fn without_smtp_messages_are_written_as_eml_files() {
    let sink = SmtpSink::start(&[]).await;
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
    assert!(message.subject().contains("1 alerta activa"), "{}", message.subject());
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
    let sink = SmtpSink::start(&[]).await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| {
        c.smtp_url = Some(url);
        c.outbox_batch = 5;
    })
    .await;
    app.replica().await;
    let now = app.clock_now();
    let txn = veedor::store::begin_write(&app.state.db).await.unwrap();
    let messages = (0..40)
        .map(|i| veedor::store::outbox::NewNotification {
            kind: "alerts",
            dedup_key: None,
            user_id: None,
            to_address: format!("user{i}@brisa.example"),
            to_name: format!("Usuaria {i}"),
            language: "es".into(),
            subject: format!("Mensaje {i}"),
            text: "Hola".into(),
            html: "<p>Hola</p>".into(),
            alert_ids: vec![],
            image_ids: vec![],
            not_before: now,
        })
        .collect();
    veedor::store::outbox::enqueue_in(&txn, now, messages).await.unwrap();
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
    let sink = SmtpSink::start(&[]).await;
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
    let mut sink = SmtpSink::start(&[]).await;
    let w = world(&sink, |_| {}).await;
    assert_eq!(w.evaluate().await["emails"], 1);
    assert_eq!(sink.wait_for(1, 10).await.len(), 1);
    // The server restarts: the connection lettre keeps in its pool is now dead.
    sink.restart(&[]).await;
    w.set_clock("2026-02-06T10:00:00Z");
    assert_eq!(w.evaluate().await["emails"], 2);
    let got = sink.wait_for(3, 15).await;
    assert_eq!(got.len(), 3, "both new messages arrived: {:?}", w.outbox("").await);
    for n in w.settled().await {
        assert_eq!((n["status"].as_str(), n["attempts"].as_i64()), (Some("sent"), Some(1)), "{n}");
    }
}
