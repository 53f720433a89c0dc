//! Digests after long downtime: the latest missed digest of each subscription goes out late,
//! once, marked as late in its subject; the older ones, and a latest one older than its own
//! cadence, are skipped, counted in `veedor_digests_skipped_total` and raised to the admins
//! as `digest_skipped` alerts, whatever the number of runs and replicas. The clock is the
//! test's own; the server is "down" while it moves and no run happens.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    digests::{World, world},
    helpers::TestApp,
};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// The digests queued since `from` (an index into the outbox's digests), as (to, subject).
async fn digests_since(w: &World, from: usize) -> Vec<(String, String)> {
    w.digests().await[from..]
        .iter()
        .map(|n| (n["to_address"].as_str().unwrap().to_string(), n["subject"].as_str().unwrap().to_string()))
        .collect()
}

/// The `digest_skipped` alerts, as the admin reads them (Spanish, Madrid).
async fn skipped_alerts(w: &World) -> Vec<Value> {
    let state = &w.app.state;
    veedor::app::alerts::evaluate_alerts(&state.db, &state.rules.notifier, w.app.clock_now()).await.unwrap();
    let admin = crate::helpers::Caller { id: w.admin.id, token: w.app.token_for(w.admin.id).await };
    let (status, alerts) = w.app.get(&admin, "/api/v1/alerts?rule=digest_skipped").await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    alerts.as_array().unwrap().clone()
}

/// The value of `veedor_digests_skipped_total` for these labels on `/metrics` (the recorder
/// is the test binary's: other tests may add to it, never take away).
async fn skipped_metric(w: &World, cadence: &str, reason: &str) -> f64 {
    let text = reqwest::get(w.app.url("/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("veedor_digests_skipped_total{"))
        .filter(|l| l.contains(&format!("cadence=\"{cadence}\"")) && l.contains(&format!("reason=\"{reason}\"")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn subscribe(w: &World, body: Value) -> String {
    let (status, b) = w.app.post(&w.lead, "/api/v1/digests", body).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    b["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_three_days_down_the_latest_weekly_and_monthly_digests_go_out_late_once_and_the_rest_are_told() {
    // Thursday 26 November 2026. Javier (Spanish, Madrid): daily at 07:30, weekly on Mondays
    // and monthly on the 1st at 08:00. Elena (English, Bogotá): the executives' default,
    // Mondays at 08:00.
    let w = world(TestApp::spawn().await, "2026-11-26T12:00:00Z", &["2026-09-01", "2026-10-01"]).await;
    let daily = subscribe(&w, json!({ "cadence": { "every": "daily" }, "local_time": "07:30" })).await;
    subscribe(&w, json!({ "cadence": { "every": "weekly", "weekday": "mon" }, "local_time": "08:00" })).await;
    subscribe(&w, json!({ "cadence": { "every": "monthly", "day": 1 }, "local_time": "08:00" })).await;
    // Up until Sunday noon: three daily digests, on time.
    w.walk("2026-11-29T12:00:00Z", Duration::hours(1)).await;
    let before = w.digests().await.len();
    assert_eq!(before, 3, "{:?}", digests_since(&w, 0).await);
    let skipped_before = skipped_metric(&w, "daily", "missed").await;

    // Down three days, back on Wednesday 2 December at 12:00 UTC. Two replicas run at once.
    w.app.clock.set(at("2026-12-02T12:00:00Z"));
    let (a, b) = tokio::join!(w.job(), w.job());
    let sum = |f: fn(&veedor::app::digests::run::RunReport) -> usize| f(&a) + f(&b);
    assert_eq!(sum(|r| r.queued), 4, "{a:?} {b:?}");
    assert_eq!(sum(|r| r.late), 3, "Javier's weekly and monthly, Elena's weekly: {a:?} {b:?}");
    assert_eq!(sum(|r| r.skipped), 2, "Javier's daily of 30 November and 1 December: {a:?} {b:?}");
    let mut sent = digests_since(&w, before).await;
    sent.sort();
    let subjects: Vec<&str> = sent.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(subjects[0].starts_with("[Veedor] Weekly digest (late) · "), "Elena's: {subjects:?}");
    let javier: Vec<&str> = subjects[1..].to_vec();
    assert_eq!(javier.iter().filter(|s| s.contains("(con retraso)")).count(), 2, "{javier:?}");
    assert!(javier.iter().any(|s| s.starts_with("[Veedor] Resumen semanal (con retraso) · ")), "{javier:?}");
    assert!(javier.iter().any(|s| s.starts_with("[Veedor] Resumen mensual (con retraso) · ")), "{javier:?}");
    assert!(
        javier.iter().any(|s| s.starts_with("[Veedor] Resumen diario · ") && !s.contains("retraso")),
        "this morning's daily digest is within the catch-up window: on time: {javier:?}"
    );

    // The skip is counted, logged and told to the admins, once.
    assert!(skipped_metric(&w, "daily", "missed").await >= skipped_before + 2.0);
    let alerts = skipped_alerts(&w).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!((alert["state"].as_str(), alert["severity"].as_str()), (Some("firing"), Some("warning")));
    assert_eq!(alert["subject_id"], json!(daily));
    assert_eq!(alert["link"], format!("/settings/digests/{daily}/edit"));
    assert_eq!(alert["facts"]["count"], 2, "{alert}");
    let text = alert["text"].as_str().unwrap();
    assert!(text.starts_with("2 envíos del resumen diario para javier@brisa.example"), "{text}");
    assert!(text.contains("entre el 30/11/2026 07:30 y el 01/12/2026 07:30"), "{text}");
    let told: Vec<Value> = w
        .app
        .get(&w.admin, "/api/v1/notifications")
        .await
        .1
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "alerts" && n["to_address"] == "admin@brisa.example")
        .cloned()
        .collect();
    assert!(told.iter().any(|n| n["subject"].as_str().unwrap().contains("Resumen no enviado")), "{told:?}");
    let (_, lead_view) = w.app.get(&w.lead, "/api/v1/alerts?rule=digest_skipped").await;
    assert_eq!(lead_view, json!([]), "an operational alert is the admins'");

    // A second tick, and a replica restarted: nothing again.
    w.app.clock.advance(Duration::minutes(1));
    let again = w.job().await;
    assert_eq!((again.queued, again.skipped), (0, 0), "{again:?}");
    w.app.replica().await;
    assert_eq!(w.job().await.queued, 0);
    assert_eq!(w.digests().await.len(), before + 4);
    assert_eq!(skipped_alerts(&w).await.len(), 1);
    let sub = w.subscriptions(&w.lead).await.into_iter().find(|s| s["id"] == json!(daily)).unwrap();
    assert_eq!((sub["skipped"].as_i64(), sub["next_due_at"].as_str()), (Some(2), Some("2026-12-03T06:30:00Z")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_latest_missed_digest_older_than_its_cadence_is_skipped_and_the_next_goes_out_on_time() {
    // Javier: monthly on the 31st at 09:00 in Madrid (28 February, then 31 March, after the
    // change to summer time on 29 March), and weekly on Mondays at 08:00.
    let w = world(TestApp::spawn().await, "2026-02-20T12:00:00Z", &["2026-01-01"]).await;
    let monthly = subscribe(&w, json!({ "cadence": { "every": "monthly", "day": 31 }, "local_time": "09:00" })).await;
    let weekly =
        subscribe(&w, json!({ "cadence": { "every": "weekly", "weekday": "mon" }, "local_time": "08:00" })).await;
    // Down from 20 February to Monday 30 March at 12:00 UTC.
    w.app.clock.set(at("2026-03-30T12:00:00Z"));
    let report = w.job().await;
    // The monthly of 28 February is more than a month old: skipped, not sent late. Javier's
    // weekly of this morning (06:00 UTC) is within the window; the five before it skipped.
    // Elena's weekly of 23 March (13:00 UTC, Bogotá) is the latest and under a week old:
    // late; the four before it skipped.
    assert_eq!((report.queued, report.late, report.skipped), (2, 1, 10), "{report:?}");
    let sent = digests_since(&w, 0).await;
    assert!(sent.iter().all(|(_, s)| !s.contains("mensual")), "{sent:?}");
    let elena = sent.iter().find(|(to, _)| to == "elena@brisa.example").unwrap();
    assert!(elena.1.starts_with("[Veedor] Weekly digest (late) · Mar 16, 2026 – Mar 22, 2026"), "{elena:?}");
    let alerts = skipped_alerts(&w).await;
    let count_of =
        |id: &str| alerts.iter().find(|a| a["subject_id"] == json!(id)).map(|a| a["facts"]["count"].as_u64().unwrap());
    assert_eq!(alerts.len(), 3, "{alerts:?}");
    assert_eq!((count_of(&monthly), count_of(&weekly)), (Some(1), Some(5)));
    let month = alerts.iter().find(|a| a["subject_id"] == json!(monthly)).unwrap();
    assert!(month["text"].as_str().unwrap().starts_with("El resumen mensual para javier@brisa.example"), "{month}");
    assert!(month["text"].as_str().unwrap().contains("28/02/2026 09:00"), "{month}");
    assert!(skipped_metric(&w, "monthly", "missed").await >= 1.0);

    // 31 March at 09:00 in Madrid, summer time: the next monthly goes out as usual (and
    // Elena's of 30 March, missed by this second gap of 18 hours, late).
    let before = w.digests().await.len();
    w.app.clock.set(at("2026-03-31T07:00:30Z"));
    let report = w.job().await;
    assert_eq!((report.queued, report.late, report.skipped), (2, 1, 0), "{report:?}");
    let sent = digests_since(&w, before).await;
    let javier: Vec<&String> = sent.iter().filter(|(to, _)| to == "javier@brisa.example").map(|(_, s)| s).collect();
    assert_eq!(javier.len(), 1, "{sent:?}");
    assert!(javier[0].starts_with("[Veedor] Resumen mensual · 28/02/2026 – 30/03/2026"), "{sent:?}");
    // Acknowledging a skip resolves it: nothing else would.
    let id = month["id"].as_str().unwrap();
    let admin = crate::helpers::Caller { id: w.admin.id, token: w.app.token_for(w.admin.id).await };
    let (status, acked) = w.app.post(&admin, &format!("/api/v1/alerts/{id}/acknowledge"), json!({})).await;
    assert_eq!((status, acked["state"].as_str()), (StatusCode::OK, Some("resolved")), "{acked}");
}
