//! The dashboard of an engagement: per KPI the series of reported values and their status
//! over a date range, the latest status and trend; late and missing periods; signals. Read
//! set-wise (a fixed number of queries, whatever the number of periods and KPIs) and judged
//! by the pure rules of `domain::evaluation`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Query};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    app::engagements::schedule,
    db::entity::{engagement, kpi, report, report_signal, report_value, report_version},
};
use crate::{
    domain::{
        enums::{Aggregation, KpiDirection, KpiUnit},
        evaluation::{self, Health, Status, Thresholds, Trend},
        period::{Period, Schedule, Standing, Submitted},
        report::{ReportStatus, Severity, SignalCategory},
    },
    error::AppResult,
};

/// Earlier reported values a trend compares the latest one with.
const TREND_WINDOW: usize = 3;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Point {
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// The value of the latest submitted version of the period's report, if any.
    pub value: Option<f64>,
    pub status: Status,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiSeries {
    pub kpi_id: Uuid,
    pub name: String,
    pub objective: String,
    pub unit: KpiUnit,
    pub direction: KpiDirection,
    pub target: f64,
    pub target_upper: Option<f64>,
    pub aggregation: Aggregation,
    pub series: Vec<Point>,
    /// Status of the most recent period in the range that is reported or due (grey when a
    /// due period has no value).
    pub latest_status: Status,
    pub trend: Trend,
    /// The values of the range combined by the KPI's aggregation.
    pub aggregate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeriodState {
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// The last day on which the report is on time (local date).
    pub due_date: NaiveDate,
    pub report_id: Option<Uuid>,
    pub report_status: Option<ReportStatus>,
    /// Where the report stands (`domain::period::Standing`, the one definition).
    pub standing: Standing,
    /// Submitted after its due date.
    pub late: bool,
    /// Due date passed, and nothing submitted.
    pub missing: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignalItem {
    pub report_id: Uuid,
    pub period_start: NaiveDate,
    pub category: SignalCategory,
    pub severity: Severity,
    pub description: String,
    pub link: Option<String>,
    /// When the report version carrying the signal was submitted.
    pub submitted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dashboard {
    pub engagement_id: Uuid,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub health: Health,
    pub kpis: Vec<KpiSeries>,
    pub periods: Vec<PeriodState>,
    /// Signals of the submitted reports in the range, most severe first.
    pub signals: Vec<SignalItem>,
}

/// The stored rows behind an engagement's dashboard, read set-wise.
#[derive(Default)]
struct Rows {
    kpis: Vec<kpi::Model>,
    reports: Vec<report::Model>,
    /// Submitted versions only: drafts are not shown to the company.
    versions: Vec<report_version::Model>,
    values: Vec<report_value::Model>,
    signals: Vec<report_signal::Model>,
}

impl Rows {
    async fn load<C: ConnectionTrait>(db: &C, engagement: Uuid) -> AppResult<Self> {
        let reports_of_it = Query::select()
            .column(report::Column::Id)
            .from(report::Entity)
            .and_where(report::Column::EngagementId.eq(engagement))
            .to_owned();
        Ok(Self {
            kpis: kpi::Entity::find()
                .filter(kpi::Column::EngagementId.eq(engagement))
                .order_by_asc(kpi::Column::Id)
                .all(db)
                .await?,
            reports: report::Entity::find().filter(report::Column::EngagementId.eq(engagement)).all(db).await?,
            versions: report_version::Entity::find()
                .filter(report_version::Column::ReportId.in_subquery(reports_of_it))
                .filter(report_version::Column::SubmittedAt.is_not_null())
                .all(db)
                .await?,
            values: report_value::Entity::find()
                .filter(report_value::Column::EngagementId.eq(engagement))
                .all(db)
                .await?,
            signals: report_signal::Entity::find()
                .filter(report_signal::Column::EngagementId.eq(engagement))
                .all(db)
                .await?,
        })
    }
}

/// Builds the dashboard of the started periods that overlap `from..=to`.
pub async fn build<C: ConnectionTrait>(
    db: &C,
    e: &engagement::Model,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<Dashboard> {
    assemble(e, &Rows::load(db, e.id).await?, from, to, now)
}

fn assemble(
    e: &engagement::Model,
    rows: &Rows,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<Dashboard> {
    let schedule = schedule(e)?;
    // The latest submitted version of each report is what the company sees.
    let mut latest: HashMap<Uuid, &report_version::Model> = HashMap::new();
    for v in &rows.versions {
        latest
            .entry(v.report_id)
            .and_modify(|cur| {
                if v.version > cur.version {
                    *cur = v
                }
            })
            .or_insert(v);
    }
    let submitted = rows
        .reports
        .iter()
        .filter(|r| latest.contains_key(&r.id))
        .map(|r| Submitted { period_start: r.period_start, late: r.late });
    let periods: Vec<(Period, Standing)> = schedule
        .standings(submitted, now)
        .into_iter()
        .filter(|(p, _)| p.has_started(now) && p.end_date >= from && p.start_date <= to)
        .collect();
    // A report counts for the period that contains its first day (the same period, unless it
    // was filed under an earlier rule's periods).
    let spans = schedule.spans();
    let period_start_of = |date: NaiveDate| Schedule::index_in(&spans, date).map(|i| spans[i].0);
    let in_range: std::collections::HashSet<NaiveDate> = periods.iter().map(|(p, _)| p.start_date).collect();
    let kpis = &rows.kpis;
    let reports: Vec<(NaiveDate, &report::Model)> = rows
        .reports
        .iter()
        .filter_map(|r| period_start_of(r.period_start).map(|start| (start, r)))
        .filter(|(start, _)| in_range.contains(start))
        .collect();
    let shown: std::collections::HashSet<Uuid> = latest.values().map(|v| v.id).collect();
    let values: Vec<&report_value::Model> = rows.values.iter().filter(|v| shown.contains(&v.version_id)).collect();
    let signals: Vec<&report_signal::Model> = rows.signals.iter().filter(|s| shown.contains(&s.version_id)).collect();

    // Per period, its report: the submitted one when an earlier rule's periods left two.
    let mut by_period: HashMap<NaiveDate, &report::Model> = HashMap::new();
    for (start, r) in &reports {
        let shown = latest.contains_key(&r.id);
        by_period
            .entry(*start)
            .and_modify(|cur| {
                if shown && !latest.contains_key(&cur.id) {
                    *cur = r
                }
            })
            .or_insert(r);
    }
    let value_of: HashMap<(Uuid, NaiveDate), f64> = values
        .iter()
        .filter_map(|v| period_start_of(v.period_start).map(|start| ((v.kpi_id, start), v.value)))
        .collect();

    let mut kpi_series = Vec::with_capacity(kpis.len());
    for k in kpis {
        let thresholds = Thresholds {
            direction: k.direction,
            target: k.target,
            target_upper: k.target_upper,
            warning: k.warning_threshold,
            critical: k.critical_threshold,
        };
        let series: Vec<Point> = periods
            .iter()
            .map(|(p, _)| {
                let value = value_of.get(&(k.id, p.start_date)).copied();
                Point {
                    period_start: p.start_date,
                    period_end: p.end_date,
                    value,
                    status: evaluation::status(&thresholds, value),
                }
            })
            .collect();
        let values: Vec<Option<f64>> = series.iter().map(|p| p.value).collect();
        let aggregation: Aggregation = k.aggregation;
        kpi_series.push(KpiSeries {
            kpi_id: k.id,
            name: k.name.clone(),
            objective: k.objective.clone(),
            unit: k.unit,
            direction: thresholds.direction,
            target: k.target,
            target_upper: k.target_upper,
            aggregation,
            latest_status: evaluation::latest_status(
                series.iter().rev().find(|p| p.value.is_some()).map(|p| (p.period_start, p.status)),
                periods.iter().rev().find(|(p, _)| p.is_late(now)).map(|(p, _)| p.start_date),
            ),
            trend: evaluation::trend(&thresholds, &values, TREND_WINDOW),
            aggregate: evaluation::aggregate(aggregation, &values),
            series,
        });
    }
    let period_states = periods
        .iter()
        .map(|(p, standing)| {
            let r = by_period.get(&p.start_date);
            Ok(PeriodState {
                period_start: p.start_date,
                period_end: p.end_date,
                due_date: p.due_date,
                report_id: r.map(|r| r.id),
                report_status: r.map(|r| r.status),
                standing: *standing,
                late: *standing == Standing::Late,
                missing: *standing == Standing::Missing,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let period_of_report: HashMap<Uuid, NaiveDate> = reports.iter().map(|(start, r)| (r.id, *start)).collect();
    let submitted_at: HashMap<Uuid, Option<DateTime<Utc>>> = latest.values().map(|v| (v.id, v.submitted_at)).collect();
    let mut signal_items = signals
        .iter()
        .filter_map(|s| period_of_report.get(&s.report_id).map(|p| (s, *p)))
        .map(|(s, period_start)| {
            Ok(SignalItem {
                report_id: s.report_id,
                period_start,
                category: s.category,
                severity: s.severity,
                description: s.description.clone(),
                link: s.link.clone(),
                submitted_at: submitted_at.get(&s.version_id).copied().flatten(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    signal_items.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.period_start.cmp(&a.period_start)));
    let statuses: Vec<Status> = kpi_series.iter().map(|k| k.latest_status).collect();
    Ok(Dashboard {
        engagement_id: e.id,
        from,
        to,
        health: evaluation::health(&statuses),
        kpis: kpi_series,
        periods: period_states,
        signals: signal_items,
    })
}
