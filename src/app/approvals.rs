//! Approvals: workflow definitions per engagement and subject kind, opening an approval for a
//! subject, decisions (serialised per approval, compare-and-set on its revision), SLA and
//! escalation, and the queue. The rules are `domain::approval`; what an approved, rejected or
//! sent-back subject becomes is applied by the subject's own module in the same transaction.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde::{Deserialize, Serialize};
use strum::IntoEnumIterator;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    app::{
        audit::{self, Actor, AuditEntry},
        crisis,
    },
    db::entity::{approval, approval_decision, approval_workflow, engagement, team_member, user},
};
use crate::{
    domain::{
        Violations,
        approval::{
            self as rules, ApprovalStatus, Approver, Decision, DecisionContext, DecisionRefused, Outcome, Quorum,
            Stage, StagePreset, SubjectKind, SubjectLabel, WorkflowInput,
        },
        enums::{Language, Role, TeamRole},
        text,
    },
    error::{AppError, AppResult},
    present,
};

/// What crisis mode changes in approvals (from the configuration).
#[derive(Debug, Clone)]
pub struct CrisisRules {
    pub approver_roles: Vec<TeamRole>,
    pub sla_factor: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkflowView {
    pub subject_kind: SubjectKind,
    pub stages: Vec<Stage>,
    /// The built-in template, in force until the engagement defines its own.
    pub default: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The workflow in force for a kind of subject.
pub async fn workflow<C: ConnectionTrait>(db: &C, engagement_id: Uuid, kind: SubjectKind) -> AppResult<WorkflowView> {
    let stored = approval_workflow::Entity::find()
        .filter(approval_workflow::Column::EngagementId.eq(engagement_id))
        .filter(approval_workflow::Column::SubjectKind.eq(kind))
        .one(db)
        .await?;
    Ok(match stored {
        Some(w) => WorkflowView {
            subject_kind: kind,
            stages: serde_json::from_value(w.stages).map_err(anyhow::Error::from)?,
            default: false,
            updated_at: Some(w.updated_at),
        },
        None => WorkflowView {
            subject_kind: kind,
            stages: rules::default_workflow(kind).stages,
            default: true,
            updated_at: None,
        },
    })
}

pub async fn workflows<C: ConnectionTrait>(db: &C, engagement_id: Uuid) -> AppResult<Vec<WorkflowView>> {
    let mut all = Vec::new();
    for kind in SubjectKind::iter() {
        all.push(workflow(db, engagement_id, kind).await?);
    }
    Ok(all)
}

/// Defines the engagement's workflow for a kind of subject. Running approvals keep the
/// stages they were opened with.
pub async fn set_workflow(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    kind: SubjectKind,
    input: WorkflowInput,
) -> AppResult<WorkflowView> {
    let input = input.validate()?;
    let txn = crate::db::begin_write(db).await?;
    crate::app::engagements::lock(&txn, e.id).await?;
    check_user_approvers(&txn, &input).await?;
    let before = workflow(&txn, e.id, kind).await?;
    let stages = serde_json::to_value(&input.stages).map_err(anyhow::Error::from)?;
    let existing = approval_workflow::Entity::find()
        .filter(approval_workflow::Column::EngagementId.eq(e.id))
        .filter(approval_workflow::Column::SubjectKind.eq(kind))
        .one(&txn)
        .await?;
    match existing {
        Some(w) => {
            let mut a: approval_workflow::ActiveModel = w.into();
            a.stages = Set(stages);
            a.updated_by = Set(actor.id);
            a.updated_at = Set(now);
            a.update(&txn).await?;
        }
        None => {
            approval_workflow::ActiveModel {
                id: Set(Uuid::now_v7()),
                engagement_id: Set(e.id),
                subject_kind: Set(kind),
                stages: Set(stages),
                updated_by: Set(actor.id),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?;
        }
    }
    let after = workflow(&txn, e.id, kind).await?;
    let entry = AuditEntry::new("workflow.set", "engagement", e.id).engagement(e.id).before(&before).after(&after);
    audit::record(&txn, now, actor, entry).await?;
    txn.commit().await?;
    Ok(after)
}

/// Named user approvers must be active company users.
async fn check_user_approvers<C: ConnectionTrait>(db: &C, input: &WorkflowInput) -> AppResult<()> {
    let mut named = BTreeSet::new();
    for stage in &input.stages {
        for a in stage.approvers.iter().chain(&stage.escalation) {
            if let Approver::User { user_id } = a {
                named.insert(*user_id);
            }
        }
    }
    let found: HashMap<Uuid, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(named.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut v = Violations::new();
    for (i, stage) in input.stages.iter().enumerate() {
        let listed =
            stage.approvers.iter().enumerate().map(|(j, a)| (format!("stages[{i}].approvers[{j}].user_id"), a));
        let escalation = stage.escalation.iter().map(|a| (format!("stages[{i}].escalation.user_id"), a));
        for (field, a) in listed.chain(escalation) {
            let Approver::User { user_id } = a else { continue };
            match found.get(user_id) {
                None => v.add(field, "unknown", "no such user"),
                Some(u) if !u.active => v.add(field, "inactive", "this user is deactivated"),
                Some(u) if u.role == Role::Vendor => v.add(field, "vendor_approver", "agency users never approve"),
                Some(_) => {}
            }
        }
    }
    Ok(v.finish(())?)
}

/// The active company users an approver list stands for on an engagement.
async fn resolve<C: ConnectionTrait>(db: &C, engagement_id: Uuid, approvers: &[Approver]) -> AppResult<Vec<Uuid>> {
    let roles: Vec<String> = approvers
        .iter()
        .filter_map(|a| match a {
            Approver::TeamRole { team_role } => Some(team_role.to_string()),
            Approver::User { .. } => None,
        })
        .collect();
    let mut ids: BTreeSet<Uuid> = approvers
        .iter()
        .filter_map(|a| match a {
            Approver::User { user_id } => Some(*user_id),
            Approver::TeamRole { .. } => None,
        })
        .collect();
    if !roles.is_empty() {
        let members = team_member::Entity::find()
            .filter(team_member::Column::EngagementId.eq(engagement_id))
            .filter(team_member::Column::TeamRole.is_in(roles))
            .all(db)
            .await?;
        ids.extend(members.iter().map(|m| m.user_id));
    }
    let active: Vec<Uuid> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Role.ne(Role::Vendor))
        .all(db)
        .await?
        .iter()
        .map(|u| u.id)
        .collect();
    Ok(ids.into_iter().filter(|id| active.contains(id)).collect())
}

/// A stage's deciders: its approvers other than the author (who never decides, so the queue
/// never shows them their own subject as waiting on them); when that leaves nobody, the
/// engagement's owner; when the owner is the author too, the active admins. An approval
/// must always have someone who may decide it, and never only its author.
async fn stage_deciders<C: ConnectionTrait>(
    db: &C,
    e: &engagement::Model,
    stage: &Stage,
    author: Option<Uuid>,
) -> AppResult<Vec<Uuid>> {
    let mut resolved = resolve(db, e.id, &stage.approvers).await?;
    resolved.retain(|id| Some(*id) != author);
    if !resolved.is_empty() {
        return Ok(resolved);
    }
    if let Some(owner) = e.owner_id.filter(|o| Some(*o) != author) {
        resolved.push(owner);
        return Ok(resolved);
    }
    Ok(crate::app::users::active_admin_ids(db).await?.into_iter().filter(|id| Some(*id) != author).collect())
}

/// The pending approval of a subject, locked, if there is one.
pub async fn pending_for<C: ConnectionTrait>(
    txn: &C,
    kind: SubjectKind,
    subject_id: Uuid,
) -> AppResult<Option<approval::Model>> {
    let mut q = approval::Entity::find()
        .filter(approval::Column::SubjectKind.eq(kind))
        .filter(approval::Column::SubjectId.eq(subject_id))
        .filter(approval::Column::Status.eq(ApprovalStatus::Pending));
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        q = q.lock_exclusive();
    }
    Ok(q.one(txn).await?)
}

/// What the subject is, for the queue.
pub struct Subject {
    pub id: Uuid,
    /// What the subject is (its kind and the parameters its title is worded from).
    pub label: SubjectLabel,
    pub author: Option<Uuid>,
}

impl Subject {
    pub fn kind(&self) -> SubjectKind {
        self.label.kind()
    }
}

/// Opens an approval for a subject inside the caller's transaction, superseding any pending
/// approval of the same subject. Content approvals opened in crisis mode gain a final stage
/// for the crisis approvers, and every stage's SLA shrinks.
pub async fn open_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    subject: Subject,
    crisis_rules: &CrisisRules,
) -> AppResult<approval::Model> {
    let kind = subject.kind();
    let mut stages = workflow(txn, e.id, kind).await?.stages;
    let in_crisis = crisis::active(txn, e.id).await?.is_some();
    if in_crisis && kind == SubjectKind::Content && !crisis_rules.approver_roles.is_empty() {
        stages.push(Stage {
            name: String::new(),
            preset: Some(StagePreset::CrisisReview),
            approvers: crisis_rules.approver_roles.iter().map(|r| Approver::TeamRole { team_role: *r }).collect(),
            quorum: Quorum::Any,
            sla_hours: stages.iter().map(|s| s.sla_hours).min().unwrap_or(24),
            escalation: None,
        });
    }
    supersede(txn, now, kind, subject.id).await?;
    let first = &stages[0];
    let factor = in_crisis.then_some(crisis_rules.sla_factor);
    let model = approval::ActiveModel {
        id: Set(Uuid::now_v7()),
        engagement_id: Set(e.id),
        subject_kind: Set(kind),
        subject_id: Set(subject.id),
        title: Set(subject.label.typed_text().chars().take(200).collect()),
        subject_label: Set(Some(serde_json::to_value(&subject.label).map_err(anyhow::Error::from)?)),
        author_id: Set(subject.author),
        status: Set(ApprovalStatus::Pending),
        stage_approvers: Set(
            serde_json::to_value(stage_deciders(txn, e, first, subject.author).await?).map_err(anyhow::Error::from)?
        ),
        stage_started_at: Set(now),
        stage_due_at: Set(rules::stage_due_at(now, first.sla_hours, factor)),
        stages: Set(serde_json::to_value(&stages).map_err(anyhow::Error::from)?),
        current_stage: Set(0),
        escalated_at: Set(None),
        crisis: Set(in_crisis),
        created_at: Set(now),
        closed_at: Set(None),
        revision: Set(0),
    }
    .insert(txn)
    .await?;
    let entry = AuditEntry::new("approval.open", "approval", model.id)
        .engagement(e.id)
        .after(&serde_json::json!({ "subject_kind": kind, "subject_id": subject.id, "crisis": in_crisis }));
    audit::record(txn, now, actor, entry).await?;
    Ok(model)
}

/// Marks the pending approvals of a subject as superseded (it changed) and closes them.
async fn supersede<C: ConnectionTrait>(txn: &C, now: DateTime<Utc>, kind: SubjectKind, id: Uuid) -> AppResult<()> {
    close_pending(txn, now, kind, id, ApprovalStatus::Superseded).await
}

/// Closes the pending approvals of a subject with `status` (superseded or withdrawn).
pub async fn close_pending<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    kind: SubjectKind,
    id: Uuid,
    status: ApprovalStatus,
) -> AppResult<()> {
    approval::Entity::update_many()
        .col_expr(approval::Column::Status, Expr::value(status.to_string()))
        .col_expr(approval::Column::ClosedAt, Expr::value(now))
        .col_expr(approval::Column::Revision, Expr::col(approval::Column::Revision).add(1))
        .filter(approval::Column::SubjectKind.eq(kind))
        .filter(approval::Column::SubjectId.eq(id))
        .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
        .exec(txn)
        .await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<approval::Model> {
    approval::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)
}

/// Views of the approvals with these ids (those that exist), in the reader's language.
pub async fn views_by_id<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
    now: DateTime<Utc>,
    language: Language,
) -> AppResult<Vec<ApprovalView>> {
    let found = approval::Entity::find().filter(approval::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    views(db, &found, now, language).await
}

/// Reads an approval, locking it for the rest of the transaction on PostgreSQL.
pub async fn lock<C: ConnectionTrait>(txn: &C, id: Uuid) -> AppResult<approval::Model> {
    let mut q = approval::Entity::find_by_id(id);
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(txn).await?.ok_or(AppError::NotFound)
}

fn stages_of(a: &approval::Model) -> AppResult<Vec<Stage>> {
    Ok(serde_json::from_value(a.stages.clone()).map_err(anyhow::Error::from)?)
}

fn deciders_of(a: &approval::Model) -> AppResult<Vec<Uuid>> {
    Ok(serde_json::from_value(a.stage_approvers.clone()).map_err(anyhow::Error::from)?)
}

/// The request of one decider.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// The stage the decider saw (0-based); a decision on a stage already decided is refused.
    pub stage: i32,
    pub decision: Decision,
    /// Required when rejecting or requesting changes.
    #[serde(default)]
    pub comment: Option<String>,
}

/// The result of a decision, for the subject's module to apply.
pub struct Decided {
    pub approval: approval::Model,
    pub outcome: Outcome,
}

fn refusal(e: DecisionRefused) -> AppError {
    match e {
        DecisionRefused::VendorCannotDecide | DecisionRefused::OwnSubject | DecisionRefused::NotAnApprover => {
            AppError::forbidden(e.to_string())
        }
        DecisionRefused::Closed(_) => AppError::conflict("approval", "closed", e.to_string()),
        DecisionRefused::StageDecided { .. } => AppError::conflict("stage", "stage_decided", e.to_string()),
        DecisionRefused::AlreadyApproved => AppError::conflict("approval", "already_decided", e.to_string()),
    }
}

/// Records one decision and moves the approval on, inside the caller's transaction. The
/// approval row is locked (PostgreSQL) or the transaction holds the write lock (SQLite), and
/// the update is a compare-and-set on `revision`, so two deciders racing on one stage give
/// exactly one transition; the other gets 409.
pub async fn decide_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    (actor, decider_role): (&Actor, Role),
    e: &engagement::Model,
    current: approval::Model,
    input: &DecisionInput,
    crisis_rules: &CrisisRules,
) -> AppResult<Decided> {
    let comment = text::optional_paragraphs("comment", input.comment.as_deref(), 5_000)
        .map_err(|e| AppError::Invalid(vec![e]))?;
    if input.decision != Decision::Approve && comment.is_none() {
        return Err(AppError::invalid("comment", "required", "say why"));
    }
    let decider = actor.id.ok_or_else(|| AppError::forbidden("only people decide approvals"))?;
    let stages = stages_of(&current)?;
    let stage = usize::try_from(current.current_stage).map_err(anyhow::Error::from)?;
    let deciders = deciders_of(&current)?;
    let approved_by: Vec<Uuid> = approval_decision::Entity::find()
        .filter(approval_decision::Column::ApprovalId.eq(current.id))
        .filter(approval_decision::Column::Stage.eq(current.current_stage))
        .filter(approval_decision::Column::Decision.eq(Decision::Approve))
        .all(txn)
        .await?
        .iter()
        .map(|d| d.decider_id)
        .collect();
    let status: ApprovalStatus = current.status;
    let quorum = stages.get(stage).map_or(Quorum::Any, |s| s.quorum);
    let ctx = DecisionContext {
        status,
        current_stage: stage,
        stages: stages.len(),
        quorum,
        approvers: &deciders,
        approved_by: &approved_by,
        author: current.author_id,
        decider,
        decider_is_vendor: decider_role == Role::Vendor,
        stage_seen: usize::try_from(input.stage).unwrap_or(usize::MAX),
    };
    let outcome = rules::decide(&ctx, input.decision).map_err(refusal)?;
    approval_decision::ActiveModel {
        id: Set(Uuid::now_v7()),
        approval_id: Set(current.id),
        stage: Set(current.current_stage),
        decider_id: Set(decider),
        decision: Set(input.decision),
        comment: Set(comment.unwrap_or_default()),
        decided_at: Set(now),
    }
    .insert(txn)
    .await?;
    let mut update = approval::Entity::update_many()
        .col_expr(approval::Column::Revision, Expr::value(current.revision + 1))
        .filter(approval::Column::Id.eq(current.id))
        .filter(approval::Column::Revision.eq(current.revision));
    if let Outcome::NextStage(next) = outcome {
        let stage = &stages[next];
        let factor = current.crisis.then_some(crisis_rules.sla_factor);
        update = update
            .col_expr(approval::Column::CurrentStage, Expr::value(next as i32))
            .col_expr(
                approval::Column::StageApprovers,
                Expr::value(
                    serde_json::to_value(stage_deciders(txn, e, stage, current.author_id).await?)
                        .map_err(anyhow::Error::from)?,
                ),
            )
            .col_expr(approval::Column::StageStartedAt, Expr::value(now))
            .col_expr(approval::Column::StageDueAt, Expr::value(rules::stage_due_at(now, stage.sla_hours, factor)))
            .col_expr(approval::Column::EscalatedAt, Expr::value(Option::<DateTime<Utc>>::None));
    }
    if let Some(closed) = rules::status_after(outcome) {
        update = update
            .col_expr(approval::Column::Status, Expr::value(closed.to_string()))
            .col_expr(approval::Column::ClosedAt, Expr::value(now));
    }
    if update.exec(txn).await?.rows_affected != 1 {
        return Err(AppError::conflict("stage", "stage_decided", "another decision moved this approval first"));
    }
    let approval = approval::Entity::find_by_id(current.id).one(txn).await?.ok_or(AppError::NotFound)?;
    let entry = AuditEntry::new("approval.decide", "approval", current.id).engagement(current.engagement_id).after(
        &serde_json::json!({
            "stage": current.current_stage,
            "decision": input.decision,
            "status": approval.status,
            "current_stage": approval.current_stage,
        }),
    );
    audit::record(txn, now, actor, entry).await?;
    Ok(Decided { approval, outcome })
}

/// Escalates every pending stage past its deadline that was not escalated yet: its
/// escalation target joins the deciders, and the escalation is audited. Returns how many
/// approvals were escalated. Meant to run every minute (the scheduler calls it).
pub async fn escalate_overdue(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<usize> {
    let overdue = approval::Entity::find()
        .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
        .filter(approval::Column::StageDueAt.lte(now))
        .filter(approval::Column::EscalatedAt.is_null())
        .all(db)
        .await?;
    let mut escalated = 0;
    for candidate in overdue {
        let txn = crate::db::begin_write(db).await?;
        let a = lock(&txn, candidate.id).await?;
        if a.revision != candidate.revision || a.escalated_at.is_some() {
            continue;
        }
        let stages = stages_of(&a)?;
        let stage = stages.get(usize::try_from(a.current_stage).map_err(anyhow::Error::from)?);
        let mut deciders = deciders_of(&a)?;
        let added = match stage.and_then(|s| s.escalation.clone()) {
            Some(target) => resolve(&txn, a.engagement_id, &[target]).await?,
            None => Vec::new(),
        };
        for id in &added {
            if !deciders.contains(id) {
                deciders.push(*id);
            }
        }
        let mut m: approval::ActiveModel = a.clone().into();
        m.escalated_at = Set(Some(now));
        m.stage_approvers = Set(serde_json::to_value(&deciders).map_err(anyhow::Error::from)?);
        m.revision = Set(a.revision + 1);
        m.update(&txn).await?;
        let entry = AuditEntry::new("approval.escalate", "approval", a.id)
            .engagement(a.engagement_id)
            .after(&serde_json::json!({ "stage": a.current_stage, "added_approvers": added }));
        audit::record(&txn, now, &Actor::system("escalation"), entry).await?;
        txn.commit().await?;
        escalated += 1;
    }
    Ok(escalated)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionView {
    pub stage: i32,
    pub decider_id: Uuid,
    pub decision: Decision,
    pub comment: String,
    pub decided_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovalView {
    pub id: Uuid,
    pub engagement_id: Uuid,
    pub subject_kind: SubjectKind,
    pub subject_id: Uuid,
    /// What the approval is about, as a kind and parameters (stable, for programs).
    pub subject: SubjectLabel,
    /// The subject's title worded in the requester's language (for people).
    pub title: String,
    pub author_id: Option<Uuid>,
    pub status: ApprovalStatus,
    pub stages: Vec<Stage>,
    pub current_stage: i32,
    /// Who may decide the current stage now.
    pub current_approvers: Vec<Uuid>,
    pub stage_started_at: DateTime<Utc>,
    /// Deadline of the current stage.
    pub stage_due_at: DateTime<Utc>,
    /// Pending and past its deadline.
    pub overdue: bool,
    pub escalated_at: Option<DateTime<Utc>>,
    /// Opened while the engagement was in crisis mode.
    pub crisis: bool,
    pub decisions: Vec<DecisionView>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// What an approval is about, from its stored label.
pub fn label_of(a: &approval::Model) -> AppResult<SubjectLabel> {
    let label = a.subject_label.clone().ok_or_else(|| anyhow::anyhow!("approval {} has no subject label", a.id))?;
    Ok(serde_json::from_value(label).map_err(anyhow::Error::from)?)
}

/// The title of an approval's subject in `language`.
pub fn title_of(a: &approval::Model, language: Language) -> AppResult<String> {
    Ok(present::titles::approval(&label_of(a)?, language))
}

fn view(
    a: &approval::Model,
    decisions: Vec<DecisionView>,
    now: DateTime<Utc>,
    language: Language,
) -> AppResult<ApprovalView> {
    let status: ApprovalStatus = a.status;
    let subject = label_of(a)?;
    Ok(ApprovalView {
        id: a.id,
        engagement_id: a.engagement_id,
        subject_kind: a.subject_kind,
        subject_id: a.subject_id,
        title: present::titles::approval(&subject, language),
        subject,
        author_id: a.author_id,
        status,
        stages: stages_of(a)?,
        current_stage: a.current_stage,
        current_approvers: deciders_of(a)?,
        stage_started_at: a.stage_started_at,
        stage_due_at: a.stage_due_at,
        overdue: status == ApprovalStatus::Pending && now >= a.stage_due_at,
        escalated_at: a.escalated_at,
        crisis: a.crisis,
        decisions,
        created_at: a.created_at,
        closed_at: a.closed_at,
    })
}

/// Views of approvals with their decisions, from two queries.
pub async fn views<C: ConnectionTrait>(
    db: &C,
    approvals: &[approval::Model],
    now: DateTime<Utc>,
    language: Language,
) -> AppResult<Vec<ApprovalView>> {
    let decisions = approval_decision::Entity::find()
        .filter(approval_decision::Column::ApprovalId.is_in(approvals.iter().map(|a| a.id)))
        .order_by_asc(approval_decision::Column::DecidedAt)
        .order_by_asc(approval_decision::Column::Id)
        .all(db)
        .await?;
    let mut by: HashMap<Uuid, Vec<DecisionView>> = HashMap::new();
    for d in decisions {
        by.entry(d.approval_id).or_default().push(DecisionView {
            stage: d.stage,
            decider_id: d.decider_id,
            decision: d.decision,
            comment: d.comment,
            decided_at: d.decided_at,
        });
    }
    approvals.iter().map(|a| view(a, by.remove(&a.id).unwrap_or_default(), now, language)).collect()
}

/// Which part of the queue to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueView {
    /// Pending approvals the caller may decide now.
    WaitingOnMe,
    /// Approvals of subjects the caller authored.
    SubmittedByMe,
    /// Everything the caller may see.
    #[default]
    All,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueFilter {
    #[serde(default)]
    pub view: QueueView,
    pub status: Option<ApprovalStatus>,
    pub subject_kind: Option<SubjectKind>,
    pub engagement_id: Option<Uuid>,
    /// Only pending approvals past their stage deadline.
    pub overdue: Option<bool>,
}

/// The most approvals one queue answer lists, newest first.
pub const QUEUE_LIMIT: u64 = 500;

/// The queue over the given engagements (those the caller may see). Vendor users see only
/// the approvals of subjects they authored.
pub async fn queue<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
    caller: Uuid,
    caller_is_vendor: bool,
    filter: &QueueFilter,
    now: DateTime<Utc>,
    language: Language,
) -> AppResult<Vec<ApprovalView>> {
    let mut q = approval::Entity::find().filter(approval::Column::EngagementId.is_in(engagements.iter().copied()));
    if caller_is_vendor || filter.view == QueueView::SubmittedByMe {
        q = q.filter(approval::Column::AuthorId.eq(caller));
    }
    if filter.view == QueueView::WaitingOnMe {
        q = q.filter(approval::Column::Status.eq(ApprovalStatus::Pending));
    }
    if let Some(s) = filter.status {
        q = q.filter(approval::Column::Status.eq(s));
    }
    if let Some(k) = filter.subject_kind {
        q = q.filter(approval::Column::SubjectKind.eq(k));
    }
    if let Some(e) = filter.engagement_id {
        q = q.filter(approval::Column::EngagementId.eq(e));
    }
    match filter.overdue {
        Some(true) => {
            q = q
                .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
                .filter(approval::Column::StageDueAt.lte(now))
        }
        Some(false) => {
            q = q.filter(
                Condition::any()
                    .add(approval::Column::Status.ne(ApprovalStatus::Pending))
                    .add(approval::Column::StageDueAt.gt(now)),
            )
        }
        None => {}
    }
    let mut rows = q.order_by_desc(approval::Column::Id).limit(QUEUE_LIMIT).all(db).await?;
    if filter.view == QueueView::WaitingOnMe {
        rows.retain(|a| a.author_id != Some(caller) && deciders_of(a).is_ok_and(|d| d.contains(&caller)));
    }
    views(db, &rows, now, language).await
}
