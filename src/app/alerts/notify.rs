//! Turning the alerts due for notification into emails: who hears of each alert (the
//! directory of audiences), grouping per recipient, quiet hours, and rendering through the email
//! templates in the recipient's language.

use super::*;
use crate::mail::alerts as mail_alerts;

/// A person who may receive alerts.
#[derive(Debug, Clone)]
pub(super) struct Person {
    id: Uuid,
    email: String,
    name: String,
    language: Language,
    timezone: Tz,
    quiet: Option<QuietHours>,
    muted: HashSet<AlertRule>,
}

/// Who holds what on the engagements concerned.
pub(super) struct Directory {
    engagements: HashMap<Uuid, engagement::Model>,
    roles: HashMap<Uuid, Vec<(TeamRole, Uuid)>>,
    approvers: HashMap<Uuid, Vec<Uuid>>,
    admins: Vec<Uuid>,
    people: HashMap<Uuid, Person>,
}

impl Directory {
    async fn load<C: ConnectionTrait>(db: &C, alerts: &[&alert::Model]) -> AppResult<Directory> {
        let engagement_ids: Vec<Uuid> = alerts.iter().filter_map(|a| a.engagement_id).collect();
        let engagements: HashMap<Uuid, engagement::Model> = engagement::Entity::find()
            .filter(engagement::Column::Id.is_in(engagement_ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let mut roles: HashMap<Uuid, Vec<(TeamRole, Uuid)>> = HashMap::new();
        for m in
            team_member::Entity::find().filter(team_member::Column::EngagementId.is_in(engagement_ids)).all(db).await?
        {
            roles.entry(m.engagement_id).or_default().push((m.team_role, m.user_id));
        }
        let approval_ids: Vec<Uuid> =
            alerts.iter().filter(|a| a.rule == AlertRule::ApprovalOverdue).filter_map(|a| a.subject_id).collect();
        let mut approvers = HashMap::new();
        for a in approval::Entity::find().filter(approval::Column::Id.is_in(approval_ids)).all(db).await? {
            let ids: Vec<Uuid> = serde_json::from_value(a.stage_approvers).map_err(anyhow::Error::from)?;
            approvers.insert(a.id, ids);
        }
        let admins = crate::app::users::active_admin_ids(db).await?;
        let mut wanted: HashSet<Uuid> = admins.iter().copied().collect();
        wanted.extend(roles.values().flatten().map(|(_, u)| *u));
        wanted.extend(approvers.values().flatten().copied());
        wanted.extend(engagements.values().filter_map(|e| e.owner_id));
        let prefs: HashMap<Uuid, notification_preference::Model> = notification_preference::Entity::find()
            .filter(notification_preference::Column::UserId.is_in(wanted.iter().copied()))
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.user_id, p))
            .collect();
        let mut people = HashMap::new();
        for u in user::Entity::find()
            .filter(user::Column::Id.is_in(wanted))
            .filter(user::Column::Active.eq(true))
            .all(db)
            .await?
        {
            let pref = prefs.get(&u.id);
            let quiet =
                pref.and_then(|p| QuietHours::parse(p.quiet_start.as_deref(), p.quiet_end.as_deref()).ok().flatten());
            let muted: HashSet<AlertRule> =
                pref.and_then(|p| serde_json::from_value(p.muted_rules.clone()).ok()).unwrap_or_default();
            people.insert(
                u.id,
                Person {
                    id: u.id,
                    email: u.email,
                    name: u.name,
                    language: u.language,
                    timezone: u.timezone.parse().unwrap_or(chrono_tz::Europe::Madrid),
                    quiet,
                    muted,
                },
            );
        }
        Ok(Directory { engagements, roles, approvers, admins, people })
    }

    /// The people an alert reaches, each once.
    fn recipients(&self, a: &alert::Model) -> AppResult<Vec<&Person>> {
        let rule: AlertRule = a.rule;
        let severity: AlertSeverity = a.severity;
        let category = a.facts.get("category").and_then(|c| c.as_str()).and_then(|c| c.parse().ok());
        let level = usize::try_from(a.escalation_level).unwrap_or(0);
        let mut ids: Vec<Uuid> = Vec::new();
        for audience in audiences(rule, severity, category, level) {
            match audience {
                Audience::Role(role) => ids.extend(
                    a.engagement_id
                        .and_then(|e| self.roles.get(&e))
                        .into_iter()
                        .flatten()
                        .filter(|(r, _)| *r == role)
                        .map(|(_, u)| *u),
                ),
                Audience::Owner => {
                    ids.extend(a.engagement_id.and_then(|e| self.engagements.get(&e)).and_then(|e| e.owner_id))
                }
                Audience::Approvers => {
                    ids.extend(a.subject_id.and_then(|s| self.approvers.get(&s)).into_iter().flatten().copied())
                }
                Audience::Admins => ids.extend(self.admins.iter().copied()),
            }
        }
        let mut seen = HashSet::new();
        Ok(ids.into_iter().filter(|id| seen.insert(*id)).filter_map(|id| self.people.get(&id)).collect())
    }
}

/// Alerts due for a notification, each with why.
pub(super) type Due<'a> = Vec<(&'a alert::Model, Notify)>;

/// Decides which of `alerts` are due for a notification, and queues one email per recipient
/// (two when quiet hours hold back the non-critical part). Returns how many were queued.
pub(super) async fn notify_due<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    notifier: &Notifier,
    mut alerts: Vec<alert::Model>,
    everywhere: bool,
) -> AppResult<usize> {
    if everywhere {
        add_due_elsewhere(txn, now, notifier, &mut alerts).await?;
    }
    notify(txn, now, notifier, alerts).await
}

/// Adds, from everywhere: firing alerts never told (raised outside a reconciliation, such as
/// a failed delivery), firing unacknowledged ones whose repeat interval ran out, and the
/// resolutions not told yet.
pub(super) async fn add_due_elsewhere<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    notifier: &Notifier,
    alerts: &mut Vec<alert::Model>,
) -> AppResult<()> {
    let firing = AlertState::Firing.to_string();
    let due = alert::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(
                    sea_orm::Condition::all()
                        .add(alert::Column::State.eq(firing.clone()))
                        .add(alert::Column::LastNotifiedAt.is_null()),
                )
                .add(
                    sea_orm::Condition::all()
                        .add(alert::Column::State.eq(firing))
                        .add(alert::Column::AcknowledgedAt.is_null())
                        .add(alert::Column::LastNotifiedAt.lte(now - notifier.repeat)),
                )
                .add(alert::Column::ResolutionPending.eq(true)),
        )
        .all(txn)
        .await?;
    let known: HashSet<Uuid> = alerts.iter().map(|a| a.id).collect();
    alerts.extend(due.into_iter().filter(|a| !known.contains(&a.id)));
    Ok(())
}

/// Queues the emails due for `alerts` and records that they were told.
pub(super) async fn notify<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    notifier: &Notifier,
    alerts: Vec<alert::Model>,
) -> AppResult<usize> {
    let silences = alert_silence::Entity::find().filter(alert_silence::Column::Until.gt(now)).all(txn).await?;
    let silenced = |a: &alert::Model| {
        silences.iter().any(|s| s.rule == a.rule && (s.engagement_id.is_none() || s.engagement_id == a.engagement_id))
    };
    let mut due: Vec<(&alert::Model, Notify)> = Vec::new();
    for a in &alerts {
        let life = Lifecycle {
            state: a.state,
            last_notified_at: a.last_notified_at,
            acknowledged: a.acknowledged_at.is_some(),
            silenced: silenced(a),
            resolution_pending: a.resolution_pending,
        };
        if let Some(kind) = notification_due(&life, now, notifier.repeat) {
            due.push((a, kind));
        }
    }
    if due.is_empty() {
        return Ok(0);
    }
    let directory = Directory::load(txn, &due.iter().map(|(a, _)| *a).collect::<Vec<_>>()).await?;
    // Per recipient: the critical part and the rest, each a list of (alert, kind).
    let mut per_person: BTreeMap<Uuid, (Due<'_>, Due<'_>)> = BTreeMap::new();
    for (a, kind) in &due {
        let critical = a.severity == AlertSeverity::Critical;
        for p in directory.recipients(a)? {
            if !critical && p.muted.contains(&a.rule) {
                continue;
            }
            let entry = per_person.entry(p.id).or_default();
            if critical { entry.0.push((a, *kind)) } else { entry.1.push((a, *kind)) }
        }
    }
    let mut messages = Vec::new();
    for (person_id, (critical, other)) in &per_person {
        let Some(p) = directory.people.get(person_id) else { continue };
        let release = p.quiet.map_or(now, |q| q.release_at(now, p.timezone));
        let parts: Vec<(Due<'_>, DateTime<Utc>)> = if release > now {
            vec![(critical.clone(), now), (other.clone(), release)]
        } else {
            vec![([critical.clone(), other.clone()].concat(), now)]
        };
        for (part, not_before) in parts.into_iter().filter(|(part, _)| !part.is_empty()) {
            messages.push(render(notifier, &directory, p, &part, not_before)?);
        }
    }
    let queued = outbox::enqueue_in(txn, now, messages).await?;
    for (a, kind) in due {
        let mut m: alert::ActiveModel = a.clone().into();
        match kind {
            Notify::Fired | Notify::Repeat => {
                m.last_notified_at = Set(Some(now));
                m.notifications = Set(a.notifications + 1);
            }
            Notify::Resolved => m.resolution_pending = Set(false),
        }
        m.update(txn).await?;
    }
    Ok(queued)
}

pub(super) fn render(
    notifier: &Notifier,
    directory: &Directory,
    p: &Person,
    part: &[(&alert::Model, Notify)],
    not_before: DateTime<Utc>,
) -> AppResult<NewNotification> {
    let shown: Vec<(mail_alerts::EmailAlert, Notify)> = part
        .iter()
        .map(|(a, kind)| {
            let engagement = a.engagement_id.and_then(|e| directory.engagements.get(&e)).map(|e| e.title.as_str());
            Ok((mail_alerts::email_alert(&notifier.templates, a, engagement, p.language, p.timezone, *kind)?, *kind))
        })
        .collect::<AppResult<_>>()?;
    let rendered = mail_alerts::render_alerts(&notifier.templates, &p.name, p.language, p.timezone, &shown)?;
    Ok(NewNotification {
        kind: "alerts",
        dedup_key: None,
        user_id: Some(p.id),
        to_address: p.email.clone(),
        to_name: p.name.clone(),
        language: p.language,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        alert_ids: part.iter().map(|(a, _)| a.id).collect(),
        image_ids: vec![],
        not_before,
    })
}

/// Who receives an alerts email, for [`preview`].
#[derive(Debug, Clone)]
pub struct Reader {
    pub name: String,
    pub language: Language,
    pub timezone: Tz,
}

/// The email `reader` would receive about `alerts` (each with why it is told), rendered as
/// the notifier renders it: for template previews and for the tests that follow its links.
pub async fn preview<C: ConnectionTrait>(
    db: &C,
    notifier: &Notifier,
    reader: &Reader,
    alerts: &[(alert::Model, Notify)],
) -> AppResult<crate::mail::templates::Rendered> {
    let ids: Vec<Uuid> = alerts.iter().filter_map(|(a, _)| a.engagement_id).collect();
    let titles: HashMap<Uuid, String> = engagement::Entity::find()
        .filter(engagement::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e.title))
        .collect();
    let shown: Vec<(mail_alerts::EmailAlert, Notify)> = alerts
        .iter()
        .map(|(a, kind)| {
            let engagement = a.engagement_id.and_then(|e| titles.get(&e)).map(String::as_str);
            Ok((
                mail_alerts::email_alert(&notifier.templates, a, engagement, reader.language, reader.timezone, *kind)?,
                *kind,
            ))
        })
        .collect::<AppResult<_>>()?;
    mail_alerts::render_alerts(&notifier.templates, &reader.name, reader.language, reader.timezone, &shown)
}
