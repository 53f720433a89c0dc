//! KPIs of an engagement, with the realism check attached to every answer.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::{
    app::{
        audit::{self, Actor, AuditEntry},
        context::Ctx,
        engagements::{self, ensure_open, lock},
    },
    db::entity::{engagement, kpi, report_value},
};
use crate::{
    domain::{
        Violations,
        kpi::{KpiInput, ValidKpi, realism},
        text,
    },
    error::{AppError, AppResult},
    policy::engagement::Action as EngagementAction,
    views::KpiView,
};

pub fn view(e: &engagement::Model, k: &kpi::Model, max_yearly_growth: f64) -> AppResult<KpiView> {
    let term_days = (e.end_date - e.start_date).num_days();
    let flag = realism(k.direction, k.baseline, k.target, term_days, max_yearly_growth);
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

/// Both halves of a ratio must be KPIs of the same engagement, and neither may be the KPI
/// itself (`own`, when it already exists).
async fn ensure_ratio_parts<C: ConnectionTrait>(
    db: &C,
    engagement_id: Uuid,
    k: &KpiInput,
    own: Option<Uuid>,
) -> AppResult<()> {
    let Some(ratio) = k.ratio_of else { return Ok(()) };
    let mut v = Violations::new();
    ratio.check(own, &mut v);
    let found: Vec<Uuid> = kpi::Entity::find()
        .filter(kpi::Column::EngagementId.eq(engagement_id))
        .filter(kpi::Column::Id.is_in([ratio.numerator_kpi_id, ratio.denominator_kpi_id]))
        .all(db)
        .await?
        .iter()
        .map(|k| k.id)
        .collect();
    for (field, id) in [
        ("ratio_of.numerator_kpi_id", ratio.numerator_kpi_id),
        ("ratio_of.denominator_kpi_id", ratio.denominator_kpi_id),
    ] {
        if !found.contains(&id) {
            v.add(field, "unknown_kpi", "not a KPI of this engagement");
        }
    }
    Ok(v.finish(())?)
}

/// A KPI that a ratio KPI is computed from cannot be removed before that ratio KPI.
async fn ensure_not_ratio_part<C: ConnectionTrait>(db: &C, kpi_id: Uuid) -> AppResult<()> {
    let user = kpi::Entity::find()
        .filter(
            Condition::any()
                .add(kpi::Column::RatioNumeratorId.eq(kpi_id))
                .add(kpi::Column::RatioDenominatorId.eq(kpi_id)),
        )
        .one(db)
        .await?;
    match user {
        Some(k) => Err(AppError::conflict(
            "kpi_id",
            "used_by_ratio",
            format!("the ratio KPI {:?} is computed from this KPI; change or delete it first", k.name),
        )),
        None => Ok(()),
    }
}

fn channels(k: &KpiInput) -> AppResult<serde_json::Value> {
    Ok(serde_json::to_value(&k.channels).map_err(anyhow::Error::from)?)
}

/// Adds a validated KPI inside the caller's transaction (also how an amendment adds one):
/// its name must be free and its ratio parts KPIs of the engagement.
pub async fn create_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    k: KpiInput,
    growth: f64,
) -> AppResult<KpiView> {
    ensure_name_free(txn, e.id, &k.name, None).await?;
    ensure_ratio_parts(txn, e.id, &k, None).await?;
    let model = kpi::ActiveModel {
        id: Set(Uuid::now_v7()),
        engagement_id: Set(e.id),
        name_key: Set(text::name_key(&k.name)),
        channels: Set(channels(&k)?),
        name: Set(k.name),
        objective: Set(k.objective),
        unit: Set(k.unit),
        direction: Set(k.direction),
        baseline: Set(k.baseline),
        target: Set(k.target),
        target_upper: Set(k.target_upper),
        warning_threshold: Set(k.warning_threshold),
        critical_threshold: Set(k.critical_threshold),
        aggregation: Set(k.aggregation),
        allow_negative: Set(k.allow_negative),
        ratio_numerator_id: Set(k.ratio_of.map(|r| r.numerator_kpi_id)),
        ratio_denominator_id: Set(k.ratio_of.map(|r| r.denominator_kpi_id)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    let v = view(e, &model, growth)?;
    audit::record(txn, now, actor, AuditEntry::new("kpi.create", "kpi", model.id).engagement(e.id).after(&v)).await?;
    Ok(v)
}

/// Replaces a KPI's definition with a validated one inside the caller's transaction;
/// returns it before and after. Stored statuses are the caller's to re-judge.
pub async fn replace_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    current: kpi::Model,
    k: KpiInput,
    growth: f64,
) -> AppResult<(KpiView, KpiView)> {
    let kpi_id = current.id;
    ensure_name_free(txn, e.id, &k.name, Some(kpi_id)).await?;
    ensure_ratio_parts(txn, e.id, &k, Some(kpi_id)).await?;
    let before = view(e, &current, growth)?;
    let mut active: kpi::ActiveModel = current.into();
    active.name_key = Set(text::name_key(&k.name));
    active.channels = Set(channels(&k)?);
    active.name = Set(k.name);
    active.objective = Set(k.objective);
    active.unit = Set(k.unit);
    active.direction = Set(k.direction);
    active.baseline = Set(k.baseline);
    active.target = Set(k.target);
    active.target_upper = Set(k.target_upper);
    active.warning_threshold = Set(k.warning_threshold);
    active.critical_threshold = Set(k.critical_threshold);
    active.aggregation = Set(k.aggregation);
    active.allow_negative = Set(k.allow_negative);
    active.ratio_numerator_id = Set(k.ratio_of.map(|r| r.numerator_kpi_id));
    active.ratio_denominator_id = Set(k.ratio_of.map(|r| r.denominator_kpi_id));
    active.updated_at = Set(now);
    let updated = active.update(txn).await?;
    let after = view(e, &updated, growth)?;
    let entry = AuditEntry::new("kpi.update", "kpi", kpi_id).engagement(e.id).before(&before).after(&after);
    audit::record(txn, now, actor, entry).await?;
    Ok((before, after))
}

/// Removes a KPI inside the caller's transaction; returns what it was. A KPI a ratio is
/// computed from, or one with reported values, stays (409).
pub async fn delete_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    current: kpi::Model,
    growth: f64,
) -> AppResult<KpiView> {
    let kpi_id = current.id;
    ensure_not_ratio_part(txn, kpi_id).await?;
    let reported = report_value::Entity::find().filter(report_value::Column::KpiId.eq(kpi_id)).one(txn).await?;
    if reported.is_some() {
        return Err(AppError::conflict(
            "kpi_id",
            "has_values",
            "the agency has reported values for this KPI; it stays part of the engagement's history",
        ));
    }
    let before = view(e, &current, growth)?;
    kpi::Entity::delete_by_id(kpi_id).exec(txn).await?;
    audit::record(txn, now, actor, AuditEntry::new("kpi.delete", "kpi", kpi_id).engagement(e.id).before(&before))
        .await?;
    Ok(before)
}

/// What the KPI editor shows of an engagement whose KPIs the caller manages.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KpiSheet {
    pub engagement_id: Uuid,
    pub title: String,
    pub currency: String,
    /// The term's length in days: the realism check's horizon.
    pub term_days: i64,
    pub kpis: Vec<KpiView>,
}

impl KpiSheet {
    /// One KPI of the sheet; an id of another engagement's KPI answers like a missing one.
    pub fn kpi(&self, id: Uuid) -> AppResult<&KpiView> {
        self.kpis.iter().find(|k| k.id == id).ok_or(AppError::NotFound)
    }
}

/// The KPIs of an engagement the caller manages, for the editor.
pub async fn sheet(ctx: &Ctx<'_>, engagement_id: Uuid) -> AppResult<KpiSheet> {
    let (e, _) = engagements::load(ctx.db, &ctx.viewer, engagement_id, EngagementAction::Manage).await?;
    sheet_of(ctx, &e).await
}

/// As [`sheet`], refused (409) when the KPIs can no longer change directly.
pub async fn open_sheet(ctx: &Ctx<'_>, engagement_id: Uuid) -> AppResult<KpiSheet> {
    let (e, _) = engagements::load(ctx.db, &ctx.viewer, engagement_id, EngagementAction::Manage).await?;
    ensure_open(&e, "kpis", "KPIs")?;
    sheet_of(ctx, &e).await
}

async fn sheet_of(ctx: &Ctx<'_>, e: &engagement::Model) -> AppResult<KpiSheet> {
    Ok(KpiSheet {
        engagement_id: e.id,
        title: e.title.clone(),
        currency: e.currency.clone(),
        term_days: (e.end_date - e.start_date).num_days(),
        kpis: list(ctx.db, e, ctx.rules.max_yearly_growth).await?,
    })
}

/// An engagement's KPIs, each with its realism check, for whoever may read the engagement.
pub async fn listed(ctx: &Ctx<'_>, engagement_id: Uuid) -> AppResult<Vec<KpiView>> {
    let (e, _) = engagements::load(ctx.db, &ctx.viewer, engagement_id, EngagementAction::Read).await?;
    list(ctx.db, &e, ctx.rules.max_yearly_growth).await
}

/// One KPI of an engagement the caller may read.
pub async fn read(ctx: &Ctx<'_>, engagement_id: Uuid, kpi_id: Uuid) -> AppResult<KpiView> {
    let (e, _) = engagements::load(ctx.db, &ctx.viewer, engagement_id, EngagementAction::Read).await?;
    view(&e, &get(ctx.db, e.id, kpi_id).await?, ctx.rules.max_yearly_growth)
}

/// Agrees a KPI (draft or pending engagements; later by amendment), for whoever manages it.
pub async fn create(ctx: &Ctx<'_>, engagement_id: Uuid, input: KpiInput) -> AppResult<KpiView> {
    let (e, _) = engagements::load(ctx.db, &ctx.viewer, engagement_id, EngagementAction::Manage).await?;
    system::create(ctx.db, ctx.now, &ctx.actor, &e, input, ctx.rules.max_yearly_growth).await
}

/// Replaces a KPI of an engagement the caller manages.
pub async fn replace(ctx: &Ctx<'_>, engagement_id: Uuid, kpi_id: Uuid, input: KpiInput) -> AppResult<KpiView> {
    let (e, _) = engagements::load(ctx.db, &ctx.viewer, engagement_id, EngagementAction::Manage).await?;
    system::replace(ctx.db, ctx.now, &ctx.actor, &e, kpi_id, input, ctx.rules.max_yearly_growth).await
}

/// Removes a KPI of an engagement the caller manages.
pub async fn delete(ctx: &Ctx<'_>, engagement_id: Uuid, kpi_id: Uuid) -> AppResult<()> {
    let (e, _) = engagements::load(ctx.db, &ctx.viewer, engagement_id, EngagementAction::Manage).await?;
    system::delete(ctx.db, ctx.now, &ctx.actor, &e, kpi_id, ctx.rules.max_yearly_growth).await
}

/// The writes themselves, for callers that have authorized already (the use cases above) or
/// act as the system (fixtures, the demo): they check no permission.
pub mod system {
    use super::*;

    pub async fn create(
        db: &DatabaseConnection,
        now: DateTime<Utc>,
        actor: &Actor,
        e: &engagement::Model,
        input: KpiInput,
        growth: f64,
    ) -> AppResult<KpiView> {
        let ValidKpi(k) = input.validate()?;
        let txn = crate::db::begin_write(db).await?;
        let e = &lock(&txn, e.id).await?;
        ensure_open(e, "kpis", "KPIs")?;
        let v = create_in(&txn, now, actor, e, k, growth).await?;
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
        let txn = crate::db::begin_write(db).await?;
        let e = &lock(&txn, e.id).await?;
        let current = get(&txn, e.id, kpi_id).await?;
        ensure_open(e, "kpis", "KPIs")?;
        let ValidKpi(k) = input.validate()?;
        let (_, after) = replace_in(&txn, now, actor, e, current, k, growth).await?;
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
        let txn = crate::db::begin_write(db).await?;
        let e = &lock(&txn, e.id).await?;
        let current = get(&txn, e.id, kpi_id).await?;
        ensure_open(e, "kpis", "KPIs")?;
        delete_in(&txn, now, actor, e, current, growth).await?;
        txn.commit().await?;
        Ok(())
    }
}
