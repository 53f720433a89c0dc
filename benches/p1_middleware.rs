//! P1 "middleware tax": how much of `GET /healthz`'s throughput survives the authenticated
//! path. `GET /api/v1/me` with a bearer token runs the whole stack (trace, metrics, body
//! limit, bearer authentication with its token cache) and a trivial handler; `/healthz`
//! skips authentication. Same server, same run, interleaved phases.
//!
//! Target: rps(me) / rps(healthz) >= 0.7.
//!
//! Run: `cargo bench --bench p1_middleware` (SQLite), and with
//! `VEEDOR_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.

mod common;

use std::process::ExitCode;

use common::{Backend, ScratchDb, Server, Target, Verdict};
use veedor::domain::enums::Role;

const TARGET_RATIO: f64 = 0.7;

#[tokio::main]
async fn main() -> ExitCode {
    println!("P1 middleware tax: GET /api/v1/me (bearer) vs GET /healthz");
    common::print_machine();
    common::print_load_settings();
    common::on_every_backend("p1_middleware", measure).await
}

async fn measure(backend: &Backend, db: &ScratchDb, verdict: &mut Verdict) -> anyhow::Result<()> {
    let server = Server::start(db.url()).await?;
    println!(
        "server on {} (pool max {} connections, token cache {} s)",
        server.addr, server.config.database_max_connections, server.config.auth_cache_seconds
    );
    let user = common::user_with_token(&server.state, Role::Lead).await?;

    let me = Target::single("GET /api/v1/me (bearer)", server.addr, "/api/v1/me", Some(&user.secret));
    let health = Target::single("GET /healthz", server.addr, "/healthz", None);

    let (status, body) = common::get_once(&me.url(0), Some(&user.secret)).await?;
    anyhow::ensure!(
        status == 200 && body.contains("\"authenticated_by\":\"token\""),
        "setup check: /api/v1/me answered {status}: {body}"
    );
    let (status, _) = common::get_once(&health.url(0), None).await?;
    anyhow::ensure!(status == 200, "setup check: /healthz answered {status}");

    let stats = common::compare(&[&health, &me]).await;
    server.stop().await?;
    let stats = stats?;
    common::report_ratio(verdict, backend, (&health, &stats[0]), (&me, &stats[1]), "me/healthz", TARGET_RATIO);
    Ok(())
}
