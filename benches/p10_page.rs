//! P10 "page": the home page of a lead who sees the whole P8 data set (200 engagements × 10
//! KPIs × 104 weekly periods), against the portfolio JSON endpoint it is built from, in the
//! same run, on the same server, data and session.
//!
//! Both are requested one at a time on one keep-alive connection with the session cookie,
//! interleaved over rounds. The figures are the server's own time, read from the
//! `Server-Timing` header every response carries (the client's round trip is printed too).
//! Target: the page's p50 at most 1.5× the JSON endpoint's.
//!
//! Run: `cargo bench --bench p10_page` (SQLite), and with
//! `VEEDOR_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.

mod common;

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use common::{Backend, ScratchDb, Server, Verdict, history};
use veedor::{
    app::evaluation::{Selection, evaluate},
    domain::enums::Role,
};

const SPEC: history::HistorySpec = history::HistorySpec { engagements: 200, kpis: 10, weeks: 104 };
const ROUNDS: usize = 3;
/// Time each endpoint is sampled for, per round.
const SAMPLE_FOR: Duration = Duration::from_secs(4);
/// Fewest samples per endpoint and round, however slow it is.
const MIN_SAMPLES: usize = 20;
/// The page may take this many times the JSON endpoint's median.
const TARGET_RATIO: f64 = 1.5;

#[tokio::main]
async fn main() -> ExitCode {
    println!("P10 home page: {} engagements × {} KPIs × {} weeks", SPEC.engagements, SPEC.kpis, SPEC.weeks);
    common::print_machine();
    common::on_every_backend("p10_page", measure).await
}

struct Endpoint {
    label: &'static str,
    path: &'static str,
    /// Server time (Server-Timing) and client round trip of each request.
    server: Vec<Duration>,
    client: Vec<Duration>,
}

fn quantile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

async fn measure(backend: &Backend, scratch: &ScratchDb, verdict: &mut Verdict) -> anyhow::Result<()> {
    let server = Server::start(scratch.url()).await?;
    let lead = common::user_with_token(&server.state, Role::Lead).await?;
    history::seed(&server.state, lead.id, SPEC).await?;
    let started = Instant::now();
    let judged = evaluate(&server.state.db, Selection::All).await?;
    println!("judged {} values in {:.1} s", judged.evaluated, started.elapsed().as_secs_f64());

    // A browser session: the page and the JSON endpoint are both read with its cookie.
    let email = veedor::app::users::get(&server.state.db, lead.id)
        .await
        .map_err(|e| anyhow::anyhow!("reading the bench user: {e:?}"))?
        .email;
    let client = reqwest::Client::builder().no_proxy().cookie_store(true).pool_max_idle_per_host(1).build()?;
    let login = client
        .post(server.url("/api/v1/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": "bench-password-not-secret" }))
        .send()
        .await?;
    anyhow::ensure!(login.status() == 200, "login answered {}", login.status());

    // The page must show the whole portfolio (paginated) and the JSON must hold it all.
    let (_, page) = get(&client, &server.url("/")).await?;
    anyhow::ensure!(page.contains("table class=\"portfolio"), "the home page has no portfolio table");
    let pages = format!("1 of {}", SPEC.engagements.div_ceil(25));
    anyhow::ensure!(page.contains(&pages), "the home page does not page through {} engagements", SPEC.engagements);
    let (_, json) = get(&client, &server.url("/api/v1/portfolio")).await?;
    let items = serde_json::from_str::<serde_json::Value>(&json)?.as_array().map_or(0, Vec::len);
    anyhow::ensure!(items == SPEC.engagements, "the portfolio lists {items} engagements");
    println!("setup checks passed: {} bytes of page, {items} engagements in the JSON", page.len());

    let mut endpoints = [
        Endpoint { label: "GET / (home page, HTML)", path: "/", server: vec![], client: vec![] },
        Endpoint { label: "GET /api/v1/portfolio (JSON)", path: "/api/v1/portfolio", server: vec![], client: vec![] },
    ];
    for round in 1..=ROUNDS {
        for e in endpoints.iter_mut() {
            let from = e.server.len();
            let started = Instant::now();
            while started.elapsed() < SAMPLE_FOR || e.server.len() - from < MIN_SAMPLES {
                let sent = Instant::now();
                let (server_time, _) = get(&client, &server.url(e.path)).await?;
                e.client.push(sent.elapsed());
                e.server.push(server_time);
            }
            println!(
                "  round {round} {:<30} {:>5} requests  server p50 {:>8.2} ms  p99 {:>8.2} ms",
                e.label,
                e.server.len() - from,
                ms(quantile(&e.server[from..], 0.5)),
                ms(quantile(&e.server[from..], 0.99)),
            );
        }
    }
    server.stop().await?;

    for e in &endpoints {
        let line = format!(
            "{} {}: server p50 {:.2} ms, p99 {:.2} ms (round trip p50 {:.2} ms)",
            backend.name(),
            e.label,
            ms(quantile(&e.server, 0.5)),
            ms(quantile(&e.server, 0.99)),
            ms(quantile(&e.client, 0.5)),
        );
        verdict.check(&line, format!("{} samples", e.server.len()), "recorded", true);
    }
    let ratio = quantile(&endpoints[0].server, 0.5).as_secs_f64() / quantile(&endpoints[1].server, 0.5).as_secs_f64();
    verdict.check(
        &format!("{} home page p50 / portfolio JSON p50", backend.name()),
        format!("{ratio:.2}×"),
        &format!("≤ {TARGET_RATIO}×"),
        ratio <= TARGET_RATIO,
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// GET with the session cookie: the server's time and the body; anything but 200 is an error.
async fn get(client: &reqwest::Client, url: &str) -> anyhow::Result<(Duration, String)> {
    let resp = client.get(url).send().await?;
    anyhow::ensure!(resp.status() == 200, "{url} answered {}", resp.status());
    let timing = resp
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("dur=").nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| anyhow::anyhow!("{url} has no Server-Timing header"))?;
    let body = resp.text().await?;
    Ok((Duration::from_secs_f64(timing / 1e3), body))
}
