//! The changes to an incident without a person's authorization (the demo loader and
//! fixtures call them as `incidents::system`; people go through the requests in `mod.rs`).

use super::*;

/// The alert rules an incident's changes can fire or resolve.
pub(super) const INCIDENT_RULES: [AlertRule; 2] = [AlertRule::IncidentOpened, AlertRule::IncidentUnacknowledged];

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
        severity: Set(input.severity),
        status: Set(IncidentStatus::Open),
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
pub(super) async fn for_change<C: ConnectionTrait>(
    txn: &C,
    incident_id: Uuid,
) -> AppResult<(incident::Model, IncidentStatus)> {
    let engagement_id = get(txn, incident_id).await?.engagement_id;
    lock(txn, engagement_id).await?;
    let m = get(txn, incident_id).await?;
    let status = m.status;
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
    let from: IncidentSeverity = current.severity;
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
            a.severity = Set(to);
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
    a.status = Set(next);
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
    a.status = Set(next);
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
