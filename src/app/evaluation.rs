//! Set-based evaluation of stored values: every reported value keeps the status and breach
//! it was judged with, so that alerts, lists and the portfolio can select on them in SQL.
//!
//! The judging itself is `domain::evaluation`; this module only moves rows. It reads the
//! selected values page by page (keyset on the time-ordered id, a fixed number of queries
//! per page whatever its size), judges them against their KPI's thresholds in memory, and
//! writes back only the rows whose result changed: on SQLite one `UPDATE … WHERE id IN (…)`
//! per distinct result, on PostgreSQL one `UPDATE … FROM UNNEST(…)` per page. Values are judged when their version is submitted; a change to a KPI's
//! thresholds re-judges that KPI's values.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement, Value,
    sea_query::{ArrayType, Expr},
};
use uuid::Uuid;

use crate::db::entity::{kpi, report_value};
use crate::{
    domain::evaluation::{self, Breach, Status, Thresholds},
    error::AppResult,
};

/// Rows read and written per round trip: well under the bind-parameter limits of SQLite
/// (32,766) and PostgreSQL (65,535).
pub const PAGE: u64 = 5_000;

/// Which stored values to (re-)evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The values of one report version (at submission).
    Version(Uuid),
    /// Every value of one KPI (after its thresholds changed).
    Kpi(Uuid),
    Engagement(Uuid),
    All,
}

/// What one evaluation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    pub evaluated: u64,
    /// Rows whose status or breach changed and were written.
    pub changed: u64,
}

/// The thresholds of a KPI as stored.
pub fn thresholds(k: &kpi::Model) -> AppResult<Thresholds> {
    Ok(Thresholds {
        direction: k.direction,
        target: k.target,
        target_upper: k.target_upper,
        warning: k.warning_threshold,
        critical: k.critical_threshold,
    })
}

type Row = (Uuid, Uuid, f64, Option<String>, Option<String>);

/// Judges the selected values against their KPIs and stores the results.
pub async fn evaluate<C: ConnectionTrait>(db: &C, selection: Selection) -> AppResult<Outcome> {
    let rules = kpi_thresholds(db, selection).await?;
    let mut outcome = Outcome::default();
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = report_value::Entity::find()
            .select_only()
            .columns([
                report_value::Column::Id,
                report_value::Column::KpiId,
                report_value::Column::Value,
                report_value::Column::Status,
                report_value::Column::Breach,
            ])
            .order_by_asc(report_value::Column::Id)
            .limit(PAGE);
        q = match selection {
            Selection::Version(id) => q.filter(report_value::Column::VersionId.eq(id)),
            Selection::Kpi(id) => q.filter(report_value::Column::KpiId.eq(id)),
            Selection::Engagement(id) => q.filter(report_value::Column::EngagementId.eq(id)),
            Selection::All => q,
        };
        if let Some(last) = after {
            q = q.filter(report_value::Column::Id.gt(last));
        }
        let page: Vec<Row> = q.into_tuple().all(db).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.0);
        outcome.evaluated += page.len() as u64;
        outcome.changed += write(db, judge(&rules, &page)?).await?;
        if (page.len() as u64) < PAGE {
            break;
        }
    }
    Ok(outcome)
}

async fn kpi_thresholds<C: ConnectionTrait>(db: &C, selection: Selection) -> AppResult<HashMap<Uuid, Thresholds>> {
    let q = kpi::Entity::find();
    let q = match selection {
        Selection::Version(id) => q.filter(
            kpi::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(report_value::Column::KpiId)
                    .from(report_value::Entity)
                    .and_where(report_value::Column::VersionId.eq(id))
                    .to_owned(),
            ),
        ),
        Selection::Kpi(id) => q.filter(kpi::Column::Id.eq(id)),
        Selection::Engagement(id) => q.filter(kpi::Column::EngagementId.eq(id)),
        Selection::All => q,
    };
    q.all(db).await?.iter().map(|k| Ok((k.id, thresholds(k)?))).collect()
}

/// The rows of a page whose stored result differs from the judged one, grouped by result.
fn judge(rules: &HashMap<Uuid, Thresholds>, page: &[Row]) -> AppResult<HashMap<(Status, Breach), Vec<Uuid>>> {
    let mut changed: HashMap<(Status, Breach), Vec<Uuid>> = HashMap::new();
    for (id, kpi_id, value, status, breach) in page {
        let t = rules
            .get(kpi_id)
            .ok_or_else(|| anyhow::anyhow!("value {id} refers to KPI {kpi_id}, which has no thresholds"))?;
        let judged = (evaluation::status(t, Some(*value)), evaluation::breach(t, *value));
        let stored = (status.as_deref(), breach.as_deref());
        if stored != (Some(judged.0.as_ref()), Some(judged.1.as_ref())) {
            changed.entry(judged).or_default().push(*id);
        }
    }
    Ok(changed)
}

async fn write<C: ConnectionTrait>(db: &C, changed: HashMap<(Status, Breach), Vec<Uuid>>) -> AppResult<u64> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        return write_unnest(db, changed).await;
    }
    let mut written = 0;
    for ((status, breach), ids) in changed {
        written += report_value::Entity::update_many()
            .col_expr(report_value::Column::Status, Expr::value(status.to_string()))
            .col_expr(report_value::Column::Breach, Expr::value(breach.to_string()))
            .filter(report_value::Column::Id.is_in(ids))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(written)
}

/// PostgreSQL: one statement per page, joining three arrays. A long `IN (…)` list is
/// planned as a scan of the whole table with a hashed filter, three times slower here.
async fn write_unnest<C: ConnectionTrait>(db: &C, changed: HashMap<(Status, Breach), Vec<Uuid>>) -> AppResult<u64> {
    let (mut ids, mut statuses, mut breaches) = (Vec::new(), Vec::new(), Vec::new());
    for ((status, breach), group) in changed {
        for id in group {
            ids.push(Value::from(id));
            statuses.push(Value::from(status.to_string()));
            breaches.push(Value::from(breach.to_string()));
        }
    }
    if ids.is_empty() {
        return Ok(0);
    }
    let array = |kind, values| Value::Array(kind, Some(Box::new(values)));
    let statement = Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "UPDATE report_values AS v SET status = u.status, breach = u.breach \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[]) AS u(id, status, breach) WHERE v.id = u.id",
        [array(ArrayType::Uuid, ids), array(ArrayType::String, statuses), array(ArrayType::String, breaches)],
    );
    Ok(db.execute_raw(statement).await?.rows_affected())
}
