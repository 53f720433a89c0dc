//! Importing a period's figures from a CSV or XLSX file: all or nothing, with every error
//! named by the file's row and column.

use super::write::{create, edit, submit};
use super::*;

/// The KPIs of an engagement as the import reads them (name, id, channels).
/// Puts imported figures into the period's report: a new report, or the current draft (a
/// new version after a request for changes), keeping its narrative and signals. Errors
/// about a value name the file row it came from.
pub async fn import(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    engagement_id: Uuid,
    period_start: NaiveDate,
    imported: Vec<ImportedValue>,
    submit_after: Option<&WriteRules>,
) -> AppResult<ReportDetail> {
    let rows: Vec<usize> = imported.iter().map(|v| v.row).collect();
    let values = imported
        .into_iter()
        .map(|v| ValueInput {
            kpi_id: v.kpi_id,
            value: v.value,
            breakdown: v.breakdown,
            comment: v.comment,
            evidence_url: v.evidence_url,
        })
        .collect();
    let existing = report::Entity::find()
        .filter(report::Column::EngagementId.eq(engagement_id))
        .filter(report::Column::PeriodStart.eq(period_start))
        .one(db)
        .await?;
    let result = match existing {
        None => {
            create(
                db,
                now,
                actor,
                engagement_id,
                period_start,
                ReportContent { narrative: String::new(), values, signals: vec![] },
                submit_after,
            )
            .await
        }
        Some(r) => {
            let current = detail(db, &r).await?.versions.into_iter().next();
            let (narrative, signals) = current
                .map(|v| {
                    let signals = v
                        .signals
                        .into_iter()
                        .map(|s| SignalInput {
                            category: s.category,
                            severity: s.severity,
                            description: s.description,
                            link: s.link,
                        })
                        .collect();
                    (v.narrative, signals)
                })
                .unwrap_or_default();
            let edited = edit(db, now, actor, r.id, ReportContent { narrative, values, signals }).await;
            match (edited, submit_after) {
                (Ok(_), Some(rules)) => submit(db, now, actor, r.id, rules).await,
                (other, _) => other,
            }
        }
    };
    result.map_err(|err| match err {
        AppError::Invalid(errors) => AppError::Invalid(errors.into_iter().map(|e| rename_to_row(e, &rows)).collect()),
        other => other,
    })
}

/// `values[i].value` → `rows[N].value`, where N is the file row of the i-th value.
pub(super) fn rename_to_row(mut e: crate::domain::FieldError, rows: &[usize]) -> crate::domain::FieldError {
    if let Some(rest) = e.field.strip_prefix("values[")
        && let Some((index, tail)) = rest.split_once(']')
        && let Some(row) = index.parse::<usize>().ok().and_then(|i| rows.get(i))
    {
        e.field = format!("rows[{row}]{tail}");
    }
    e
}
