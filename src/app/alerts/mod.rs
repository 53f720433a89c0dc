//! Alerts: finding what fires, keeping each alert's lifecycle, and turning what is due into
//! emails in the outbox, in the same transaction.
//!
//! Every rule of SPEC §4 is a condition over the stored facts ([`conditions`]). Reconciling a
//! rule over a scope (one engagement, or everything) fires the alerts whose condition holds,
//! keeps the ones still holding, and resolves the others. Writes reconcile the rules they can
//! change for their engagement inside their own transaction (a submitted report, an incident
//! opened or acknowledged, a decision); [`evaluate_alerts`], called every minute, reconciles
//! every rule everywhere, climbs the escalation ladder and sends the repeats. Alert writes are
//! serialised (an advisory lock on PostgreSQL, the write lock on SQLite), so two replicas
//! evaluating at once decide each notification once.
//!
//! Notifications are grouped: everything due for one recipient in one reconciliation is one
//! email (critical alerts apart from others held by the recipient's quiet hours).

mod acknowledge;
mod conditions;
mod listing;
mod notify;
mod preferences;
mod silences;

pub use acknowledge::acknowledge;
pub use conditions::{conditions, digest_skipped_in};
pub use listing::{AlertFilter, AlertView, LIST_LIMIT, ReadBy, get, list};
use notify::notify_due;
pub use notify::{Reader, preview};
pub use preferences::{Preferences, preferences, set_preferences};
pub use silences::{MAX_SILENCE_DAYS, SilenceInput, SilenceView, silence, silences};

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    app::{
        audit::{self, Actor, AuditEntry},
        context::Ctx,
        engagements,
        evaluation::thresholds,
        outbox::{self, NewNotification},
        portfolio,
    },
    db::entity::{
        alert, alert_silence, approval, engagement, incident, kpi, notification, notification_preference, team_member,
        user,
    },
};
use crate::{
    config::Config,
    domain::{
        alert::{
            AlertRule, AlertSeverity, AlertState, Audience, Candidate, Facts, Lifecycle, Notify, QuietHours, audiences,
            ladder_level, notification_due, resolution_to_notify,
        },
        enums::{EngagementStatus, Language, TeamRole},
        evaluation::{self, Status},
        incident::{IncidentSeverity, IncidentStatus},
        kpi::realism,
        report::{Severity, SignalCategory},
    },
    error::{AppError, AppResult},
    mail::{Templates, templates::Brand},
    policy::{
        alert::{Action, authorize},
        engagement::Action as EngagementAction,
    },
};

/// Turns alerts into emails: the templates and the lifecycle's intervals.
#[derive(Debug, Clone)]
pub struct Notifier {
    pub templates: Templates,
    pub repeat: Duration,
    pub escalation_step: Duration,
    /// Notify amber values as breaches too (by default only red ones).
    pub breach_on_amber: bool,
    pub max_yearly_growth: f64,
}

impl Notifier {
    pub fn from_config(config: &Config) -> anyhow::Result<Notifier> {
        let brand = Brand {
            name: config.brand_name.clone(),
            logo_url: config.brand_logo_url.clone(),
            colour: config.brand_colour.clone(),
            base_url: config.base_url.trim_end_matches('/').to_string(),
        };
        Ok(Notifier {
            templates: Templates::load(config.templates_dir.as_ref().map(|d| d.join("email")), brand)?,
            repeat: Duration::hours(config.alert_repeat_hours),
            escalation_step: Duration::hours(config.alert_escalation_hours),
            breach_on_amber: config.alert_breach_on_amber,
            max_yearly_growth: config.realism_max_yearly_growth,
        })
    }
}

/// Where a reconciliation looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Engagement(Uuid),
}

/// What one reconciliation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Evaluation {
    pub fired: usize,
    pub resolved: usize,
    pub emails: usize,
}

/// Serialises alert writes over `scope` for the rest of the transaction, across replicas, on
/// PostgreSQL (SQLite's write transactions are serialised already): a global reconciliation
/// excludes every other; reconciliations of different engagements run side by side (a
/// report submitted on one engagement does not wait for another's).
async fn serialise<C: ConnectionTrait>(txn: &C, scope: Scope) -> AppResult<()> {
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let sql = match scope {
        Scope::All => "SELECT pg_advisory_xact_lock(7242001)".to_string(),
        Scope::Engagement(id) => {
            let key = i32::from_be_bytes(id.as_bytes()[12..16].try_into().unwrap_or([0; 4]));
            format!("SELECT pg_advisory_xact_lock_shared(7242001), pg_advisory_xact_lock(7242, {key})")
        }
    };
    txn.execute_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await?;
    Ok(())
}

/// Every rule, everywhere: the job the scheduler runs every minute (tests call it with their
/// own clock). Also sends the repeats of alerts still firing and climbs the ladder.
pub async fn evaluate_alerts(
    db: &DatabaseConnection,
    notifier: &Notifier,
    now: DateTime<Utc>,
) -> AppResult<Evaluation> {
    let txn = crate::db::begin_write(db).await?;
    let result = reconcile_in(&txn, now, notifier, Scope::All, &all_rules()).await?;
    txn.commit().await?;
    Ok(result)
}

fn all_rules() -> Vec<AlertRule> {
    use strum::IntoEnumIterator;
    AlertRule::iter().filter(|r| r.is_reconciled()).collect()
}

/// The rules a submitted report can change, reconciled for its engagement in the
/// submission's transaction: breaches, high-severity signals, the period no longer missing.
pub async fn after_submission<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    notifier: &Notifier,
    engagement_id: Uuid,
) -> AppResult<()> {
    let rules = [AlertRule::KpiBreach, AlertRule::HighSeveritySignal, AlertRule::ReportMissing];
    reconcile_in(txn, now, notifier, Scope::Engagement(engagement_id), &rules).await.map(|_| ())
}

/// Reconciles `rules` over `scope` inside the caller's transaction and queues the emails due.
pub async fn reconcile_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    notifier: &Notifier,
    scope: Scope,
    rules: &[AlertRule],
) -> AppResult<Evaluation> {
    serialise(txn, scope).await?;
    let candidates = conditions(txn, now, notifier, scope, rules).await?;
    let keys: HashSet<&str> = candidates.iter().map(|c| c.key.as_str()).collect();
    // The firing alerts of these rules in scope (to resolve), and the stored rows of the
    // candidates (to keep or fire again): resolved history is not read.
    let mut firing_q = alert::Entity::find()
        .filter(alert::Column::Rule.is_in(rules.iter().copied()))
        .filter(alert::Column::State.eq(AlertState::Firing));
    if let Scope::Engagement(id) = scope {
        firing_q = firing_q.filter(alert::Column::EngagementId.eq(id));
    }
    let mut existing: HashMap<String, alert::Model> =
        firing_q.all(txn).await?.into_iter().map(|a| (a.dedup_key.clone(), a)).collect();
    let unknown: Vec<String> = keys.iter().filter(|k| !existing.contains_key(**k)).map(|k| k.to_string()).collect();
    for chunk in unknown.chunks(500) {
        for a in alert::Entity::find().filter(alert::Column::DedupKey.is_in(chunk.iter().cloned())).all(txn).await? {
            existing.insert(a.dedup_key.clone(), a);
        }
    }
    let mut result = Evaluation::default();
    let mut touched = Vec::new();
    for c in &candidates {
        match existing.get(&c.key) {
            Some(a) if a.state == AlertState::Firing => {
                let climbed = ladder_climb(a, now, notifier);
                let facts = c.stored_facts();
                let phase_changed = a.facts.get("phase") != facts.get("phase");
                if climbed.is_some() || phase_changed || a.facts != facts || a.severity != c.severity {
                    let mut m: alert::ActiveModel = a.clone().into();
                    m.facts = Set(facts);
                    m.severity = Set(c.severity);
                    m.last_seen_at = Set(now);
                    if let Some(level) = climbed {
                        m.escalation_level = Set(level);
                    }
                    if climbed.is_some() || phase_changed {
                        // A new rung or phase is news: tell everyone concerned again.
                        m.last_notified_at = Set(None);
                    }
                    touched.push(m.update(txn).await?);
                } else {
                    touched.push(a.clone());
                }
            }
            Some(a) => {
                let mut m: alert::ActiveModel = a.clone().into();
                fire(&mut m, c, now);
                touched.push(m.update(txn).await?);
                result.fired += 1;
            }
            None => {
                touched.push(new_fired(c, now).insert(txn).await?);
                result.fired += 1;
            }
        }
    }
    for (key, a) in &existing {
        if a.state == AlertState::Firing && !keys.contains(key.as_str()) {
            let mut m: alert::ActiveModel = a.clone().into();
            m.state = Set(AlertState::Resolved);
            m.resolved_at = Set(Some(now));
            m.resolution_pending = Set(resolution_to_notify(a.last_notified_at));
            touched.push(m.update(txn).await?);
            result.resolved += 1;
        }
    }
    // Repeats and resolutions still to tell elsewhere are the global evaluation's.
    result.emails = notify_due(txn, now, notifier, touched, scope == Scope::All).await?;
    Ok(result)
}

/// A new alert row for `c`, firing from `now`.
fn new_fired(c: &Candidate, now: DateTime<Utc>) -> alert::ActiveModel {
    let mut m = alert::ActiveModel {
        id: Set(Uuid::now_v7()),
        dedup_key: Set(c.key.clone()),
        rule: Set(c.rule),
        engagement_id: Set(c.engagement_id),
        subject_id: Set(c.subject_id),
        ..Default::default()
    };
    fire(&mut m, c, now);
    m
}

fn fire(m: &mut alert::ActiveModel, c: &Candidate, now: DateTime<Utc>) {
    m.severity = Set(c.severity);
    m.facts = Set(c.stored_facts());
    m.state = Set(AlertState::Firing);
    m.started_at = Set(now);
    m.last_seen_at = Set(now);
    m.resolved_at = Set(None);
    m.acknowledged_at = Set(None);
    m.acknowledged_by = Set(None);
    m.last_notified_at = Set(None);
    m.notifications = Set(0);
    m.resolution_pending = Set(false);
    m.escalation_level = Set(0);
}

/// The new rung of a laddered alert, when it climbed one.
fn ladder_climb(a: &alert::Model, now: DateTime<Utc>, notifier: &Notifier) -> Option<i32> {
    let laddered = [AlertRule::ApprovalOverdue, AlertRule::IncidentUnacknowledged];
    if !laddered.contains(&a.rule) {
        return None;
    }
    let level = i32::try_from(ladder_level(a.started_at, now, notifier.escalation_step)).unwrap_or(0);
    (level > a.escalation_level).then_some(level)
}

/// Raises the admin alert of a message given up for good, in the worker's transaction.
pub async fn delivery_failed_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    failed: &notification::Model,
) -> AppResult<()> {
    // One row per failed message, and a message is recorded by one worker (its lease): no
    // other write touches this key.
    // A message that told of failed deliveries does not raise another alert: when the mail
    // server refuses everything, that would never end.
    let carried: Vec<Uuid> = serde_json::from_value(failed.alert_ids.clone()).unwrap_or_default();
    let about_failures = alert::Entity::find()
        .filter(alert::Column::Id.is_in(carried))
        .filter(alert::Column::Rule.eq(AlertRule::DeliveryFailed))
        .one(txn)
        .await?;
    if about_failures.is_some() {
        return Ok(());
    }
    let key = format!("delivery_failed:{}", failed.id);
    if alert::Entity::find().filter(alert::Column::DedupKey.eq(key.clone())).one(txn).await?.is_some() {
        return Ok(());
    }
    let reply = failed.last_error.clone().unwrap_or_default();
    let c = Candidate {
        key,
        rule: AlertRule::DeliveryFailed,
        severity: AlertSeverity::Critical,
        engagement_id: None,
        subject_id: Some(failed.id),
        facts: Facts::DeliveryFailed { to: failed.to_address.clone(), reply, subject: failed.subject.clone() },
        phase: None,
    };
    new_fired(&c, now).insert(txn).await?;
    // The admins hear of it at the next evaluation: not through the server that just failed
    // in this very transaction's worker.
    Ok(())
}

/// Firing alerts per engagement, for the home page.
pub async fn firing_counts<C: ConnectionTrait>(db: &C, engagements: &[Uuid]) -> AppResult<HashMap<Uuid, u32>> {
    if engagements.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Option<Uuid>, i64)> = alert::Entity::find()
        .select_only()
        .column(alert::Column::EngagementId)
        .column_as(alert::Column::Id.count(), "n")
        .filter(alert::Column::EngagementId.is_in(engagements.iter().copied()))
        .filter(alert::Column::State.eq(AlertState::Firing))
        .group_by(alert::Column::EngagementId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(e, n)| e.map(|e| (e, n as u32))).collect())
}

/// Who may handle an alert: on an engagement, whoever may read its governance (else 404)
/// and handles alerts; an alert of no engagement (operations), admins.
async fn may_handle(ctx: &Ctx<'_>, engagement_id: Option<Uuid>) -> AppResult<()> {
    if let Some(e) = engagement_id {
        engagements::load(ctx.db, &ctx.viewer, e, EngagementAction::ReadGovernance).await?;
    }
    authorize(&ctx.viewer, Action::Handle, engagement_id.is_none())
}
