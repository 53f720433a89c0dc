//! Digests across real server processes on one PostgreSQL database: two `veedor serve`
//! processes walk through a simulated month together (the time comes from a shared clock
//! file) and deliver exactly recipients × periods digests to a real SMTP server; one is killed
//! with SIGKILL in the middle of a digest run and restarted; both are down for an hour.
//!
//! SQLite is a single-instance database, so these run when the suite runs on PostgreSQL
//! (`VEEDOR_TEST_DATABASE_URL`); on SQLite they say so and return.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration as StdDuration, Instant},
};

use chrono::{DateTime, Duration, NaiveTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use veedor::{
    db::entity::{digest_subscription, job_slot, notification},
    domain::{
        digest::{DigestCadence, DigestTiming},
        enums::{Language, Role},
    },
};

use crate::{
    digests::{World, world},
    helpers::{Caller, TestApp},
    mailsink::{Mode, SmtpSink},
};

fn on_postgres() -> bool {
    std::env::var("VEEDOR_TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres"))
}

/// One `veedor serve` process reading the time from `clock`.
struct Replica {
    name: &'static str,
    child: Child,
}

impl Replica {
    fn start(name: &'static str, w: &World, smtp: &str, clock: &Path) -> Replica {
        let child = Command::new(env!("CARGO_BIN_EXE_veedor"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOSTNAME", name)
            .env("VEEDOR_DATABASE_URL", &w.app.config.database_url)
            .env("VEEDOR_DATABASE_MAX_CONNECTIONS", "4")
            .env("VEEDOR_BIND", "127.0.0.1:0")
            .env("VEEDOR_SMTP_URL", smtp)
            .env("VEEDOR_CLOCK_FILE", clock)
            .env("VEEDOR_SCHEDULER_TICK_SECS", "1")
            // The month is walked half a day at a time: every send is at most that late.
            .env("VEEDOR_SCHEDULER_CATCH_UP_SECS", "86400")
            .env("VEEDOR_ALERT_INTERVAL_SECS", "0")
            .env("VEEDOR_ESCALATION_INTERVAL_SECS", "0")
            // At most one message in flight per process: a kill repeats at most that one.
            .env("VEEDOR_OUTBOX_CONCURRENCY", "1")
            .env("VEEDOR_OUTBOX_LEASE_SECS", "10")
            .env("VEEDOR_LOG_FILTER", "warn")
            .env("VEEDOR_MAIL_DIR", std::env::temp_dir().join(format!("veedor-{name}-mail")))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start veedor serve");
        Replica { name, child }
    }

    fn worker(&self) -> String {
        format!("{}-{}", self.name, self.child.id())
    }

    /// SIGKILL: no shutdown, no cleanup.
    fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Clock(PathBuf);

impl Clock {
    fn set(&self, at: DateTime<Utc>) {
        let tmp = self.0.with_extension("tmp");
        std::fs::write(&tmp, at.to_rfc3339()).unwrap();
        std::fs::rename(&tmp, &self.0).unwrap();
    }
}

/// Waits until some replica has finished the digest run of the minute `at` falls in.
async fn digest_run_done(db: &DatabaseConnection, at: DateTime<Utc>) {
    let slot = veedor::domain::slots::latest_slot(Duration::minutes(1), at);
    let deadline = Instant::now() + StdDuration::from_secs(60);
    loop {
        let done = job_slot::Entity::find()
            .filter(job_slot::Column::Job.eq("digests"))
            .filter(job_slot::Column::DueAt.eq(slot))
            .filter(job_slot::Column::FinishedAt.is_not_null())
            .one(db)
            .await
            .unwrap();
        if let Some(run) = done {
            assert!(run.outcome.as_deref().unwrap_or_default().starts_with("ok"), "{:?}", run.outcome);
            return;
        }
        assert!(Instant::now() < deadline, "no digest run for {slot} within a minute");
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
}

/// Waits until every queued digest was delivered, then returns the digests the sink got, per
/// (recipient, subject).
async fn delivered(db: &DatabaseConnection, sink: &SmtpSink) -> BTreeMap<(String, String), usize> {
    let deadline = Instant::now() + StdDuration::from_secs(120);
    loop {
        let open = notification::Entity::find()
            .filter(notification::Column::Kind.eq("digest"))
            .filter(notification::Column::Status.ne("sent"))
            .all(db)
            .await
            .unwrap();
        if open.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "{} digests still unsent", open.len());
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    let mut got = BTreeMap::new();
    for m in sink.messages() {
        if m.subject().contains("digest") || m.subject().contains("Resumen") {
            *got.entry((m.rcpt_tos.join(","), m.subject())).or_insert(0) += 1;
        }
    }
    got
}

/// Recipients with varied subscriptions: daily and weekly, Madrid and Bogotá.
async fn recipients(w: &World, n: usize) -> Vec<(Uuid, DigestTiming)> {
    let mut out = Vec::new();
    for i in 0..n {
        // Leads see every engagement that is not secret: no team seat needed.
        let id = w.app.user_in(&format!("lead{i}@brisa.example"), Role::Lead, None, Language::Es).await;
        let caller = Caller { id, token: w.app.token_for(id).await };
        let (cadence, tz, time) = match i % 3 {
            0 => (json!({ "every": "daily" }), "Europe/Madrid", "07:30"),
            1 => (json!({ "every": "daily" }), "America/Bogota", "06:00"),
            _ => (json!({ "every": "weekly", "weekday": "mon" }), "Europe/Madrid", "08:00"),
        };
        let body = json!({ "cadence": cadence, "local_time": time, "timezone": tz });
        let (status, body) = w.app.post(&caller, "/api/v1/digests", body).await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
        let cadence: DigestCadence = serde_json::from_value(body["cadence"].clone()).unwrap();
        let timing = DigestTiming {
            cadence,
            local_time: NaiveTime::parse_from_str(time, "%H:%M").unwrap(),
            timezone: tz.parse().unwrap(),
        };
        out.push((id, timing));
    }
    out
}

/// The in-process app only prepares the data: no scheduler, no delivery.
async fn setup(start: &str) -> (World, tempfile::TempDir, Clock) {
    let app = TestApp::spawn_with(|c| c.outbox_workers = 0).await;
    let w = world(app, start, &["2026-01-01"]).await;
    // Only the subscriptions made below: the lead's and Elena's are removed.
    use sea_orm::ModelTrait;
    for s in digest_subscription::Entity::find().all(&w.app.state.db).await.unwrap() {
        s.delete(&w.app.state.db).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock(dir.path().join("now"));
    clock.set(w.app.clock_now());
    (w, dir, clock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_deliver_exactly_one_digest_per_recipient_and_period_over_a_month() {
    if !on_postgres() {
        eprintln!("multi-process digests: PostgreSQL only (set VEEDOR_TEST_DATABASE_URL)");
        return;
    }
    let sink = SmtpSink::start(Mode::Accept).await;
    let (w, _dir, clock) = setup("2026-03-01T00:00:00Z").await;
    let start = w.app.clock_now();
    let subs = recipients(&w, 6).await;
    let db = w.app.state.db.clone();
    let mut a = Replica::start("replica-a", &w, &sink.url(), &clock.0);
    let mut b = Replica::start("replica-b", &w, &sink.url(), &clock.0);
    // A simulated month (across the spring DST change), half a day at a time.
    let end: DateTime<Utc> = "2026-04-01T00:00:00Z".parse().unwrap();
    let mut now = start;
    while now < end {
        now += Duration::hours(12);
        clock.set(now);
        digest_run_done(&db, now).await;
    }
    let got = delivered(&db, &sink).await;
    let expected: usize = subs.iter().map(|(_, t)| t.between(start, end).len()).sum();
    assert!(expected > 100, "{expected}");
    assert_eq!(got.values().sum::<usize>(), expected, "recipients × periods, at the server");
    assert!(got.values().all(|n| *n == 1), "none twice: {got:?}");
    // Both processes took part (slots are claimed by whichever ticks first).
    let runs = job_slot::Entity::find().filter(job_slot::Column::Job.eq("digests")).all(&db).await.unwrap();
    let by: std::collections::BTreeSet<String> =
        runs.iter().map(|r| r.claimed_by.split('-').take(2).collect::<Vec<_>>().join("-")).collect();
    assert_eq!(by.len(), 2, "{by:?}");
    a.kill();
    b.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_in_the_middle_of_a_digest_run_loses_nothing_and_repeats_at_most_one() {
    if !on_postgres() {
        eprintln!("multi-process digests: PostgreSQL only (set VEEDOR_TEST_DATABASE_URL)");
        return;
    }
    let sink = SmtpSink::start(Mode::Accept).await;
    let (w, _dir, clock) = setup("2026-03-02T06:00:00Z").await;
    let start = w.app.clock_now();
    // Many digests due at once (100 at 07:00 UTC), so that a run takes a while.
    let subs = recipients(&w, 150).await;
    let db = w.app.state.db.clone();
    let mut a = Replica::start("replica-a", &w, &sink.url(), &clock.0);
    let due: DateTime<Utc> = "2026-03-02T07:00:00Z".parse().unwrap();
    // A alone first, so that it is the one running the digests when it dies.
    clock.set(due);
    let deadline = Instant::now() + StdDuration::from_secs(60);
    loop {
        let running = job_slot::Entity::find()
            .filter(job_slot::Column::Job.eq("digests"))
            .filter(job_slot::Column::ClaimedBy.eq(a.worker()))
            .filter(job_slot::Column::FinishedAt.is_null())
            .one(&db)
            .await
            .unwrap();
        let queued =
            notification::Entity::find().filter(notification::Column::Kind.eq("digest")).all(&db).await.unwrap().len();
        if running.is_some() && queued >= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "A never got into a digest run");
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
    a.kill();
    let queued_at_kill =
        notification::Entity::find().filter(notification::Column::Kind.eq("digest")).all(&db).await.unwrap().len();
    let expected: usize = subs.iter().map(|(_, t)| t.between(start, due).len()).sum();
    assert_eq!(expected, 100);
    assert!(queued_at_kill < expected, "killed mid-run: {queued_at_kill} of {expected} queued");
    // B comes up and A restarts: the next minute's run finishes what A left.
    let _b = Replica::start("replica-b", &w, &sink.url(), &clock.0);
    let _a = Replica::start("replica-a", &w, &sink.url(), &clock.0);
    let later = due + Duration::minutes(1);
    clock.set(later);
    digest_run_done(&db, later).await;
    let got = delivered(&db, &sink).await;
    assert_eq!(got.len(), expected, "every recipient's digest, none missing");
    let repeated: usize = got.values().map(|n| n - 1).sum();
    assert!(repeated <= 1, "at most the one message in flight is repeated: {got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_hour_of_downtime_each_missed_digest_is_sent_once_and_each_job_catches_up_once() {
    if !on_postgres() {
        eprintln!("multi-process digests: PostgreSQL only (set VEEDOR_TEST_DATABASE_URL)");
        return;
    }
    let sink = SmtpSink::start(Mode::Accept).await;
    let (w, _dir, clock) = setup("2026-03-02T05:00:00Z").await;
    let subs = recipients(&w, 6).await;
    let db = w.app.state.db.clone();
    let mut a = Replica::start("replica-a", &w, &sink.url(), &clock.0);
    let mut b = Replica::start("replica-b", &w, &sink.url(), &clock.0);
    let before: DateTime<Utc> = "2026-03-02T05:30:00Z".parse().unwrap();
    clock.set(before);
    digest_run_done(&db, before).await;
    // Both down from 05:30 to 06:45: the 06:30 (Madrid 07:30) digests fall in the gap.
    a.kill();
    b.kill();
    let back: DateTime<Utc> = "2026-03-02T06:45:00Z".parse().unwrap();
    clock.set(back);
    let _a = Replica::start("replica-a", &w, &sink.url(), &clock.0);
    let _b = Replica::start("replica-b", &w, &sink.url(), &clock.0);
    digest_run_done(&db, back).await;
    let got = delivered(&db, &sink).await;
    let start: DateTime<Utc> = "2026-03-02T05:00:00Z".parse().unwrap();
    let expected: usize = subs.iter().map(|(_, t)| t.between(start, back).len()).sum();
    assert_eq!(expected, 2, "the two Madrid daily digests of 06:30 UTC");
    assert_eq!(got.values().sum::<usize>(), expected);
    assert!(got.values().all(|n| *n == 1), "{got:?}");
    // The scheduler ran the missed minutes' jobs once, not once per missed minute.
    let runs = job_slot::Entity::find()
        .filter(job_slot::Column::Job.eq("digests"))
        .filter(job_slot::Column::DueAt.gt(before))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "{:?}", runs.iter().map(|r| r.due_at).collect::<Vec<_>>());
}
