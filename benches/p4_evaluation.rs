//! P4 "evaluation": judging 100,000 stored values against their KPIs and writing the
//! statuses, through `app::evaluation::evaluate` (sea-orm, keyset pages, grouped
//! `UPDATE … WHERE id IN (…)`, only changed rows), against a floor: one raw sqlx read of the
//! same rows joined with their KPIs, the same pure judging functions, and a bulk write:
//! `UPDATE … FROM UNNEST($1::uuid[], …)` on PostgreSQL; on SQLite both `UPDATE … FROM
//! (VALUES …)` and grouped `UPDATE … WHERE id IN (…)` in chunks, the faster of the two each
//! round counting as the floor. Every side runs in one write transaction, starting from
//! values with no stored status, interleaved A B A B.
//!
//! Target: values/s (veedor) / values/s (floor) >= 0.5.
//!
//! Run: `cargo bench --bench p4_evaluation` (SQLite), and with
//! `VEEDOR_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.

mod common;

use std::{collections::BTreeMap, process::ExitCode, time::Instant};

use common::{Backend, ScratchDb, Server, Verdict, history};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement,
    sqlx::{self, Row},
};
use veedor::{
    app::evaluation::{Selection, evaluate},
    db::begin_write,
    domain::{
        enums::{KpiDirection, Role},
        evaluation::{self, Thresholds},
    },
};

const TARGET_RATIO: f64 = 0.5;
const SPEC: history::HistorySpec = history::HistorySpec { engagements: 100, kpis: 10, weeks: 100 };
const ROUNDS: usize = 3;
/// Rows per `UPDATE … FROM (VALUES …)` on SQLite: 3 parameters each.
const SQLITE_CHUNK: usize = 5_000;

#[tokio::main]
async fn main() -> ExitCode {
    println!("P4 evaluation: {} stored values judged and written, veedor vs raw sqlx floor", SPEC.values());
    common::print_machine();
    common::on_every_backend("p4_evaluation", measure).await
}

async fn measure(backend: &Backend, scratch: &ScratchDb, verdict: &mut Verdict) -> anyhow::Result<()> {
    let server = Server::start(scratch.url()).await?;
    let lead = common::user_with_token(&server.state, Role::Lead).await?;
    history::seed(&server.state, lead.id, SPEC).await?;
    let db = server.state.db.clone();
    let expected = SPEC.values() as u64;

    let (mut api_secs, mut floor_secs) = (Vec::new(), Vec::new());
    let mut reference: Option<BTreeMap<String, i64>> = None;
    for round in 1..=ROUNDS {
        reset(&db).await?;
        let started = Instant::now();
        let txn = begin_write(&db).await?;
        let outcome = evaluate(&txn, Selection::All).await?;
        txn.commit().await?;
        let secs = started.elapsed().as_secs_f64();
        anyhow::ensure!(
            outcome.evaluated == expected && outcome.changed == expected,
            "veedor judged {} and wrote {} of {expected} values",
            outcome.evaluated,
            outcome.changed
        );
        let counts = status_counts(&db).await?;
        println!("  round {round} veedor  {:>9.0} values/s  ({secs:.3} s)  {counts:?}", expected as f64 / secs);
        api_secs.push(secs);
        same_result(&mut reference, counts)?;

        let mut best = f64::INFINITY;
        for variant in floors(&db) {
            reset(&db).await?;
            let started = Instant::now();
            let written = floor(&db, variant).await?;
            let secs = started.elapsed().as_secs_f64();
            anyhow::ensure!(written == expected, "the floor wrote {written} of {expected} values");
            let counts = status_counts(&db).await?;
            println!("  round {round} floor   {:>9.0} values/s  ({secs:.3} s)  {variant:?}", expected as f64 / secs);
            best = best.min(secs);
            same_result(&mut reference, counts)?;
        }
        floor_secs.push(best);
    }
    server.stop().await?;
    let total = |v: &[f64]| v.iter().sum::<f64>();
    let (api, floor) =
        (expected as f64 * ROUNDS as f64 / total(&api_secs), expected as f64 * ROUNDS as f64 / total(&floor_secs));
    println!("veedor {api:.0} values/s, floor {floor:.0} values/s");
    let ratio = api / floor;
    verdict.check(
        &format!("{} evaluation veedor/floor", backend.name()),
        format!("{ratio:.3} ({api:.0} vs {floor:.0} values/s)"),
        &format!(">= {TARGET_RATIO}"),
        ratio >= TARGET_RATIO,
    );
    Ok(())
}

fn same_result(reference: &mut Option<BTreeMap<String, i64>>, counts: BTreeMap<String, i64>) -> anyhow::Result<()> {
    match reference {
        None => *reference = Some(counts),
        Some(r) => anyhow::ensure!(*r == counts, "results differ: {r:?} vs {counts:?}"),
    }
    Ok(())
}

async fn reset(db: &DatabaseConnection) -> anyhow::Result<()> {
    db.execute_unprepared("UPDATE report_values SET status = NULL, breach = NULL").await?;
    Ok(())
}

async fn status_counts(db: &DatabaseConnection) -> anyhow::Result<BTreeMap<String, i64>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COALESCE(status, '-') || '/' || COALESCE(breach, '-') AS k, COUNT(*) AS n FROM report_values GROUP BY 1",
        ))
        .await?;
    rows.iter().map(|r| Ok((r.try_get::<String>("", "k")?, r.try_get::<i64>("", "n")?))).collect()
}

const READ: &str = "SELECT v.id, v.value, k.direction, k.target, k.target_upper, k.warning_threshold, \
     k.critical_threshold FROM report_values v JOIN kpis k ON k.id = v.kpi_id";

fn thresholds(
    direction: &str,
    target: f64,
    upper: Option<f64>,
    warning: f64,
    critical: f64,
) -> anyhow::Result<Thresholds> {
    Ok(Thresholds {
        direction: direction.parse::<KpiDirection>().map_err(|_| anyhow::anyhow!("direction {direction}"))?,
        target,
        target_upper: upper,
        warning,
        critical,
    })
}

/// The stored words for a value, from the same pure functions Veedor uses.
fn judged(t: &Thresholds, value: f64) -> (String, String) {
    (evaluation::status(t, Some(value)).to_string(), evaluation::breach(t, value).to_string())
}

/// The floor's variants on this back end.
fn floors(db: &DatabaseConnection) -> Vec<Floor> {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => vec![Floor::Sqlite(SqliteWrite::ValuesJoin), Floor::Sqlite(SqliteWrite::GroupedIn)],
        _ => vec![Floor::PostgresUnnest],
    }
}

#[derive(Debug, Clone, Copy)]
enum Floor {
    Sqlite(SqliteWrite),
    PostgresUnnest,
}

/// Raw read, judge, bulk write, in one transaction; returns the rows written.
async fn floor(db: &DatabaseConnection, variant: Floor) -> anyhow::Result<u64> {
    match variant {
        Floor::Sqlite(strategy) => floor_sqlite(db, strategy).await,
        Floor::PostgresUnnest => floor_postgres(db).await,
    }
}

/// How SQLite holds the ids (sea-orm writes uuids as text or blobs depending on version).
enum SqliteId {
    Text(String),
    Blob(Vec<u8>),
}

/// The two bulk writes tried on SQLite; the faster one each round is the floor.
#[derive(Debug, Clone, Copy)]
enum SqliteWrite {
    ValuesJoin,
    GroupedIn,
}

async fn floor_sqlite(db: &DatabaseConnection, strategy: SqliteWrite) -> anyhow::Result<u64> {
    let pool = db.get_sqlite_connection_pool();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let rows = sqlx::query(READ).fetch_all(&mut *tx).await?;
    let mut updates = Vec::with_capacity(rows.len());
    for r in &rows {
        let id = match r.try_get::<String, _>("id") {
            Ok(text) => SqliteId::Text(text),
            Err(_) => SqliteId::Blob(r.try_get("id")?),
        };
        let t = thresholds(
            r.try_get("direction")?,
            r.try_get("target")?,
            r.try_get("target_upper")?,
            r.try_get("warning_threshold")?,
            r.try_get("critical_threshold")?,
        )?;
        updates.push((id, judged(&t, r.try_get("value")?)));
    }
    let written = match strategy {
        SqliteWrite::ValuesJoin => write_values_join(&mut tx, &updates).await?,
        SqliteWrite::GroupedIn => write_grouped_in(&mut tx, &updates).await?,
    };
    tx.commit().await?;
    Ok(written)
}

fn bind_id<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    id: &'q SqliteId,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    match id {
        SqliteId::Text(t) => q.bind(t.as_str()),
        SqliteId::Blob(b) => q.bind(b.as_slice()),
    }
}

/// One `UPDATE … FROM (VALUES (id, status, breach), …)` per chunk.
async fn write_values_join(
    tx: &mut sqlx::SqliteConnection,
    updates: &[(SqliteId, (String, String))],
) -> anyhow::Result<u64> {
    let mut written = 0;
    for chunk in updates.chunks(SQLITE_CHUNK) {
        let tuples = vec!["(?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "UPDATE report_values SET status = u.column2, breach = u.column3 FROM (VALUES {tuples}) AS u \
             WHERE report_values.id = u.column1"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, (status, breach)) in chunk {
            q = bind_id(q, id).bind(status.as_str()).bind(breach.as_str());
        }
        written += q.execute(&mut *tx).await?.rows_affected();
    }
    Ok(written)
}

/// Rows grouped by result, one `UPDATE … SET status = ?, breach = ? WHERE id IN (…)` per
/// group and chunk.
async fn write_grouped_in(
    tx: &mut sqlx::SqliteConnection,
    updates: &[(SqliteId, (String, String))],
) -> anyhow::Result<u64> {
    let mut groups: BTreeMap<&(String, String), Vec<&SqliteId>> = BTreeMap::new();
    for (id, result) in updates {
        groups.entry(result).or_default().push(id);
    }
    let mut written = 0;
    for ((status, breach), ids) in groups {
        for chunk in ids.chunks(SQLITE_CHUNK) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("UPDATE report_values SET status = ?, breach = ? WHERE id IN ({marks})");
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(status.as_str()).bind(breach.as_str());
            for id in chunk {
                q = bind_id(q, id);
            }
            written += q.execute(&mut *tx).await?.rows_affected();
        }
    }
    Ok(written)
}

async fn floor_postgres(db: &DatabaseConnection) -> anyhow::Result<u64> {
    let pool = db.get_postgres_connection_pool();
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(READ).fetch_all(&mut *tx).await?;
    let (mut ids, mut statuses, mut breaches) =
        (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
    for r in &rows {
        let t = thresholds(
            r.try_get("direction")?,
            r.try_get("target")?,
            r.try_get("target_upper")?,
            r.try_get("warning_threshold")?,
            r.try_get("critical_threshold")?,
        )?;
        let (status, breach) = judged(&t, r.try_get("value")?);
        ids.push(r.try_get::<uuid::Uuid, _>("id")?);
        statuses.push(status);
        breaches.push(breach);
    }
    let written = sqlx::query(
        "UPDATE report_values AS v SET status = u.status, breach = u.breach \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[]) AS u(id, status, breach) WHERE v.id = u.id",
    )
    .bind(&ids)
    .bind(&statuses)
    .bind(&breaches)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(written)
}
