//! Silences: a rule muted for an engagement (or everywhere) for a bounded time.

use super::*;

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

pub async fn silence(ctx: &Ctx<'_>, input: SilenceInput) -> AppResult<SilenceView> {
    may_handle(ctx, input.engagement_id).await?;
    silenced(ctx.db, ctx.now, &ctx.actor, input).await
}

async fn silenced(
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
        rule: Set(input.rule),
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

pub(super) fn silence_view(m: &alert_silence::Model) -> AppResult<SilenceView> {
    Ok(SilenceView {
        id: m.id,
        rule: m.rule,
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
