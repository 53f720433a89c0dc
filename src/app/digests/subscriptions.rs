//! Digest subscriptions: who receives which digest, when (the next send instant, computed in
//! the recipient's time zone by `domain::digest`), and how the last one went. The digest run
//! (`crate::app::digests::run::run`) takes due subscriptions and moves each on with a compare-and-set,
//! so a send instant is handled once whatever the number of replicas.

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::digest::CadenceKind;
use crate::{
    app::{
        audit::{self, Actor, AuditEntry},
        context::Ctx,
        engagements,
    },
    db::entity::{digest_subscription as sub, user},
};
use crate::{
    domain::{
        FieldError, Violations,
        confidentiality::Viewer,
        digest::{DigestCadence, DigestPeriod, DigestTiming, SkipReason},
        enums::{Language, Role},
    },
    error::{AppError, AppResult},
    policy::digest::{Action, authorize},
};

/// What a subscription says; `PUT` replaces all of it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    /// The recipient (admins only; by default the caller). Cannot change on `PUT`.
    #[serde(default)]
    pub user_id: Option<Uuid>,
    pub cadence: DigestCadence,
    /// Local send time, "HH:MM" (default 08:00).
    #[serde(default)]
    pub local_time: Option<String>,
    /// IANA time zone (default: the recipient's).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Default: the recipient's language.
    #[serde(default)]
    pub language: Option<Language>,
    /// The engagements covered; omitted or null: every engagement the recipient may see.
    #[serde(default)]
    pub engagement_ids: Option<Vec<Uuid>>,
    /// Send nothing for a period whose digest would say exactly what the last one said.
    #[serde(default)]
    pub skip_unchanged: bool,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: Uuid,
    pub user_id: Uuid,
    pub cadence: DigestCadence,
    pub local_time: String,
    pub timezone: String,
    pub language: Language,
    pub engagement_ids: Option<Vec<Uuid>>,
    pub skip_unchanged: bool,
    pub active: bool,
    /// When the next digest goes out.
    pub next_due_at: DateTime<Utc>,
    pub last_sent_at: Option<DateTime<Utc>>,
    /// The period of the last digest queued, `start..end`.
    pub last_period: Option<String>,
    /// Why the last attempt failed (cleared by the next success).
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Digests not sent: unchanged, nothing to report, or missed while Veedor was down (beyond
    /// the catch-up window, and superseded by a later one or older than their cadence).
    pub skipped: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SubscriptionFilter {
    /// Admins: one recipient's subscriptions (others always see their own).
    pub user_id: Option<Uuid>,
}

/// The parts of a subscription the timing needs, from its row.
pub fn timing(m: &sub::Model) -> AppResult<DigestTiming> {
    let cadence = match m.cadence {
        CadenceKind::Daily => DigestCadence::Daily,
        CadenceKind::Weekly => DigestCadence::Weekly {
            weekday: m
                .weekday
                .as_deref()
                .unwrap_or("Mon")
                .parse::<Weekday>()
                .map_err(|_| anyhow::anyhow!("stored weekday {:?}", m.weekday))?,
        },
        CadenceKind::Monthly => DigestCadence::Monthly { day: u32::try_from(m.month_day.unwrap_or(1)).unwrap_or(1) },
    };
    Ok(DigestTiming {
        cadence,
        local_time: NaiveTime::parse_from_str(&m.local_time, "%H:%M").map_err(anyhow::Error::from)?,
        timezone: m.timezone.parse().map_err(|_| anyhow::anyhow!("stored time zone {}", m.timezone))?,
    })
}

pub fn view(m: &sub::Model) -> AppResult<SubscriptionView> {
    Ok(SubscriptionView {
        id: m.id,
        user_id: m.user_id,
        cadence: timing(m)?.cadence,
        local_time: m.local_time.clone(),
        timezone: m.timezone.clone(),
        language: m.language,
        engagement_ids: m
            .engagement_ids
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(anyhow::Error::from)?,
        skip_unchanged: m.skip_unchanged,
        active: m.active,
        next_due_at: m.next_due_at,
        last_sent_at: m.last_sent_at,
        last_period: m.last_period.clone(),
        last_error: m.last_error.clone(),
        last_error_at: m.last_error_at,
        skipped: m.skipped,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

pub fn viewer_of(u: &user::Model) -> AppResult<Viewer> {
    Ok(Viewer { user_id: u.id, role: u.role, vendor_id: u.vendor_id })
}

/// A subscription's settings, checked: what its row is made of.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub user_id: Uuid,
    pub cadence: DigestCadence,
    /// "HH:MM".
    pub local_time: String,
    pub timezone: String,
    pub language: Language,
    pub engagement_ids: Option<Vec<Uuid>>,
    pub skip_unchanged: bool,
    pub active: bool,
}

impl NewSubscription {
    /// The new row, first due at `next_due_at`.
    pub fn row(self, next_due_at: DateTime<Utc>, now: DateTime<Utc>) -> sub::ActiveModel {
        let (cadence, weekday, month_day) = cadence_columns(self.cadence);
        sub::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(self.user_id),
            cadence: Set(cadence),
            weekday: Set(weekday),
            month_day: Set(month_day),
            local_time: Set(self.local_time),
            timezone: Set(self.timezone),
            language: Set(self.language),
            engagement_ids: Set(self.engagement_ids.map(|ids| serde_json::json!(ids))),
            skip_unchanged: Set(self.skip_unchanged),
            active: Set(self.active),
            next_due_at: Set(next_due_at),
            last_sent_at: Set(None),
            last_period: Set(None),
            last_fingerprint: Set(None),
            last_error: Set(None),
            last_error_at: Set(None),
            skipped: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
        }
    }

    /// The first send instant after `now`.
    pub fn next_due(&self, now: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
        let timing = DigestTiming {
            cadence: self.cadence,
            local_time: NaiveTime::parse_from_str(&self.local_time, "%H:%M").map_err(anyhow::Error::from)?,
            timezone: self.timezone.parse().map_err(|_| anyhow::anyhow!("time zone {}", self.timezone))?,
        };
        Ok(timing.next_after(now))
    }
}

async fn check(
    db: &DatabaseConnection,
    recipient: &user::Model,
    input: &SubscriptionInput,
) -> AppResult<NewSubscription> {
    let mut v = Violations::new();
    let role: Role = recipient.role;
    if role == Role::Vendor {
        v.add("user_id", "not_allowed", "digests are for the company's users, not the agency's");
    }
    if !recipient.active {
        v.add("user_id", "inactive", "the user is deactivated");
    }
    let cadence = match input.cadence.validate() {
        Ok(c) => Some(c),
        Err(message) => {
            v.push(FieldError::new("cadence.day", "out_of_range", message).with("min", 1).with("max", 31));
            None
        }
    };
    let local_time = input.local_time.clone().unwrap_or_else(|| "08:00".into());
    if NaiveTime::parse_from_str(&local_time, "%H:%M").is_err() || local_time.len() != 5 {
        v.add("local_time", "invalid", "a local time as HH:MM, e.g. 08:00");
    }
    let timezone = match &input.timezone {
        Some(tz) => v.check(crate::domain::text::timezone("timezone", tz)),
        None => Some(recipient.timezone.clone()),
    };
    let language = match input.language {
        Some(l) => l,
        None => recipient.language,
    };
    if let Some(ids) = &input.engagement_ids {
        if ids.len() > 500 {
            v.push(FieldError::new("engagement_ids", "too_many", "at most 500 engagements").with("max", 500));
        }
        if role != Role::Vendor {
            let visible: std::collections::HashSet<Uuid> =
                engagements::visible(db, &viewer_of(recipient)?).await?.iter().map(|e| e.id).collect();
            for (i, id) in ids.iter().enumerate() {
                if !visible.contains(id) {
                    v.add(format!("engagement_ids[{i}]"), "not_visible", "the recipient may not see this engagement");
                }
            }
        }
    }
    let mut ids = input.engagement_ids.clone();
    if let Some(ids) = ids.as_mut() {
        ids.sort();
        ids.dedup();
    }
    v.finish(())?;
    Ok(NewSubscription {
        user_id: recipient.id,
        cadence: cadence.unwrap_or(DigestCadence::Daily),
        local_time,
        timezone: timezone.unwrap_or_default(),
        language,
        engagement_ids: ids,
        skip_unchanged: input.skip_unchanged,
        active: input.active,
    })
}

fn cadence_columns(c: DigestCadence) -> (CadenceKind, Option<String>, Option<i32>) {
    match c {
        DigestCadence::Daily => (CadenceKind::Daily, None, None),
        DigestCadence::Weekly { weekday } => (CadenceKind::Weekly, Some(weekday.to_string()), None),
        DigestCadence::Monthly { day } => (CadenceKind::Monthly, None, i32::try_from(day).ok()),
    }
}

pub async fn recipient(db: &DatabaseConnection, id: Uuid) -> AppResult<user::Model> {
    user::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::invalid("user_id", "unknown", "no such user"))
}

async fn create(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    recipient: &user::Model,
    input: SubscriptionInput,
) -> AppResult<SubscriptionView> {
    let c = check(db, recipient, &input).await?;
    let next = c.next_due(now)?;
    let txn = crate::db::begin_write(db).await?;
    let m = c.row(next, now).insert(&txn).await?;
    let view = view(&m)?;
    audit::record(&txn, now, actor, AuditEntry::new("digest.subscribe", "digest_subscription", m.id).after(&view))
        .await?;
    txn.commit().await?;
    Ok(view)
}

pub async fn get<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<sub::Model> {
    sub::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)
}

/// The subscription `id` if `viewer` may manage it: one they may not see answers exactly as
/// an id that does not exist (404), on the API and the pages alike.
pub async fn managed(db: &DatabaseConnection, viewer: &Viewer, id: Uuid) -> AppResult<sub::Model> {
    let s = get(db, id).await?;
    crate::policy::digest::authorize(viewer, crate::policy::digest::Action::Manage, s.user_id)?;
    Ok(s)
}

async fn update(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    existing: &sub::Model,
    input: SubscriptionInput,
) -> AppResult<SubscriptionView> {
    if input.user_id.is_some_and(|u| u != existing.user_id) {
        return Err(AppError::invalid("user_id", "immutable", "a subscription's recipient cannot change"));
    }
    let recipient = recipient(db, existing.user_id).await?;
    let c = check(db, &recipient, &input).await?;
    let next = c.next_due(now)?;
    let (cadence, weekday, month_day) = cadence_columns(c.cadence);
    let txn = crate::db::begin_write(db).await?;
    let before = view(existing)?;
    let mut m: sub::ActiveModel = existing.clone().into();
    m.cadence = Set(cadence);
    m.weekday = Set(weekday);
    m.month_day = Set(month_day);
    m.local_time = Set(c.local_time.clone());
    m.timezone = Set(c.timezone.clone());
    m.language = Set(c.language);
    m.engagement_ids = Set(c.engagement_ids.as_ref().map(|ids| serde_json::json!(ids)));
    m.skip_unchanged = Set(c.skip_unchanged);
    m.active = Set(c.active);
    // New timing: the next send is computed afresh from now (what is already queued stays).
    m.next_due_at = Set(next);
    m.updated_at = Set(now);
    let m = m.update(&txn).await?;
    let after = view(&m)?;
    let entry = AuditEntry::new("digest.update", "digest_subscription", m.id).before(&before).after(&after);
    audit::record(&txn, now, actor, entry).await?;
    txn.commit().await?;
    Ok(after)
}

async fn delete(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, existing: &sub::Model) -> AppResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let before = view(existing)?;
    sub::Entity::delete_by_id(existing.id).exec(&txn).await?;
    audit::record(
        &txn,
        now,
        actor,
        AuditEntry::new("digest.delete", "digest_subscription", existing.id).before(&before),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The subscriptions of `whose` (default: the caller's own); `None` lists everyone's for an
/// admin. Another user's list is a 404 to anyone but admins.
pub async fn listed(ctx: &Ctx<'_>, whose: Option<Uuid>) -> AppResult<Vec<SubscriptionView>> {
    let owner = whose.unwrap_or(ctx.viewer.user_id);
    authorize(&ctx.viewer, Action::Manage, owner)?;
    let scope = match (ctx.viewer.role, whose) {
        (Role::Admin, None) => None,
        _ => Some(owner),
    };
    list(ctx.db, scope).await
}

/// Subscribes `input.user_id` (default: the caller). Only admins subscribe other users.
pub async fn subscribe(ctx: &Ctx<'_>, input: SubscriptionInput) -> AppResult<SubscriptionView> {
    let owner = input.user_id.unwrap_or(ctx.viewer.user_id);
    if owner != ctx.viewer.user_id && ctx.viewer.role != Role::Admin {
        return Err(AppError::forbidden("only admins subscribe other users"));
    }
    authorize(&ctx.viewer, Action::Manage, owner)?;
    let recipient = recipient(ctx.db, owner).await?;
    create(ctx.db, ctx.now, &ctx.actor, &recipient, input).await
}

/// A subscription the caller may manage.
pub async fn read(ctx: &Ctx<'_>, id: Uuid) -> AppResult<SubscriptionView> {
    view(&managed(ctx.db, &ctx.viewer, id).await?)
}

/// Replaces a subscription the caller may manage; its next send is computed afresh.
pub async fn change(ctx: &Ctx<'_>, id: Uuid, input: SubscriptionInput) -> AppResult<SubscriptionView> {
    let existing = managed(ctx.db, &ctx.viewer, id).await?;
    update(ctx.db, ctx.now, &ctx.actor, &existing, input).await
}

/// Deletes a subscription the caller may manage.
pub async fn unsubscribe(ctx: &Ctx<'_>, id: Uuid) -> AppResult<()> {
    let existing = managed(ctx.db, &ctx.viewer, id).await?;
    delete(ctx.db, ctx.now, &ctx.actor, &existing).await
}

/// The engagements a subscription of `owner` may cover (those the recipient sees), for the
/// form; the caller must be allowed to manage `owner`'s subscriptions.
pub async fn coverable(ctx: &Ctx<'_>, owner: Uuid) -> AppResult<Vec<(Uuid, String)>> {
    authorize(&ctx.viewer, Action::Manage, owner)?;
    let recipient_viewer =
        if owner == ctx.viewer.user_id { ctx.viewer } else { viewer_of(&recipient(ctx.db, owner).await?)? };
    Ok(engagements::visible(ctx.db, &recipient_viewer).await?.into_iter().map(|e| (e.id, e.title)).collect())
}

async fn list(db: &DatabaseConnection, user_id: Option<Uuid>) -> AppResult<Vec<SubscriptionView>> {
    let mut q = sub::Entity::find().order_by_asc(sub::Column::Id).limit(2_000);
    if let Some(u) = user_id {
        q = q.filter(sub::Column::UserId.eq(u));
    }
    q.all(db).await?.iter().map(view).collect()
}

/// Gives an executive who joins a team the default weekly digest (Mondays at 08:00 in their
/// zone and language), unless they have a subscription already.
pub async fn ensure_default_in<C: ConnectionTrait>(txn: &C, now: DateTime<Utc>, u: &user::Model) -> AppResult<bool> {
    if u.role != Role::Executive {
        return Ok(false);
    }
    if sub::Entity::find().filter(sub::Column::UserId.eq(u.id)).one(txn).await?.is_some() {
        return Ok(false);
    }
    let c = NewSubscription {
        user_id: u.id,
        cadence: DigestCadence::Weekly { weekday: Weekday::Mon },
        local_time: "08:00".into(),
        timezone: u.timezone.clone(),
        language: u.language,
        engagement_ids: None,
        skip_unchanged: false,
        active: true,
    };
    let next = c.next_due(now)?;
    c.row(next, now).insert(txn).await?;
    Ok(true)
}

/// Active subscriptions whose next digest is due at `now`, oldest first.
pub async fn due(db: &DatabaseConnection, now: DateTime<Utc>, limit: u64) -> AppResult<Vec<sub::Model>> {
    Ok(sub::Entity::find()
        .filter(sub::Column::Active.eq(true))
        .filter(sub::Column::NextDueAt.lte(now))
        .order_by_asc(sub::Column::NextDueAt)
        .order_by_asc(sub::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// How a due send instant ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Queued, with the content's fingerprint.
    Sent { period: DigestPeriod, fingerprint: String },
    /// Not sent, for `reason`: `count` send instants.
    Skipped { count: i32, reason: SkipReason },
}

/// Moves a subscription from the send instant `from` to `to` if no one else did (the
/// compare-and-set every replica relies on); false when another run got there first. Call
/// it first in the transaction that queues the digest, so both happen or neither.
pub async fn advance_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    s: &sub::Model,
    to: DateTime<Utc>,
    outcome: &Outcome,
) -> AppResult<bool> {
    let mut update = sub::Entity::update_many()
        .col_expr(sub::Column::NextDueAt, to.into())
        .col_expr(sub::Column::LastError, Option::<String>::None.into())
        .col_expr(sub::Column::LastErrorAt, Option::<DateTime<Utc>>::None.into())
        .filter(sub::Column::Id.eq(s.id))
        .filter(sub::Column::NextDueAt.eq(s.next_due_at));
    update = match outcome {
        Outcome::Sent { period, fingerprint } => update
            .col_expr(sub::Column::LastSentAt, Some(now).into())
            .col_expr(sub::Column::LastPeriod, Some(format!("{}..{}", period.start, period.end)).into())
            .col_expr(sub::Column::LastFingerprint, Some(fingerprint.clone()).into()),
        Outcome::Skipped { count, .. } => update.col_expr(sub::Column::Skipped, (s.skipped + count).into()),
    };
    Ok(update.exec(txn).await?.rows_affected == 1)
}

/// Records why a digest could not be built; the subscription stays due and is tried again.
pub async fn record_failure_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    s: &sub::Model,
    error: &str,
) -> AppResult<()> {
    sub::Entity::update_many()
        .col_expr(sub::Column::LastError, Some(error.chars().take(2_000).collect::<String>()).into())
        .col_expr(sub::Column::LastErrorAt, Some(now).into())
        .filter(sub::Column::Id.eq(s.id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Subscriptions whose last attempt failed, for the `digest_failed` alert.
pub async fn failing<C: ConnectionTrait>(db: &C) -> AppResult<Vec<sub::Model>> {
    Ok(sub::Entity::find().filter(sub::Column::LastError.is_not_null()).all(db).await?)
}

/// A user's first subscription (for previews).
pub async fn first_of(db: &DatabaseConnection, user_id: Uuid) -> AppResult<Option<sub::Model>> {
    Ok(sub::Entity::find().filter(sub::Column::UserId.eq(user_id)).order_by_asc(sub::Column::Id).one(db).await?)
}
