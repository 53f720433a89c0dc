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
    db::decode::parse,
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
    present::{
        self,
        alerts::Occasion,
        links::{self, paths},
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
        .filter(alert::Column::Rule.is_in(rules.iter().map(|r| r.to_string())))
        .filter(alert::Column::State.eq(AlertState::Firing.to_string()));
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
            Some(a) if a.state == AlertState::Firing.to_string() => {
                let climbed = ladder_climb(a, now, notifier);
                let facts = c.stored_facts();
                let phase_changed = a.facts.get("phase") != facts.get("phase");
                if climbed.is_some() || phase_changed || a.facts != facts || a.severity != c.severity.to_string() {
                    let mut m: alert::ActiveModel = a.clone().into();
                    m.facts = Set(facts);
                    m.severity = Set(c.severity.to_string());
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
        if a.state == AlertState::Firing.to_string() && !keys.contains(key.as_str()) {
            let mut m: alert::ActiveModel = a.clone().into();
            m.state = Set(AlertState::Resolved.to_string());
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
        rule: Set(c.rule.to_string()),
        engagement_id: Set(c.engagement_id),
        subject_id: Set(c.subject_id),
        ..Default::default()
    };
    fire(&mut m, c, now);
    m
}

fn fire(m: &mut alert::ActiveModel, c: &Candidate, now: DateTime<Utc>) {
    m.severity = Set(c.severity.to_string());
    m.facts = Set(c.stored_facts());
    m.state = Set(AlertState::Firing.to_string());
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
    let laddered = [AlertRule::ApprovalOverdue.to_string(), AlertRule::IncidentUnacknowledged.to_string()];
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
        .filter(alert::Column::Rule.eq(AlertRule::DeliveryFailed.to_string()))
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

// ---------------------------------------------------------------------------------------
// Conditions
// ---------------------------------------------------------------------------------------

/// The engagements a reconciliation covers: reporting ones (active or suspended).
async fn engagements_in<C: ConnectionTrait>(db: &C, scope: Scope) -> AppResult<Vec<engagement::Model>> {
    let mut q = engagement::Entity::find().filter(
        engagement::Column::Status
            .is_in([EngagementStatus::Active.to_string(), EngagementStatus::Suspended.to_string()]),
    );
    if let Scope::Engagement(id) = scope {
        q = q.filter(engagement::Column::Id.eq(id));
    }
    Ok(q.order_by_asc(engagement::Column::Id).all(db).await?)
}

/// Every alert whose condition holds now, for `rules` over `scope`.
pub async fn conditions<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    notifier: &Notifier,
    scope: Scope,
    rules: &[AlertRule],
) -> AppResult<Vec<Candidate>> {
    let mut out = Vec::new();
    if rules.contains(&AlertRule::DigestFailed) && scope == Scope::All {
        out.extend(digest_failed(db).await?);
    }
    if rules.iter().all(|r| r.is_operational()) {
        // Only the admins' rules: no engagement needs reading.
        return Ok(out);
    }
    let engagements = engagements_in(db, scope).await?;
    let ids: Vec<Uuid> = engagements.iter().map(|e| e.id).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let wants = |r: AlertRule| rules.contains(&r);
    if wants(AlertRule::ReportMissing) {
        out.extend(report_missing(db, now, &engagements).await?);
    }
    if wants(AlertRule::KpiBreach) || wants(AlertRule::ImplausibleTarget) {
        out.extend(
            kpi_rules(db, notifier, &engagements, wants(AlertRule::KpiBreach), wants(AlertRule::ImplausibleTarget))
                .await?,
        );
    }
    if wants(AlertRule::ApprovalOverdue) {
        out.extend(approval_overdue(db, now, &ids).await?);
    }
    if wants(AlertRule::ContractExpiring) {
        out.extend(contract_expiring(db, now, &engagements).await?);
    }
    if wants(AlertRule::IncidentOpened) || wants(AlertRule::IncidentUnacknowledged) {
        out.extend(
            incident_rules(db, now, &ids, wants(AlertRule::IncidentOpened), wants(AlertRule::IncidentUnacknowledged))
                .await?,
        );
    }
    if wants(AlertRule::HighSeveritySignal) {
        out.extend(high_severity_signals(db, &ids).await?);
    }
    Ok(out)
}

/// Digests that could not be built: one alert per subscription, until a digest goes out.
async fn digest_failed<C: ConnectionTrait>(db: &C) -> AppResult<Vec<Candidate>> {
    let failing = crate::app::digests::failing(db).await?;
    let users: HashMap<Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(failing.iter().map(|s| s.user_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    Ok(failing
        .into_iter()
        .map(|s| {
            let to = users.get(&s.user_id).cloned().unwrap_or_default();
            let error = s.last_error.clone().unwrap_or_default();
            Candidate {
                key: format!("digest_failed:{}", s.id),
                rule: AlertRule::DigestFailed,
                severity: AlertSeverity::Critical,
                engagement_id: None,
                subject_id: Some(s.id),
                facts: Facts::DigestFailed { to, error },
                phase: None,
            }
        })
        .collect())
}

/// Raises the admins' alert of digests skipped after downtime, in the transaction of the
/// digest run that moved the subscription on past them (so once, whatever the replicas).
pub async fn digest_skipped_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    subscription: Uuid,
    facts: Facts,
) -> AppResult<()> {
    let Facts::DigestSkipped { first_due_at, .. } = &facts else {
        return Err(anyhow::anyhow!("digest_skipped_in takes the facts of a skip").into());
    };
    let key = format!("digest_skipped:{subscription}:{}", first_due_at.timestamp());
    if alert::Entity::find().filter(alert::Column::DedupKey.eq(key.clone())).one(txn).await?.is_some() {
        return Ok(());
    }
    let c = Candidate {
        key,
        rule: AlertRule::DigestSkipped,
        severity: AlertSeverity::Warning,
        engagement_id: None,
        subject_id: Some(subscription),
        facts,
        phase: None,
    };
    new_fired(&c, now).insert(txn).await?;
    // Told at the next evaluation, with the alerts raised outside one.
    Ok(())
}

/// One alert per engagement with missing reports (`Schedule::tally`: the period ended, its
/// due date passed, nothing submitted), naming the latest missing period and how many are
/// missing. Its phase is the latest period ever found missing while the alert fires: a
/// newly missing period is news (everyone is told again); a late report arriving, which
/// makes an earlier period the latest missing one, is not.
async fn report_missing<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    engagements: &[engagement::Model],
) -> AppResult<Vec<Candidate>> {
    let ids: Vec<Uuid> = engagements.iter().map(|e| e.id).collect();
    let submitted = portfolio::submitted_reports(db, &ids).await?;
    let keys: Vec<String> = ids.iter().map(|id| format!("report_missing:{id}")).collect();
    let mut phases: HashMap<String, NaiveDate> = HashMap::new();
    for chunk in keys.chunks(500) {
        let firing = alert::Entity::find()
            .filter(alert::Column::DedupKey.is_in(chunk.iter().cloned()))
            .filter(alert::Column::State.eq(AlertState::Firing.to_string()))
            .all(db)
            .await?;
        for a in firing {
            if let Some(phase) = a.facts.get("phase").and_then(|p| p.as_str()).and_then(|p| p.parse().ok()) {
                phases.insert(a.dedup_key, phase);
            }
        }
    }
    let mut out = Vec::new();
    for e in engagements {
        let schedule = crate::app::engagements::schedule(e)?;
        let tally = schedule.tally(submitted.get(&e.id).into_iter().flatten().copied(), now);
        let Some((start, end)) = tally.missing.last().copied() else { continue };
        let due_on = schedule.due_date(end);
        let count = tally.missing.len();
        let key = format!("report_missing:{}", e.id);
        let phase = phases.get(&key).map_or(start, |told| start.max(*told));
        out.push(Candidate {
            key,
            rule: AlertRule::ReportMissing,
            severity: AlertSeverity::Warning,
            engagement_id: Some(e.id),
            subject_id: None,
            facts: Facts::ReportMissing {
                period_start: start,
                period_end: end,
                due_date: due_on,
                count: u32::try_from(count).unwrap_or(u32::MAX),
            },
            // A newly missing period is news; a late report arriving is not.
            phase: Some(json!(phase.to_string())),
        });
    }
    Ok(out)
}

async fn kpi_rules<C: ConnectionTrait>(
    db: &C,
    notifier: &Notifier,
    engagements: &[engagement::Model],
    breaches: bool,
    targets: bool,
) -> AppResult<Vec<Candidate>> {
    let ids: Vec<Uuid> = engagements.iter().map(|e| e.id).collect();
    let kpis = kpi::Entity::find().filter(kpi::Column::EngagementId.is_in(ids.clone())).all(db).await?;
    let latest = if breaches { portfolio::latest_values(db, &ids).await? } else { HashMap::new() };
    let by_id: HashMap<Uuid, &engagement::Model> = engagements.iter().map(|e| (e.id, e)).collect();
    let mut out = Vec::new();
    for k in &kpis {
        let Some(e) = by_id.get(&k.engagement_id) else { continue };
        if let Some((period, value)) = latest.get(&k.id) {
            let status = evaluation::status(&thresholds(k)?, Some(*value));
            if status == Status::Red || (notifier.breach_on_amber && status == Status::Amber) {
                let period_end = crate::app::engagements::schedule(e)?
                    .spans()
                    .into_iter()
                    .find(|(start, _)| start == period)
                    .map_or(*period, |(_, end)| end);
                out.push(Candidate {
                    key: format!("kpi_breach:{}", k.id),
                    rule: AlertRule::KpiBreach,
                    severity: AlertSeverity::Warning,
                    engagement_id: Some(e.id),
                    subject_id: Some(k.id),
                    facts: Facts::KpiBreach {
                        kpi: k.name.clone(),
                        value: *value,
                        target: k.target,
                        unit: parse("unit", &k.unit)?,
                        currency: e.currency.clone(),
                        period_start: *period,
                        period_end,
                        status,
                    },
                    phase: None,
                });
            }
        }
        if targets {
            let term_days = (e.end_date - e.start_date).num_days();
            if let Some(flag) =
                realism(parse("direction", &k.direction)?, k.baseline, k.target, term_days, notifier.max_yearly_growth)
            {
                out.push(Candidate {
                    key: format!("implausible_target:{}", k.id),
                    rule: AlertRule::ImplausibleTarget,
                    severity: AlertSeverity::Warning,
                    engagement_id: Some(e.id),
                    subject_id: Some(k.id),
                    facts: Facts::ImplausibleTarget {
                        kpi: k.name.clone(),
                        issue: flag.issue,
                        factor: flag.implied_factor,
                    },
                    phase: None,
                });
            }
        }
    }
    Ok(out)
}

async fn approval_overdue<C: ConnectionTrait>(db: &C, now: DateTime<Utc>, ids: &[Uuid]) -> AppResult<Vec<Candidate>> {
    let overdue = approval::Entity::find()
        .filter(approval::Column::EngagementId.is_in(ids.iter().copied()))
        .filter(approval::Column::Status.eq("pending"))
        .filter(approval::Column::StageDueAt.lte(now))
        .all(db)
        .await?;
    let mut out = Vec::new();
    for a in overdue {
        let stages: Vec<crate::domain::approval::Stage> =
            serde_json::from_value(a.stages.clone()).map_err(anyhow::Error::from)?;
        let stage = usize::try_from(a.current_stage).ok().and_then(|i| stages.get(i));
        out.push(Candidate {
            key: format!("approval_overdue:{}", a.id),
            rule: AlertRule::ApprovalOverdue,
            severity: AlertSeverity::Warning,
            engagement_id: Some(a.engagement_id),
            subject_id: Some(a.id),
            facts: Facts::ApprovalOverdue {
                subject: Some(crate::app::approvals::label_of(&a)?),
                title: a.title.clone(),
                stage: stage.map(|s| s.name.clone()).unwrap_or_default(),
                preset: stage.and_then(|s| s.preset),
                due_at: a.stage_due_at,
            },
            phase: Some(json!(a.current_stage)),
        });
    }
    Ok(out)
}

/// Days before the end at which a contract is said to expire, from the earliest warning.
const EXPIRY_WARNINGS: [i64; 3] = [60, 30, 7];

async fn contract_expiring<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    engagements: &[engagement::Model],
) -> AppResult<Vec<Candidate>> {
    let mut out = Vec::new();
    for e in engagements.iter().filter(|e| e.status == EngagementStatus::Active.to_string()) {
        let tz: Tz = e.timezone.parse().unwrap_or(chrono_tz::UTC);
        let days = (e.end_date - now.with_timezone(&tz).date_naive()).num_days();
        let Some(threshold) = EXPIRY_WARNINGS.iter().rev().find(|t| days <= **t && days >= 0) else { continue };
        let packet = renewal_packet(db, now, e).await?;
        out.push(Candidate {
            key: format!("contract_expiring:{}", e.id),
            rule: AlertRule::ContractExpiring,
            severity: if *threshold <= 7 { AlertSeverity::Critical } else { AlertSeverity::Warning },
            engagement_id: Some(e.id),
            subject_id: None,
            facts: Facts::ContractExpiring {
                end_date: e.end_date,
                days,
                accepted: packet.accepted,
                late: packet.late,
                missing: packet.missing,
                breaches: packet.breaches,
                incidents: packet.incidents,
            },
            phase: Some(json!(threshold)),
        });
    }
    Ok(out)
}

/// How a contract's term went, as its expiry alert tells it.
struct RenewalPacket {
    accepted: i64,
    late: i64,
    missing: i64,
    breaches: i64,
    incidents: i64,
}

/// The renewal packet an expiring contract's email carries: how the term went.
async fn renewal_packet<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    e: &engagement::Model,
) -> AppResult<RenewalPacket> {
    let ids = [e.id];
    let count = |sql: &'static str| async move {
        let rows = portfolio::query_for(db, sql, &ids).await?;
        let n: i64 = rows.first().map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
        Ok::<i64, AppError>(n)
    };
    let accepted =
        count("SELECT COUNT(*) AS n FROM reports WHERE status = 'accepted' AND engagement_id IN ({ids})").await?;

    let breaches =
        count("SELECT COUNT(*) AS n FROM report_values WHERE shown AND status = 'red' AND engagement_id IN ({ids})")
            .await?;
    let incidents = count("SELECT COUNT(*) AS n FROM incidents WHERE engagement_id IN ({ids})").await?;
    // Missing and late by the one definition (`Schedule::tally`), as everywhere else.
    let submitted = portfolio::submitted_reports(db, &ids).await?;
    let tally = crate::app::engagements::schedule(e)?.tally(submitted.get(&e.id).into_iter().flatten().copied(), now);
    Ok(RenewalPacket {
        accepted,
        late: i64::from(tally.late),
        missing: i64::from(tally.missing_count()),
        breaches,
        incidents,
    })
}

async fn incident_rules<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    ids: &[Uuid],
    opened: bool,
    unacknowledged: bool,
) -> AppResult<Vec<Candidate>> {
    let open = incident::Entity::find()
        .filter(incident::Column::EngagementId.is_in(ids.iter().copied()))
        .filter(incident::Column::Status.eq(IncidentStatus::Open.to_string()))
        .all(db)
        .await?;
    let mut out = Vec::new();
    for i in open {
        let severity: IncidentSeverity = parse("severity", &i.severity)?;
        let (title, ack_due_at) = (i.title.clone(), i.ack_due_at);
        if opened {
            out.push(Candidate {
                key: format!("incident_opened:{}", i.id),
                rule: AlertRule::IncidentOpened,
                severity: if severity >= IncidentSeverity::High {
                    AlertSeverity::Critical
                } else {
                    AlertSeverity::Warning
                },
                engagement_id: Some(i.engagement_id),
                subject_id: Some(i.id),
                facts: Facts::IncidentOpened { title: title.clone(), severity, ack_due_at },
                phase: None,
            });
        }
        if unacknowledged && now >= i.ack_due_at {
            out.push(Candidate {
                key: format!("incident_unacknowledged:{}", i.id),
                rule: AlertRule::IncidentUnacknowledged,
                severity: AlertSeverity::Critical,
                engagement_id: Some(i.engagement_id),
                subject_id: Some(i.id),
                facts: Facts::IncidentUnacknowledged { title, severity, ack_due_at },
                phase: None,
            });
        }
    }
    Ok(out)
}

async fn high_severity_signals<C: ConnectionTrait>(db: &C, ids: &[Uuid]) -> AppResult<Vec<Candidate>> {
    let rows = portfolio::query_for(
        db,
        "SELECT s.id, s.engagement_id, s.category, s.severity, s.description, r.period_start, r.period_end \
         FROM report_signals s JOIN reports r ON r.id = s.report_id \
         WHERE s.shown AND r.status = 'submitted' AND s.category IN ('risk', 'criticism') \
           AND s.severity IN ('high', 'critical') AND s.engagement_id IN ({ids})",
        ids,
    )
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let id: Uuid = r.try_get("", "id")?;
        let engagement_id: Uuid = r.try_get("", "engagement_id")?;
        let category: SignalCategory = parse("category", &r.try_get::<String>("", "category")?)?;
        let severity: Severity = parse("severity", &r.try_get::<String>("", "severity")?)?;
        let description: String = r.try_get("", "description")?;
        let (start, end): (NaiveDate, NaiveDate) = (r.try_get("", "period_start")?, r.try_get("", "period_end")?);
        out.push(Candidate {
            key: format!("signal:{id}"),
            rule: AlertRule::HighSeveritySignal,
            severity: if severity == Severity::Critical { AlertSeverity::Critical } else { AlertSeverity::Warning },
            engagement_id: Some(engagement_id),
            subject_id: Some(id),
            facts: Facts::HighSeveritySignal { category, severity, description, period_start: start, period_end: end },
            phase: None,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Notifications
// ---------------------------------------------------------------------------------------

/// A person who may receive alerts.
#[derive(Debug, Clone)]
struct Person {
    id: Uuid,
    email: String,
    name: String,
    language: Language,
    timezone: Tz,
    quiet: Option<QuietHours>,
    muted: HashSet<String>,
}

/// Who holds what on the engagements concerned.
struct Directory {
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
            roles.entry(m.engagement_id).or_default().push((parse("team_role", &m.team_role)?, m.user_id));
        }
        let approval_ids: Vec<Uuid> = alerts
            .iter()
            .filter(|a| a.rule == AlertRule::ApprovalOverdue.to_string())
            .filter_map(|a| a.subject_id)
            .collect();
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
            let muted: HashSet<String> =
                pref.and_then(|p| serde_json::from_value(p.muted_rules.clone()).ok()).unwrap_or_default();
            people.insert(
                u.id,
                Person {
                    id: u.id,
                    email: u.email,
                    name: u.name,
                    language: parse("language", &u.language)?,
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
        let rule: AlertRule = parse("rule", &a.rule)?;
        let severity: AlertSeverity = parse("severity", &a.severity)?;
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

/// One alert as an email shows it.
#[derive(Debug, Clone, Serialize)]
struct EmailAlert {
    rule: String,
    severity: String,
    engagement: String,
    /// Rule, object and engagement.
    title: String,
    /// What happened.
    what: String,
    since: String,
    resolved_at: String,
    link: String,
    repeat: bool,
}

/// Alerts due for a notification, each with why.
type Due<'a> = Vec<(&'a alert::Model, Notify)>;

/// Decides which of `alerts` are due for a notification, and queues one email per recipient
/// (two when quiet hours hold back the non-critical part). Returns how many were queued.
async fn notify_due<C: ConnectionTrait>(
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
async fn add_due_elsewhere<C: ConnectionTrait>(
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
async fn notify<C: ConnectionTrait>(
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
            state: parse("state", &a.state)?,
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
        let critical = a.severity == AlertSeverity::Critical.to_string();
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

fn render(
    notifier: &Notifier,
    directory: &Directory,
    p: &Person,
    part: &[(&alert::Model, Notify)],
    not_before: DateTime<Utc>,
) -> AppResult<NewNotification> {
    let shown: Vec<(EmailAlert, Notify)> = part
        .iter()
        .map(|(a, kind)| {
            let engagement = a.engagement_id.and_then(|e| directory.engagements.get(&e)).map(|e| e.title.as_str());
            Ok((email_alert(notifier, a, engagement, p.language, p.timezone, *kind)?, *kind))
        })
        .collect::<AppResult<_>>()?;
    let rendered = render_alerts(notifier, &p.name, p.language, p.timezone, &shown)?;
    Ok(NewNotification {
        kind: "alerts",
        dedup_key: None,
        user_id: Some(p.id),
        to_address: p.email.clone(),
        to_name: p.name.clone(),
        language: p.language.to_string(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        alert_ids: part.iter().map(|(a, _)| a.id).collect(),
        image_ids: vec![],
        not_before,
    })
}

/// One alert as an email shows it: worded and linked for the reader.
fn email_alert(
    notifier: &Notifier,
    a: &alert::Model,
    engagement: Option<&str>,
    lang: Language,
    tz: Tz,
    kind: Notify,
) -> AppResult<EmailAlert> {
    let base = &notifier.templates.brand().base_url;
    let worded = Worded::of(a, engagement, lang, tz)?;
    Ok(EmailAlert {
        rule: a.rule.clone(),
        severity: a.severity.clone(),
        engagement: engagement.map_or_else(|| notifier.templates.brand().name.clone(), str::to_string),
        title: worded.heading,
        what: worded.text,
        since: present::format::datetime(a.started_at, tz, lang),
        resolved_at: a.resolved_at.map(|t| present::format::datetime(t, tz, lang)).unwrap_or_default(),
        link: format!("{base}{}", worded.link),
        repeat: kind == Notify::Repeat,
    })
}

/// The alerts email for one reader: the firing alerts, then the resolved ones; its subject
/// names the first alert (a firing one before a resolved one) and counts the others.
fn render_alerts(
    notifier: &Notifier,
    name: &str,
    lang: Language,
    tz: Tz,
    shown: &[(EmailAlert, Notify)],
) -> AppResult<crate::mail::templates::Rendered> {
    let firing: Vec<&EmailAlert> = shown.iter().filter(|(_, k)| *k != Notify::Resolved).map(|(a, _)| a).collect();
    let resolved: Vec<&EmailAlert> = shown.iter().filter(|(_, k)| *k == Notify::Resolved).map(|(a, _)| a).collect();
    // The most pressing first: a critical firing alert, then any firing one, then a resolution.
    let lead = shown
        .iter()
        .filter(|(_, k)| *k != Notify::Resolved)
        .min_by_key(|(a, _)| a.severity != AlertSeverity::Critical.to_string())
        .or_else(|| shown.first());
    let subject = lead.map_or_else(String::new, |(a, kind)| {
        let occasion = match kind {
            Notify::Fired => Occasion::Fired,
            Notify::Repeat => Occasion::Reminder,
            Notify::Resolved => Occasion::Resolved,
        };
        let severity = if a.severity == AlertSeverity::Critical.to_string() {
            AlertSeverity::Critical
        } else {
            AlertSeverity::Warning
        };
        present::alerts::subject(&a.title, severity, occasion, shown.len() - 1, lang)
    });
    let context = json!({
        "recipient": { "name": name }, "subject": subject, "firing": firing, "resolved": resolved,
        "settings_link": format!("{}{}", notifier.templates.brand().base_url, paths::NOTIFICATIONS),
    });
    Ok(notifier.templates.render("alerts", lang, tz, &context)?)
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
    let shown: Vec<(EmailAlert, Notify)> = alerts
        .iter()
        .map(|(a, kind)| {
            let engagement = a.engagement_id.and_then(|e| titles.get(&e)).map(String::as_str);
            Ok((email_alert(notifier, a, engagement, reader.language, reader.timezone, *kind)?, *kind))
        })
        .collect::<AppResult<_>>()?;
    render_alerts(notifier, &reader.name, reader.language, reader.timezone, &shown)
}

/// An alert in words for one reader: its heading, what happened, and the page to act on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Worded {
    /// Rule and object, with the engagement: `KPI fuera de objetivo: Alcance — Comunidad`.
    pub heading: String,
    /// Rule and object: `KPI fuera de objetivo: Alcance`.
    pub title: String,
    /// What happened, with its numbers and dates formatted.
    pub text: String,
    /// The page to act on, relative to the base URL, built from the page router's paths.
    pub link: String,
}

impl Worded {
    pub fn of(a: &alert::Model, engagement: Option<&str>, lang: Language, tz: Tz) -> AppResult<Worded> {
        let facts = Facts::read(&a.facts).map_err(|e| anyhow::anyhow!("alert {}: facts: {e}", a.id))?;
        let rule: AlertRule = parse("rule", &a.rule)?;
        Ok(Worded {
            heading: present::alerts::heading(&facts, engagement, lang),
            title: present::alerts::title(&facts, lang),
            text: present::alerts::sentence(&facts, lang, tz),
            link: links::for_alert(rule, a.engagement_id, a.subject_id),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Reading, acknowledging, silencing
// ---------------------------------------------------------------------------------------

/// An alert as the API and the alerts page give it: the stable `rule` key and typed `facts`,
/// with its `title` and `text` worded in the reader's language and the `link` to act on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertView {
    pub id: Uuid,
    pub dedup_key: String,
    /// The rule's stable key (`kpi_breach`).
    pub rule: AlertRule,
    pub severity: AlertSeverity,
    pub state: AlertState,
    pub engagement_id: Option<Uuid>,
    pub subject_id: Option<Uuid>,
    /// Rule and object in the reader's language: `KPI fuera de objetivo: Alcance`.
    pub title: String,
    /// What happened, in the reader's language, numbers and dates formatted.
    pub text: String,
    /// The typed parameters the title and text are written from, tagged by `rule`.
    #[schema(value_type = Object)]
    pub facts: serde_json::Value,
    /// The page to act on, relative to the base URL.
    pub link: String,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<Uuid>,
    pub last_notified_at: Option<DateTime<Utc>>,
    pub notifications: i32,
    pub escalation_level: i32,
}

/// Whom alerts are worded for: a language and a time zone.
#[derive(Debug, Clone, Copy)]
pub struct ReadBy {
    pub language: Language,
    pub timezone: Tz,
}

impl ReadBy {
    pub fn new(language: Language, timezone: &str) -> ReadBy {
        ReadBy { language, timezone: timezone.parse().unwrap_or(chrono_tz::Europe::Madrid) }
    }
}

impl AlertView {
    fn new(a: &alert::Model, reader: ReadBy) -> AppResult<AlertView> {
        let worded = Worded::of(a, None, reader.language, reader.timezone)?;
        Ok(AlertView {
            id: a.id,
            dedup_key: a.dedup_key.clone(),
            rule: parse("rule", &a.rule)?,
            severity: parse("severity", &a.severity)?,
            state: parse("state", &a.state)?,
            engagement_id: a.engagement_id,
            subject_id: a.subject_id,
            title: worded.title,
            text: worded.text,
            facts: a.facts.clone(),
            link: worded.link,
            started_at: a.started_at,
            resolved_at: a.resolved_at,
            acknowledged_at: a.acknowledged_at,
            acknowledged_by: a.acknowledged_by,
            last_notified_at: a.last_notified_at,
            notifications: a.notifications,
            escalation_level: a.escalation_level,
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertFilter {
    pub state: Option<AlertState>,
    pub rule: Option<AlertRule>,
    pub engagement_id: Option<Uuid>,
}

/// The most alerts one answer lists.
pub const LIST_LIMIT: u64 = 500;

/// Alerts on `engagements` (and, for admins, those of no engagement), newest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
    include_global: bool,
    filter: &AlertFilter,
    reader: ReadBy,
) -> AppResult<Vec<AlertView>> {
    let mut visible = sea_orm::Condition::any().add(alert::Column::EngagementId.is_in(engagements.iter().copied()));
    if include_global {
        visible = visible.add(alert::Column::EngagementId.is_null());
    }
    let mut q = alert::Entity::find()
        .filter(visible)
        .order_by_desc(alert::Column::StartedAt)
        .order_by_desc(alert::Column::Id)
        .limit(LIST_LIMIT);
    if let Some(state) = filter.state {
        q = q.filter(alert::Column::State.eq(state.to_string()));
    }
    if let Some(rule) = filter.rule {
        q = q.filter(alert::Column::Rule.eq(rule.to_string()));
    }
    if let Some(e) = filter.engagement_id {
        q = q.filter(alert::Column::EngagementId.eq(e));
    }
    q.all(db).await?.iter().map(|a| AlertView::new(a, reader)).collect()
}

pub async fn get<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<alert::Model> {
    alert::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)
}

/// Acknowledges a firing alert: no more repeats; it still resolves (and says so). An
/// acknowledged `delivery_failed` or `digest_skipped` alert is resolved, as nothing else
/// would resolve it.
pub async fn acknowledge(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    id: Uuid,
    reader: ReadBy,
) -> AppResult<AlertView> {
    let txn = crate::db::begin_write(db).await?;
    let a = get(&txn, id).await?;
    serialise(&txn, a.engagement_id.map_or(Scope::All, Scope::Engagement)).await?;
    let a = get(&txn, id).await?;
    if a.state != AlertState::Firing.to_string() {
        return Err(AppError::conflict("state", "not_firing", "only a firing alert is acknowledged"));
    }
    if a.acknowledged_at.is_some() {
        return Err(AppError::conflict("state", "already_acknowledged", "this alert is acknowledged already"));
    }
    let mut m: alert::ActiveModel = a.clone().into();
    m.acknowledged_at = Set(Some(now));
    m.acknowledged_by = Set(actor.id);
    if parse::<AlertRule>("rule", &a.rule)?.resolves_on_acknowledgement() {
        m.state = Set(AlertState::Resolved.to_string());
        m.resolved_at = Set(Some(now));
    }
    let updated = m.update(&txn).await?;
    let entry = AuditEntry::new("alert.acknowledge", "alert", id);
    let entry = match a.engagement_id {
        Some(e) => entry.engagement(e),
        None => entry,
    };
    audit::record(&txn, now, actor, entry).await?;
    txn.commit().await?;
    AlertView::new(&updated, reader)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SilenceInput {
    pub rule: AlertRule,
    /// Omitted: every engagement (admins only).
    #[serde(default)]
    pub engagement_id: Option<Uuid>,
    pub until: DateTime<Utc>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SilenceView {
    pub id: Uuid,
    pub rule: AlertRule,
    pub engagement_id: Option<Uuid>,
    pub until: DateTime<Utc>,
    pub reason: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// Longest silence: 90 days.
pub const MAX_SILENCE_DAYS: i64 = 90;

pub async fn silence(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    input: SilenceInput,
) -> AppResult<SilenceView> {
    let mut v = crate::domain::Violations::new();
    use crate::domain::FieldError;
    if input.until <= now {
        v.add("until", "in_the_past", "a silence must end in the future");
    }
    if input.until > now + Duration::days(MAX_SILENCE_DAYS) {
        v.push(
            FieldError::new("until", "too_long", format!("at most {MAX_SILENCE_DAYS} days"))
                .with("max", MAX_SILENCE_DAYS),
        );
    }
    let reason = v.check(crate::domain::text::paragraphs("reason", &input.reason, 500));
    v.finish(())?;
    let txn = crate::db::begin_write(db).await?;
    let m = alert_silence::ActiveModel {
        id: Set(Uuid::now_v7()),
        rule: Set(input.rule.to_string()),
        engagement_id: Set(input.engagement_id),
        until: Set(input.until),
        reason: Set(reason.unwrap_or_default()),
        created_by: Set(actor.id),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let view = silence_view(&m)?;
    let entry = AuditEntry::new("alert.silence", "alert_silence", m.id)
        .after(&serde_json::to_value(&view).map_err(anyhow::Error::from)?);
    let entry = match m.engagement_id {
        Some(e) => entry.engagement(e),
        None => entry,
    };
    audit::record(&txn, now, actor, entry).await?;
    txn.commit().await?;
    Ok(view)
}

fn silence_view(m: &alert_silence::Model) -> AppResult<SilenceView> {
    Ok(SilenceView {
        id: m.id,
        rule: parse("rule", &m.rule)?,
        engagement_id: m.engagement_id,
        until: m.until,
        reason: m.reason.clone(),
        created_by: m.created_by,
        created_at: m.created_at,
    })
}

/// Silences still running on `engagements` (and global ones).
pub async fn silences(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    engagements: &[Uuid],
) -> AppResult<Vec<SilenceView>> {
    alert_silence::Entity::find()
        .filter(alert_silence::Column::Until.gt(now))
        .filter(
            sea_orm::Condition::any()
                .add(alert_silence::Column::EngagementId.is_null())
                .add(alert_silence::Column::EngagementId.is_in(engagements.iter().copied())),
        )
        .order_by_desc(alert_silence::Column::Id)
        .all(db)
        .await?
        .iter()
        .map(silence_view)
        .collect()
}

/// A user's notification preferences.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// "HH:MM" in the user's time zone; both or neither.
    #[serde(default)]
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub quiet_start: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub quiet_end: Option<String>,
    /// Non-critical rules the user receives no email for (critical alerts always arrive).
    #[serde(default)]
    pub muted_rules: Vec<AlertRule>,
}

pub async fn preferences<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<Preferences> {
    Ok(match notification_preference::Entity::find_by_id(user_id).one(db).await? {
        Some(p) => Preferences {
            quiet_start: p.quiet_start,
            quiet_end: p.quiet_end,
            muted_rules: serde_json::from_value(p.muted_rules).map_err(anyhow::Error::from)?,
        },
        None => Preferences { quiet_start: None, quiet_end: None, muted_rules: vec![] },
    })
}

pub async fn set_preferences(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    user_id: Uuid,
    input: Preferences,
) -> AppResult<Preferences> {
    if let Err(message) = QuietHours::parse(input.quiet_start.as_deref(), input.quiet_end.as_deref()) {
        let field = if input.quiet_start.is_none() { "quiet_start" } else { "quiet_end" };
        return Err(AppError::invalid(field, "invalid", message));
    }
    let mut muted = input.muted_rules.clone();
    muted.sort();
    muted.dedup();
    let txn = crate::db::begin_write(db).await?;
    let before = preferences(&txn, user_id).await?;
    let muted_json = serde_json::to_value(&muted).map_err(anyhow::Error::from)?;
    let model = notification_preference::ActiveModel {
        user_id: Set(user_id),
        quiet_start: Set(input.quiet_start.clone()),
        quiet_end: Set(input.quiet_end.clone()),
        muted_rules: Set(muted_json),
        updated_at: Set(now),
    };
    if notification_preference::Entity::find_by_id(user_id).one(&txn).await?.is_some() {
        model.update(&txn).await?;
    } else {
        model.insert(&txn).await?;
    }
    let after = Preferences { muted_rules: muted, ..input };
    let entry = AuditEntry::new("user.notification_preferences", "user", user_id).before(&before).after(&after);
    audit::record(&txn, now, actor, entry).await?;
    txn.commit().await?;
    Ok(after)
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
        .filter(alert::Column::State.eq(AlertState::Firing.to_string()))
        .group_by(alert::Column::EngagementId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(e, n)| e.map(|e| (e, n as u32))).collect())
}
