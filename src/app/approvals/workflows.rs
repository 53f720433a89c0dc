//! Approval workflows: the stages in force per engagement and kind of subject (the built-in
//! templates until an engagement defines its own), setting them, and who decides a stage.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use serde::Serialize;
use strum::IntoEnumIterator;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    app::audit::{self, Actor, AuditEntry},
    db::entity::{approval_workflow, engagement, team_member, user},
};
use crate::{
    domain::{
        Violations,
        approval::{self as rules, Approver, Stage, SubjectKind, WorkflowInput},
        enums::{Role, TeamRole},
    },
    error::AppResult,
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
pub(super) async fn check_user_approvers<C: ConnectionTrait>(db: &C, input: &WorkflowInput) -> AppResult<()> {
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
pub(super) async fn resolve<C: ConnectionTrait>(
    db: &C,
    engagement_id: Uuid,
    approvers: &[Approver],
) -> AppResult<Vec<Uuid>> {
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
pub(super) async fn stage_deciders<C: ConnectionTrait>(
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
