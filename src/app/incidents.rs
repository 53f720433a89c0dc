//! Incidents: opening one (a critical one switches its engagement into crisis mode), its
//! timeline of updates, acknowledgement and resolution, and listings with the
//! acknowledgement SLA. Every write locks the engagement, applies `domain::incident`, writes
//! the incident, its timeline entry and the audit entry in one transaction.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Query,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

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
    db::decode::parse,
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
        let status: IncidentStatus = parse("status", &m.status)?;
        Ok(Self {
            id: m.id,
            engagement_id: m.engagement_id,
            title: m.title.clone(),
            severity: parse("severity", &m.severity)?,
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
        Ok(Self { id: m.id, kind: parse("kind", &m.kind)?, body: m.body.clone(), author_id: m.author_id, at: m.at })
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
        kind: Set(kind.to_string()),
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

/// The alert rules an incident's changes can fire or resolve.
const INCIDENT_RULES: [AlertRule; 2] = [AlertRule::IncidentOpened, AlertRule::IncidentUnacknowledged];

/// Opens an incident on an engagement, with the description as the first timeline entry.
pub async fn open(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    e: &engagement::Model,
    input: IncidentInput,
    rules: &WriteRules,
) -> AppResult<IncidentDetail> {
    let hours = &rules.ack_hours;
    let input = input.validate()?;
    let txn = crate::db::begin_write(db).await?;
    let e = lock(&txn, e.id).await?;
    let m = incident::ActiveModel {
        id: Set(Uuid::now_v7()),
        engagement_id: Set(e.id),
        title: Set(input.title),
        severity: Set(input.severity.to_string()),
        status: Set(IncidentStatus::Open.to_string()),
        opened_by: Set(actor.id),
        opened_at: Set(now),
        ack_due_at: Set(ack_due_at(now, input.severity, hours)),
        acknowledged_by: Set(None),
        acknowledged_at: Set(None),
        resolved_by: Set(None),
        resolved_at: Set(None),
        resolution: Set(None),
    }
    .insert(&txn)
    .await?;
    add_entry(&txn, now, actor, m.id, UpdateKind::Opened, input.description).await?;
    if starts_crisis(None, input.severity) {
        crisis_for(&txn, now, actor, &m).await?;
    }
    let d = detail(&txn, &m, now).await?;
    audit::record(&txn, now, actor, AuditEntry::new("incident.open", "incident", m.id).engagement(e.id).after(&d))
        .await?;
    alerts::reconcile_in(&txn, now, &rules.notifier, Scope::Engagement(e.id), &INCIDENT_RULES).await?;
    txn.commit().await?;
    Ok(d)
}

/// Reads an incident for a change inside the transaction, with its engagement locked.
async fn for_change<C: ConnectionTrait>(txn: &C, incident_id: Uuid) -> AppResult<(incident::Model, IncidentStatus)> {
    let engagement_id = get(txn, incident_id).await?.engagement_id;
    lock(txn, engagement_id).await?;
    let m = get(txn, incident_id).await?;
    let status = parse("status", &m.status)?;
    Ok((m, status))
}

/// Adds a note to the timeline, and changes the severity if asked. Lowering it needs
/// `may_lower` (the oversight team); becoming critical switches crisis mode on.
pub async fn add_update(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    incident_id: Uuid,
    input: UpdateInput,
    rules: &WriteRules,
    may_lower: bool,
) -> AppResult<IncidentDetail> {
    let hours = &rules.ack_hours;
    let input = input.validate()?;
    let txn = crate::db::begin_write(db).await?;
    let (current, status) = for_change(&txn, incident_id).await?;
    let from: IncidentSeverity = parse("severity", &current.severity)?;
    let to = input.severity.filter(|s| *s != from);
    transition(status, if to.is_some() { IncidentAction::ChangeSeverity } else { IncidentAction::Note })?;
    if to.is_some_and(|to| to < from) && !may_lower {
        return Err(AppError::forbidden("only the company's admins and leads lower an incident's severity"));
    }
    let before = IncidentView::new(&current, now)?;
    add_entry(&txn, now, actor, incident_id, UpdateKind::Note, input.body).await?;
    let m = match to {
        None => current,
        Some(to) => {
            add_entry(&txn, now, actor, incident_id, UpdateKind::SeverityChanged, format!("{from} → {to}")).await?;
            let mut a: incident::ActiveModel = current.clone().into();
            a.severity = Set(to.to_string());
            if status == IncidentStatus::Open {
                a.ack_due_at = Set(rescheduled_ack_due_at(current.opened_at, current.ack_due_at, now, from, to, hours));
            }
            let m = a.update(&txn).await?;
            if starts_crisis(Some(from), to) {
                crisis_for(&txn, now, actor, &m).await?;
            }
            m
        }
    };
    let d = detail(&txn, &m, now).await?;
    let entry = AuditEntry::new("incident.update", "incident", m.id).engagement(m.engagement_id).before(&before);
    audit::record(&txn, now, actor, entry.after(&d)).await?;
    alerts::reconcile_in(&txn, now, &rules.notifier, Scope::Engagement(m.engagement_id), &INCIDENT_RULES).await?;
    txn.commit().await?;
    Ok(d)
}

/// The company acknowledges the incident: it has seen it and owns it.
pub async fn acknowledge(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    incident_id: Uuid,
    input: AcknowledgeInput,
    rules: &WriteRules,
) -> AppResult<IncidentDetail> {
    let input = input.validate()?;
    let txn = crate::db::begin_write(db).await?;
    let (current, status) = for_change(&txn, incident_id).await?;
    let next = transition(status, IncidentAction::Acknowledge)?;
    let before = IncidentView::new(&current, now)?;
    let mut a: incident::ActiveModel = current.into();
    a.status = Set(next.to_string());
    a.acknowledged_by = Set(actor.id);
    a.acknowledged_at = Set(Some(now));
    let m = a.update(&txn).await?;
    add_entry(&txn, now, actor, incident_id, UpdateKind::Acknowledged, input.note.unwrap_or_default()).await?;
    let d = detail(&txn, &m, now).await?;
    let entry = AuditEntry::new("incident.acknowledge", "incident", m.id).engagement(m.engagement_id).before(&before);
    audit::record(&txn, now, actor, entry.after(&d)).await?;
    alerts::reconcile_in(&txn, now, &rules.notifier, Scope::Engagement(m.engagement_id), &INCIDENT_RULES).await?;
    txn.commit().await?;
    Ok(d)
}

/// Resolves the incident with a summary. An incident resolved while still open counts as
/// acknowledged at the same instant.
pub async fn resolve(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    incident_id: Uuid,
    input: ResolveInput,
    rules: &WriteRules,
) -> AppResult<IncidentDetail> {
    let input = input.validate()?;
    let txn = crate::db::begin_write(db).await?;
    let (current, status) = for_change(&txn, incident_id).await?;
    let next = transition(status, IncidentAction::Resolve)?;
    let before = IncidentView::new(&current, now)?;
    let mut a: incident::ActiveModel = current.clone().into();
    a.status = Set(next.to_string());
    if current.acknowledged_at.is_none() {
        a.acknowledged_by = Set(actor.id);
        a.acknowledged_at = Set(Some(now));
    }
    a.resolved_by = Set(actor.id);
    a.resolved_at = Set(Some(now));
    a.resolution = Set(Some(input.summary.clone()));
    let m = a.update(&txn).await?;
    add_entry(&txn, now, actor, incident_id, UpdateKind::Resolved, input.summary).await?;
    let d = detail(&txn, &m, now).await?;
    let entry = AuditEntry::new("incident.resolve", "incident", m.id).engagement(m.engagement_id).before(&before);
    audit::record(&txn, now, actor, entry.after(&d)).await?;
    alerts::reconcile_in(&txn, now, &rules.notifier, Scope::Engagement(m.engagement_id), &INCIDENT_RULES).await?;
    txn.commit().await?;
    Ok(d)
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

/// Incidents, newest first.
pub async fn list(
    db: &DatabaseConnection,
    within: Within<'_>,
    filter: IncidentFilter,
    page: PageRequest,
    now: DateTime<Utc>,
) -> AppResult<Page<IncidentView>> {
    let mut q = incident::Entity::find().order_by_desc(incident::Column::Id).limit(page.limit + 1);
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
    if let Some(after) = page.after {
        q = q.filter(incident::Column::Id.lt(after));
    }
    if let Some(status) = filter.status {
        q = q.filter(incident::Column::Status.eq(status.to_string()));
    }
    if let Some(severity) = filter.severity {
        q = q.filter(incident::Column::Severity.eq(severity.to_string()));
    }
    let open = IncidentStatus::Open.to_string();
    match filter.overdue {
        None => {}
        Some(true) => q = q.filter(incident::Column::Status.eq(open)).filter(incident::Column::AckDueAt.lte(now)),
        Some(false) => {
            q = q
                .filter(Condition::any().add(incident::Column::Status.ne(open)).add(incident::Column::AckDueAt.gt(now)))
        }
    }
    let rows = q.all(db).await?;
    Ok(page.page(rows, |m| m.id, |m| IncidentView::new(m, now))?)
}
