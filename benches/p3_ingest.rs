//! P3 "ingest", in two parts.
//!
//! 1. **Bulk import.** A vendor uploads a 10,000-row CSV (as Spanish Excel writes it: UTF-8
//!    with BOM, `;`, thousands dots and decimal commas) to
//!    `POST /api/v1/engagements/{id}/reports/import` of an engagement with 10,000 KPIs. The
//!    whole path runs: multipart, parse, KPI lookup, validation, authorization, and one
//!    transaction with the report (a draft), its version, the 10,000 values and the audit
//!    entry, then the answer (the report with its values). Timed from sending the request to
//!    the last byte of a 2xx answer; then the benchmark checks that 10,000 rows were stored.
//!    The floor writes the same 10,000 rows (same columns, same kinds of values, into a
//!    report version of its own) into `report_values` with raw sqlx on the application's
//!    pool: multi-row `INSERT`s of 1,000 rows in one transaction. Each import reports on a
//!    fresh period; the floor's rows are deleted between its rounds, outside the timing.
//!    After one warm-up round of each side (not counted), the sides alternate for `ROUNDS`
//!    rounds. Throughput is rows per second over the measured rounds.
//!
//!    Target: rows/s(import) ÷ rows/s(floor) ≥ 0.5.
//!
//! 2. **Concurrent reports.** 16 vendors, each with its own user, token and weekly engagement
//!    of 20 KPIs, submit reports (`POST /api/v1/engagements/{id}/reports` with 20 values and
//!    `"submit": true`) for successive past weeks, back to back, for 1 s of warm-up and 5 s
//!    measured. Printed: reports per second, p50/p99 latency.
//!
//!    Target: no answer other than 2xx, and every report answered 2xx is stored as submitted.
//!
//! Each part runs on a scratch database of its own (a temporary SQLite file, or a database
//! created on the PostgreSQL server and dropped afterwards) with its own in-process server.
//! Setup (users, vendors, engagements, KPIs) is not measured. Of the 10,000 KPIs of part 1,
//! one is made through `kpis::system::create` and the rest with batched `insert_many`, with the same
//! columns `kpis::system::create` writes.
//!
//! Run: `cargo bench --bench p3_ingest` (SQLite), and with
//! `VEEDOR_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.

mod common;

use std::{
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use chrono::{Datelike, Months, NaiveDate, Utc};
use common::{Backend, ScratchDb, Server, Stats, Verdict};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, DatabaseBackend, EntityTrait, QueryFilter,
    sqlx::{self, AssertSqlSafe, PgPool, Row, SqlitePool},
};
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::{
    app::{engagements, kpis, scope, tokens, users, vendors},
    clock::{Clock, SystemClock},
    db::{
        audit::Actor,
        entity::{engagement, kpi, report, report_version},
    },
    domain::{
        engagement::{BriefInput, EngagementInput},
        enums::{Aggregation, Cadence, Confidentiality, KpiDirection, KpiUnit, Language, Role, ScopeFunction},
        kpi::KpiInput,
        period::Period,
        report::ReportStatus,
        scope::ScopeItemInput,
        text,
        user::NewUserInput,
        vendor::VendorInput,
    },
    state::AppState,
};

const TARGET_RATIO: f64 = 0.5;
/// Rows of the imported file, one per KPI (the import's own limit is 10,000 data rows).
const ROWS: usize = 10_000;
/// Rows per multi-row `INSERT` of the floor (12 or 13 columns: at most 13,000 parameters a
/// statement, below the limits of SQLite, 32,766, and PostgreSQL, 65,535).
const FLOOR_BATCH: usize = 1_000;
/// Measured rounds of each side. One import or floor write takes under a second, so more
/// rounds than the HTTP benches' `common::ROUNDS` keep a burst of background load (or of
/// PostgreSQL's own background work) from deciding the ratio.
const ROUNDS: usize = 8;
/// Rows per `insert_many` while seeding KPIs.
const SEED_BATCH: usize = 1_000;

/// Part 2: vendors submitting at the same time, KPIs per engagement.
const VENDORS: usize = 16;
const REPORT_KPIS: usize = 20;
/// Weekly engagements that started this many weeks ago: more past periods than a vendor can
/// report on in one run.
const REPORT_WEEKS: i64 = 500;

#[tokio::main]
async fn main() -> ExitCode {
    println!("P3 ingest: a {ROWS}-row CSV import vs raw batched sqlx INSERTs; {VENDORS} vendors reporting at once");
    common::print_machine();
    println!(
        "import: 1 warm-up + {ROUNDS} measured rounds each side, interleaved; reports: {VENDORS} vendors, {} s warm-up + {} s measured",
        common::WARMUP.as_secs_f64(),
        common::MEASURE.as_secs_f64()
    );
    let mut verdict = Verdict::default();
    for backend in common::backends() {
        if let Err(e) = run(&backend, &mut verdict).await {
            verdict.fail(backend.name(), format!("{e:#}"));
        }
    }
    verdict.finish("p3_ingest")
}

/// The two parts, each on a database and server of its own, so that neither part's figures
/// depend on the rows the other one left.
#[derive(Debug, Clone, Copy)]
enum Part {
    Import,
    Reports,
}

impl Part {
    fn label(self) -> &'static str {
        match self {
            Part::Import => "import",
            Part::Reports => "concurrent reports",
        }
    }
}

async fn run(backend: &Backend, verdict: &mut Verdict) -> anyhow::Result<()> {
    println!("\n--- {} ---", backend.name());
    for part in [Part::Import, Part::Reports] {
        let db = ScratchDb::create(backend).await?;
        let result = measure(backend, &db, part, verdict).await;
        db.drop_db().await?;
        if let Err(e) = result {
            verdict.fail(&format!("{} {}", backend.name(), part.label()), format!("{e:#}"));
        }
    }
    Ok(())
}

async fn measure(backend: &Backend, db: &ScratchDb, part: Part, verdict: &mut Verdict) -> anyhow::Result<()> {
    let server = Server::start(db.url()).await?;
    println!(
        "\n{}: server on {} (pool max {} connections)",
        part.label(),
        server.addr,
        server.config.database_max_connections
    );
    let name = backend.name();
    let result = match part {
        Part::Import => import_part(&server, verdict, name).await,
        Part::Reports => reports_part(&server, verdict, name).await,
    };
    server.stop().await?;
    result
}

// ---------------------------------------------------------------------------------------
// Setup through the store

fn fail(what: &str) -> impl FnOnce(veedor::error::AppError) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{what}: {e:?}")
}

/// A vendor (agency) made through the store.
async fn vendor(state: &AppState, i: usize) -> anyhow::Result<Uuid> {
    let input = VendorInput {
        name: format!("Agencia {i} {}", Uuid::new_v4().simple()),
        legal_name: Some("Agencia de Comunidad S.L.".into()),
        tax_id: None,
        website: None,
        contacts: vec![],
        notes: None,
    };
    Ok(vendors::create(&state.db, SystemClock.now(), &Actor::system("bench"), input).await.map_err(fail("vendor"))?.id)
}

/// A user of the vendor (role `vendor`) and a fresh API token of theirs.
async fn vendor_user(state: &AppState, vendor_id: Uuid) -> anyhow::Result<String> {
    let (actor, now) = (Actor::system("bench"), SystemClock.now());
    let input = NewUserInput {
        email: format!("agencia-{}@bench.example", Uuid::new_v4().simple()),
        name: "Bench agency user".into(),
        role: Role::Vendor,
        vendor_id: Some(vendor_id),
        language: Language::Es,
        timezone: "Europe/Madrid".into(),
        password: Some("bench-password-not-secret".into()),
    };
    let created = users::create(&state.db, now, &actor, input).await.map_err(fail("vendor user"))?;
    let issued = tokens::issue(
        &state.db,
        now,
        &actor,
        created.user.id,
        "bench",
        (Some(30.0), tokens::Lifetimes { default_days: 30, max_days: 365 }),
    )
    .await
    .map_err(fail("token"))?;
    Ok(issued.secret)
}

fn engagement_input(
    vendor_id: Uuid,
    owner: Uuid,
    title: String,
    cadence: Cadence,
    start: NaiveDate,
) -> EngagementInput {
    EngagementInput {
        vendor_id,
        title,
        brief: BriefInput {
            want: "Más conversación con clientas y clientes de 25 a 45 años y respuesta el mismo día.".into(),
            can_be_done: "Instagram, Facebook y TikTok con calendario editorial; atención en horario comercial.".into(),
            budget_minor: Some(700_000),
        },
        confidentiality: Confidentiality::Internal,
        monthly_fee_minor: 650_000,
        currency: "EUR".into(),
        start_date: start,
        end_date: Utc::now().date_naive() + chrono::Duration::days(28),
        timezone: "Europe/Madrid".into(),
        cadence,
        due_offset_days: 3,
        owner_id: Some(owner),
    }
}

fn kpi_input(name: String) -> KpiInput {
    KpiInput {
        name,
        objective: "Conversación con clientes de 25 a 45 años".into(),
        unit: KpiUnit::Count,
        direction: KpiDirection::HigherIsBetter,
        baseline: Some(900.0),
        target: 1_000.0,
        target_upper: None,
        warning_threshold: 900.0,
        critical_threshold: 700.0,
        aggregation: Aggregation::Sum,
        channels: vec![],
        allow_negative: false,
        ratio_of: None,
    }
}

/// An engagement with its scope and `kpi_count` KPIs, activated; returns it and its KPI ids
/// in KPI-name order (`kpi_name(0)`, `kpi_name(1)`, …). The first KPI is made through
/// `kpis::system::create`, the rest (if `bulk`) with `insert_many` and the same columns.
async fn engagement_with_kpis(
    state: &AppState,
    input: EngagementInput,
    kpi_count: usize,
    bulk: bool,
) -> anyhow::Result<(engagement::Model, Vec<Uuid>)> {
    let (db, actor, now, growth) =
        (&state.db, Actor::system("bench"), SystemClock.now(), state.config.realism_max_yearly_growth);
    let e = engagements::create(db, now, &actor, input).await.map_err(fail("engagement"))?;
    let item = ScopeItemInput {
        function: ScopeFunction::Reporting,
        description: "Informe periódico contra los KPI acordados".into(),
        deliverables: vec!["Informe".into()],
        quantity_per_period: Some(1),
    };
    scope::create(db, now, &actor, &e, item).await.map_err(fail("scope"))?;
    let mut ids = Vec::with_capacity(kpi_count);
    let through_store = if bulk { 1 } else { kpi_count };
    for k in 0..through_store {
        ids.push(
            kpis::system::create(db, now, &actor, &e, kpi_input(kpi_name(k)), growth).await.map_err(fail("kpi"))?.id,
        );
    }
    let mut rows = Vec::new();
    for k in through_store..kpi_count {
        let input = kpi_input(kpi_name(k));
        let id = Uuid::now_v7();
        ids.push(id);
        rows.push(kpi::ActiveModel {
            id: Set(id),
            engagement_id: Set(e.id),
            name_key: Set(text::name_key(&input.name)),
            channels: Set(serde_json::to_value(&input.channels)?),
            name: Set(input.name),
            objective: Set(input.objective),
            unit: Set(input.unit),
            direction: Set(input.direction),
            baseline: Set(input.baseline),
            target: Set(input.target),
            target_upper: Set(input.target_upper),
            warning_threshold: Set(input.warning_threshold),
            critical_threshold: Set(input.critical_threshold),
            aggregation: Set(input.aggregation),
            allow_negative: Set(input.allow_negative),
            ratio_numerator_id: Set(None),
            ratio_denominator_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        });
    }
    for chunk in rows.chunks(SEED_BATCH) {
        kpi::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    let rules = veedor::app::WriteRules::from_config(&veedor::config::Config::default())?;
    veedor::demo::activate(db, now, e.id, None, &rules).await.map_err(fail("activate"))?;
    let e = engagement::Entity::find_by_id(e.id).one(db).await?.context("the engagement vanished")?;
    Ok((e, ids))
}

fn kpi_name(k: usize) -> String {
    format!("Indicador {k:05}")
}

/// The periods of the engagement that have started, oldest first.
fn started_periods(e: &engagement::Model) -> anyhow::Result<Vec<Period>> {
    let now = SystemClock.now();
    Ok(engagements::schedule(e)?.periods().into_iter().filter(|p| p.has_started(now)).collect())
}

// ---------------------------------------------------------------------------------------
// Part 1: the import and its floor

/// The figure of KPI `k`, in tenths: between 500,0 and 1.499,9 around the target of 1.000,
/// so that every status occurs.
fn tenths(k: usize) -> u64 {
    5_000 + (k as u64 * 7_919) % 10_000
}

/// `12345.6` as Spanish Excel writes it: `12.345,6`.
fn spanish(tenths: u64) -> String {
    let (whole, decimal) = (tenths / 10, tenths % 10);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{grouped},{decimal}")
}

/// The uploaded file: UTF-8 with BOM, `;`, CRLF, one row per KPI by name.
fn csv_file() -> Vec<u8> {
    let mut text = String::from("\u{feff}kpi;value\r\n");
    for k in 0..ROWS {
        text.push_str(&format!("{};{}\r\n", kpi_name(k), spanish(tenths(k))));
    }
    text.into_bytes()
}

enum FloorPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The floor's own report and version, which its rows reference.
struct FloorTarget {
    report_id: Uuid,
    version_id: Uuid,
    engagement_id: Uuid,
    period_start: NaiveDate,
    /// The table has the `shown` flag (false until submission), which `write_content` sets too.
    shown: bool,
}

/// The columns `write_content` writes, in order, before the optional `shown`.
const FLOOR_COLUMNS: &str = "id, version_id, report_id, engagement_id, kpi_id, period_start, value, breakdown, comment, evidence_url, status, breach";

fn insert_sql(rows: usize, postgres: bool, shown: bool) -> String {
    let columns = if shown { 13 } else { 12 };
    let mut sql = format!("INSERT INTO report_values ({FLOOR_COLUMNS}{}) VALUES ", if shown { ", shown" } else { "" });
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            if postgres {
                sql.push_str(&format!("${n}"));
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

/// Whether `report_values` has a `shown` column on this database.
async fn has_shown_column(pool: &FloorPool) -> anyhow::Result<bool> {
    let count: i64 = match pool {
        FloorPool::Sqlite(p) => {
            sqlx::query("SELECT COUNT(*) FROM pragma_table_info('report_values') WHERE name = 'shown'")
                .fetch_one(p)
                .await?
                .try_get(0)?
        }
        FloorPool::Postgres(p) => sqlx::query(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = 'report_values' AND column_name = 'shown'",
        )
        .fetch_one(p)
        .await?
        .try_get(0)?,
    };
    Ok(count > 0)
}

/// Binds one row of `report_values` the way sea-orm binds it (uuid, date, double, JSON, text,
/// boolean).
macro_rules! bind_row {
    ($q:expr, $t:expr, $kpi:expr, $value:expr) => {{
        let q = $q
            .bind(Uuid::now_v7())
            .bind($t.version_id)
            .bind($t.report_id)
            .bind($t.engagement_id)
            .bind($kpi)
            .bind($t.period_start)
            .bind($value)
            .bind(Value::Object(serde_json::Map::new()))
            .bind(None::<String>)
            .bind(None::<String>)
            .bind(None::<String>)
            .bind(None::<String>);
        if $t.shown { q.bind(false) } else { q }
    }};
}

/// The measured part of the floor: every row in batches, in one transaction.
async fn floor_write(pool: &FloorPool, sql: &Arc<str>, t: &FloorTarget, rows: &[(Uuid, f64)]) -> anyhow::Result<()> {
    match pool {
        FloorPool::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(FLOOR_BATCH) {
                anyhow::ensure!(chunk.len() == FLOOR_BATCH, "ROWS must be a multiple of FLOOR_BATCH");
                let mut q = sqlx::query(AssertSqlSafe(sql.clone()));
                for (kpi, value) in chunk {
                    q = bind_row!(q, t, *kpi, *value);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        FloorPool::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(FLOOR_BATCH) {
                anyhow::ensure!(chunk.len() == FLOOR_BATCH, "ROWS must be a multiple of FLOOR_BATCH");
                let mut q = sqlx::query(AssertSqlSafe(sql.clone()));
                for (kpi, value) in chunk {
                    q = bind_row!(q, t, *kpi, *value);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
    }
    Ok(())
}

/// A query with one uuid parameter on the floor's pool, every column read as text.
async fn text_rows(
    pool: &FloorPool,
    sqlite: &'static str,
    postgres: &'static str,
    id: Uuid,
) -> anyhow::Result<Vec<Vec<String>>> {
    fn texts<R: Row>(rows: Vec<R>) -> anyhow::Result<Vec<Vec<String>>>
    where
        usize: sqlx::ColumnIndex<R>,
        for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        rows.iter().map(|r| (0..r.len()).map(|i| Ok(r.try_get::<String, _>(i)?)).collect()).collect()
    }
    match pool {
        FloorPool::Sqlite(pool) => texts(sqlx::query(sqlite).bind(id).fetch_all(pool).await?),
        FloorPool::Postgres(pool) => texts(sqlx::query(postgres).bind(id).fetch_all(pool).await?),
    }
}

async fn count_values(pool: &FloorPool, report_id: Uuid) -> anyhow::Result<i64> {
    let rows = text_rows(
        pool,
        "SELECT CAST(COUNT(*) AS TEXT) FROM report_values WHERE report_id = ?",
        "SELECT COUNT(*)::text FROM report_values WHERE report_id = $1",
        report_id,
    )
    .await?;
    Ok(rows.first().and_then(|r| r.first()).context("no count")?.parse()?)
}

async fn delete_floor_rows(pool: &FloorPool, t: &FloorTarget) -> anyhow::Result<()> {
    match pool {
        FloorPool::Sqlite(pool) => {
            sqlx::query("DELETE FROM report_values WHERE version_id = ?").bind(t.version_id).execute(pool).await?;
        }
        FloorPool::Postgres(pool) => {
            sqlx::query("DELETE FROM report_values WHERE version_id = $1").bind(t.version_id).execute(pool).await?;
        }
    }
    Ok(())
}

/// One import over HTTP: (time from sending the request to the last byte of the answer,
/// the report's id).
async fn import_once(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    file: &[u8],
    period: NaiveDate,
) -> anyhow::Result<(Duration, Uuid)> {
    let part = reqwest::multipart::Part::bytes(file.to_vec()).file_name("cifras.csv").mime_str("text/csv")?;
    let form = reqwest::multipart::Form::new().text("period_start", period.to_string()).part("file", part);
    let started = Instant::now();
    let response = client.post(url).bearer_auth(token).multipart(form).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        status.is_success(),
        "the import answered {status}: {}",
        String::from_utf8_lossy(&body[..body.len().min(2_000)])
    );
    let detail: Value = serde_json::from_slice(&body).context("the import's answer")?;
    let values = detail["versions"][0]["values"].as_array().map_or(0, Vec::len);
    anyhow::ensure!(values == ROWS, "the import's answer lists {values} values, not {ROWS}");
    let id = detail["id"].as_str().context("the answer has no id")?.parse()?;
    Ok((elapsed, id))
}

/// CPU seconds this process has used (user + system), from /proc.
fn process_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.get(s.rfind(')')? + 2..)?.to_owned();
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(0.0)
}

#[derive(Default)]
struct Side {
    seconds: f64,
    rows: usize,
    cpu: f64,
}

impl Side {
    fn add(&mut self, seconds: f64, cpu: f64) {
        self.seconds += seconds;
        self.rows += ROWS;
        self.cpu += cpu;
    }

    fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.seconds
    }
}

async fn import_part(server: &Server, verdict: &mut Verdict, name: &str) -> anyhow::Result<()> {
    let state = &server.state;
    let started = Instant::now();
    let lead = common::user_with_token(state, Role::Lead).await?;
    let vendor_id = vendor(state, 0).await?;
    let token = vendor_user(state, vendor_id).await?;
    let today = Utc::now().date_naive();
    let start = (today - Months::new(ROUNDS as u32 + 4)).with_day(1).context("first of the month")?;
    let input = engagement_input(vendor_id, lead.id, "Importación masiva".into(), Cadence::Monthly, start);
    let (e, kpi_ids) = engagement_with_kpis(state, input, ROWS, true).await?;
    let periods = started_periods(&e)?;
    anyhow::ensure!(periods.len() >= ROUNDS + 2, "only {} periods have started", periods.len());
    println!(
        "import setup: a monthly engagement with {} KPIs ({} periods started) in {:.1} s",
        kpi_ids.len(),
        periods.len(),
        started.elapsed().as_secs_f64()
    );

    // The floor writes into the last started period's report, the import into the earlier ones.
    let pool = match state.db.get_database_backend() {
        DatabaseBackend::Sqlite => FloorPool::Sqlite(state.db.get_sqlite_connection_pool().clone()),
        DatabaseBackend::Postgres => FloorPool::Postgres(state.db.get_postgres_connection_pool().clone()),
        other => anyhow::bail!("unsupported backend {other:?}"),
    };
    let floor_period = periods.last().context("no period")?;
    let now = SystemClock.now();
    let floor_report = report::ActiveModel {
        id: Set(Uuid::now_v7()),
        engagement_id: Set(e.id),
        period_start: Set(floor_period.start_date),
        period_end: Set(floor_period.end_date),
        status: Set(ReportStatus::Draft),
        version: Set(1),
        late: Set(false),
        created_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        submitted_at: Set(None),
        accepted_at: Set(None),
    }
    .insert(&state.db)
    .await?;
    let floor_version = report_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        report_id: Set(floor_report.id),
        version: Set(1),
        narrative: Set(String::new()),
        created_by: Set(None),
        created_at: Set(now),
        submitted_at: Set(None),
        submitted_by: Set(None),
        late: Set(false),
    }
    .insert(&state.db)
    .await?;
    let target = FloorTarget {
        report_id: floor_report.id,
        version_id: floor_version.id,
        engagement_id: e.id,
        period_start: floor_period.start_date,
        shown: has_shown_column(&pool).await?,
    };
    let floor_rows: Vec<(Uuid, f64)> =
        kpi_ids.iter().enumerate().map(|(k, id)| (*id, tenths(k) as f64 / 10.0)).collect();
    let sql: Arc<str> = insert_sql(FLOOR_BATCH, matches!(pool, FloorPool::Postgres(_)), target.shown).into();
    println!(
        "floor: INSERT INTO report_values ({FLOOR_COLUMNS}{}), {FLOOR_BATCH} rows a statement",
        if target.shown { ", shown" } else { "" }
    );

    let file = csv_file();
    println!("file: {ROWS} rows, {} bytes; first data line: {};{}", file.len(), kpi_name(0), spanish(tenths(0)));
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(600)).build()?;
    let url = server.url(&format!("/api/v1/engagements/{}/reports/import", e.id));

    let (mut floor, mut import) = (Side::default(), Side::default());
    // Round 0 is the warm-up; each round imports into the next period.
    for (round, period) in periods.iter().take(ROUNDS + 1).enumerate() {
        let label = if round == 0 { "warm-up".to_string() } else { format!("round {round}") };

        let cpu = process_cpu_seconds();
        let t = Instant::now();
        floor_write(&pool, &sql, &target, &floor_rows).await.context("the floor's INSERTs")?;
        let floor_time = t.elapsed().as_secs_f64();
        let floor_cpu = process_cpu_seconds() - cpu;
        let stored = count_values(&pool, target.report_id).await?;
        anyhow::ensure!(stored == ROWS as i64, "the floor stored {stored} rows, not {ROWS}");

        let cpu = process_cpu_seconds();
        let (elapsed, report_id) = import_once(&client, &url, &token, &file, period.start_date).await?;
        let import_time = elapsed.as_secs_f64();
        let import_cpu = process_cpu_seconds() - cpu;
        let stored = count_values(&pool, report_id).await?;
        anyhow::ensure!(stored == ROWS as i64, "the import stored {stored} rows, not {ROWS}");

        if round == 0 {
            same_rows(&pool, &target, report_id).await?;
        } else {
            floor.add(floor_time, floor_cpu);
            import.add(import_time, import_cpu);
        }
        delete_floor_rows(&pool, &target).await?;
        println!(
            "  {label:<8} floor {:>7.1} ms ({:>7.0} rows/s, cpu {:>6.1} ms)   import {:>7.1} ms ({:>7.0} rows/s, cpu {:>6.1} ms)",
            floor_time * 1e3,
            ROWS as f64 / floor_time,
            floor_cpu * 1e3,
            import_time * 1e3,
            ROWS as f64 / import_time,
            import_cpu * 1e3,
        );
    }

    let ratio = import.rows_per_second() / floor.rows_per_second();
    println!("\n{name} import totals ({ROUNDS} rounds each):");
    println!("  {:<44} {:>9} {:>10} {:>12} {:>14}", "side", "rows", "rows/s", "ms/round", "cpu ms/round");
    for (label, side) in
        [("floor: raw sqlx, 1,000-row INSERTs, one txn", &floor), ("POST …/reports/import (10,000-row CSV)", &import)]
    {
        println!(
            "  {:<44} {:>9} {:>10.0} {:>12.1} {:>14.1}",
            label,
            side.rows,
            side.rows_per_second(),
            side.seconds * 1e3 / ROUNDS as f64,
            side.cpu * 1e3 / ROUNDS as f64
        );
    }
    println!("  ratio import/floor: {ratio:.3}");
    verdict.check(
        &format!("{name} import/floor rows-per-second ratio"),
        format!("{ratio:.3} ({:.0} / {:.0} rows/s)", import.rows_per_second(), floor.rows_per_second()),
        &format!(">= {TARGET_RATIO}"),
        ratio >= TARGET_RATIO,
    );
    Ok(())
}

/// Checks, once, that the floor wrote what the import wrote: the same KPIs with the same
/// values, and on SQLite the same storage classes column by column.
async fn same_rows(pool: &FloorPool, t: &FloorTarget, import_report: Uuid) -> anyhow::Result<()> {
    let matching = match pool {
        FloorPool::Sqlite(p) => sqlx::query(
            "SELECT COUNT(*) FROM report_values a JOIN report_values b ON a.kpi_id = b.kpi_id AND a.value = b.value \
             AND a.breakdown = b.breakdown WHERE a.report_id = ? AND b.report_id = ?",
        )
        .bind(import_report)
        .bind(t.report_id)
        .fetch_one(p)
        .await?
        .try_get::<i64, _>(0)?,
        FloorPool::Postgres(p) => sqlx::query(
            "SELECT COUNT(*) FROM report_values a JOIN report_values b ON a.kpi_id = b.kpi_id AND a.value = b.value \
             AND a.breakdown = b.breakdown WHERE a.report_id = $1 AND b.report_id = $2",
        )
        .bind(import_report)
        .bind(t.report_id)
        .fetch_one(p)
        .await?
        .try_get::<i64, _>(0)?,
    };
    anyhow::ensure!(matching == ROWS as i64, "only {matching} of the floor's rows match the import's");
    if let FloorPool::Sqlite(_) = pool {
        let kinds = "SELECT typeof(id) || ' ' || typeof(version_id) || ' ' || typeof(kpi_id) || ' ' || \
                     typeof(period_start) || ' ' || typeof(value) || ' ' || typeof(breakdown) || ' ' || \
                     typeof(comment) || ' ' || typeof(status) FROM report_values WHERE report_id = ? LIMIT 1";
        let import_kinds = text_rows(pool, kinds, "", import_report).await?;
        let floor_kinds = text_rows(pool, kinds, "", t.report_id).await?;
        anyhow::ensure!(import_kinds == floor_kinds, "storage classes differ: {import_kinds:?} vs {floor_kinds:?}");
        println!("setup check: SQLite storage classes of both sides' rows: {}", import_kinds[0][0]);
    }
    println!("setup check: the floor's {ROWS} rows match the import's (KPI, value, breakdown)");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Part 2: vendors reporting at the same time

struct Reporter {
    url: String,
    token: String,
    periods: Vec<NaiveDate>,
    kpis: Vec<Uuid>,
}

#[derive(Default)]
struct WorkerOutcome {
    latencies: Vec<u64>,
    created: u64,
    errors: u64,
    first_error: Option<String>,
    ran_out: bool,
}

async fn reports_part(server: &Server, verdict: &mut Verdict, name: &str) -> anyhow::Result<()> {
    let state = &server.state;
    let started = Instant::now();
    let lead = common::user_with_token(state, Role::Lead).await?;
    let today = Utc::now().date_naive();
    let this_monday = today - chrono::Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let start = this_monday - chrono::Duration::weeks(REPORT_WEEKS);
    let mut reporters = Vec::with_capacity(VENDORS);
    let mut engagement_ids = Vec::with_capacity(VENDORS);
    for i in 0..VENDORS {
        let vendor_id = vendor(state, i + 1).await?;
        let token = vendor_user(state, vendor_id).await?;
        let input = engagement_input(vendor_id, lead.id, format!("Comunidad, agencia {i}"), Cadence::Weekly, start);
        let (e, kpis) = engagement_with_kpis(state, input, REPORT_KPIS, false).await?;
        let periods: Vec<NaiveDate> = started_periods(&e)?.iter().map(|p| p.start_date).collect();
        engagement_ids.push(e.id);
        reporters.push(Reporter {
            url: server.url(&format!("/api/v1/engagements/{}/reports", e.id)),
            token,
            periods,
            kpis,
        });
    }
    println!(
        "reports setup: {VENDORS} vendors, each with a user, a token and a weekly engagement of {REPORT_KPIS} KPIs ({} weeks started) in {:.1} s",
        reporters[0].periods.len(),
        started.elapsed().as_secs_f64()
    );

    let begin = Instant::now();
    let measure_from = begin + common::WARMUP;
    let deadline = measure_from + common::MEASURE;
    let mut workers = tokio::task::JoinSet::new();
    for (w, r) in reporters.into_iter().enumerate() {
        workers.spawn(report_worker(w, r, measure_from, deadline));
    }
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = process_cpu_seconds();
        tokio::time::sleep_until(deadline.into()).await;
        process_cpu_seconds() - before
    });
    let mut stats = Stats { seconds: common::MEASURE.as_secs_f64(), ..Stats::default() };
    stats.process_cpu = cpu.await?;
    let (mut created, mut ran_out, mut first_error) = (0u64, 0usize, None);
    while let Some(done) = workers.join_next().await {
        let o = done?;
        stats.requests += o.latencies.len() as u64;
        stats.errors += o.errors;
        stats.latencies.extend(o.latencies);
        created += o.created;
        ran_out += usize::from(o.ran_out);
        first_error = first_error.or(o.first_error);
    }
    stats.latencies.sort_unstable();

    // Every report answered 201 is stored, submitted.
    let stored = report::Entity::find()
        .filter(report::Column::EngagementId.is_in(engagement_ids.iter().copied()))
        .all(&state.db)
        .await?
        .iter()
        .filter(|r| r.status == ReportStatus::Submitted)
        .count() as u64;

    println!("\n{name} concurrent reports ({VENDORS} vendors, {REPORT_KPIS} values each, submitted):");
    common::print_stats_header();
    common::print_stats("POST …/reports (submit)", &stats);
    println!(
        "  {:.1} reports/s; {created} reports created in all (warm-up and tail included), {stored} stored as submitted",
        stats.rps()
    );
    if let Some(e) = &first_error {
        println!("  first error: {e}");
    }
    anyhow::ensure!(ran_out == 0, "{ran_out} vendors ran out of periods: start the engagements earlier");
    verdict.check(
        &format!("{name} concurrent reports: non-2xx answers"),
        format!(
            "{} ({:.1} reports/s, p50 {:.1} ms, p99 {:.1} ms)",
            stats.errors,
            stats.rps(),
            stats.p50_ms(),
            stats.p99_ms()
        ),
        "0",
        stats.errors == 0,
    );
    verdict.check(
        &format!("{name} concurrent reports: answered 2xx = stored"),
        format!("{created} answered, {stored} stored"),
        "equal",
        created == stored,
    );
    Ok(())
}

/// One vendor: reports on its periods oldest first, back to back, until the deadline.
async fn report_worker(w: usize, r: Reporter, measure_from: Instant, deadline: Instant) -> WorkerOutcome {
    let mut out = WorkerOutcome::default();
    let client = match reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build() {
        Ok(c) => c,
        Err(e) => {
            out.errors += 1;
            out.first_error = Some(e.to_string());
            return out;
        }
    };
    let mut periods = r.periods.iter();
    loop {
        let sent = Instant::now();
        if sent >= deadline {
            break;
        }
        let Some(period) = periods.next() else {
            out.ran_out = true;
            break;
        };
        let values: Vec<Value> = r
            .kpis
            .iter()
            .enumerate()
            .map(|(k, id)| json!({ "kpi_id": id, "value": tenths(w * 1_000 + k * 37 + period.ordinal() as usize) as f64 / 10.0 }))
            .collect();
        let body = json!({
            "period_start": period,
            "narrative": "Semana estable; campaña de temporada en curso.",
            "values": values,
            "submit": true,
        });
        let result = client.post(&r.url).bearer_auth(&r.token).json(&body).send().await;
        let outcome = match result {
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                if status.is_success() { Ok(()) } else { Err(format!("{status}: {}", &text[..text.len().min(500)])) }
            }
            Err(e) => Err(e.to_string()),
        };
        let done = Instant::now();
        match outcome {
            Ok(()) => {
                out.created += 1;
                if sent >= measure_from && done <= deadline {
                    out.latencies.push((done - sent).as_nanos() as u64);
                }
            }
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert(e);
            }
        }
    }
    out
}
