//! The portfolio: every engagement a caller may see, each with its health, late and missing
//! periods and signals, for the home page of leads and executives.
//!
//! An engagement's dashboard reads its whole history; the portfolio cannot (200 engagements
//! of two years' weekly reports hold 200,000 values). It reads a fixed number of queries
//! whose size follows the number of KPIs and reports, not of values:
//! - per KPI, only its latest shown value (`shown`: part of its report's latest submitted
//!   version), found through the `(kpi_id, period_start)` index by a correlated subquery;
//! - per engagement, the first day and lateness of its submitted reports (two narrow
//!   columns), counted against its schedule by `Schedule::tally`: the one definition of
//!   missing and late that the dashboard, the alerts and the renewal packet use too (due
//!   periods come from local dates alone);
//! - shown signals, counted by engagement and severity in SQL.
//!
//! The judging is the same pure code as the dashboard's (`domain::evaluation`), so both
//! always agree.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryResult, QuerySelect, Statement, Value,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    app::engagements::schedule,
    db::entity::{engagement, kpi},
};
use crate::{
    domain::{
        enums::{EngagementStatus, KpiDirection, KpiUnit},
        evaluation::{self, Health, Status, Thresholds},
        period::Submitted,
        report::Severity,
    },
    error::AppResult,
};

/// One engagement in the portfolio view.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PortfolioItem {
    pub engagement_id: Uuid,
    pub title: String,
    pub vendor_id: Uuid,
    pub status: EngagementStatus,
    /// Each KPI's latest status (see the dashboard), counted.
    pub health: Health,
    /// Periods whose report was submitted after its due date.
    pub late_periods: u32,
    /// Due periods with nothing submitted.
    pub missing_periods: u32,
    /// Signals in the submitted reports.
    pub signals: u32,
    pub high_severity_signals: u32,
    /// The KPI furthest off target among those whose latest status is the worst (red, then
    /// amber): what the home page names as the reason for the engagement's health.
    pub worst_kpi: Option<WorstKpi>,
}

/// A KPI off target, with the numbers that say by how much.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorstKpi {
    pub kpi_id: Uuid,
    pub name: String,
    pub unit: KpiUnit,
    pub direction: KpiDirection,
    pub status: Status,
    /// Its latest shown value and the period it was reported for.
    pub value: f64,
    pub period_start: NaiveDate,
    pub target: f64,
    pub target_upper: Option<f64>,
    /// The shortfall relative to the target (0.2: a fifth short of it).
    pub shortfall: f64,
}

/// The columns of a KPI its status needs, and its name and unit.
type KpiRow = (Uuid, Uuid, KpiDirection, f64, Option<f64>, f64, f64, String, KpiUnit);

/// The portfolio of the given engagements, in their order.
pub async fn portfolio<C: ConnectionTrait>(
    db: &C,
    engagements: &[engagement::Model],
    now: DateTime<Utc>,
) -> AppResult<Vec<PortfolioItem>> {
    if engagements.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = engagements.iter().map(|e| e.id).collect();
    let due: HashMap<Uuid, Vec<NaiveDate>> =
        engagements.iter().map(|e| Ok((e.id, schedule(e)?.due_starts(now)))).collect::<AppResult<_>>()?;
    let kpis: Vec<KpiRow> = kpi::Entity::find()
        .select_only()
        .columns([
            kpi::Column::Id,
            kpi::Column::EngagementId,
            kpi::Column::Direction,
            kpi::Column::Target,
            kpi::Column::TargetUpper,
            kpi::Column::WarningThreshold,
            kpi::Column::CriticalThreshold,
            kpi::Column::Name,
            kpi::Column::Unit,
        ])
        .filter(kpi::Column::EngagementId.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let latest = latest_values(db, &ids).await?;
    let submitted = submitted_reports(db, &ids).await?;
    let signals = signal_counts(db, &ids).await?;

    let mut statuses: HashMap<Uuid, Vec<Status>> = HashMap::new();
    let mut worst: HashMap<Uuid, WorstKpi> = HashMap::new();
    for (id, engagement_id, direction, target, target_upper, warning, critical, name, unit) in kpis {
        let t = Thresholds { direction, target, target_upper, warning, critical };
        let reported = latest.get(&id).map(|(period, value)| (*period, evaluation::status(&t, Some(*value))));
        let last_due = due.get(&engagement_id).and_then(|d| d.last().copied());
        let status = evaluation::latest_status(reported, last_due);
        statuses.entry(engagement_id).or_default().push(status);
        if let (Status::Red | Status::Amber, Some(&(period_start, value))) = (status, latest.get(&id)) {
            let candidate = WorstKpi {
                kpi_id: id,
                name,
                unit,
                direction: t.direction,
                status,
                value,
                period_start,
                target,
                target_upper,
                shortfall: evaluation::relative_shortfall(&t, value),
            };
            match worst.get(&engagement_id) {
                Some(w) if (w.status, w.shortfall) >= (candidate.status, candidate.shortfall) => {}
                _ => {
                    worst.insert(engagement_id, candidate);
                }
            }
        }
    }
    engagements
        .iter()
        .map(|e| {
            let tally = schedule(e)?.tally(submitted.get(&e.id).into_iter().flatten().copied(), now);
            let (signals, high_severity_signals) = signals.get(&e.id).copied().unwrap_or_default();
            Ok(PortfolioItem {
                engagement_id: e.id,
                title: e.title.clone(),
                vendor_id: e.vendor_id,
                status: e.status,
                health: evaluation::health(statuses.get(&e.id).map(Vec::as_slice).unwrap_or_default()),
                late_periods: tally.late,
                missing_periods: tally.missing_count(),
                signals,
                high_severity_signals,
                worst_kpi: worst.remove(&e.id),
            })
        })
        .collect()
}

/// Per engagement, its submitted reports as the counts need them (`Schedule::tally`).
pub(crate) async fn submitted_reports<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<Submitted>>> {
    let rows = query_for(
        db,
        "SELECT engagement_id, period_start, late FROM reports \
         WHERE submitted_at IS NOT NULL AND engagement_id IN ({ids})",
        engagements,
    )
    .await?;
    let mut out: HashMap<Uuid, Vec<Submitted>> = HashMap::new();
    for r in rows {
        let submitted = Submitted { period_start: r.try_get("", "period_start")?, late: r.try_get("", "late")? };
        out.entry(r.try_get("", "engagement_id")?).or_default().push(submitted);
    }
    Ok(out)
}

/// Runs `sql` with its `{ids}` replaced by one bind parameter per engagement id (`$1, $2, …`
/// on PostgreSQL, `?, ?, …` on SQLite).
pub(crate) async fn query_for<C: ConnectionTrait>(
    db: &C,
    sql: &str,
    engagements: &[Uuid],
) -> AppResult<Vec<QueryResult>> {
    let backend = db.get_database_backend();
    let marks = (1..=engagements.len())
        .map(|i| if backend == DatabaseBackend::Postgres { format!("${i}") } else { "?".to_owned() })
        .collect::<Vec<_>>()
        .join(", ");
    let values = engagements.iter().map(|id| Value::from(*id));
    Ok(db.query_all_raw(Statement::from_sql_and_values(backend, sql.replace("{ids}", &marks), values)).await?)
}

/// Per KPI of the engagements: the period and value of its latest shown value (from the
/// latest submitted version of the latest reported period).
pub(crate) async fn latest_values<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
) -> AppResult<HashMap<Uuid, (NaiveDate, f64)>> {
    let rows = query_for(
        db,
        "SELECT lv.kpi_id, lv.period_start, lv.value FROM kpis k JOIN report_values lv ON lv.id = ( \
           SELECT v.id FROM report_values v WHERE v.kpi_id = k.id AND v.shown ORDER BY v.period_start DESC LIMIT 1) \
         WHERE k.engagement_id IN ({ids})",
        engagements,
    )
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "kpi_id")?, (r.try_get("", "period_start")?, r.try_get("", "value")?))))
        .collect()
}

/// Per engagement: the shown signals (those of each report's latest submitted version), and
/// how many of them are high or critical.
async fn signal_counts<C: ConnectionTrait>(db: &C, engagements: &[Uuid]) -> AppResult<HashMap<Uuid, (u32, u32)>> {
    let rows = query_for(
        db,
        "SELECT engagement_id, severity, COUNT(*) AS n FROM report_signals \
         WHERE shown AND engagement_id IN ({ids}) GROUP BY engagement_id, severity",
        engagements,
    )
    .await?;
    let mut counts: HashMap<Uuid, (u32, u32)> = HashMap::new();
    for r in rows {
        let severity: Severity = r.try_get("", "severity")?;
        let n = u32::try_from(r.try_get::<i64>("", "n")?).unwrap_or(u32::MAX);
        let entry = counts.entry(r.try_get("", "engagement_id")?).or_default();
        entry.0 += n;
        if severity >= Severity::High {
            entry.1 += n;
        }
    }
    Ok(counts)
}
