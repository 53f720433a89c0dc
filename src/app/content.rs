//! Content items: the agency proposes a publication, the content workflow approves it before
//! its planned time, and the agency marks it published. Each change of the item and the
//! approval it opens or closes happen in one transaction.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Ctx, engagements};
use crate::policy::{
    approval::{Action, authorize},
    engagement::Action as EngagementAction,
};

use crate::domain::approval::SubjectLabel;
use crate::{
    app::{
        approvals::{self, CrisisRules, Subject},
        audit::{self, Actor, AuditEntry},
        engagements::lock,
    },
    db::entity::{approval, content_item, engagement},
};
use crate::{
    domain::{
        approval::{ApprovalStatus, Outcome, SubjectKind},
        content::{self as rules, ContentInput, ContentRefused, ContentStatus},
        enums::{Channel, EngagementStatus},
    },
    error::{AppError, AppResult},
};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContentView {
    pub id: Uuid,
    pub engagement_id: Uuid,
    pub channel: Channel,
    pub body: String,
    pub media_url: Option<String>,
    pub planned_at: DateTime<Utc>,
    pub status: ContentStatus,
    /// The approval deciding the current version.
    pub approval_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

impl TryFrom<&content_item::Model> for ContentView {
    type Error = anyhow::Error;
    fn try_from(m: &content_item::Model) -> anyhow::Result<Self> {
        Ok(Self {
            id: m.id,
            engagement_id: m.engagement_id,
            channel: m.channel,
            body: m.body.clone(),
            media_url: m.media_url.clone(),
            planned_at: m.planned_at,
            status: m.status,
            approval_id: m.approval_id,
            created_by: m.created_by,
            created_at: m.created_at,
            updated_at: m.updated_at,
            published_at: m.published_at,
        })
    }
}

fn refused(e: ContentRefused) -> AppError {
    AppError::conflict("status", "invalid_transition", e.to_string())
}

fn ensure_running(e: &engagement::Model) -> AppResult<()> {
    match e.status {
        EngagementStatus::Active => Ok(()),
        _ => {
            Err(AppError::conflict("engagement", "engagement_not_active", "content is proposed on active engagements"))
        }
    }
}

fn subject(item: &content_item::Model) -> AppResult<Subject> {
    let mut excerpt: String = item.body.chars().take(80).collect();
    if item.body.chars().count() > 80 {
        excerpt.push('…');
    }
    let channel = item.channel;
    Ok(Subject { id: item.id, label: SubjectLabel::Content { channel, excerpt }, author: item.created_by })
}

async fn lock_item<C: ConnectionTrait>(txn: &C, id: Uuid) -> AppResult<content_item::Model> {
    let mut q = content_item::Entity::find_by_id(id);
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(txn).await?.ok_or(AppError::NotFound)
}

pub async fn get<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<content_item::Model> {
    content_item::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContentAction {
    Withdraw,
    /// The agency published the approved item.
    Publish,
}

/// Applies a decision's outcome to the content item it concerns (inside the decision's
/// transaction). An approval that arrives after the planned time is refused: the agency
/// must plan the item again.
pub async fn apply_decision<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    a: &approval::Model,
    outcome: Outcome,
) -> AppResult<()> {
    let item = lock_item(txn, a.subject_id).await?;
    if matches!(outcome, Outcome::Approved | Outcome::NextStage(_)) && !rules::may_still_approve(item.planned_at, now) {
        return Err(AppError::conflict(
            "planned_at",
            "planned_time_passed",
            "the planned time has passed; the agency must plan this item again",
        ));
    }
    if let Some(status) = rules::after_decision(outcome) {
        let mut m: content_item::ActiveModel = item.into();
        m.status = Set(status);
        m.updated_at = Set(now);
        m.update(txn).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Calendar {
    /// Planned at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Planned before this instant.
    pub to: Option<DateTime<Utc>>,
    pub engagement_id: Option<Uuid>,
    pub status: Option<ContentStatus>,
}

/// The most items one calendar answer lists.
pub const CALENDAR_LIMIT: u64 = 1_000;

/// Items of the given engagements by planned time.
pub async fn calendar<C: ConnectionTrait>(db: &C, engagements: &[Uuid], c: &Calendar) -> AppResult<Vec<ContentView>> {
    if let (Some(from), Some(to)) = (c.from, c.to)
        && to < from
    {
        return Err(AppError::invalid("to", "before_from", "must not be before from"));
    }
    let mut q =
        content_item::Entity::find().filter(content_item::Column::EngagementId.is_in(engagements.iter().copied()));
    if let Some(from) = c.from {
        q = q.filter(content_item::Column::PlannedAt.gte(from));
    }
    if let Some(to) = c.to {
        q = q.filter(content_item::Column::PlannedAt.lt(to));
    }
    if let Some(e) = c.engagement_id {
        q = q.filter(content_item::Column::EngagementId.eq(e));
    }
    if let Some(s) = c.status {
        q = q.filter(content_item::Column::Status.eq(s));
    }
    let rows = q
        .order_by_asc(content_item::Column::PlannedAt)
        .order_by_asc(content_item::Column::Id)
        .limit(CALENDAR_LIMIT)
        .all(db)
        .await?;
    rows.iter().map(|m| Ok(ContentView::try_from(m)?)).collect()
}

/// Loads a content item and its engagement for `action` (404 when the engagement is
/// hidden, 403 when seen but not allowed).
pub async fn load(ctx: &Ctx<'_>, id: Uuid, action: Action) -> AppResult<(ContentView, EngagementTitle)> {
    let item = get(ctx.db, id).await?;
    let (e, seen) = engagements::load(ctx.db, &ctx.viewer, item.engagement_id, EngagementAction::Read).await?;
    authorize(&ctx.viewer, action, seen)?;
    Ok((ContentView::try_from(&item)?, EngagementTitle { id: e.id, title: e.title }))
}

/// The engagement an item belongs to, as its pages name it.
#[derive(Debug, Clone, Serialize)]
pub struct EngagementTitle {
    pub id: Uuid,
    pub title: String,
}

/// The item's approval, in the reader's language, if the viewer may read it (agency users
/// only read the approvals of what they authored).
pub async fn readable_approval(ctx: &Ctx<'_>, item: &ContentView) -> AppResult<Option<approvals::ApprovalView>> {
    let Some(id) = item.approval_id else { return Ok(None) };
    let a = approvals::get(ctx.db, id).await?;
    let (_, seen) = engagements::load(ctx.db, &ctx.viewer, a.engagement_id, EngagementAction::Read).await?;
    let authored = a.author_id == Some(ctx.viewer.user_id);
    if authorize(&ctx.viewer, Action::ReadApproval { authored }, seen).is_err() {
        return Ok(None);
    }
    Ok(approvals::views(ctx.db, &[a], ctx.now, ctx.language).await?.into_iter().next())
}

/// The engagements the viewer may propose content on now (active, and writable under the
/// content policy), by id and title.
pub async fn proposable(ctx: &Ctx<'_>) -> AppResult<Vec<(Uuid, String)>> {
    let mut out = Vec::new();
    let visible = engagements::visible(ctx.db, &ctx.viewer).await?;
    for e in visible.into_iter().filter(|e| e.status == EngagementStatus::Active) {
        let access = engagements::access(ctx.db, &ctx.viewer, &e).await?;
        let seen = crate::policy::engagement::authorize(&ctx.viewer, EngagementAction::Read, &access)?;
        if authorize(&ctx.viewer, Action::WriteContent, seen).is_ok() {
            out.push((e.id, e.title));
        }
    }
    Ok(out)
}

/// Proposes a publication on an engagement (the agency, leads and admins).
pub async fn propose(ctx: &Ctx<'_>, engagement_id: Uuid, input: ContentInput) -> AppResult<ContentView> {
    let (e, seen) = engagements::load(ctx.db, &ctx.viewer, engagement_id, EngagementAction::Read).await?;
    authorize(&ctx.viewer, Action::WriteContent, seen)?;
    system::propose(ctx.db, ctx.now, &ctx.actor, e.id, input, &ctx.rules.crisis).await
}

/// Replaces the item; it goes (back) to approval, the previous approval superseded.
pub async fn edit(ctx: &Ctx<'_>, id: Uuid, input: ContentInput) -> AppResult<ContentView> {
    load(ctx, id, Action::WriteContent).await?;
    system::edit(ctx.db, ctx.now, &ctx.actor, id, input, &ctx.rules.crisis).await
}

/// Withdraws the item, or marks it published once approved.
pub async fn transition(ctx: &Ctx<'_>, id: Uuid, action: ContentAction) -> AppResult<ContentView> {
    load(ctx, id, Action::WriteContent).await?;
    system::transition(ctx.db, ctx.now, &ctx.actor, id, action).await
}

/// The changes without a person: for the demo loader, fixtures and benchmarks, which act
/// for people they name themselves. Nothing here authorizes.
pub mod system {
    use super::*;

    /// The agency (or a lead) proposes a publication; its approval opens at once.
    pub async fn propose(
        db: &DatabaseConnection,
        now: DateTime<Utc>,
        actor: &Actor,
        engagement_id: Uuid,
        input: ContentInput,
        crisis: &CrisisRules,
    ) -> AppResult<ContentView> {
        let input = input.validate(now)?;
        let txn = crate::db::begin_write(db).await?;
        let e = lock(&txn, engagement_id).await?;
        ensure_running(&e)?;
        let id = Uuid::now_v7();
        let mut item = content_item::ActiveModel {
            id: Set(id),
            engagement_id: Set(e.id),
            channel: Set(input.channel),
            body: Set(input.body),
            media_url: Set(input.media_url),
            planned_at: Set(input.planned_at),
            status: Set(ContentStatus::PendingApproval),
            approval_id: Set(None),
            created_by: Set(actor.id),
            created_at: Set(now),
            updated_at: Set(now),
            published_at: Set(None),
        }
        .insert(&txn)
        .await?;
        let approval = approvals::open_in(&txn, now, actor, &e, subject(&item)?, crisis).await?;
        let mut a: content_item::ActiveModel = item.into();
        a.approval_id = Set(Some(approval.id));
        item = a.update(&txn).await?;
        let view = ContentView::try_from(&item)?;
        audit::record(
            &txn,
            now,
            actor,
            AuditEntry::new("content.propose", "content", id).engagement(e.id).after(&view),
        )
        .await?;
        txn.commit().await?;
        Ok(view)
    }

    /// Replaces the item's content; it goes (back) to approval under a new approval, the
    /// previous one superseded.
    pub async fn edit(
        db: &DatabaseConnection,
        now: DateTime<Utc>,
        actor: &Actor,
        id: Uuid,
        input: ContentInput,
        crisis: &CrisisRules,
    ) -> AppResult<ContentView> {
        let input = input.validate(now)?;
        let txn = crate::db::begin_write(db).await?;
        let current = lock_item(&txn, id).await?;
        let e = lock(&txn, current.engagement_id).await?;
        let next = rules::edit(current.status).map_err(refused)?;
        let before = ContentView::try_from(&current)?;
        let mut a: content_item::ActiveModel = current.into();
        a.channel = Set(input.channel);
        a.body = Set(input.body);
        a.media_url = Set(input.media_url);
        a.planned_at = Set(input.planned_at);
        a.status = Set(next);
        a.updated_at = Set(now);
        let item = a.update(&txn).await?;
        let approval = approvals::open_in(&txn, now, actor, &e, subject(&item)?, crisis).await?;
        let mut a: content_item::ActiveModel = item.into();
        a.approval_id = Set(Some(approval.id));
        let item = a.update(&txn).await?;
        let after = ContentView::try_from(&item)?;
        let entry = AuditEntry::new("content.edit", "content", id).engagement(e.id).before(&before).after(&after);
        audit::record(&txn, now, actor, entry).await?;
        txn.commit().await?;
        Ok(after)
    }

    /// Withdraws or publishes an item.
    pub async fn transition(
        db: &DatabaseConnection,
        now: DateTime<Utc>,
        actor: &Actor,
        id: Uuid,
        action: ContentAction,
    ) -> AppResult<ContentView> {
        let txn = crate::db::begin_write(db).await?;
        let current = lock_item(&txn, id).await?;
        let from: ContentStatus = current.status;
        let next = match action {
            ContentAction::Withdraw => rules::withdraw(from),
            ContentAction::Publish => rules::publish(from),
        }
        .map_err(refused)?;
        if action == ContentAction::Withdraw {
            approvals::close_pending(&txn, now, SubjectKind::Content, id, ApprovalStatus::Withdrawn).await?;
        }
        let mut a: content_item::ActiveModel = current.clone().into();
        a.status = Set(next);
        a.updated_at = Set(now);
        if action == ContentAction::Publish {
            a.published_at = Set(Some(now));
        }
        let after = ContentView::try_from(&a.update(&txn).await?)?;
        let name = match action {
            ContentAction::Withdraw => "content.withdraw",
            ContentAction::Publish => "content.publish",
        };
        let entry = AuditEntry::new(name, "content", id).engagement(current.engagement_id).after(&after);
        audit::record(&txn, now, actor, entry).await?;
        txn.commit().await?;
        Ok(after)
    }
}
