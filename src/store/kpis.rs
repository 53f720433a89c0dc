//! KPIs of an engagement, with the realism check attached to every answer.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use super::{
    audit::{self, Actor, AuditEntry},
    engagements::{ensure_open, lock},
    entity::{engagement, kpi},
};
use crate::{
    domain::{
        kpi::{KpiInput, ValidKpi, realism},
        text,
    },
    error::{AppError, AppResult},
    views::{KpiView, parse},
};

pub fn view(e: &engagement::Model, k: &kpi::Model, max_yearly_growth: f64) -> AppResult<KpiView> {
    let term_days = (e.end_date - e.start_date).num_days();
    let flag = realism(parse("direction", &k.direction)?, k.baseline, k.target, term_days, max_yearly_growth);
    Ok(KpiView::new(k, flag)?)
}

pub async fn list(db: &DatabaseConnection, e: &engagement::Model, growth: f64) -> AppResult<Vec<KpiView>> {
    let rows =
        kpi::Entity::find().filter(kpi::Column::EngagementId.eq(e.id)).order_by_asc(kpi::Column::Id).all(db).await?;
    rows.iter().map(|k| view(e, k, growth)).collect()
}

pub async fn get<C: ConnectionTrait>(db: &C, engagement_id: Uuid, kpi_id: Uuid) -> AppResult<kpi::Model> {
    kpi::Entity::find_by_id(kpi_id)
        .filter(kpi::Column::EngagementId.eq(engagement_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

async fn ensure_name_free<C: ConnectionTrait>(
    db: &C,
    engagement_id: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> AppResult<()> {
    let mut q = kpi::Entity::find()
        .filter(kpi::Column::EngagementId.eq(engagement_id))
        .filter(kpi::Column::NameKey.eq(text::name_key(name)));
    if let Some(id) = except {
        q = q.filter(kpi::Column::Id.ne(id));
    }
    if q.one(db).await?.is_some() {
        return Err(AppError::conflict("name", "duplicate", "this engagement already has a KPI with this name"));
    }
    Ok(())
}

fn channels(k: &KpiInput) -> AppResult<serde_json::Value> {
    Ok(serde_json::to_value(&k.channels).map_err(anyhow::Error::from)?)
}

pub async fn create(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    input: KpiInput,
    growth: f64,
) -> AppResult<KpiView> {
    let ValidKpi(k) = input.validate()?;
    let txn = crate::store::begin_write(db).await?;
    let e = &lock(&txn, e.id).await?;
    ensure_open(e, "kpis", "KPIs")?;
    ensure_name_free(&txn, e.id, &k.name, None).await?;
    let model = kpi::ActiveModel {
        id: Set(Uuid::now_v7()),
        engagement_id: Set(e.id),
        name_key: Set(text::name_key(&k.name)),
        channels: Set(channels(&k)?),
        name: Set(k.name),
        objective: Set(k.objective),
        unit: Set(k.unit.to_string()),
        direction: Set(k.direction.to_string()),
        baseline: Set(k.baseline),
        target: Set(k.target),
        target_upper: Set(k.target_upper),
        warning_threshold: Set(k.warning_threshold),
        critical_threshold: Set(k.critical_threshold),
        aggregation: Set(k.aggregation.to_string()),
        allow_negative: Set(k.allow_negative),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let v = view(e, &model, growth)?;
    audit::record(&txn, now, actor, AuditEntry::new("kpi.create", "kpi", model.id).engagement(e.id).after(&v)).await?;
    txn.commit().await?;
    Ok(v)
}

pub async fn replace(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    kpi_id: Uuid,
    input: KpiInput,
    growth: f64,
) -> AppResult<KpiView> {
    let txn = crate::store::begin_write(db).await?;
    let e = &lock(&txn, e.id).await?;
    let current = get(&txn, e.id, kpi_id).await?;
    ensure_open(e, "kpis", "KPIs")?;
    let ValidKpi(k) = input.validate()?;
    ensure_name_free(&txn, e.id, &k.name, Some(kpi_id)).await?;
    let before = view(e, &current, growth)?;
    let mut active: kpi::ActiveModel = current.into();
    active.name_key = Set(text::name_key(&k.name));
    active.channels = Set(channels(&k)?);
    active.name = Set(k.name);
    active.objective = Set(k.objective);
    active.unit = Set(k.unit.to_string());
    active.direction = Set(k.direction.to_string());
    active.baseline = Set(k.baseline);
    active.target = Set(k.target);
    active.target_upper = Set(k.target_upper);
    active.warning_threshold = Set(k.warning_threshold);
    active.critical_threshold = Set(k.critical_threshold);
    active.aggregation = Set(k.aggregation.to_string());
    active.allow_negative = Set(k.allow_negative);
    active.updated_at = Set(now);
    let updated = active.update(&txn).await?;
    let after = view(e, &updated, growth)?;
    audit::record(
        &txn,
        now,
        actor,
        AuditEntry::new("kpi.update", "kpi", kpi_id).engagement(e.id).before(&before).after(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

pub async fn delete(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    kpi_id: Uuid,
    growth: f64,
) -> AppResult<()> {
    let txn = crate::store::begin_write(db).await?;
    let e = &lock(&txn, e.id).await?;
    let current = get(&txn, e.id, kpi_id).await?;
    ensure_open(e, "kpis", "KPIs")?;
    let before = view(e, &current, growth)?;
    kpi::Entity::delete_by_id(kpi_id).exec(&txn).await?;
    audit::record(&txn, now, actor, AuditEntry::new("kpi.delete", "kpi", kpi_id).engagement(e.id).before(&before))
        .await?;
    txn.commit().await?;
    Ok(())
}
