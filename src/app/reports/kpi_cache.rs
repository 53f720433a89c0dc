//! The KPIs of an engagement as reports and imports read them, cached per engagement
//! until a KPI changes (the cache is keyed by the KPIs' count and latest update, and the KPI
//! use cases forget an engagement's entry when they change it), and the language of its files.

use super::*;

/// The language of an engagement's reporting files (the template's headers): its internal
/// owner's language; Spanish, the product's home language, without an owner.
pub async fn file_language<C: ConnectionTrait>(db: &C, e: &engagement::Model) -> AppResult<Language> {
    let Some(owner) = e.owner_id else { return Ok(Language::Es) };
    let found: Option<String> =
        user::Entity::find_by_id(owner).select_only().column(user::Column::Language).into_tuple().one(db).await?;
    Ok(found.and_then(|l| l.parse().ok()).unwrap_or(Language::Es))
}

/// KPI sets of reporting engagements. Once an engagement reports (active, suspended or
/// ended) its KPIs change only by amendment, yet an import of 10,000 rows needed them twice
/// (to parse, then inside the write transaction to check). Each hit is confirmed by the
/// set's stamp, read in one aggregate, so a changed set is read again.
pub(super) static KPI_SETS: std::sync::LazyLock<quick_cache::sync::Cache<Uuid, std::sync::Arc<KpiSet>>> =
    std::sync::LazyLock::new(|| quick_cache::sync::Cache::new(256));

pub async fn kpi_set<C: ConnectionTrait>(db: &C, e: &engagement::Model) -> AppResult<std::sync::Arc<KpiSet>> {
    let stamp: Option<(i64, Option<DateTime<Utc>>)> = kpi::Entity::find()
        .select_only()
        .column_as(kpi::Column::Id.count(), "n")
        .column_as(kpi::Column::UpdatedAt.max(), "latest")
        .filter(kpi::Column::EngagementId.eq(e.id))
        .into_tuple()
        .one(db)
        .await?;
    let stamp = stamp.unwrap_or((0, None));
    let cacheable = ensure_reporting(e).is_ok();
    if cacheable && let Some(hit) = KPI_SETS.get(&e.id).filter(|hit| hit.stamp == stamp) {
        return Ok(hit);
    }
    // Only the columns needed: an engagement may have thousands of KPIs.
    let rows: Vec<(Uuid, String, bool, serde_json::Value)> = kpi::Entity::find()
        .select_only()
        .columns([kpi::Column::Id, kpi::Column::Name, kpi::Column::AllowNegative, kpi::Column::Channels])
        .filter(kpi::Column::EngagementId.eq(e.id))
        .order_by_asc(kpi::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let (mut refs, mut rules) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
    for (id, name, allow_negative, channels) in rows {
        let channels: Vec<Channel> = serde_json::from_value(channels).map_err(anyhow::Error::from)?;
        rules.push(KpiRules { id, allow_negative, channels: channels.clone() });
        refs.push(KpiRef { id, name, channels });
    }
    let set = std::sync::Arc::new(KpiSet { stamp, refs, rules });
    if cacheable {
        KPI_SETS.insert(e.id, set.clone());
    }
    Ok(set)
}

/// Drops an engagement's cached KPI set at once (an amendment changed its KPIs). Other
/// replicas notice the change by the set's stamp.
pub fn forget_kpis(engagement_id: Uuid) {
    KPI_SETS.remove(&engagement_id);
}
