//! P6 "digest build": 1,000 recipients over 200 engagements (5 KPIs × 26 weeks of submitted
//! history each). Every recipient is an executive on the team of 3 engagements with a daily
//! digest, half in Spanish and half in English, all due at the same instant.
//!
//! The digests are built by the real release binary: `veedor serve` is started with its
//! scheduler running the `digests` job every second and no delivery workers, and its first
//! digest run builds, renders and queues all 1,000. The rate is 1,000 ÷ that run's duration
//! (the `job_slots` row's `claimed_at` to `finished_at`, written by the server); the memory is
//! the server process's peak resident set (`VmHWM`) over its whole life. The same is run
//! without charts (`VEEDOR_DIGEST_CHARTS=false`), to show what charts cost. Rounds
//! alternate (charts, no charts, charts, no charts); between rounds the queued digests are
//! removed and the subscriptions made due again.
//!
//! Run: `cargo bench --bench p6_digests` (SQLite), and with
//! `VEEDOR_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.

mod common;

use std::{process::ExitCode, time::Instant};

use anyhow::Context;
use chrono::{Duration, Utc};
use common::{Backend, ScratchDb, Server, Verdict, history};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use veedor::{
    app::digests::subscriptions::NewSubscription,
    db::entity::{digest_subscription, job_slot, notification, team_member, user},
    domain::{
        digest::DigestCadence,
        enums::{Language, Role, TeamRole},
    },
};

const SPEC: history::HistorySpec = history::HistorySpec { engagements: 200, kpis: 5, weeks: 26 };
const RECIPIENTS: usize = 1_000;
const SEATS: usize = 3;
const ROUNDS: usize = 2;
const TARGET_RATE: f64 = 100.0;
const TARGET_RSS_MB: f64 = 200.0;

#[tokio::main]
async fn main() -> ExitCode {
    println!(
        "P6 digest build: {RECIPIENTS} recipients × {SEATS} engagements each, over {} engagements × {} KPIs × {} weeks",
        SPEC.engagements, SPEC.kpis, SPEC.weeks
    );
    common::print_machine();
    common::on_every_backend("p6_digests", measure).await
}

const BIN: &str = env!("CARGO_BIN_EXE_veedor");

/// The peak resident set of a process, in MB (Linux).
fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// One digest run by a fresh `veedor serve`: its duration in seconds and the server's peak
/// resident memory in MB.
async fn serve_one_run(db: &sea_orm::DatabaseConnection, url: &str, charts: bool) -> anyhow::Result<(f64, f64)> {
    let mail = tempfile::tempdir()?;
    let mut child = tokio::process::Command::new(BIN)
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("VEEDOR_DATABASE_URL", url)
        .env("VEEDOR_BIND", "127.0.0.1:0")
        .env("VEEDOR_MAIL_DIR", mail.path())
        .env("VEEDOR_LOG_FILTER", "warn")
        .env("VEEDOR_SCHEDULER_TICK_SECS", "1")
        .env("VEEDOR_DIGEST_INTERVAL_SECS", "1")
        .env("VEEDOR_DIGEST_CHARTS", charts.to_string())
        .env("VEEDOR_OUTBOX_WORKERS", "0")
        .env("VEEDOR_ALERT_INTERVAL_SECS", "0")
        .env("VEEDOR_ESCALATION_INTERVAL_SECS", "0")
        .env("VEEDOR_OUTBOX_SWEEP_SECS", "0")
        .env("VEEDOR_CLEANUP_INTERVAL_SECS", "0")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().unwrap_or_default();
    let started = Instant::now();
    let run = loop {
        let done = job_slot::Entity::find()
            .filter(job_slot::Column::Job.eq("digests"))
            .filter(job_slot::Column::Outcome.like("ok: queued 1000,%"))
            .one(db)
            .await?;
        if let Some(run) = done {
            break run;
        }
        anyhow::ensure!(started.elapsed().as_secs() < 600, "no digest run of 1,000 within 10 minutes");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let peak = peak_rss_mb(pid);
    child.kill().await?;
    let finished = run.finished_at.context("a finished run")?;
    Ok(((finished - run.claimed_at).num_milliseconds() as f64 / 1e3, peak))
}

async fn measure(backend: &Backend, scratch: &ScratchDb, verdict: &mut Verdict) -> anyhow::Result<()> {
    // No delivery workers: the run's building and queuing is what is measured.
    let server = Server::start_with(scratch.url(), |c| c.outbox_workers = 0).await?;
    let lead = common::user_with_token(&server.state, Role::Lead).await?;
    let seeded = history::seed(&server.state, lead.id, SPEC).await?;
    let db = &server.state.db;
    let now = Utc::now();
    let due = now - Duration::minutes(1);

    // Recipients, their team seats and subscriptions, written in batches (creating 1,000
    // users through the API would hash 1,000 passwords).
    let started = Instant::now();
    let hash = user::Entity::find_by_id(lead.id).one(db).await?.map(|u| u.password_hash).unwrap_or_default();
    let mut users = Vec::new();
    let mut seats = Vec::new();
    let mut subs = Vec::new();
    for i in 0..RECIPIENTS {
        let id = Uuid::now_v7();
        let language = if i % 2 == 0 { Language::Es } else { Language::En };
        users.push(user::ActiveModel {
            id: Set(id),
            email: Set(format!("exec{i}@bench.example")),
            name: Set(format!("Directiva {i}")),
            role: Set(Role::Executive),
            vendor_id: Set(None),
            language: Set(language),
            timezone: Set("Europe/Madrid".into()),
            password_hash: Set(hash.clone()),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        });
        for k in 0..SEATS {
            let e = seeded.engagements[(i * 7 + k * 67) % SPEC.engagements];
            seats.push(team_member::ActiveModel {
                id: Set(Uuid::now_v7()),
                engagement_id: Set(e),
                user_id: Set(id),
                team_role: Set(TeamRole::Executive),
                added_at: Set(now),
            });
        }
        let settings = NewSubscription {
            user_id: id,
            cadence: DigestCadence::Daily,
            local_time: "08:00".into(),
            timezone: "Europe/Madrid".into(),
            language: if i % 2 == 0 { Language::Es } else { Language::En },
            engagement_ids: None,
            skip_unchanged: false,
            active: true,
        };
        subs.push(settings.row(due, now));
    }
    for chunk in users.chunks(200) {
        user::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    for chunk in seats.chunks(200) {
        team_member::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    for chunk in subs.chunks(200) {
        digest_subscription::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    println!("seeded {RECIPIENTS} recipients in {:.1} s", started.elapsed().as_secs_f64());

    // The in-process server only seeded: the digests are built by a `veedor serve` of its own.
    server.stop().await?;
    let db = sea_orm::Database::connect(scratch.url()).await?;
    let mut results: Vec<(bool, f64, f64)> = Vec::new();
    for round in 1..=ROUNDS {
        for charts in [true, false] {
            // Make every subscription due again, with nothing queued and no run recorded.
            notification::Entity::delete_many().filter(notification::Column::Kind.eq("digest")).exec(&db).await?;
            job_slot::Entity::delete_many().exec(&db).await?;
            digest_subscription::Entity::update_many()
                .col_expr(digest_subscription::Column::NextDueAt, due.into())
                .exec(&db)
                .await?;
            let (elapsed, peak) = serve_one_run(&db, scratch.url(), charts).await?;
            let queued = notification::Entity::find().filter(notification::Column::Kind.eq("digest")).all(&db).await?;
            anyhow::ensure!(queued.len() == RECIPIENTS, "{} digests in the outbox", queued.len());
            if charts {
                let images = queued.iter().filter(|n| n.images.is_some()).count();
                anyhow::ensure!(images == RECIPIENTS, "{images} digests carry charts");
            }
            let rate = RECIPIENTS as f64 / elapsed;
            println!(
                "  round {round} {:<14} {RECIPIENTS} digests in {elapsed:>6.2} s = {rate:>7.1} digests/s; server peak RSS {peak:.0} MB; one digest: {} KB HTML",
                if charts { "with charts" } else { "without charts" },
                queued[0].body_html.len() / 1024
            );
            results.push((charts, rate, peak));
        }
    }
    for charts in [true, false] {
        let mine: Vec<&(bool, f64, f64)> = results.iter().filter(|r| r.0 == charts).collect();
        let rate = mine.iter().map(|r| r.1).sum::<f64>() / mine.len() as f64;
        let peak = mine.iter().map(|r| r.2).fold(0.0, f64::max);
        let label = if charts { "with charts" } else { "without charts" };
        verdict.check(
            &format!("{} digests/s {label}", backend.name()),
            format!("{rate:.1}/s (mean of {ROUNDS})"),
            &format!("≥ {TARGET_RATE}/s"),
            !charts || rate >= TARGET_RATE,
        );
        verdict.check(
            &format!("{} peak RSS {label}", backend.name()),
            format!("{peak:.0} MB"),
            &format!("≤ {TARGET_RSS_MB} MB"),
            !charts || peak <= TARGET_RSS_MB,
        );
    }
    Ok(())
}
