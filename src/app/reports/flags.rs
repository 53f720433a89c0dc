//! Plausibility flags for a reviewer: values of a report's latest version that look
//! implausible next to the previous period's (a jump beyond the factor, a ratio that does not
//! add up).

use super::*;

/// A plausibility warning on one value of a report's latest version, for the reviewer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlausibilityFlag {
    pub kpi_id: Uuid,
    #[serde(flatten)]
    pub issue: Implausible,
}

/// What the plausibility checks allow (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct PlausibilityLimits {
    pub jump_factor: f64,
    pub ratio_tolerance: f64,
}

/// Flags, on the latest version's values, jumps beyond the allowed factor from the previous
/// period's submitted values, and ratio KPIs that do not match their numerator ÷ denominator
/// in the same version. Never blocks anything.
pub async fn plausibility<C: ConnectionTrait>(
    db: &C,
    r: &report::Model,
    limits: PlausibilityLimits,
) -> AppResult<Vec<PlausibilityFlag>> {
    let current = current_version(db, r).await?;
    let now = report_value::Entity::find().filter(report_value::Column::VersionId.eq(current.id)).all(db).await?;
    let before = previous_values(db, r).await?;
    let mut flags: Vec<PlausibilityFlag> = now
        .iter()
        .filter_map(|v| {
            plausibility::jump(before.get(&v.kpi_id).copied(), v.value, limits.jump_factor)
                .map(|issue| PlausibilityFlag { kpi_id: v.kpi_id, issue })
        })
        .collect();
    let reported: HashMap<Uuid, f64> = now.iter().map(|v| (v.kpi_id, v.value)).collect();
    let ratios = kpi::Entity::find()
        .filter(kpi::Column::EngagementId.eq(r.engagement_id))
        .filter(kpi::Column::RatioNumeratorId.is_not_null())
        .all(db)
        .await?;
    for k in ratios {
        let Some(ratio) = RatioOf::from_columns(k.ratio_numerator_id, k.ratio_denominator_id) else { continue };
        let (Some(value), Some(numerator), Some(denominator)) =
            (reported.get(&k.id), reported.get(&ratio.numerator_kpi_id), reported.get(&ratio.denominator_kpi_id))
        else {
            continue;
        };
        let rule = RatioRule { scale: RatioOf::scale(k.unit), tolerance: limits.ratio_tolerance };
        if let Some(issue) = plausibility::ratio(rule, *value, *numerator, *denominator) {
            flags.push(PlausibilityFlag { kpi_id: k.id, issue });
        }
    }
    Ok(flags)
}

/// The values of the nearest earlier period whose report has a submitted version (drafts
/// do not count), looking back at most twelve periods.
pub(super) async fn previous_values<C: ConnectionTrait>(db: &C, r: &report::Model) -> AppResult<HashMap<Uuid, f64>> {
    let previous = report::Entity::find()
        .filter(report::Column::EngagementId.eq(r.engagement_id))
        .filter(report::Column::PeriodStart.lt(r.period_start))
        .order_by_desc(report::Column::PeriodStart)
        .limit(12)
        .all(db)
        .await?;
    let submitted = report_version::Entity::find()
        .filter(report_version::Column::ReportId.is_in(previous.iter().map(|p| p.id)))
        .filter(report_version::Column::SubmittedAt.is_not_null())
        .all(db)
        .await?;
    let shown =
        previous.iter().find_map(|p| submitted.iter().filter(|v| v.report_id == p.id).max_by_key(|v| v.version));
    let Some(shown) = shown else { return Ok(HashMap::new()) };
    Ok(report_value::Entity::find()
        .filter(report_value::Column::VersionId.eq(shown.id))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.kpi_id, v.value))
        .collect())
}
