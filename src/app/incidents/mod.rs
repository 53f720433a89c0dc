//! Incidents: opening one (a critical one switches its engagement into crisis mode), its
//! timeline of updates, acknowledgement and resolution, and listings with the
//! acknowledgement SLA. Every write locks the engagement, applies `domain::incident`, writes
//! the incident, its timeline entry and the audit entry in one transaction.

mod changes;

/// The changes without a person: for the demo loader and fixtures. Nothing here authorizes.
pub mod system {
    pub use super::changes::{acknowledge, add_update, open, resolve};
}

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Query,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Ctx;
use crate::{
    domain::confidentiality::Visibility,
    policy::{self, engagement::Action as EngagementAction, incident::Action},
};

use crate::{
    app::{
        WriteRules,
        alerts::{self, Scope},
        audit::{self, Actor, AuditEntry},
        crisis::{self, CrisisPeriodView},
        engagements::{lock, scope_condition},
    },
    db::{
        entity::{crisis_period, engagement, incident, incident_update},
        pagination::PageRequest,
    },
};
use crate::{
    domain::{
        alert::AlertRule,
        confidentiality::{Viewer, listing_scope},
        incident::{
            AcknowledgeInput, IncidentAction, IncidentInput, IncidentRefused, IncidentSeverity, IncidentStatus,
            ResolveInput, UpdateInput, UpdateKind, ack_due_at, is_unacknowledged_overdue, rescheduled_ack_due_at,
            starts_crisis, transition,
        },
    },
    error::{AppError, AppResult},
    views::Page,
};

/// An incident as the API shows it in lists.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentView {
    pub id: Uuid,
    pub engagement_id: Uuid,
    pub title: String,
    pub severity: IncidentSeverity,
    pub status: IncidentStatus,
    pub opened_by: Option<Uuid>,
    pub opened_at: DateTime<Utc>,
    /// When the company must have acknowledged it (the SLA of its severity).
    pub ack_due_at: DateTime<Utc>,
    /// Still open at or after `ack_due_at`, at the time of the answer.
    pub ack_overdue: bool,
    pub acknowledged_by: Option<Uuid>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<Uuid>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The resolution summary.
    pub resolution: Option<String>,
}

impl IncidentView {
    pub fn new(m: &incident::Model, now: DateTime<Utc>) -> anyhow::Result<Self> {
        let status: IncidentStatus = m.status;
        Ok(Self {
            id: m.id,
            engagement_id: m.engagement_id,
            title: m.title.clone(),
            severity: m.severity,
            status,
            opened_by: m.opened_by,
            opened_at: m.opened_at,
            ack_due_at: m.ack_due_at,
            ack_overdue: is_unacknowledged_overdue(status, m.ack_due_at, now),
            acknowledged_by: m.acknowledged_by,
            acknowledged_at: m.acknowledged_at,
            resolved_by: m.resolved_by,
            resolved_at: m.resolved_at,
            resolution: m.resolution.clone(),
        })
    }
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentUpdateView {
    pub id: Uuid,
    pub kind: UpdateKind,
    /// The description (`opened`), the note, `old → new` (`severity_changed`), the optional
    /// acknowledgement note, or the resolution summary (`resolved`).
    pub body: String,
    pub author_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

impl IncidentUpdateView {
    fn new(m: &incident_update::Model) -> anyhow::Result<Self> {
        Ok(Self { id: m.id, kind: m.kind, body: m.body.clone(), author_id: m.author_id, at: m.at })
    }
}

/// An incident with its description, its timeline (oldest first) and the crisis period it
/// switched on, if it did (the latest, should it have done so more than once).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: IncidentView,
    pub description: String,
    pub timeline: Vec<IncidentUpdateView>,
    pub crisis_period: Option<CrisisPeriodView>,
}

impl From<IncidentRefused> for AppError {
    fn from(e: IncidentRefused) -> Self {
        AppError::conflict("status", "invalid_transition", e.to_string())
    }
}

pub async fn get<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<incident::Model> {
    incident::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)
}

pub async fn detail<C: ConnectionTrait>(db: &C, m: &incident::Model, now: DateTime<Utc>) -> AppResult<IncidentDetail> {
    let timeline = incident_update::Entity::find()
        .filter(incident_update::Column::IncidentId.eq(m.id))
        .order_by_asc(incident_update::Column::At)
        .order_by_asc(incident_update::Column::Id)
        .all(db)
        .await?
        .iter()
        .map(IncidentUpdateView::new)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let description =
        timeline.iter().find(|u| u.kind == UpdateKind::Opened).map(|u| u.body.clone()).unwrap_or_default();
    // The latest: an incident lowered and raised to critical again may start another period.
    let crisis_period = crisis_period::Entity::find()
        .filter(crisis_period::Column::IncidentId.eq(m.id))
        .order_by_desc(crisis_period::Column::StartedAt)
        .one(db)
        .await?
        .map(CrisisPeriodView::from);
    Ok(IncidentDetail { incident: IncidentView::new(m, now)?, description, timeline, crisis_period })
}

async fn add_entry<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    incident_id: Uuid,
    kind: UpdateKind,
    body: String,
) -> AppResult<()> {
    incident_update::Entity::insert(incident_update::ActiveModel {
        id: Set(Uuid::now_v7()),
        incident_id: Set(incident_id),
        kind: Set(kind),
        body: Set(body),
        author_id: Set(actor.id),
        at: Set(now),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Switches crisis mode on for a critical incident, unless it is on already.
async fn crisis_for<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    m: &incident::Model,
) -> AppResult<()> {
    // The incident's title is the reason; pages word it ("Incidente crítico: …") because
    // the period names its incident.
    crisis::start_in(txn, now, actor, m.engagement_id, &m.title, Some(m.id)).await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub status: Option<IncidentStatus>,
    pub severity: Option<IncidentSeverity>,
    /// `true`: only incidents still open at or after their acknowledgement deadline;
    /// `false`: only the others.
    pub overdue: Option<bool>,
}

/// Where the incidents come from: one engagement (already authorized), or every engagement
/// the viewer may see (the visibility rule is part of the query).
#[derive(Debug, Clone, Copy)]
pub enum Within<'a> {
    Engagement(Uuid),
    Visible(&'a Viewer),
}

/// Which incidents a list shows: one engagement's (the caller must be allowed to read its
/// incidents) or every one the caller may see.
async fn within<'a>(ctx: &'a Ctx<'_>, engagement_id: Option<Uuid>) -> AppResult<Within<'a>> {
    match engagement_id {
        Some(id) => {
            engagement_for(ctx, id, Action::Read).await?;
            Ok(Within::Engagement(id))
        }
        None => Ok(Within::Visible(&ctx.viewer)),
    }
}

/// A page of incidents by cursor, newest first (the API).
pub async fn listed(
    ctx: &Ctx<'_>,
    engagement_id: Option<Uuid>,
    filter: IncidentFilter,
    page: PageRequest,
) -> AppResult<Page<IncidentView>> {
    let mut q = select(within(ctx, engagement_id).await?, filter, ctx.now).limit(page.limit + 1);
    if let Some(after) = page.after {
        q = q.filter(incident::Column::Id.lt(after));
    }
    let rows = q.all(ctx.db).await?;
    Ok(page.page(rows, |m| m.id, |m| IncidentView::new(m, ctx.now))?)
}

/// Page `page` of the incidents, newest first, with their count (the pages).
pub async fn numbered(
    ctx: &Ctx<'_>,
    engagement_id: Option<Uuid>,
    filter: IncidentFilter,
    page: Option<usize>,
    per_page: usize,
) -> AppResult<crate::db::pagination::Paged<IncidentView>> {
    let q = select(within(ctx, engagement_id).await?, filter, ctx.now);
    let shown = crate::db::pagination::numbered(ctx.db, q, page, per_page).await?;
    Ok(shown.try_map(|m| IncidentView::new(&m, ctx.now))?)
}

/// The incidents of `within` that pass `filter`, newest first.
fn select(within: Within<'_>, filter: IncidentFilter, now: DateTime<Utc>) -> sea_orm::Select<incident::Entity> {
    let mut q = incident::Entity::find().order_by_desc(incident::Column::Id);
    q = match within {
        Within::Engagement(id) => q.filter(incident::Column::EngagementId.eq(id)),
        Within::Visible(viewer) => q.filter(
            incident::Column::EngagementId.in_subquery(
                Query::select()
                    .column(engagement::Column::Id)
                    .from(engagement::Entity)
                    .cond_where(scope_condition(&listing_scope(viewer)))
                    .to_owned(),
            ),
        ),
    };
    if let Some(status) = filter.status {
        q = q.filter(incident::Column::Status.eq(status));
    }
    if let Some(severity) = filter.severity {
        q = q.filter(incident::Column::Severity.eq(severity));
    }
    let open = IncidentStatus::Open;
    match filter.overdue {
        None => {}
        Some(true) => q = q.filter(incident::Column::Status.eq(open)).filter(incident::Column::AckDueAt.lte(now)),
        Some(false) => {
            q = q
                .filter(Condition::any().add(incident::Column::Status.ne(open)).add(incident::Column::AckDueAt.gt(now)))
        }
    }
    q
}

/// Loads an engagement for `action` on its incidents (404 when hidden, 403 when not allowed).
pub async fn engagement_for(
    ctx: &Ctx<'_>,
    engagement_id: Uuid,
    action: Action,
) -> AppResult<(engagement::Model, Visibility)> {
    let (e, seen) = crate::app::engagements::load(ctx.db, &ctx.viewer, engagement_id, EngagementAction::Read).await?;
    policy::incident::authorize(&ctx.viewer, action, seen)?;
    Ok((e, seen))
}

/// Loads an incident and its engagement for `action`.
pub async fn load(
    ctx: &Ctx<'_>,
    incident_id: Uuid,
    action: Action,
) -> AppResult<(incident::Model, engagement::Model, Visibility)> {
    let m = get(ctx.db, incident_id).await?;
    let (e, seen) = engagement_for(ctx, m.engagement_id, action).await?;
    Ok((m, e, seen))
}

/// Whether the person may do `action` on the incidents of an engagement they see as `seen`.
pub fn allowed(ctx: &Ctx<'_>, action: Action, seen: Visibility) -> bool {
    policy::incident::authorize(&ctx.viewer, action, seen).is_ok()
}

/// An incident with its timeline, as its reader sees it.
pub async fn show(ctx: &Ctx<'_>, incident_id: Uuid) -> AppResult<(IncidentDetail, engagement::Model, Visibility)> {
    let (m, e, seen) = load(ctx, incident_id, Action::Read).await?;
    Ok((detail(ctx.db, &m, ctx.now).await?, e, seen))
}

/// Opens an incident on an engagement (anyone on it, the agency included).
pub async fn open(ctx: &Ctx<'_>, engagement_id: Uuid, input: IncidentInput) -> AppResult<IncidentDetail> {
    let (e, _) = engagement_for(ctx, engagement_id, Action::Report).await?;
    changes::open(ctx.db, ctx.now, &ctx.actor, &e, input, ctx.rules).await
}

/// Adds a note to the timeline, changing the severity if asked: raising it is anyone's on
/// the engagement, lowering it the oversight team's.
pub async fn add_update(ctx: &Ctx<'_>, incident_id: Uuid, input: UpdateInput) -> AppResult<IncidentDetail> {
    let (m, _, seen) = load(ctx, incident_id, Action::Report).await?;
    let may_lower = allowed(ctx, Action::Handle, seen);
    changes::add_update(ctx.db, ctx.now, &ctx.actor, m.id, input, ctx.rules, may_lower).await
}

/// Acknowledges an open incident (admins and leads).
pub async fn acknowledge(ctx: &Ctx<'_>, incident_id: Uuid, input: AcknowledgeInput) -> AppResult<IncidentDetail> {
    let (m, _, _) = load(ctx, incident_id, Action::Handle).await?;
    changes::acknowledge(ctx.db, ctx.now, &ctx.actor, m.id, input, ctx.rules).await
}

/// Resolves an incident with a summary (admins and leads).
pub async fn resolve(ctx: &Ctx<'_>, incident_id: Uuid, input: ResolveInput) -> AppResult<IncidentDetail> {
    let (m, _, _) = load(ctx, incident_id, Action::Handle).await?;
    changes::resolve(ctx.db, ctx.now, &ctx.actor, m.id, input, ctx.rules).await
}
