//! Shared harness of the benchmarks: an in-process Veedor on SQLite or a scratch PostgreSQL
//! database, users and tokens made through the store, a time-bounded closed-loop load
//! generator (one keep-alive connection per worker) and PASS/FAIL reporting.
//!
//! All traffic goes to 127.0.0.1. Every figure printed is measured; nothing is tuned.

#![allow(dead_code)] // each bench uses only part of this module

pub mod history;
pub mod smtp;

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use http_body_util::{BodyExt, Empty};
use hyper::{
    body::Bytes,
    header::{self, HeaderValue},
};
use hyper_util::rt::TokioIo;
use sea_orm::{ConnectionTrait, Database};
use tokio::{sync::oneshot, task::JoinHandle};
use uuid::Uuid;
use veedor::{
    app::{tokens, users},
    clock::{Clock, SystemClock},
    config::Config,
    db::audit::Actor,
    domain::{enums::Role, user::NewUserInput},
    server::Application,
    state::AppState,
    telemetry,
};

/// Names the PostgreSQL server to benchmark against as well (optional).
pub const PG_ENV: &str = "VEEDOR_BENCH_DATABASE_URL";

/// Concurrent workers, each with its own keep-alive connection.
pub const CONNECTIONS: usize = 32;
/// Un-measured load before each measured phase.
pub const WARMUP: Duration = Duration::from_secs(1);
/// Length of each measured phase.
pub const MEASURE: Duration = Duration::from_secs(5);
/// Each pair of compared phases runs this many times, interleaved (A B A B), so that a
/// burst of background load (another build on this machine) hits both sides alike.
pub const ROUNDS: usize = 2;

// ---------------------------------------------------------------------------------------
// Databases

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The URL of an existing database on the server, used only to create a scratch one.
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// SQLite always; PostgreSQL too when `VEEDOR_BENCH_DATABASE_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    match std::env::var(PG_ENV) {
        Ok(url) if !url.trim().is_empty() => all.push(Backend::Postgres(url)),
        _ => println!("({PG_ENV} not set: PostgreSQL runs skipped)"),
    }
    all
}

/// A database made for one run and removed afterwards.
pub enum ScratchDb {
    Sqlite { dir: tempfile::TempDir, url: String },
    Postgres { admin_url: String, name: String, url: String },
}

impl ScratchDb {
    pub async fn create(backend: &Backend) -> anyhow::Result<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().context("creating a temp dir")?;
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
                Ok(ScratchDb::Sqlite { dir, url })
            }
            Backend::Postgres(admin_url) => {
                let name = format!("bench_{}", Uuid::new_v4().simple());
                let admin = Database::connect(admin_url.as_str())
                    .await
                    .with_context(|| format!("connecting to {admin_url}"))?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .with_context(|| format!("creating database {name}"))?;
                admin.close().await.ok();
                let mut url = url::Url::parse(admin_url).context("parsing the PostgreSQL URL")?;
                url.set_path(&format!("/{name}"));
                Ok(ScratchDb::Postgres { admin_url: admin_url.clone(), name, url: url.to_string() })
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            ScratchDb::Sqlite { url, .. } | ScratchDb::Postgres { url, .. } => url,
        }
    }

    pub fn dir(&self) -> Option<&std::path::Path> {
        match self {
            ScratchDb::Sqlite { dir, .. } => Some(dir.path()),
            ScratchDb::Postgres { .. } => None,
        }
    }

    /// Removes the database (the temp dir goes with `self`).
    pub async fn drop_db(self) -> anyhow::Result<()> {
        if let ScratchDb::Postgres { admin_url, name, .. } = self {
            let admin = Database::connect(admin_url.as_str()).await?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
                .with_context(|| format!("dropping database {name}"))?;
            admin.close().await.ok();
            println!("dropped scratch database {name}");
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// The server under test

pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Builds and serves the real application on 127.0.0.1 with an ephemeral port.
    pub async fn start(database_url: &str) -> anyhow::Result<Self> {
        Self::start_with(database_url, |_| {}).await
    }

    /// The same, after `adjust` has changed the configuration. Mail goes to a directory of
    /// the system's temporary files unless `adjust` says otherwise.
    pub async fn start_with(database_url: &str, adjust: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        let mut config = Config {
            database_url: database_url.to_owned(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            log_filter: "warn".into(),
            mail_dir: std::env::temp_dir().join(format!("veedor-bench-mail-{}", std::process::id())),
            alert_interval_secs: 0,
            // Benches call the scheduled jobs themselves.
            scheduler_tick_secs: 0,
            ..Config::default()
        };
        adjust(&mut config);
        telemetry::init_logging(&config);
        let application = Application::build(config.clone()).await?;
        let addr = application.local_addr()?;
        let state = application.state();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(application.run_until(async move {
            let _ = rx.await;
        }));
        Ok(Self { addr, state, config, shutdown: Some(tx), task: Some(task) })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Graceful shutdown; the application closes its pool.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .context("server did not stop within 30 s")???;
        }
        Ok(())
    }
}

/// A user made through the store, and a fresh API token of theirs.
pub struct BenchUser {
    pub id: Uuid,
    pub secret: String,
}

pub async fn user_with_token(state: &AppState, role: Role) -> anyhow::Result<BenchUser> {
    let actor = Actor::system("bench");
    let now = SystemClock.now();
    let created = users::create(
        &state.db,
        now,
        &actor,
        NewUserInput {
            email: format!("bench-{}@bench.example", Uuid::new_v4().simple()),
            name: "Bench user".into(),
            role,
            vendor_id: None,
            language: veedor::domain::enums::Language::En,
            timezone: "Europe/Madrid".into(),
            password: Some("bench-password-not-secret".into()),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the bench user: {e:?}"))?;
    let issued = tokens::issue(
        &state.db,
        now,
        &actor,
        created.user.id,
        "bench",
        (Some(30.0), tokens::Lifetimes { default_days: 30, max_days: 365 }),
    )
    .await
    .map_err(|e| anyhow::anyhow!("issuing the bench token: {e:?}"))?;
    Ok(BenchUser { id: created.user.id, secret: issued.secret })
}

// ---------------------------------------------------------------------------------------
// Load generation

/// What a worker asks for: one of `paths` on `addr`, picked at random per request.
pub struct Target {
    pub label: String,
    pub addr: SocketAddr,
    pub paths: Arc<Vec<String>>,
    pub bearer: Option<String>,
}

impl Target {
    pub fn single(label: &str, addr: SocketAddr, path: &str, bearer: Option<&str>) -> Self {
        Self {
            label: label.to_owned(),
            addr,
            paths: Arc::new(vec![path.to_owned()]),
            bearer: bearer.map(str::to_owned),
        }
    }

    pub fn url(&self, i: usize) -> String {
        format!("http://{}{}", self.addr, self.paths[i])
    }
}

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    /// Latencies in nanoseconds, sorted.
    pub latencies: Vec<u64>,
    /// CPU seconds this process (server and load generator together) used while measuring.
    pub process_cpu: f64,
    /// CPU seconds the whole machine was busy while measuring (all processes).
    pub machine_cpu: f64,
}

impl Stats {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    /// Cores this process kept busy on average.
    pub fn process_cores(&self) -> f64 {
        self.process_cpu / self.seconds
    }

    /// Cores busy on the whole machine on average (other processes included).
    pub fn machine_cores(&self) -> f64 {
        self.machine_cpu / self.seconds
    }

    /// CPU time of this process per request, load generator included, in microseconds.
    pub fn cpu_us_per_request(&self) -> f64 {
        self.process_cpu * 1e6 / self.requests.max(1) as f64
    }

    fn quantile_ns(&self, q: f64) -> u64 {
        if self.latencies.is_empty() {
            return 0;
        }
        let idx = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
        self.latencies[idx.min(self.latencies.len() - 1)]
    }

    pub fn p50_ms(&self) -> f64 {
        self.quantile_ns(0.50) as f64 / 1e6
    }

    pub fn p99_ms(&self) -> f64 {
        self.quantile_ns(0.99) as f64 / 1e6
    }

    pub fn merge(mut self, other: Stats) -> Stats {
        self.requests += other.requests;
        self.errors += other.errors;
        self.seconds += other.seconds;
        self.latencies.extend(other.latencies);
        self.latencies.sort_unstable();
        self.process_cpu += other.process_cpu;
        self.machine_cpu += other.machine_cpu;
        self
    }
}

/// Tiny per-worker PRNG (xorshift64*), so workers need no shared or non-`Send` state.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

/// One keep-alive HTTP/1.1 connection (hyper's connection-level client: no pool, no proxy
/// logic, so the load generator takes as little of the shared CPU as it can).
async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends one GET and reads the whole body; `true` for a 200.
async fn get(sender: &mut Sender, path: &str, host: &HeaderValue, auth: Option<&HeaderValue>) -> anyhow::Result<bool> {
    let mut req = hyper::Request::get(path).header(header::HOST, host.clone());
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a.clone());
    }
    sender.ready().await?;
    let resp = sender.send_request(req.body(Empty::new())?).await?;
    let ok = resp.status() == hyper::StatusCode::OK;
    resp.into_body().collect().await?;
    Ok(ok)
}

/// Closed-loop load: `CONNECTIONS` workers, each with its own keep-alive connection, send
/// requests back to back for `WARMUP` (not counted) then `MEASURE`. A request counts when it
/// starts after the warm-up and ends before the deadline; any answer other than 200 counts
/// as an error (a broken connection too, and is replaced).
pub async fn run_load(target: &Target) -> anyhow::Result<Stats> {
    let host = HeaderValue::from_str(&target.addr.to_string())?;
    let auth = match &target.bearer {
        Some(s) => Some(HeaderValue::from_str(&format!("Bearer {s}"))?),
        None => None,
    };
    let mut senders = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        senders.push(connect(target.addr).await?);
    }
    let start = Instant::now();
    let measure_from = start + WARMUP;
    let deadline = measure_from + MEASURE;
    let mut workers = tokio::task::JoinSet::new();
    for (w, mut sender) in senders.into_iter().enumerate() {
        let paths = target.paths.clone();
        let (host, auth, addr) = (host.clone(), auth.clone(), target.addr);
        workers.spawn(async move {
            let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ ((w as u64 + 1) << 17));
            let mut latencies = Vec::with_capacity(64 * 1024);
            let mut errors = 0u64;
            loop {
                let path = &paths[(rng.next() % paths.len() as u64) as usize];
                let sent = Instant::now();
                if sent >= deadline {
                    break;
                }
                let outcome = get(&mut sender, path, &host, auth.as_ref()).await;
                let done = Instant::now();
                let counted = sent >= measure_from && done <= deadline;
                match outcome {
                    Ok(true) if counted => latencies.push((done - sent).as_nanos() as u64),
                    Ok(true) => {}
                    Ok(false) => errors += u64::from(counted),
                    Err(_) => {
                        errors += u64::from(counted);
                        match connect(addr).await {
                            Ok(s) => sender = s,
                            Err(_) => break,
                        }
                    }
                }
            }
            (latencies, errors)
        });
    }
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = cpu_seconds();
        tokio::time::sleep_until(deadline.into()).await;
        let after = cpu_seconds();
        (after.0 - before.0, after.1 - before.1)
    });
    let mut stats = Stats { seconds: MEASURE.as_secs_f64(), ..Stats::default() };
    (stats.process_cpu, stats.machine_cpu) = cpu.await?;
    while let Some(joined) = workers.join_next().await {
        let (latencies, errors) = joined?;
        stats.requests += latencies.len() as u64;
        stats.errors += errors;
        stats.latencies.extend(latencies);
    }
    stats.latencies.sort_unstable();
    Ok(stats)
}

/// (CPU seconds used by this process, CPU seconds the machine was busy) since boot, from
/// /proc (zeros where it cannot be read).
fn cpu_seconds() -> (f64, f64) {
    let tick = 100.0; // USER_HZ, 100 on Linux for /proc's clock-tick fields
    let process = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.get(s.rfind(')')? + 2..)?.to_owned();
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / tick)
        })
        .unwrap_or(0.0);
    let machine = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let line = s.lines().next()?.strip_prefix("cpu ")?.to_owned();
            let v: Vec<f64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
            // user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
            let total: f64 = v.iter().take(8).sum();
            Some((total - v.get(3)? - v.get(4)?) / tick)
        })
        .unwrap_or(0.0);
    (process, machine)
}

/// Runs the targets interleaved `ROUNDS` times and returns each target's merged figures.
pub async fn compare(targets: &[&Target]) -> anyhow::Result<Vec<Stats>> {
    let mut merged = vec![Stats::default(); targets.len()];
    for round in 1..=ROUNDS {
        for (i, t) in targets.iter().enumerate() {
            let s = run_load(t).await?;
            println!(
                "  round {round} {:<28} {:>9.0} req/s  p50 {:>6.3} ms  p99 {:>6.3} ms  errors {}  cpu {:.2} cores ({:.1} us/req), machine {:.2} cores busy",
                t.label,
                s.rps(),
                s.p50_ms(),
                s.p99_ms(),
                s.errors,
                s.process_cores(),
                s.cpu_us_per_request(),
                s.machine_cores()
            );
            merged[i] = std::mem::take(&mut merged[i]).merge(s);
        }
    }
    Ok(merged)
}

/// One GET through an ordinary HTTP client, for setup checks: status and body.
pub async fn get_once(url: &str, bearer: Option<&str>) -> anyhow::Result<(u16, String)> {
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(30)).build()?;
    let mut req = client.get(url);
    if let Some(b) = bearer {
        req = req.header(reqwest::header::AUTHORIZATION, format!("Bearer {b}"));
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await?))
}

// ---------------------------------------------------------------------------------------
// Reporting

/// Collects PASS/FAIL lines and decides the exit code.
#[derive(Default)]
pub struct Verdict {
    failed: bool,
    lines: Vec<String>,
}

impl Verdict {
    pub fn check(&mut self, what: &str, measured: String, target: &str, ok: bool) {
        let word = if ok { "PASS" } else { "FAIL" };
        let line = format!("{word}  {what}: {measured} (target {target})");
        println!("{line}");
        self.lines.push(line);
        self.failed |= !ok;
    }

    pub fn fail(&mut self, what: &str, why: String) {
        let line = format!("FAIL  {what}: {why}");
        println!("{line}");
        self.lines.push(line);
        self.failed = true;
    }

    pub fn finish(self, bench: &str) -> std::process::ExitCode {
        println!("\n== {bench} summary ==");
        for l in &self.lines {
            println!("{l}");
        }
        if self.failed {
            println!("{bench}: FAIL");
            std::process::ExitCode::FAILURE
        } else {
            println!("{bench}: PASS");
            std::process::ExitCode::SUCCESS
        }
    }
}

/// Prints the totals of a comparison of `subject` against `base` and records two verdicts:
/// the throughput ratio subject ÷ base against `target`, and no answer other than 200.
pub fn report_ratio(
    verdict: &mut Verdict,
    backend: &Backend,
    (base, base_stats): (&Target, &Stats),
    (subject, subject_stats): (&Target, &Stats),
    ratio_name: &str,
    target: f64,
) {
    println!("\n{} totals:", backend.name());
    print_stats_header();
    print_stats(&base.label, base_stats);
    print_stats(&subject.label, subject_stats);
    let ratio = subject_stats.rps() / base_stats.rps();
    println!("  ratio {ratio_name}: {ratio:.3}");
    let name = backend.name();
    verdict.check(
        &format!("{name} {ratio_name} throughput ratio"),
        format!("{ratio:.3} ({:.0} / {:.0} req/s)", subject_stats.rps(), base_stats.rps()),
        &format!(">= {target}"),
        ratio >= target,
    );
    let errors = base_stats.errors + subject_stats.errors;
    verdict.check(&format!("{name} non-200 answers"), format!("{errors}"), "0", errors == 0);
}

pub fn print_stats_header() {
    println!(
        "  {:<30} {:>9} {:>9} {:>8} {:>8} {:>6} {:>10} {:>9}",
        "endpoint", "requests", "req/s", "p50 ms", "p99 ms", "errors", "cpu us/req", "cpu cores"
    );
}

pub fn print_stats(label: &str, s: &Stats) {
    println!(
        "  {:<30} {:>9} {:>9.0} {:>8.3} {:>8.3} {:>6} {:>10.1} {:>9.2}",
        label,
        s.requests,
        s.rps(),
        s.p50_ms(),
        s.p99_ms(),
        s.errors,
        s.cpu_us_per_request(),
        s.process_cores()
    );
}

/// Runs `measure` on every configured back end, each in a scratch database that is dropped
/// afterwards (also when the measurement fails), and prints the verdict of `bench`.
pub async fn on_every_backend(
    bench: &str,
    measure: impl AsyncFn(&Backend, &ScratchDb, &mut Verdict) -> anyhow::Result<()>,
) -> std::process::ExitCode {
    let mut verdict = Verdict::default();
    for backend in backends() {
        println!("\n--- {} ---", backend.name());
        let result = async {
            let db = ScratchDb::create(&backend).await?;
            let result = measure(&backend, &db, &mut verdict).await;
            db.drop_db().await?;
            result
        }
        .await;
        if let Err(e) = result {
            verdict.fail(backend.name(), format!("{e:#}"));
        }
    }
    verdict.finish(bench)
}

/// Machine facts printed at the top of every bench, so a figure can be read in context.
pub fn print_machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("machine: {cores} cores, {cpu}; load average {}", load.trim());
}

/// The load-generator settings, for the HTTP benches.
pub fn print_load_settings() {
    println!(
        "load: {CONNECTIONS} connections, {} s warm-up + {} s measured per phase, {ROUNDS} interleaved rounds",
        WARMUP.as_secs_f64(),
        MEASURE.as_secs_f64()
    );
}
