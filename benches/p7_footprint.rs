//! P7 "footprint": the real release binary. `veedor migrate` once, then `veedor serve` started
//! five times on the migrated database; each time the time from spawn until `GET /readyz`
//! answers 200 (polled every 5 ms) and the resident memory (VmRSS) when ready and after about
//! one second idle.
//!
//! Targets: ready within 1 s, VmRSS at most 30 MB (both judged on the worst of the starts).
//!
//! Run: `cargo bench --bench p7_footprint` (SQLite), and with
//! `VEEDOR_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.

mod common;

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context;
use common::{Backend, ScratchDb, Verdict};

const BIN: &str = env!("CARGO_BIN_EXE_veedor");
const STARTS: usize = 5;
const POLL: Duration = Duration::from_millis(5);
const GIVE_UP: Duration = Duration::from_secs(30);
const IDLE: Duration = Duration::from_secs(1);
const TARGET_READY: Duration = Duration::from_secs(1);
const TARGET_RSS_KB: u64 = 30 * 1024;

fn main() -> ExitCode {
    println!("P7 footprint: {BIN}");
    common::print_machine();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut verdict = Verdict::default();
    for backend in common::backends() {
        println!("\n--- {} ---", backend.name());
        let db = match runtime.block_on(ScratchDb::create(&backend)) {
            Ok(db) => db,
            Err(e) => {
                verdict.fail(backend.name(), format!("{e:#}"));
                continue;
            }
        };
        if let Err(e) = run(&backend, &db, &mut verdict) {
            verdict.fail(backend.name(), format!("{e:#}"));
        }
        if let Err(e) = runtime.block_on(db.drop_db()) {
            verdict.fail(backend.name(), format!("dropping the scratch database: {e:#}"));
        }
    }
    verdict.finish("p7_footprint")
}

/// A command with only the `VEEDOR_*` variables given here.
fn veedor(database_url: &str, log_dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("VEEDOR_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("VEEDOR_DATABASE_URL", database_url)
        .env("VEEDOR_LOG_FILTER", "warn")
        .env("VEEDOR_MAIL_DIR", log_dir.join("mail"))
        .current_dir(log_dir)
        .stdin(Stdio::null());
    cmd
}

struct Start {
    ready: Duration,
    rss_ready_kb: u64,
    rss_idle_kb: u64,
    hwm_kb: u64,
}

fn run(backend: &Backend, db: &ScratchDb, verdict: &mut Verdict) -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let migrate = veedor(db.url(), work.path()).arg("migrate").output().context("running veedor migrate")?;
    anyhow::ensure!(migrate.status.success(), "veedor migrate failed: {}", String::from_utf8_lossy(&migrate.stderr));
    println!("migrate: {}", String::from_utf8_lossy(&migrate.stdout).trim());

    let mut starts = Vec::new();
    for n in 1..=STARTS {
        let s = start_once(db.url(), work.path(), n)?;
        println!(
            "  start {n}: ready in {:>7.1} ms, VmRSS {:>6.1} MB when ready, {:>6.1} MB after {:.0} s idle (VmHWM {:.1} MB)",
            s.ready.as_secs_f64() * 1e3,
            mb(s.rss_ready_kb),
            mb(s.rss_idle_kb),
            IDLE.as_secs_f64(),
            mb(s.hwm_kb)
        );
        starts.push(s);
    }

    let ready: Vec<f64> = starts.iter().map(|s| s.ready.as_secs_f64() * 1e3).collect();
    let rss_ready: Vec<f64> = starts.iter().map(|s| mb(s.rss_ready_kb)).collect();
    let rss_idle: Vec<f64> = starts.iter().map(|s| mb(s.rss_idle_kb)).collect();
    println!("\n{} over {STARTS} starts:", backend.name());
    println!("  {:<28} {:>10} {:>10}", "", "median", "worst");
    println!("  {:<28} {:>10.1} {:>10.1}", "ready (ms)", median(&ready), worst(&ready));
    println!("  {:<28} {:>10.1} {:>10.1}", "VmRSS when ready (MB)", median(&rss_ready), worst(&rss_ready));
    println!("  {:<28} {:>10.1} {:>10.1}", "VmRSS after 1 s idle (MB)", median(&rss_idle), worst(&rss_idle));

    let name = backend.name();
    let worst_ready = worst(&ready);
    verdict.check(
        &format!("{name} time to ready (worst of {STARTS})"),
        format!("{worst_ready:.1} ms (median {:.1} ms)", median(&ready)),
        "<= 1000 ms",
        worst_ready <= TARGET_READY.as_secs_f64() * 1e3,
    );
    let worst_rss = worst(&rss_ready).max(worst(&rss_idle));
    verdict.check(
        &format!("{name} VmRSS (worst of {STARTS}, ready and idle)"),
        format!("{worst_rss:.1} MB (median idle {:.1} MB)", median(&rss_idle)),
        "<= 30 MB",
        worst_rss <= mb(TARGET_RSS_KB),
    );
    Ok(())
}

fn start_once(database_url: &str, work: &Path, n: usize) -> anyhow::Result<Start> {
    let addr = free_port()?;
    let log = std::fs::File::create(work.join(format!("serve-{n}.log")))?;
    let started = Instant::now();
    let mut child = veedor(database_url, work)
        .arg("serve")
        .env("VEEDOR_BIND", addr.to_string())
        .env("VEEDOR_BASE_URL", format!("http://{addr}"))
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("spawning veedor serve")?;
    let result = measure_child(&mut child, addr, started);
    let stopped = stop(&mut child);
    let log = std::fs::read_to_string(work.join(format!("serve-{n}.log"))).unwrap_or_default();
    let s = result.with_context(|| format!("start {n}; server output:\n{log}"))?;
    let status = stopped?;
    anyhow::ensure!(status.success(), "start {n}: veedor serve exited with {status} after SIGTERM; output:\n{log}");
    Ok(s)
}

fn measure_child(child: &mut Child, addr: SocketAddr, started: Instant) -> anyhow::Result<Start> {
    let pid = child.id();
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("veedor serve exited early with {status}");
        }
        if readyz(addr) == Some(200) {
            break;
        }
        if started.elapsed() > GIVE_UP {
            anyhow::bail!("not ready after {GIVE_UP:?}");
        }
        std::thread::sleep(POLL);
    }
    let ready = started.elapsed();
    // A process that has exited (a zombie) has no VmRSS: say how it ended instead.
    let mut read = |field: &str| {
        status_kb(pid, field).map_err(|e| match child.try_wait() {
            Ok(Some(status)) => anyhow::anyhow!("veedor serve exited ({status}) after answering /readyz"),
            _ => e,
        })
    };
    let rss_ready_kb = read("VmRSS")?;
    std::thread::sleep(IDLE);
    let rss_idle_kb = read("VmRSS")?;
    let hwm_kb = read("VmHWM")?;
    Ok(Start { ready, rss_ready_kb, rss_idle_kb, hwm_kb })
}

/// SIGTERM, then wait (SIGKILL after 10 s).
fn stop(child: &mut Child) -> anyhow::Result<std::process::ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().context("running kill -TERM")?;
    anyhow::ensure!(term.success(), "kill -TERM failed");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            anyhow::bail!("veedor serve ignored SIGTERM for 10 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Status code of `GET /readyz`, or `None` while nothing answers.
fn readyz(addr: SocketAddr) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// A `kB` field of /proc/<pid>/status.
fn status_kb(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn worst(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::MIN, f64::max)
}
