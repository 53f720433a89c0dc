//! Amendments to active engagements: proposed as a whole, held as pending while their
//! approval runs, applied in the transaction of the last approving decision, and kept as the
//! engagement's history with what each one changed.
//!
//! A proposal is checked by applying it inside a savepoint that is then rolled back, so the
//! author learns at once of every change that could not apply (an unknown id, a KPI name
//! already taken, a KPI with reported values) through the very code that applies it later.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::approval::SubjectLabel;
use crate::{
    app::{
        WriteRules,
        approvals::{self, Subject},
        audit::{self, Actor, AuditEntry},
        context::Ctx,
        engagements::{self, lock},
        evaluation::{self, Selection},
        kpis, scope,
    },
    db::entity::{amendment, approval, engagement},
};
use crate::{
    domain::{
        FieldError,
        alert::AlertRule,
        amendment::{self as rules, AmendmentInput, AmendmentStatus, ValidAmendment},
        approval::{ApprovalStatus, Outcome, SubjectKind},
        engagement::{Editability, editability},
    },
    error::{AppError, AppResult},
    policy::engagement::Action as EngagementAction,
};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AmendmentView {
    pub id: Uuid,
    pub engagement_id: Uuid,
    pub status: AmendmentStatus,
    pub reason: String,
    /// The change as proposed.
    pub changes: AmendmentInput,
    /// Once applied: every term, scope item and KPI it touched, before and after, and how
    /// many stored values were judged again.
    #[schema(value_type = Option<Object>)]
    pub applied: Option<serde_json::Value>,
    pub author_id: Option<Uuid>,
    /// The approval deciding it (the latest one).
    pub approval_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

fn view(m: &amendment::Model, approval_id: Option<Uuid>) -> AppResult<AmendmentView> {
    Ok(AmendmentView {
        id: m.id,
        engagement_id: m.engagement_id,
        status: m.status,
        reason: m.reason.clone(),
        changes: serde_json::from_value(m.changes.clone()).map_err(anyhow::Error::from)?,
        applied: m.applied.clone(),
        author_id: m.author_id,
        approval_id,
        created_at: m.created_at,
        updated_at: m.updated_at,
        decided_at: m.decided_at,
    })
}

/// The latest approval of each amendment.
async fn approvals_of<C: sea_orm::ConnectionTrait>(db: &C, ids: &[Uuid]) -> AppResult<Vec<(Uuid, Uuid)>> {
    let rows = approval::Entity::find()
        .filter(approval::Column::SubjectKind.eq(SubjectKind::Amendment))
        .filter(approval::Column::SubjectId.is_in(ids.iter().copied()))
        .order_by_asc(approval::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|a| (a.subject_id, a.id)).collect())
}

async fn views<C: sea_orm::ConnectionTrait>(db: &C, rows: &[amendment::Model]) -> AppResult<Vec<AmendmentView>> {
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    let latest = approvals_of(db, &ids).await?;
    rows.iter().map(|m| view(m, latest.iter().rev().find(|(subject, _)| *subject == m.id).map(|(_, a)| *a))).collect()
}

/// An engagement's amendments, newest first: its history of contract changes.
pub async fn list(db: &DatabaseConnection, engagement_id: Uuid) -> AppResult<Vec<AmendmentView>> {
    let rows = amendment::Entity::find()
        .filter(amendment::Column::EngagementId.eq(engagement_id))
        .order_by_desc(amendment::Column::Id)
        .all(db)
        .await?;
    views(db, &rows).await
}

pub async fn get<C: sea_orm::ConnectionTrait>(db: &C, id: Uuid) -> AppResult<amendment::Model> {
    amendment::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)
}

pub async fn detail(db: &DatabaseConnection, m: &amendment::Model) -> AppResult<AmendmentView> {
    Ok(views(db, std::slice::from_ref(m)).await?.remove(0))
}

async fn lock_amendment(txn: &DatabaseTransaction, id: Uuid) -> AppResult<amendment::Model> {
    let mut q = amendment::Entity::find_by_id(id);
    if sea_orm::ConnectionTrait::get_database_backend(txn) == sea_orm::DatabaseBackend::Postgres {
        q = sea_orm::QuerySelect::lock_exclusive(q);
    }
    q.one(txn).await?.ok_or(AppError::NotFound)
}

/// Only an active or suspended engagement takes amendments; a draft changes directly.
fn ensure_amendable(e: &engagement::Model) -> AppResult<()> {
    match editability(e.status) {
        Editability::AmendmentsOnly => Ok(()),
        Editability::Open => Err(AppError::conflict(
            "engagement_id",
            "not_active",
            "the engagement is not active yet: change it directly",
        )),
        Editability::Closed => Err(AppError::conflict("engagement_id", "engagement_ended", "the engagement has ended")),
    }
}

/// Checks a proposal against the engagement as it is now, by applying it in a savepoint
/// and rolling it back.
async fn dry_run(
    txn: &DatabaseTransaction,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    input: &AmendmentInput,
    growth: f64,
) -> AppResult<()> {
    let savepoint = txn.begin().await?;
    let result = apply_changes(&savepoint, now, actor, e.clone(), input, growth).await;
    savepoint.rollback().await?;
    result.map(|_| ())
}

async fn open_approval(
    txn: &DatabaseTransaction,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    m: &amendment::Model,
    rules: &WriteRules,
) -> AppResult<approval::Model> {
    let subject =
        Subject { id: m.id, label: SubjectLabel::Amendment { reason: m.reason.clone() }, author: m.author_id };
    approvals::open_in(txn, now, actor, e, subject, &rules.crisis).await
}

/// An engagement's amendments, newest first, for whoever may read its governance.
pub async fn listed(ctx: &Ctx<'_>, engagement_id: Uuid) -> AppResult<Vec<AmendmentView>> {
    engagements::load(ctx.db, &ctx.viewer, engagement_id, EngagementAction::ReadGovernance).await?;
    list(ctx.db, engagement_id).await
}

/// Loads an amendment and checks `action` on its engagement (404 when the caller may not see
/// the engagement).
async fn authorized(ctx: &Ctx<'_>, id: Uuid, action: EngagementAction) -> AppResult<amendment::Model> {
    let m = get(ctx.db, id).await?;
    engagements::load(ctx.db, &ctx.viewer, m.engagement_id, action).await?;
    Ok(m)
}

/// One amendment, for whoever may read its engagement's governance.
pub async fn read(ctx: &Ctx<'_>, id: Uuid) -> AppResult<AmendmentView> {
    detail(ctx.db, &authorized(ctx, id, EngagementAction::ReadGovernance).await?).await
}

/// Proposes an amendment to an active engagement (whoever may manage it). Every change is
/// checked now against the engagement as it is; nothing changes until the approval completes.
pub async fn propose(ctx: &Ctx<'_>, engagement_id: Uuid, input: AmendmentInput) -> AppResult<AmendmentView> {
    engagements::load(ctx.db, &ctx.viewer, engagement_id, EngagementAction::Manage).await?;
    system::propose(ctx.db, ctx.now, &ctx.actor, engagement_id, input, ctx.rules).await
}

/// Revises a pending amendment, or one sent back for changes.
pub async fn revise(ctx: &Ctx<'_>, id: Uuid, input: AmendmentInput) -> AppResult<AmendmentView> {
    authorized(ctx, id, EngagementAction::Manage).await?;
    system::revise(ctx.db, ctx.now, &ctx.actor, id, input, ctx.rules).await
}

/// Withdraws an amendment that is not decided yet.
pub async fn withdraw(ctx: &Ctx<'_>, id: Uuid) -> AppResult<AmendmentView> {
    authorized(ctx, id, EngagementAction::Manage).await?;
    system::withdraw(ctx.db, ctx.now, &ctx.actor, id).await
}

/// The writes themselves, for callers that have authorized already (the use cases above) or
/// act as the system (fixtures, the demo): they check no permission.
pub mod system {
    use super::*;

    /// Proposes an amendment: it is checked in full, stored as pending and its approval opened.
    pub async fn propose(
        db: &DatabaseConnection,
        now: DateTime<Utc>,
        actor: &Actor,
        engagement_id: Uuid,
        input: AmendmentInput,
        rules: &WriteRules,
    ) -> AppResult<AmendmentView> {
        let ValidAmendment(input) = input.validate()?;
        let txn = crate::db::begin_write(db).await?;
        let e = lock(&txn, engagement_id).await?;
        ensure_amendable(&e)?;
        dry_run(&txn, now, actor, &e, &input, rules.max_yearly_growth).await?;
        let m = amendment::ActiveModel {
            id: Set(Uuid::now_v7()),
            engagement_id: Set(e.id),
            status: Set(AmendmentStatus::Pending),
            reason: Set(input.reason.clone()),
            changes: Set(serde_json::to_value(&input).map_err(anyhow::Error::from)?),
            applied: Set(None),
            author_id: Set(actor.id),
            created_at: Set(now),
            updated_at: Set(now),
            decided_at: Set(None),
        }
        .insert(&txn)
        .await?;
        let a = open_approval(&txn, now, actor, &e, &m, rules).await?;
        let entry = AuditEntry::new("amendment.propose", "amendment", m.id).engagement(e.id).after(&input);
        audit::record(&txn, now, actor, entry).await?;
        let v = view(&m, Some(a.id))?;
        txn.commit().await?;
        Ok(v)
    }

    /// Replaces a pending amendment, or one sent back, with a revised proposal: the running
    /// approval is superseded and a new one opens.
    pub async fn revise(
        db: &DatabaseConnection,
        now: DateTime<Utc>,
        actor: &Actor,
        id: Uuid,
        input: AmendmentInput,
        rules: &WriteRules,
    ) -> AppResult<AmendmentView> {
        let ValidAmendment(input) = input.validate()?;
        let txn = crate::db::begin_write(db).await?;
        let current = lock_amendment(&txn, id).await?;
        let e = lock(&txn, current.engagement_id).await?;
        let status = rules::revise(current.status)
            .map_err(|err| AppError::conflict("status", "not_revisable", err.to_string()))?;
        ensure_amendable(&e)?;
        dry_run(&txn, now, actor, &e, &input, rules.max_yearly_growth).await?;
        let before = current.changes.clone();
        let mut m: amendment::ActiveModel = current.into();
        m.status = Set(status);
        m.reason = Set(input.reason.clone());
        m.changes = Set(serde_json::to_value(&input).map_err(anyhow::Error::from)?);
        m.updated_at = Set(now);
        let m = m.update(&txn).await?;
        let a = open_approval(&txn, now, actor, &e, &m, rules).await?;
        let entry = AuditEntry::new("amendment.revise", "amendment", id).engagement(e.id).before(&before).after(&input);
        audit::record(&txn, now, actor, entry).await?;
        let v = view(&m, Some(a.id))?;
        txn.commit().await?;
        Ok(v)
    }

    /// Withdraws a pending amendment, or one sent back; its approval closes as withdrawn.
    pub async fn withdraw(
        db: &DatabaseConnection,
        now: DateTime<Utc>,
        actor: &Actor,
        id: Uuid,
    ) -> AppResult<AmendmentView> {
        let txn = crate::db::begin_write(db).await?;
        let current = lock_amendment(&txn, id).await?;
        let status = rules::withdraw(current.status)
            .map_err(|err| AppError::conflict("status", "not_withdrawable", err.to_string()))?;
        approvals::close_pending(&txn, now, SubjectKind::Amendment, id, ApprovalStatus::Withdrawn).await?;
        let mut m: amendment::ActiveModel = current.into();
        m.status = Set(status);
        m.updated_at = Set(now);
        m.decided_at = Set(Some(now));
        let m = m.update(&txn).await?;
        let entry = AuditEntry::new("amendment.withdraw", "amendment", id).engagement(m.engagement_id);
        audit::record(&txn, now, actor, entry).await?;
        let v = views(&txn, std::slice::from_ref(&m)).await?.remove(0);
        txn.commit().await?;
        Ok(v)
    }
}

/// Applies a decision on an amendment's approval inside the decision's transaction: the last
/// approval applies every change at once (or none: any change that no longer applies fails
/// the decision with the reason); a rejection or a request for changes only records it.
pub async fn apply_decision(
    txn: &DatabaseTransaction,
    now: DateTime<Utc>,
    actor: &Actor,
    a: &approval::Model,
    outcome: Outcome,
    rules: &WriteRules,
) -> AppResult<()> {
    let (growth, notifier) = (rules.max_yearly_growth, &rules.notifier);
    let Some(status) = rules::after_decision(outcome) else { return Ok(()) };
    let current = lock_amendment(txn, a.subject_id).await?;
    let mut applied = None;
    if status == AmendmentStatus::Applied {
        let e = lock(txn, current.engagement_id).await?;
        ensure_amendable(&e)?;
        let input: AmendmentInput = serde_json::from_value(current.changes.clone()).map_err(anyhow::Error::from)?;
        let record = apply_changes(txn, now, actor, e, &input, growth).await?;
        let entry = AuditEntry::new("amendment.apply", "amendment", current.id)
            .engagement(current.engagement_id)
            .after(&record);
        audit::record(txn, now, actor, entry).await?;
        applied = Some(record);
        let changed = [AlertRule::ContractExpiring, AlertRule::ImplausibleTarget, AlertRule::KpiBreach];
        crate::app::alerts::reconcile_in(
            txn,
            now,
            notifier,
            crate::app::alerts::Scope::Engagement(current.engagement_id),
            &changed,
        )
        .await?;
    } else {
        let action = if status == AmendmentStatus::Rejected { "amendment.reject" } else { "amendment.send_back" };
        let entry = AuditEntry::new(action, "amendment", current.id).engagement(current.engagement_id);
        audit::record(txn, now, actor, entry).await?;
    }
    let mut m: amendment::ActiveModel = current.into();
    m.status = Set(status);
    m.applied = Set(applied);
    m.updated_at = Set(now);
    m.decided_at = Set(Some(now));
    m.update(txn).await?;
    Ok(())
}

/// Names the fields of a change's errors from the amendment's root (`kpis.add[0].name`);
/// an id that is not the engagement's becomes a 422 on the id's own field.
fn at(prefix: &str, id_field: &str, err: AppError) -> AppError {
    let rename = |errors: Vec<FieldError>| {
        errors
            .into_iter()
            .map(|mut e| {
                e.field = if e.field == "kpi_id" { id_field.to_string() } else { format!("{prefix}.{}", e.field) };
                e
            })
            .collect()
    };
    match err {
        AppError::NotFound => AppError::invalid(id_field, "unknown", "not part of this engagement"),
        AppError::Invalid(errors) => AppError::Invalid(rename(errors)),
        AppError::Conflict { detail, errors } => AppError::Conflict { detail, errors: rename(errors) },
        other => other,
    }
}

/// Applies every change of an amendment, in order: terms, scope, KPIs; then judges again the
/// stored values of every redefined KPI. Returns the record of what changed.
async fn apply_changes(
    txn: &DatabaseTransaction,
    now: DateTime<Utc>,
    actor: &Actor,
    e: engagement::Model,
    input: &AmendmentInput,
    growth: f64,
) -> AppResult<serde_json::Value> {
    let mut record = serde_json::Map::new();
    let e = if input.terms.is_empty() {
        e
    } else {
        let before = terms_of(&e);
        let (_, after) = engagements::amend_terms_in(txn, now, actor, e, &input.terms).await?;
        record.insert("terms".into(), json!({ "before": before, "after": terms_of(&after) }));
        after
    };
    let mut scope_added = Vec::new();
    for (i, item) in input.scope.add.iter().enumerate() {
        let prefix = format!("scope.add[{i}]");
        let added = scope::create_in(txn, now, actor, &e, item.clone()).await.map_err(|x| at(&prefix, &prefix, x))?;
        scope_added.push(added);
    }
    let mut scope_replaced = Vec::new();
    for (i, r) in input.scope.replace.iter().enumerate() {
        let (prefix, id_field) = (format!("scope.replace[{i}].item"), format!("scope.replace[{i}].id"));
        let current = scope::find(txn, e.id, r.id).await.map_err(|x| at(&prefix, &id_field, x))?;
        let (before, after) = scope::replace_in(txn, now, actor, e.id, current, r.item.clone()).await?;
        scope_replaced.push(json!({ "before": before, "after": after }));
    }
    let mut scope_removed = Vec::new();
    for (i, id) in input.scope.remove.iter().enumerate() {
        let field = format!("scope.remove[{i}]");
        let current = scope::find(txn, e.id, *id).await.map_err(|x| at(&field, &field, x))?;
        scope_removed.push(scope::delete_in(txn, now, actor, e.id, current).await?);
    }
    let mut kpis_replaced = Vec::new();
    let mut rejudged = 0;
    for (i, r) in input.kpis.replace.iter().enumerate() {
        let (prefix, id_field) = (format!("kpis.replace[{i}].kpi"), format!("kpis.replace[{i}].id"));
        let current = kpis::get(txn, e.id, r.id).await.map_err(|x| at(&prefix, &id_field, x))?;
        let (before, after) = kpis::replace_in(txn, now, actor, &e, current, r.kpi.clone(), growth)
            .await
            .map_err(|x| at(&prefix, &id_field, x))?;
        rejudged += evaluation::evaluate(txn, Selection::Kpi(r.id)).await?.changed;
        kpis_replaced.push(json!({ "before": before, "after": after }));
    }
    let mut kpis_added = Vec::new();
    for (i, k) in input.kpis.add.iter().enumerate() {
        let prefix = format!("kpis.add[{i}]");
        let added =
            kpis::create_in(txn, now, actor, &e, k.clone(), growth).await.map_err(|x| at(&prefix, &prefix, x))?;
        kpis_added.push(added);
    }
    let mut kpis_removed = Vec::new();
    for (i, id) in input.kpis.remove.iter().enumerate() {
        let field = format!("kpis.remove[{i}]");
        let current = kpis::get(txn, e.id, *id).await.map_err(|x| at(&field, &field, x))?;
        let removed = kpis::delete_in(txn, now, actor, &e, current, growth).await.map_err(|x| at(&field, &field, x))?;
        kpis_removed.push(removed);
    }
    record
        .insert("scope".into(), json!({ "added": scope_added, "replaced": scope_replaced, "removed": scope_removed }));
    record.insert("kpis".into(), json!({ "added": kpis_added, "replaced": kpis_replaced, "removed": kpis_removed }));
    record.insert("values_rejudged".into(), json!(rejudged));
    if !(input.kpis.add.is_empty() && input.kpis.replace.is_empty() && input.kpis.remove.is_empty()) {
        crate::app::reports::forget_kpis(e.id);
    }
    Ok(serde_json::Value::Object(record))
}

/// The amendable terms of an engagement, for the record.
fn terms_of(e: &engagement::Model) -> serde_json::Value {
    json!({
        "monthly_fee_minor": e.monthly_fee_minor,
        "currency": e.currency,
        "end_date": e.end_date,
        "due_offset_days": e.due_offset_days,
    })
}
