//! The scheduler: runs each periodic job once per slot across every replica and restart.
//!
//! tokio-cron-scheduler ticks in UTC every `scheduler_tick_secs`; on each tick, every job whose
//! latest slot (aligned on the epoch, `domain::slots`) is new to this process is claimed in
//! the database (`db::slots`, `INSERT … ON CONFLICT DO NOTHING` on `(job, due_at)`), and
//! only the replica whose insert won runs it. A process that starts after downtime runs the
//! latest missed slot of each job once, if it is within `scheduler_catch_up_secs`; older
//! slots are passed over as missed. Each slot a process deals with is counted in
//! `veedor_scheduler_runs_total` by `outcome`: `ran`, `failed`, `claimed_elsewhere` (another
//! replica won the claim: nothing is lost) or `missed` (nothing ran it). No job relies on
//! the scheduler's own time-zone support (it keeps a fixed offset across DST changes):
//! digests compute local send times themselves.
//!
//! Each job is a plain async function of the state and the time; tests call them directly.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Duration, Utc};
use tokio_cron_scheduler::{Job as CronJob, JobScheduler};

use crate::{
    app::{
        alerts, approvals,
        digests::run::{self as digest, RunSettings},
        housekeeping,
    },
    db::slots as slot_claims,
    domain::slots::{self, Tick},
    state::AppState,
};

type RunFn = fn(AppState, DateTime<Utc>) -> Pin<Box<dyn Future<Output = anyhow::Result<String>> + Send>>;

/// A periodic job: its name (the slot key), how often it runs, and what it does.
#[derive(Clone, Copy)]
pub struct Job {
    pub name: &'static str,
    pub every: Duration,
    run: RunFn,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("name", &self.name).field("every", &self.every).finish()
    }
}

impl Job {
    pub async fn run(&self, state: AppState, now: DateTime<Utc>) -> anyhow::Result<String> {
        (self.run)(state, now).await
    }
}

fn secs(n: u64) -> Duration {
    Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX / 1_000))
}

/// The jobs this configuration enables (an interval of 0 turns one off).
pub fn jobs(config: &crate::config::Config) -> Vec<Job> {
    let all = [
        Job {
            name: "alerts",
            every: secs(config.alert_interval_secs),
            run: |s, now| Box::pin(evaluate_alerts(s, now)),
        },
        Job {
            name: "escalations",
            every: secs(config.escalation_interval_secs),
            run: |s, now| Box::pin(escalate(s, now)),
        },
        Job { name: "digests", every: secs(config.digest_interval_secs), run: |s, now| Box::pin(digests(s, now)) },
        Job { name: "outbox_sweep", every: secs(config.outbox_sweep_secs), run: |s, now| Box::pin(sweep(s, now)) },
        Job { name: "cleanup", every: secs(config.cleanup_interval_secs), run: |s, now| Box::pin(cleanup(s, now)) },
    ];
    all.into_iter().filter(|j| j.every > Duration::zero()).collect()
}

async fn evaluate_alerts(state: AppState, now: DateTime<Utc>) -> anyhow::Result<String> {
    let e = alerts::evaluate_alerts(&state.db, &state.rules.notifier, now).await?;
    Ok(format!("fired {}, resolved {}, emails {}", e.fired, e.resolved, e.emails))
}

async fn escalate(state: AppState, now: DateTime<Utc>) -> anyhow::Result<String> {
    Ok(format!("escalated {}", approvals::escalate_overdue(&state.db, now).await?))
}

async fn digests(state: AppState, now: DateTime<Utc>) -> anyhow::Result<String> {
    let r = digest::run(&state.db, &state.rules.notifier, now, RunSettings::from_config(&state.config)).await?;
    Ok(format!("queued {}, skipped {}, failed {}, raced {}", r.queued, r.skipped, r.failed, r.raced))
}

async fn sweep(state: AppState, _now: DateTime<Utc>) -> anyhow::Result<String> {
    Ok(format!("released {}", housekeeping::sweep_outbox(&state.db).await?))
}

async fn cleanup(state: AppState, now: DateTime<Utc>) -> anyhow::Result<String> {
    let keep = housekeeping::Retention {
        session_idle: Duration::minutes(state.config.session_idle_minutes),
        login_window: Duration::minutes(state.config.login_window_minutes),
        history: Duration::days(state.config.retention_days),
    };
    let c = housekeeping::cleanup(&state.db, now, keep).await?;
    Ok(serde_json::to_string(&c)?)
}

/// A running scheduler; dropping it without [`Scheduler::shutdown`] leaves its ticks running
/// until the runtime ends.
pub struct Scheduler {
    inner: JobScheduler,
}

impl Scheduler {
    /// Starts ticking, unless `scheduler_tick_secs` is 0.
    pub async fn start(state: AppState) -> anyhow::Result<Option<Scheduler>> {
        let tick = state.config.scheduler_tick_secs;
        let jobs = jobs(&state.config);
        if tick == 0 || jobs.is_empty() {
            return Ok(None);
        }
        let runner = Arc::new(Runner {
            worker: format!("{}-{}", crate::config::instance_name(), std::process::id()),
            window: Duration::seconds(state.config.scheduler_catch_up_secs),
            state,
            jobs,
            last: Mutex::new(HashMap::new()),
            busy: Arc::new(Mutex::new(HashSet::new())),
        });
        let inner = JobScheduler::new().await?;
        let job = CronJob::new_repeated_async(std::time::Duration::from_secs(tick), move |_id, _scheduler| {
            let runner = runner.clone();
            Box::pin(async move { runner.tick() })
        })?;
        inner.add(job).await?;
        inner.start().await?;
        Ok(Some(Scheduler { inner }))
    }

    pub async fn shutdown(mut self) {
        if let Err(e) = self.inner.shutdown().await {
            tracing::warn!(error = %e, "stopping the scheduler");
        }
    }
}

/// How a process dealt with a job's slot: the `outcome` of `veedor_scheduler_runs_total`.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// This process claimed the slot and the job succeeded.
    Ran,
    /// This process claimed the slot and the job returned an error.
    Failed,
    /// Another replica (or an earlier run of this one) had claimed the slot.
    ClaimedElsewhere,
    /// The slot was older than the catch-up window when this process first saw it.
    Missed,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Ran => "ran",
            Outcome::Failed => "failed",
            Outcome::ClaimedElsewhere => "claimed_elsewhere",
            Outcome::Missed => "missed",
        }
    }
}

fn count(job: &'static str, outcome: Outcome) {
    metrics::counter!("veedor_scheduler_runs_total", "job" => job, "outcome" => outcome.label()).increment(1);
}

struct Runner {
    state: AppState,
    jobs: Vec<Job>,
    worker: String,
    window: Duration,
    /// The latest slot of each job this process has tried.
    last: Mutex<HashMap<&'static str, DateTime<Utc>>>,
    /// Jobs running in this process now: a slow run is not overlapped by the next one here.
    busy: Arc<Mutex<HashSet<&'static str>>>,
}

impl Runner {
    fn tick(self: &Arc<Self>) {
        let now = self.state.clock.now();
        for job in &self.jobs {
            let slot = {
                let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
                let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
                match slots::tick(job.every, now, last.get(job.name).copied(), self.window) {
                    Tick::Run(slot) if busy.insert(job.name) => {
                        last.insert(job.name, slot);
                        slot
                    }
                    Tick::Missed(slot) => {
                        last.insert(job.name, slot);
                        tracing::info!(job = job.name, %slot, "a job slot older than the catch-up window is passed over");
                        count(job.name, Outcome::Missed);
                        continue;
                    }
                    _ => continue,
                }
            };
            let (runner, job) = (self.clone(), *job);
            tokio::spawn(async move {
                runner.run_slot(job, slot, now).await;
                runner.busy.lock().unwrap_or_else(|e| e.into_inner()).remove(job.name);
            });
        }
    }

    async fn run_slot(&self, job: Job, slot: DateTime<Utc>, now: DateTime<Utc>) {
        let db = &self.state.db;
        match slot_claims::claim(db, job.name, slot, &self.worker, now).await {
            Ok(true) => {}
            Ok(false) => {
                count(job.name, Outcome::ClaimedElsewhere);
                return;
            }
            Err(e) => {
                // Not claimed: forget the slot so that the next tick tries it again.
                tracing::warn!(job = job.name, error = %e, "claiming a job slot failed");
                self.last.lock().unwrap_or_else(|e| e.into_inner()).remove(job.name);
                return;
            }
        }
        let started = std::time::Instant::now();
        let result = job.run(self.state.clone(), now).await;
        let (label, outcome) = match &result {
            Ok(summary) => (Outcome::Ran, format!("ok: {summary}")),
            Err(e) => (Outcome::Failed, format!("error: {e:#}")),
        };
        match &result {
            Ok(summary) => tracing::debug!(job = job.name, %slot, summary, "job ran"),
            Err(e) => tracing::warn!(job = job.name, %slot, error = %e, "job failed"),
        }
        count(job.name, label);
        metrics::histogram!("veedor_scheduler_run_seconds", "job" => job.name).record(started.elapsed().as_secs_f64());
        if let Err(e) = slot_claims::finish(db, job.name, slot, self.state.clock.now(), &outcome).await {
            tracing::warn!(job = job.name, error = %e, "recording a job run failed");
        }
    }
}
