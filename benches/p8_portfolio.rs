//! P8 "portfolio dashboard": 200 engagements × 10 KPIs × 104 weekly periods of submitted
//! history (208,000 values). Measures the latency of `GET /api/v1/portfolio` (a lead who sees
//! every engagement) and of one engagement's `GET /api/v1/engagements/{id}/dashboard` over
//! its whole term, and compares each with P2's read (`GET /api/v1/engagements/{id}`) in the
//! same run, on the same server and data.
//!
//! Latency is measured one request at a time on one keep-alive connection (no queueing in
//! the figures), each endpoint for a fixed time, interleaved over rounds.
//!
//! Run: `cargo bench --bench p8_portfolio` (SQLite), and with
//! `VEEDOR_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.

mod common;

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use common::{Backend, ScratchDb, Server, Verdict, history};
use serde_json::Value;
use veedor::{
    app::evaluation::{Selection, evaluate},
    domain::enums::Role,
};

const SPEC: history::HistorySpec = history::HistorySpec { engagements: 200, kpis: 10, weeks: 104 };
const ROUNDS: usize = 2;
/// Time each endpoint is sampled for, per round.
const SAMPLE_FOR: Duration = Duration::from_secs(4);
/// Fewest samples per endpoint and round, however slow it is.
const MIN_SAMPLES: usize = 20;

#[tokio::main]
async fn main() -> ExitCode {
    println!("P8 portfolio dashboard: {} engagements × {} KPIs × {} weeks", SPEC.engagements, SPEC.kpis, SPEC.weeks);
    common::print_machine();
    common::on_every_backend("p8_portfolio", measure).await
}

struct Endpoint {
    label: &'static str,
    paths: Vec<String>,
    latencies: Vec<Duration>,
}

impl Endpoint {
    fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    }
}

async fn measure(backend: &Backend, scratch: &ScratchDb, verdict: &mut Verdict) -> anyhow::Result<()> {
    let server = Server::start(scratch.url()).await?;
    let lead = common::user_with_token(&server.state, Role::Lead).await?;
    let seeded = history::seed(&server.state, lead.id, SPEC).await?;
    let started = Instant::now();
    let judged = evaluate(&server.state.db, Selection::All).await?;
    println!("judged {} values in {:.1} s", judged.evaluated, started.elapsed().as_secs_f64());

    let client = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(1).build()?;
    let one = seeded.engagements[SPEC.engagements / 2];
    let mut endpoints = [
        Endpoint {
            label: "P2 read GET /engagements/{id}",
            paths: seeded.engagements.iter().map(|id| format!("/api/v1/engagements/{id}")).collect(),
            latencies: vec![],
        },
        Endpoint { label: "GET /portfolio", paths: vec!["/api/v1/portfolio".into()], latencies: vec![] },
        Endpoint {
            label: "GET /engagements/{id}/dashboard",
            paths: vec![format!("/api/v1/engagements/{one}/dashboard")],
            latencies: vec![],
        },
    ];

    // The answers must hold the whole data set.
    let portfolio: Value = get(&client, &server.url("/api/v1/portfolio"), &lead.secret).await?.1;
    let items = portfolio.as_array().map_or(0, Vec::len);
    anyhow::ensure!(items == SPEC.engagements, "the portfolio lists {items} engagements");
    let late: u64 = portfolio.as_array().into_iter().flatten().filter_map(|i| i["late_periods"].as_u64()).sum();
    anyhow::ensure!(late > 0, "the portfolio counts no late period");
    let dashboard: Value = get(&client, &server.url(&endpoints[2].paths[0]), &lead.secret).await?.1;
    let points: usize = dashboard["kpis"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| k["series"].as_array().into_iter().flatten().filter(|p| !p["value"].is_null()).count())
        .sum();
    anyhow::ensure!(points == SPEC.kpis * SPEC.weeks, "the dashboard holds {points} reported points");
    println!(
        "setup checks passed: portfolio of {items} engagements ({late} late periods), dashboard of {points} points"
    );

    for round in 1..=ROUNDS {
        for e in endpoints.iter_mut() {
            let from = e.latencies.len();
            let started = Instant::now();
            let mut i = 0usize;
            while started.elapsed() < SAMPLE_FOR || e.latencies.len() - from < MIN_SAMPLES {
                let path = &e.paths[i % e.paths.len()];
                i = i.wrapping_mul(31).wrapping_add(17);
                let sent = Instant::now();
                let (status, _) = get(&client, &server.url(path), &lead.secret).await?;
                anyhow::ensure!(status == 200, "{} answered {status}", e.label);
                e.latencies.push(sent.elapsed());
            }
            let round_only = Endpoint { label: e.label, paths: vec![], latencies: e.latencies[from..].to_vec() };
            println!(
                "  round {round} {:<34} {:>5} requests  p50 {:>8.2} ms  p99 {:>8.2} ms",
                e.label,
                round_only.latencies.len(),
                ms(round_only.quantile(0.5)),
                ms(round_only.quantile(0.99))
            );
        }
    }
    server.stop().await?;

    let read = endpoints[0].quantile(0.5);
    for e in &endpoints {
        let (p50, p99) = (e.quantile(0.5), e.quantile(0.99));
        let line = format!(
            "{} {}: p50 {:.2} ms, p99 {:.2} ms, p50 {:.1}× the P2 read",
            backend.name(),
            e.label,
            ms(p50),
            ms(p99),
            p50.as_secs_f64() / read.as_secs_f64()
        );
        // No target is set for P8: the figures are recorded, and only errors fail the run.
        verdict.check(&line, format!("{} samples", e.latencies.len()), "recorded", true);
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn get(client: &reqwest::Client, url: &str, bearer: &str) -> anyhow::Result<(u16, Value)> {
    let resp = client.get(url).bearer_auth(bearer).send().await?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await?;
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}
