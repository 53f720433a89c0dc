//! Running the KPI digests: [`run`] takes the due subscriptions, builds their digests and
//! queues each exactly once.
//!
//! **Exactly once.** A subscription stores its next send instant. A run builds the digest
//! outside any transaction, then, in one transaction, moves the subscription on with a
//! compare-and-set and queues the email with the dedup key (subscription, period): a second
//! replica, a restart or a crash in the middle of a run either finds the subscription moved
//! already or the transaction undone. **Catch-up.** Sends missed while no replica ran are
//! made once each when one comes back, if they are younger than the catch-up window. Beyond
//! it, the latest missed send of each subscription goes out late (its subject says so) unless
//! it is older than its cadence; the others are skipped, and each skip is counted
//! (`veedor_digests_skipped_total{reason="missed"}`), logged and raised to the admins as a
//! `digest_skipped` alert in the transaction that moves the subscription on (`domain::digest`
//! decides which). **Fail closed.** When the data cannot be read, nothing is
//! queued: the error is recorded on the subscription, a `digest_failed` alert goes to the
//! admins, and the next run tries again.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    app::{
        alerts,
        digests::subscriptions::{self, Outcome},
        outbox::{self, NewNotification, NotificationStatus},
    },
    db::{
        audit::Actor,
        entity::{digest_subscription as sub, user},
    },
    domain::{
        alert::{AlertRule, Facts},
        digest::{CatchUp, DigestCadence, DigestPeriod, SkipReason},
        enums::Language,
    },
    error::{AppError, AppResult},
};

pub use super::content::{Builder, Built, Request};
use crate::domain::enums::Role;

/// How a run behaves (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct RunSettings {
    /// Sends missed longer ago than this are not made as usual: the latest goes out late,
    /// the others are skipped.
    pub catch_up: Duration,
    /// Draw a chart per KPI (off: the table alone).
    pub charts: bool,
}

impl RunSettings {
    /// The settings of a digest run, from the configuration.
    pub fn from_config(config: &crate::config::Config) -> RunSettings {
        RunSettings { catch_up: Duration::seconds(config.scheduler_catch_up_secs), charts: config.digest_charts }
    }
}

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct RunReport {
    /// Digests queued.
    pub queued: usize,
    /// Of those queued, the ones sent late: missed beyond the catch-up window.
    pub late: usize,
    /// Send instants passed over: unchanged, nothing to report, or missed while Veedor was
    /// down (see `digest_skipped` alerts).
    pub skipped: usize,
    /// Digests that could not be built (recorded, alerted, tried again next run).
    pub failed: usize,
    /// Subscriptions another run moved on first.
    pub raced: usize,
}

/// The most subscriptions one run takes; the rest wait for the next run.
const RUN_LIMIT: u64 = 5_000;

/// Builds and queues every digest due at `now`.
/// Runs every due digest now at a person's request (admins only; the scheduler calls [`run`]).
pub async fn run_on_request(ctx: &crate::app::context::Ctx<'_>, settings: RunSettings) -> AppResult<RunReport> {
    crate::policy::digest::authorize(&ctx.viewer, crate::policy::digest::Action::Run, ctx.viewer.user_id)?;
    run(ctx.db, &ctx.rules.notifier, ctx.now, settings).await
}

pub async fn run(
    db: &DatabaseConnection,
    notifier: &alerts::Notifier,
    now: DateTime<Utc>,
    settings: RunSettings,
) -> AppResult<RunReport> {
    let due = subscriptions::due(db, now, RUN_LIMIT).await?;
    let mut report = RunReport::default();
    if due.is_empty() {
        return Ok(report);
    }
    let ids: HashSet<Uuid> = due.iter().map(|s| s.user_id).collect();
    let users: HashMap<Uuid, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut builder = Builder::new(db, &notifier.templates, now, settings.charts);
    let mut stored: HashSet<String> = HashSet::new();
    let mut failures = false;
    for s in due {
        let mut s = s;
        // One subscription may owe several sends after downtime: each once, oldest first.
        while s.active && s.next_due_at <= now {
            let step = step(db, &mut builder, &mut stored, users.get(&s.user_id), &s, now, settings).await;
            match step {
                Ok(Step::Done { moved, outcome, late }) => {
                    let cadence = moved.cadence.as_ref().to_owned();
                    match outcome {
                        Outcome::Sent { .. } => {
                            report.queued += 1;
                            if late {
                                report.late += 1;
                                metrics::counter!("veedor_digests_late_total", "cadence" => cadence).increment(1);
                            }
                        }
                        Outcome::Skipped { count, reason } => {
                            let count = u64::try_from(count).unwrap_or(0);
                            report.skipped += usize::try_from(count).unwrap_or(0);
                            metrics::counter!(
                                "veedor_digests_skipped_total", "cadence" => cadence, "reason" => reason.to_string()
                            )
                            .increment(count);
                        }
                    }
                    s = *moved;
                }
                Ok(Step::Raced) => {
                    report.raced += 1;
                    break;
                }
                Err(e) => {
                    tracing::warn!(subscription = %s.id, error = %e, "building a digest failed; nothing sent");
                    record_failure(db, notifier, now, &s, &e.to_string()).await?;
                    report.failed += 1;
                    failures = true;
                    break;
                }
            }
        }
    }
    if !failures {
        // Failures that cleared resolve their alerts now rather than at the next evaluation.
        let txn = crate::db::begin_write(db).await?;
        alerts::reconcile_in(&txn, now, notifier, alerts::Scope::All, &[AlertRule::DigestFailed]).await?;
        txn.commit().await?;
    }
    metrics::counter!("veedor_digests_queued_total").increment(report.queued as u64);
    metrics::counter!("veedor_digests_failed_total").increment(report.failed as u64);
    Ok(report)
}

enum Step {
    /// The subscription moved on (its new state), with what happened to the send and whether
    /// it went out late.
    Done {
        moved: Box<sub::Model>,
        outcome: Outcome,
        late: bool,
    },
    Raced,
}

/// What the transaction that moves a subscription on writes besides.
enum Then {
    Nothing,
    /// Queue the digest.
    Queue(Box<NewNotification>),
    /// Tell the admins of sends skipped after downtime.
    Alert(Facts),
}

fn skipped(count: i32, reason: SkipReason) -> Outcome {
    Outcome::Skipped { count, reason }
}

async fn step(
    db: &DatabaseConnection,
    builder: &mut Builder<'_>,
    stored: &mut HashSet<String>,
    recipient: Option<&user::Model>,
    s: &sub::Model,
    now: DateTime<Utc>,
    settings: RunSettings,
) -> AppResult<Step> {
    let timing = subscriptions::timing(s)?;
    let due_at = s.next_due_at;
    let cadence = timing.cadence.kind();
    let late = match timing.catch_up(due_at, now, settings.catch_up) {
        CatchUp::OnTime => false,
        CatchUp::Late => {
            tracing::info!(subscription = %s.id, %cadence, %due_at, "a digest missed while Veedor was down goes out late");
            true
        }
        CatchUp::Skip { count, first, last, resume } => {
            tracing::info!(
                subscription = %s.id, %cadence, count, %first, %last, %resume,
                "digests missed while Veedor was down are skipped"
            );
            let to = recipient.map(|u| u.email.clone()).unwrap_or_default();
            let facts = Facts::DigestSkipped { to, cadence, count, first_due_at: first, last_due_at: last };
            let outcome = skipped(i32::try_from(count).unwrap_or(i32::MAX), SkipReason::Missed);
            return advance(db, now, s, resume, outcome, Then::Alert(facts)).await;
        }
    };
    let next = timing.next_after(due_at);
    // A recipient deactivated, or moved to the agency since subscribing, gets nothing.
    let Some(recipient) = recipient.filter(|u| u.active && u.vendor_id.is_none() && u.role != Role::Vendor) else {
        return advance(db, now, s, next, skipped(1, SkipReason::NoRecipient), Then::Nothing).await;
    };
    let period = timing.period_of(due_at);
    let engagement_ids: Option<Vec<Uuid>> =
        s.engagement_ids.clone().map(serde_json::from_value).transpose().map_err(anyhow::Error::from)?;
    let language: Language = s.language;
    let request = Request {
        recipient,
        language,
        engagement_ids: engagement_ids.as_deref(),
        period,
        cadence: cadence_name(timing.cadence),
        late,
    };
    let Some(built) = builder.build(&request, false).await? else {
        return advance(db, now, s, next, skipped(1, SkipReason::Empty), Then::Nothing).await;
    };
    if s.skip_unchanged && s.last_fingerprint.as_deref() == Some(built.fingerprint.as_str()) {
        return advance(db, now, s, next, skipped(1, SkipReason::Unchanged), Then::Nothing).await;
    }
    let fresh: Vec<_> = built.images.iter().filter(|i| !stored.contains(&i.id)).cloned().collect();
    if !fresh.is_empty() {
        outbox::store_images(db, now, &fresh).await?;
        stored.extend(fresh.into_iter().map(|i| i.id));
    }
    let outcome = Outcome::Sent { period, fingerprint: built.fingerprint.clone() };
    let queue = Then::Queue(Box::new(message(s, recipient, period, built)));
    match advance(db, now, s, next, outcome, queue).await? {
        Step::Done { moved, outcome, .. } => Ok(Step::Done { moved, outcome, late }),
        Step::Raced => Ok(Step::Raced),
    }
}

fn message(s: &sub::Model, recipient: &user::Model, period: DigestPeriod, built: Built) -> NewNotification {
    NewNotification {
        kind: "digest",
        dedup_key: Some(dedup_key(s.id, period)),
        user_id: Some(recipient.id),
        to_address: recipient.email.clone(),
        to_name: recipient.name.clone(),
        language: s.language,
        subject: built.rendered.subject,
        text: built.rendered.text,
        html: built.rendered.html,
        alert_ids: vec![],
        image_ids: built.images.iter().map(|i| i.id.clone()).collect(),
        not_before: DateTime::<Utc>::MIN_UTC,
    }
}

/// One digest per subscription and period, whatever sends it.
pub fn dedup_key(subscription: Uuid, period: DigestPeriod) -> String {
    format!("digest:{subscription}:{}..{}", period.start, period.end)
}

/// What `veedor digest send` did with a period's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// Queued now.
    New,
    /// It had failed for good: the same message is queued again.
    Again,
    /// It is queued or sent already, as it stands.
    Already(NotificationStatus),
}

/// Queues one built digest by hand (`veedor digest send`), once per subscription and
/// period: a digest of that period that failed for good is queued again (as the API's
/// resend does), one queued or sent already is left as it is.
pub async fn queue_one(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    recipient: &user::Model,
    s: &sub::Model,
    period: DigestPeriod,
    built: Built,
) -> AppResult<Queued> {
    outbox::store_images(db, now, &built.images).await?;
    let txn = crate::db::begin_write(db).await?;
    let queued = outbox::enqueue_in(&txn, now, vec![message(s, recipient, period, built)]).await?;
    txn.commit().await?;
    if queued == 1 {
        return Ok(Queued::New);
    }
    let existing = outbox::by_dedup_key(db, &dedup_key(s.id, period)).await?.ok_or(AppError::NotFound)?;
    let status: NotificationStatus = existing.status;
    if status != NotificationStatus::Failed {
        return Ok(Queued::Already(status));
    }
    let resent = outbox::resend(db, now, actor, outbox::Resend::One(existing.id)).await?;
    // Nothing moved: another resend queued it meanwhile.
    Ok(if resent.requeued.is_empty() { Queued::Already(NotificationStatus::Pending) } else { Queued::Again })
}

/// Moves the subscription on and queues its message, in one transaction that starts with
/// the compare-and-set.
async fn advance(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    s: &sub::Model,
    to: DateTime<Utc>,
    outcome: Outcome,
    then: Then,
) -> AppResult<Step> {
    let txn = crate::db::begin_write(db).await?;
    if !subscriptions::advance_in(&txn, now, s, to, &outcome).await? {
        txn.rollback().await?;
        return Ok(Step::Raced);
    }
    match then {
        Then::Nothing => {}
        Then::Queue(m) => {
            outbox::enqueue_in(&txn, now, vec![*m]).await?;
        }
        Then::Alert(facts) => alerts::digest_skipped_in(&txn, now, s.id, facts).await?,
    }
    txn.commit().await?;
    let mut moved = s.clone();
    moved.next_due_at = to;
    moved.last_error = None;
    if let Outcome::Skipped { count, .. } = outcome {
        moved.skipped += count;
    }
    Ok(Step::Done { moved: Box::new(moved), outcome, late: false })
}

async fn record_failure(
    db: &DatabaseConnection,
    notifier: &alerts::Notifier,
    now: DateTime<Utc>,
    s: &sub::Model,
    error: &str,
) -> AppResult<()> {
    let txn = crate::db::begin_write(db).await?;
    subscriptions::record_failure_in(&txn, now, s, error).await?;
    alerts::reconcile_in(&txn, now, notifier, alerts::Scope::All, &[AlertRule::DigestFailed]).await?;
    txn.commit().await?;
    Ok(())
}

pub fn cadence_name(c: DigestCadence) -> &'static str {
    match c {
        DigestCadence::Daily => "daily",
        DigestCadence::Weekly { .. } => "weekly",
        DigestCadence::Monthly { .. } => "monthly",
    }
}

/// The timing a recipient without a subscription would get (the executives' default):
/// Mondays at 08:00 in their zone.
pub fn default_timing(recipient: &user::Model) -> crate::domain::digest::DigestTiming {
    crate::domain::digest::DigestTiming {
        cadence: DigestCadence::Weekly { weekday: chrono::Weekday::Mon },
        local_time: chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
        timezone: recipient.timezone.parse().unwrap_or(chrono_tz::Tz::UTC),
    }
}

/// One digest for `recipient` over `period`, as `s` (or the default subscription) would have
/// it, without queuing anything: for previews and `veedor digest send`.
pub async fn build_one(
    db: &DatabaseConnection,
    notifier: &alerts::Notifier,
    now: DateTime<Utc>,
    recipient: &user::Model,
    s: Option<&sub::Model>,
    period: crate::domain::digest::DigestPeriod,
    charts: bool,
) -> AppResult<Option<Built>> {
    let (cadence, language, ids) = match s {
        Some(s) => (
            subscriptions::timing(s)?.cadence,
            s.language,
            s.engagement_ids
                .clone()
                .map(serde_json::from_value::<Vec<Uuid>>)
                .transpose()
                .map_err(anyhow::Error::from)?,
        ),
        None => (default_timing(recipient).cadence, recipient.language, None),
    };
    let mut builder = Builder::new(db, &notifier.templates, now, charts);
    let request = Request {
        recipient,
        language,
        engagement_ids: ids.as_deref(),
        period,
        cadence: cadence_name(cadence),
        late: false,
    };
    builder.build(&request, true).await
}

/// The HTML with its `cid:` images inlined as `data:` URIs, for a browser.
pub fn html_with_data_uris(built: &Built) -> String {
    use base64::Engine as _;
    let mut html = built.rendered.html.clone();
    for image in &built.images {
        let data = base64::engine::general_purpose::STANDARD.encode(&image.bytes);
        html = html.replace(&format!("cid:{}", image.id), &format!("data:{};base64,{data}", image.content_type));
    }
    html
}
