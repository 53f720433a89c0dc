//! P6 "digest build": 1,000 recipients over 200 engagements (5 KPIs × 26 weeks of submitted
//! history each). Every recipient is an executive on the team of 3 engagements with a daily
//! digest, half in Spanish and half in English, all due at the same instant. One digest run
//! (`veedor::digest::run`, what the scheduler calls) builds, renders and queues them all:
//! the figure is digests queued per second over the whole run, and the peak resident memory
//! of the process during it. The same is run without charts, to show what charts cost.
//! Rounds alternate (charts, no charts, charts, no charts); between rounds the queued
//! digests are removed and the subscriptions made due again.
//!
//! Run: `cargo bench --bench p6_digests` (SQLite), and with
//! `VEEDOR_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.

mod common;

use std::{process::ExitCode, time::Instant};

use chrono::{Duration, Utc};
use common::{Backend, ScratchDb, Server, Verdict, history};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use veedor::{
    digest::{self, RunSettings},
    domain::{
        digest::DigestCadence,
        enums::{Language, Role},
    },
    store::{
        digests::NewSubscription,
        entity::{digest_subscription, notification, team_member, user},
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

/// Resident memory now and at its peak since the last reset, in MB (Linux).
fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Starts a new peak-memory measurement (`echo 5 > /proc/self/clear_refs`).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
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
        let language = if i % 2 == 0 { "es" } else { "en" };
        users.push(user::ActiveModel {
            id: Set(id),
            email: Set(format!("exec{i}@bench.example")),
            name: Set(format!("Directiva {i}")),
            role: Set("executive".into()),
            vendor_id: Set(None),
            language: Set(language.into()),
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
                team_role: Set("executive".into()),
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

    let mut results: Vec<(bool, f64, f64)> = Vec::new();
    for round in 1..=ROUNDS {
        for charts in [true, false] {
            // Make every subscription due again, with nothing queued.
            notification::Entity::delete_many().filter(notification::Column::Kind.eq("digest")).exec(db).await?;
            digest_subscription::Entity::update_many()
                .col_expr(digest_subscription::Column::NextDueAt, due.into())
                .exec(db)
                .await?;
            let settings = RunSettings { catch_up: Duration::hours(12), charts };
            let (before, _) = rss_mb();
            reset_peak();
            let started = Instant::now();
            let report = digest::run(db, &server.state.rules.notifier, now, settings)
                .await
                .map_err(|e| anyhow::anyhow!("digest run: {e:?}"))?;
            let elapsed = started.elapsed().as_secs_f64();
            let (_, peak) = rss_mb();
            anyhow::ensure!(
                report.queued == RECIPIENTS && report.failed == 0,
                "the run queued {} and failed {}",
                report.queued,
                report.failed
            );
            let queued = notification::Entity::find().filter(notification::Column::Kind.eq("digest")).all(db).await?;
            anyhow::ensure!(queued.len() == RECIPIENTS, "{} digests in the outbox", queued.len());
            if charts {
                let images = queued.iter().filter(|n| n.images.is_some()).count();
                anyhow::ensure!(images == RECIPIENTS, "{images} digests carry charts");
            }
            let sample = &queued[0];
            let rate = RECIPIENTS as f64 / elapsed;
            println!(
                "  round {round} {:<14} {RECIPIENTS} digests in {elapsed:>6.2} s = {rate:>7.1} digests/s; RSS {before:.0} MB before, peak {peak:.0} MB; one digest: {} KB HTML",
                if charts { "with charts" } else { "without charts" },
                sample.body_html.len() / 1024
            );
            results.push((charts, rate, peak));
        }
    }
    server.stop().await?;
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
