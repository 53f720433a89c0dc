//! Engagements: creation, changes, listing within the caller's visibility, governance
//! assessment and status transitions.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, Query},
};
use uuid::Uuid;

use crate::domain::approval::SubjectLabel;
use crate::{
    app::{
        WriteRules,
        approvals::{self, Subject},
        audit::{self, Actor, AuditEntry},
    },
    db::{
        entity::{approval, engagement, kpi, scope_item, team_member, user, vendor},
        pagination::PageRequest,
    },
};
use crate::{
    domain::{
        Violations,
        amendment::TermsChange,
        approval::{ApprovalStatus, Approver, Outcome, SubjectKind},
        confidentiality::{EngagementAccess, ListingScope, Viewer, Visibility, listing_scope},
        engagement::{
            ActivationRefused, BriefInput, Editability, EngagementInput, EngagementPatch, Transition, ValidEngagement,
            activate, after_activation_decision, amended_terms, editability, next_status,
        },
        enums::{Confidentiality, EngagementStatus, Role, TeamRole},
        governance::{self, EngagementFacts, Finding, GovernanceReport, KpiFacts, OwnerFacts, StageFacts},
        period::Schedule,
    },
    error::{AppError, AppResult},
    policy,
    views::{EngagementView, Page},
};

/// Whether `user_id` sits on the engagement's team.
pub async fn on_team<C: ConnectionTrait>(db: &C, engagement_id: Uuid, user_id: Uuid) -> AppResult<bool> {
    Ok(team_member::Entity::find()
        .filter(team_member::Column::EngagementId.eq(engagement_id))
        .filter(team_member::Column::UserId.eq(user_id))
        .count(db)
        .await?
        > 0)
}

/// The visibility facts of an engagement for one viewer. Team membership is looked up only
/// when it can change the answer, which keeps the common read to one query.
pub async fn access<C: ConnectionTrait>(db: &C, viewer: &Viewer, m: &engagement::Model) -> AppResult<EngagementAccess> {
    let mut access = EngagementAccess {
        vendor_id: m.vendor_id,
        confidentiality: m.confidentiality,
        owner_id: m.owner_id,
        viewer_on_team: false,
    };
    if crate::domain::confidentiality::visibility(viewer, &access) != Visibility::Full && viewer.role != Role::Admin {
        access.viewer_on_team = on_team(db, m.id, viewer.user_id).await?;
    }
    Ok(access)
}

/// Loads an engagement and checks that the viewer may perform `action` on it (404 when the
/// viewer may not even see it).
pub async fn load<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: Uuid,
    action: policy::engagement::Action,
) -> AppResult<(engagement::Model, Visibility)> {
    let m = engagement::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)?;
    let access = access(db, viewer, &m).await?;
    let visibility = policy::engagement::authorize(viewer, action, &access)?;
    Ok((m, visibility))
}

pub(crate) fn scope_condition(scope: &ListingScope) -> Condition {
    let insider = |user_id: Uuid| {
        Condition::any().add(engagement::Column::OwnerId.eq(user_id)).add(
            engagement::Column::Id.in_subquery(
                Query::select()
                    .column(team_member::Column::EngagementId)
                    .from(team_member::Entity)
                    .and_where(team_member::Column::UserId.eq(user_id))
                    .to_owned(),
            ),
        )
    };
    match scope {
        ListingScope::All => Condition::all(),
        ListingScope::NotSecretOrInsider(user_id) => {
            Condition::any().add(engagement::Column::Confidentiality.ne(Confidentiality::Secret)).add(insider(*user_id))
        }
        ListingScope::InsiderOnly(user_id) => insider(*user_id),
        ListingScope::Vendor { user_id, vendor_id, open_levels } => {
            Condition::all().add(engagement::Column::VendorId.eq(*vendor_id)).add(
                Condition::any()
                    .add(engagement::Column::Confidentiality.is_in(open_levels.iter().copied()))
                    .add(insider(*user_id)),
            )
        }
        ListingScope::Nothing => Condition::all().add(Expr::cust("1 = 0")),
    }
}

pub async fn count_for_vendor<C: ConnectionTrait>(db: &C, vendor_id: Uuid) -> AppResult<u64> {
    Ok(engagement::Entity::find().filter(engagement::Column::VendorId.eq(vendor_id)).count(db).await?)
}

/// Most engagements a portfolio shows at once.
pub const PORTFOLIO_MAX: u64 = 2_000;

/// Every engagement the viewer may see (up to [`PORTFOLIO_MAX`]), oldest first.
pub async fn visible(db: &DatabaseConnection, viewer: &Viewer) -> AppResult<Vec<engagement::Model>> {
    Ok(engagement::Entity::find()
        .filter(scope_condition(&listing_scope(viewer)))
        .order_by_asc(engagement::Column::Id)
        .limit(PORTFOLIO_MAX)
        .all(db)
        .await?)
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<EngagementStatus>,
    pub vendor_id: Option<Uuid>,
}

pub async fn list(
    db: &DatabaseConnection,
    viewer: &Viewer,
    filter: ListFilter,
    page: PageRequest,
) -> AppResult<Page<EngagementView>> {
    let mut query = engagement::Entity::find()
        .filter(scope_condition(&listing_scope(viewer)))
        .order_by_asc(engagement::Column::Id)
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(engagement::Column::Id.gt(after));
    }
    if let Some(status) = filter.status {
        query = query.filter(engagement::Column::Status.eq(status));
    }
    if let Some(vendor_id) = filter.vendor_id {
        query = query.filter(engagement::Column::VendorId.eq(vendor_id));
    }
    let rows = query.all(db).await?;
    let full = viewer.role != Role::Vendor;
    let visibility = if full { Visibility::Full } else { Visibility::VendorView };
    Ok(page.page(rows, |m| m.id, |m| EngagementView::new(m, visibility))?)
}

/// Checks the references of an engagement: the vendor exists, the owner is an active lead
/// or admin.
async fn check_references<C: ConnectionTrait>(db: &C, e: &EngagementInput, vendor_changed: bool) -> AppResult<()> {
    let mut v = Violations::new();
    if vendor_changed && vendor::Entity::find_by_id(e.vendor_id).one(db).await?.is_none() {
        v.add("vendor_id", "unknown", "no such vendor");
    }
    if let Some(owner_id) = e.owner_id {
        match user::Entity::find_by_id(owner_id).one(db).await? {
            None => v.add("owner_id", "unknown", "no such user"),
            Some(u) if !matches!(u.role, Role::Lead | Role::Admin) => {
                v.add("owner_id", "owner_not_internal_lead", "the internal owner must be a lead or an admin")
            }
            Some(u) if !u.active => v.add("owner_id", "owner_inactive", "the user's account is disabled"),
            Some(_) => {}
        }
    }
    v.finish(()).map_err(AppError::from)
}

pub async fn create(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    input: EngagementInput,
) -> AppResult<engagement::Model> {
    let ValidEngagement(e) = input.validate()?;
    let txn = crate::db::begin_write(db).await?;
    check_references(&txn, &e, true).await?;
    let id = Uuid::now_v7();
    let model = engagement::ActiveModel {
        id: Set(id),
        vendor_id: Set(e.vendor_id),
        title: Set(e.title),
        brief_want: Set(e.brief.want),
        brief_feasible: Set(e.brief.can_be_done),
        brief_budget_minor: Set(e.brief.budget_minor),
        confidentiality: Set(e.confidentiality),
        monthly_fee_minor: Set(e.monthly_fee_minor),
        currency: Set(e.currency),
        start_date: Set(e.start_date),
        end_date: Set(e.end_date),
        timezone: Set(e.timezone),
        cadence: Set(e.cadence),
        due_offset_days: Set(e.due_offset_days),
        owner_id: Set(e.owner_id),
        status: Set(EngagementStatus::Draft),
        status_changed_at: Set(now),
        created_by: Set(actor.id),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let view = EngagementView::new(&model, Visibility::Full)?;
    audit::record(&txn, now, actor, AuditEntry::new("engagement.create", "engagement", id).engagement(id).after(&view))
        .await?;
    txn.commit().await?;
    Ok(model)
}

fn as_input(m: &engagement::Model) -> AppResult<EngagementInput> {
    Ok(EngagementInput {
        vendor_id: m.vendor_id,
        title: m.title.clone(),
        brief: BriefInput {
            want: m.brief_want.clone(),
            can_be_done: m.brief_feasible.clone(),
            budget_minor: m.brief_budget_minor,
        },
        confidentiality: m.confidentiality,
        monthly_fee_minor: m.monthly_fee_minor,
        currency: m.currency.clone(),
        start_date: m.start_date,
        end_date: m.end_date,
        timezone: m.timezone.clone(),
        cadence: m.cadence,
        due_offset_days: m.due_offset_days,
        owner_id: m.owner_id,
    })
}

/// Reads an engagement inside a write transaction, locking its row on PostgreSQL (SQLite's
/// `BEGIN IMMEDIATE` already serialises writers), so that a change to its scope, KPIs or team
/// cannot interleave with a status transition.
pub async fn lock<C: ConnectionTrait>(txn: &C, id: Uuid) -> AppResult<engagement::Model> {
    let mut query = engagement::Entity::find_by_id(id);
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        query = query.lock_exclusive();
    }
    query.one(txn).await?.ok_or(AppError::NotFound)
}

/// Refuses direct changes to what, once the engagement is active, only an amendment may
/// change (`what` names it in the answer).
pub fn ensure_open(m: &engagement::Model, field: &str, what: &str) -> AppResult<()> {
    match editability(m.status) {
        Editability::Open => Ok(()),
        Editability::AmendmentsOnly => Err(AppError::conflict(
            field,
            "amendment_required",
            format!("the engagement is {}: changes to its {what} are amendments and need approval", m.status),
        )),
        Editability::Closed => {
            Err(AppError::conflict(field, "engagement_ended", "the engagement has ended and can no longer change"))
        }
    }
}

pub async fn update(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    id: Uuid,
    patch: EngagementPatch,
) -> AppResult<engagement::Model> {
    let txn = crate::db::begin_write(db).await?;
    let current = lock(&txn, id).await?;
    let ValidEngagement(after_input) = patch.apply(as_input(&current)?).validate()?;
    let amended = amended_terms(&as_input(&current)?, &after_input);
    match editability(current.status) {
        Editability::Closed => ensure_open(&current, "status", "terms")?,
        Editability::AmendmentsOnly if !amended.is_empty() => {
            if let Some(fixed) = amended.iter().find(|f| !AMENDABLE_TERMS.contains(f)) {
                return Err(AppError::conflict(
                    fixed,
                    "not_amendable",
                    "start date, cadence and time zone define the reporting periods and cannot change once active",
                ));
            }
            ensure_open(&current, amended[0], &amended.join(", "))?
        }
        _ => {}
    }
    let (_, updated) = write_in(&txn, now, actor, current, after_input, "engagement.update").await?;
    txn.commit().await?;
    Ok(updated)
}

/// The terms an amendment may change once the engagement is active.
pub const AMENDABLE_TERMS: [&str; 4] = ["monthly_fee_minor", "currency", "end_date", "due_offset_days"];

/// Applies an amendment's change of terms inside the caller's transaction (the engagement
/// is locked by the caller); returns the engagement before and after.
pub async fn amend_terms_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    current: engagement::Model,
    terms: &TermsChange,
) -> AppResult<(EngagementView, engagement::Model)> {
    let mut input = as_input(&current)?;
    input.monthly_fee_minor = terms.monthly_fee_minor.unwrap_or(input.monthly_fee_minor);
    input.currency = terms.currency.clone().unwrap_or(input.currency);
    input.end_date = terms.end_date.unwrap_or(input.end_date);
    input.due_offset_days = terms.due_offset_days.unwrap_or(input.due_offset_days);
    let ValidEngagement(after) = input.validate().map_err(|v| {
        AppError::from(crate::domain::Violations(
            v.0.into_iter()
                .map(|mut e| {
                    e.field = format!("terms.{}", e.field);
                    e
                })
                .collect(),
        ))
    })?;
    write_in(txn, now, actor, current, after, "engagement.amend").await
}

/// Writes validated engagement fields, audited as `action`.
async fn write_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    current: engagement::Model,
    e: EngagementInput,
    action: &'static str,
) -> AppResult<(EngagementView, engagement::Model)> {
    let id = current.id;
    if editability(current.status) != Editability::Open && e.owner_id.is_none() {
        return Err(AppError::invalid(
            "owner_id",
            "owner_required",
            "an active engagement must keep an internal owner",
        ));
    }
    check_references(txn, &e, false).await?;
    let before = EngagementView::new(&current, Visibility::Full)?;
    let mut active: engagement::ActiveModel = current.into();
    active.title = Set(e.title);
    active.brief_want = Set(e.brief.want);
    active.brief_feasible = Set(e.brief.can_be_done);
    active.brief_budget_minor = Set(e.brief.budget_minor);
    active.confidentiality = Set(e.confidentiality);
    active.monthly_fee_minor = Set(e.monthly_fee_minor);
    active.currency = Set(e.currency);
    active.start_date = Set(e.start_date);
    active.end_date = Set(e.end_date);
    active.timezone = Set(e.timezone);
    active.cadence = Set(e.cadence);
    active.due_offset_days = Set(e.due_offset_days);
    active.owner_id = Set(e.owner_id);
    active.updated_at = Set(now);
    let updated = active.update(txn).await?;
    let after = EngagementView::new(&updated, Visibility::Full)?;
    let entry = AuditEntry::new(action, "engagement", id).engagement(id).before(&before).after(&after);
    audit::record(txn, now, actor, entry).await?;
    Ok((before, updated))
}

/// Gathers the facts the governance rules need and assesses them.
pub async fn governance<C: ConnectionTrait>(
    db: &C,
    m: &engagement::Model,
    now: DateTime<Utc>,
    max_yearly_growth: f64,
) -> AppResult<GovernanceReport> {
    let owner = match m.owner_id {
        Some(id) => user::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|u| Ok::<_, anyhow::Error>(OwnerFacts { role: u.role, active: u.active }))
            .transpose()?,
        None => None,
    };
    let members = team_member::Entity::find().filter(team_member::Column::EngagementId.eq(m.id)).all(db).await?;
    let held_roles = members.iter().map(|t| t.team_role).collect::<Vec<TeamRole>>();
    let member_ids: Vec<Uuid> = members.iter().map(|t| t.user_id).collect();
    let mut stages = Vec::new();
    for w in crate::app::approvals::workflows(db, m.id).await? {
        for (index, stage) in w.stages.iter().enumerate() {
            let team_roles = stage
                .approvers
                .iter()
                .filter_map(|a| match a {
                    Approver::TeamRole { team_role } => Some(*team_role),
                    Approver::User { .. } => None,
                })
                .collect();
            stages.push(StageFacts { kind: w.subject_kind, index, team_roles });
        }
    }
    let team_roles = user::Entity::find()
        .filter(user::Column::Id.is_in(member_ids))
        .all(db)
        .await?
        .iter()
        .map(|u| u.role)
        .collect::<Vec<Role>>();
    let kpis = kpi::Entity::find()
        .filter(kpi::Column::EngagementId.eq(m.id))
        .order_by_asc(kpi::Column::Id)
        .all(db)
        .await?
        .iter()
        .map(|k| {
            Ok(KpiFacts {
                id: k.id,
                name: k.name.clone(),
                objective: k.objective.clone(),
                direction: k.direction,
                baseline: k.baseline,
                target: k.target,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let scope_items =
        scope_item::Entity::find().filter(scope_item::Column::EngagementId.eq(m.id)).count(db).await? as usize;
    let facts = EngagementFacts {
        start_date: m.start_date,
        end_date: m.end_date,
        owner,
        team_roles,
        held_roles,
        stages,
        kpis,
        scope_items,
    };
    Ok(governance::assess(&facts, local_today(m, now), max_yearly_growth))
}

/// The reporting schedule of an engagement: its cadence, term, time zone and due offset.
pub fn schedule(m: &engagement::Model) -> anyhow::Result<Schedule> {
    Ok(Schedule {
        cadence: m.cadence,
        start: m.start_date,
        end: m.end_date,
        timezone: m.timezone.parse().map_err(|_| anyhow::anyhow!("stored time zone {:?}", m.timezone))?,
        due_offset_days: u32::try_from(m.due_offset_days)?,
    })
}

/// Today's date in the engagement's time zone.
fn local_today(m: &engagement::Model, now: DateTime<Utc>) -> chrono::NaiveDate {
    match m.timezone.parse::<chrono_tz::Tz>() {
        Ok(tz) => now.with_timezone(&tz).date_naive(),
        Err(_) => now.date_naive(),
    }
}

pub struct TransitionOutcome {
    pub engagement: engagement::Model,
    pub warnings: Vec<Finding>,
    /// The activation approval a submission opened.
    pub approval_id: Option<Uuid>,
}

/// Moves an engagement to its next status on request. Submitting checks the governance rules
/// (422 listing the blockers) and opens the activation approval; withdrawing closes it.
/// Activation is never requested: the last approval of the activation workflow applies it
/// ([`apply_decision`]), so asking for it is a 409 `approval_required`.
pub async fn transition(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    id: Uuid,
    action: Transition,
    reason: Option<String>,
    rules: &WriteRules,
) -> AppResult<TransitionOutcome> {
    if action.by_approval_only() {
        return Err(AppError::conflict(
            "action",
            "approval_required",
            "an engagement is activated by its activation approval: submit it, and the last approver activates it",
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    let current = lock(&txn, id).await?;
    let mut warnings = Vec::new();
    if action == Transition::Submit {
        let report = governance(&txn, &current, now, rules.max_yearly_growth).await?;
        if !report.blockers.is_empty() {
            return Err(AppError::Invalid(report.blockers.iter().map(Into::into).collect()));
        }
        warnings = report.warnings;
    }
    let (updated, _) =
        transition_in(&txn, now, actor, current, action, reason, &warnings, rules.max_yearly_growth).await?;
    let mut approval_id = None;
    match action {
        Transition::Submit => {
            let label = SubjectLabel::Activation { engagement: updated.title.clone() };
            let subject = Subject { id, label, author: actor.id };
            approval_id = Some(approvals::open_in(&txn, now, actor, &updated, subject, &rules.crisis).await?.id);
        }
        Transition::Withdraw => {
            approvals::close_pending(&txn, now, SubjectKind::Activation, id, ApprovalStatus::Withdrawn).await?
        }
        _ => {}
    }
    txn.commit().await?;
    Ok(TransitionOutcome { engagement: updated, warnings, approval_id })
}

/// Applies a decision on an engagement's activation approval inside the decision's
/// transaction: the last approval activates it through [`activate`] (the governance rules
/// are checked again, as the engagement may have changed since it was submitted); a rejection
/// or a request for changes returns it to draft.
pub async fn apply_decision<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    a: &approval::Model,
    outcome: Outcome,
    max_yearly_growth: f64,
) -> AppResult<()> {
    let Some(action) = after_activation_decision(outcome) else { return Ok(()) };
    let current = lock(txn, a.subject_id).await?;
    transition_in(txn, now, actor, current, action, None, &[], max_yearly_growth).await?;
    Ok(())
}

/// Changes the status with a compare-and-set, so that two concurrent transitions cannot both
/// succeed; activation goes through [`activate`]. The audit entry records the governance
/// warnings raised: those the caller assessed (`raised`, on submission) or activation's own.
#[expect(clippy::too_many_arguments, reason = "one transaction's inputs, passed through once")]
async fn transition_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    current: engagement::Model,
    action: Transition,
    reason: Option<String>,
    raised: &[Finding],
    max_yearly_growth: f64,
) -> AppResult<(engagement::Model, Vec<Finding>)> {
    let id = current.id;
    let from: EngagementStatus = current.status;
    let (to, warnings) = if action == Transition::Activate {
        let report = governance(txn, &current, now, max_yearly_growth).await?;
        activate(from, &report).map_err(|refused| match refused {
            ActivationRefused::Transition(t) => AppError::from(t),
            ActivationRefused::Blocked(blockers) => AppError::Invalid(blockers.iter().map(Into::into).collect()),
        })?
    } else {
        (next_status(from, action)?, raised.to_vec())
    };
    let changed = engagement::Entity::update_many()
        .col_expr(engagement::Column::Status, Expr::value(to.to_string()))
        .col_expr(engagement::Column::StatusChangedAt, Expr::value(now))
        .col_expr(engagement::Column::UpdatedAt, Expr::value(now))
        .filter(engagement::Column::Id.eq(id))
        .filter(engagement::Column::Status.eq(from))
        .exec(txn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(AppError::conflict(
            "action",
            "concurrent_change",
            "the engagement changed meanwhile; reload and retry",
        ));
    }
    let updated = engagement::Entity::find_by_id(id).one(txn).await?.ok_or(AppError::NotFound)?;
    let entry = AuditEntry::new(audit_action(action), "engagement", id)
        .engagement(id)
        .before(&serde_json::json!({ "status": from }))
        .after(&serde_json::json!({
            "status": to, "reason": reason,
            "warnings": warnings.iter().map(Finding::record).collect::<Vec<_>>(),
        }));
    audit::record(txn, now, actor, entry).await?;
    Ok((updated, warnings))
}

fn audit_action(action: Transition) -> &'static str {
    match action {
        Transition::Submit => "engagement.submit",
        Transition::Withdraw => "engagement.withdraw",
        Transition::Activate => "engagement.activate",
        Transition::Suspend => "engagement.suspend",
        Transition::Resume => "engagement.resume",
        Transition::End => "engagement.end",
    }
}
