//! P2 "authenticated read": `GET /api/v1/engagements/{id}` (random ids among 1,000, bearer
//! token of a `lead`) against a floor: a bare axum router in this process that runs one raw
//! sqlx primary-key select on the same pool and returns the title as JSON. The ratio shows
//! what Veedor's stack (middleware, authentication, sea-orm, policy, view) costs over the
//! least a read could cost on this database.
//!
//! Target: rps(api) / rps(floor) >= 0.5.
//!
//! Run: `cargo bench --bench p2_read` (SQLite), and with
//! `VEEDOR_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.

mod common;

use std::{process::ExitCode, sync::Arc, time::Instant};

use anyhow::Context;
use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::get,
};
use chrono::NaiveDate;
use common::{Backend, ScratchDb, Server, Target, Verdict};
use sea_orm::{
    DatabaseBackend,
    sqlx::{self, PgPool, Row, SqlitePool},
};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;
use veedor::{
    app::{engagements, vendors},
    clock::{Clock, SystemClock},
    db::audit::Actor,
    domain::{
        engagement::{BriefInput, EngagementInput},
        enums::{Cadence, Confidentiality, Role},
        vendor::VendorInput,
    },
    state::AppState,
};

const TARGET_RATIO: f64 = 0.5;
const ENGAGEMENTS: usize = 1_000;
const SETUP_WORKERS: usize = 4;

#[tokio::main]
async fn main() -> ExitCode {
    println!("P2 authenticated read: GET /api/v1/engagements/{{id}} vs raw sqlx floor");
    common::print_machine();
    common::print_load_settings();
    common::on_every_backend("p2_read", measure).await
}

// ---------------------------------------------------------------------------------------
// The floor

enum FloorPool {
    /// `text_ids`: the id column holds hyphenated text rather than 16-byte blobs.
    Sqlite {
        pool: SqlitePool,
        text_ids: bool,
    },
    Postgres(PgPool),
}

async fn floor_get(State(floor): State<Arc<FloorPool>>, Path(id): Path<Uuid>) -> Result<Json<Value>, StatusCode> {
    let row = match &*floor {
        FloorPool::Sqlite { pool, text_ids } => {
            let q = sqlx::query("SELECT * FROM engagements WHERE id = ?");
            let q = if *text_ids { q.bind(id.hyphenated().to_string()) } else { q.bind(id) };
            q.fetch_optional(pool).await.map(|r| r.map(|r| r.try_get::<String, _>("title")).transpose())
        }
        FloorPool::Postgres(pool) => sqlx::query("SELECT * FROM engagements WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
            .map(|r| r.map(|r| r.try_get::<String, _>("title")).transpose()),
    };
    match row {
        Ok(Ok(Some(title))) => Ok(Json(json!({ "title": title }))),
        Ok(Ok(None)) => Err(StatusCode::NOT_FOUND),
        _ => Err(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

struct Floor {
    addr: std::net::SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start_floor(state: &AppState) -> anyhow::Result<Floor> {
    let pool = match state.db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let pool = state.db.get_sqlite_connection_pool().clone();
            let kind: String = sqlx::query("SELECT typeof(id) AS kind FROM engagements LIMIT 1")
                .fetch_one(&pool)
                .await?
                .try_get("kind")?;
            println!("floor: SQLite stores engagements.id as {kind}");
            FloorPool::Sqlite { text_ids: kind == "text", pool }
        }
        DatabaseBackend::Postgres => FloorPool::Postgres(state.db.get_postgres_connection_pool().clone()),
        other => anyhow::bail!("unsupported backend {other:?}"),
    };
    let app = Router::new().route("/floor/engagements/{id}", get(floor_get)).with_state(Arc::new(pool));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (shutdown, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    Ok(Floor { addr, shutdown, task })
}

// ---------------------------------------------------------------------------------------
// Setup: a vendor and 1,000 engagements owned by the lead, through the store. The ids come
// back in creation order: engagement "lote {i}" has id `ids[i]`.

async fn seed(state: &AppState, lead: Uuid) -> anyhow::Result<Vec<Uuid>> {
    let actor = Actor::system("bench");
    let vendor = vendors::create(
        &state.db,
        SystemClock.now(),
        &actor,
        VendorInput {
            name: format!("Bench vendor {}", Uuid::new_v4().simple()),
            legal_name: Some("Bench Vendor S.L.".into()),
            tax_id: None,
            website: Some("https://vendor.example".into()),
            contacts: vec![],
            notes: None,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the vendor: {e:?}"))?;
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..SETUP_WORKERS {
        let state = state.clone();
        let actor = actor.clone();
        workers.spawn(async move {
            let mut ids = Vec::new();
            for i in (w..ENGAGEMENTS).step_by(SETUP_WORKERS) {
                let m = engagements::create(&state.db, SystemClock.now(), &actor, engagement_input(vendor.id, lead, i))
                    .await
                    .map_err(|e| anyhow::anyhow!("creating engagement {i}: {e:?}"))?;
                ids.push((i, m.id));
            }
            anyhow::Ok(ids)
        });
    }
    let mut ids = Vec::with_capacity(ENGAGEMENTS);
    while let Some(done) = workers.join_next().await {
        ids.extend(done??);
    }
    ids.sort_unstable();
    let ids: Vec<Uuid> = ids.into_iter().map(|(_, id)| id).collect();
    println!("seeded {} engagements in {:.1} s", ids.len(), started.elapsed().as_secs_f64());
    Ok(ids)
}

fn engagement_input(vendor_id: Uuid, owner: Uuid, i: usize) -> EngagementInput {
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
    EngagementInput {
        vendor_id,
        title: format!("Gestión de comunidad, lote {i}"),
        brief: BriefInput {
            want: "Más conversación con clientas y clientes de 25 a 45 años y una atención en redes que responda el mismo día.".into(),
            can_be_done: "Instagram, Facebook y TikTok con calendario editorial mensual; atención al cliente en horario comercial; informe mensual.".into(),
            budget_minor: Some(700_000),
        },
        confidentiality: Confidentiality::Internal,
        monthly_fee_minor: 650_000,
        currency: "EUR".into(),
        start_date: date(2026, 1, 1),
        end_date: date(2027, 6, 30),
        timezone: "Europe/Madrid".into(),
        cadence: Cadence::Monthly,
        due_offset_days: 5,
        owner_id: Some(owner),
    }
}

// ---------------------------------------------------------------------------------------

async fn measure(backend: &Backend, db: &ScratchDb, verdict: &mut Verdict) -> anyhow::Result<()> {
    let server = Server::start(db.url()).await?;
    println!(
        "server on {} (pool max {} connections, token cache {} s)",
        server.addr, server.config.database_max_connections, server.config.auth_cache_seconds
    );
    let lead = common::user_with_token(&server.state, Role::Lead).await?;
    let ids = seed(&server.state, lead.id).await?;
    let floor = start_floor(&server.state).await?;

    let api = Target {
        label: "GET /api/v1/engagements/{id}".into(),
        addr: server.addr,
        paths: Arc::new(ids.iter().map(|id| format!("/api/v1/engagements/{id}")).collect()),
        bearer: Some(lead.secret.clone()),
    };
    let floor_target = Target {
        label: "floor: raw sqlx PK select".into(),
        addr: floor.addr,
        paths: Arc::new(ids.iter().map(|id| format!("/floor/engagements/{id}")).collect()),
        bearer: None,
    };

    // Both sides must really find the row.
    for i in [0, ids.len() / 2, ids.len() - 1] {
        let (status, body) = common::get_once(&api.url(i), Some(&lead.secret)).await?;
        anyhow::ensure!(
            status == 200 && body.contains(&ids[i].to_string()),
            "setup check: API answered {status}: {body}"
        );
        let (status, body) = common::get_once(&floor_target.url(i), None).await?;
        let title: Value = serde_json::from_str(&body).context("floor answer")?;
        anyhow::ensure!(
            status == 200 && title["title"] == format!("Gestión de comunidad, lote {i}"),
            "setup check: floor answered {status}: {body}"
        );
    }
    println!("setup checks passed: API and floor both return the stored rows");

    let stats = common::compare(&[&floor_target, &api]).await;
    let _ = floor.shutdown.send(());
    floor.task.await??;
    server.stop().await?;
    let stats = stats?;
    common::report_ratio(verdict, backend, (&floor_target, &stats[0]), (&api, &stats[1]), "api/floor", TARGET_RATIO);
    Ok(())
}
