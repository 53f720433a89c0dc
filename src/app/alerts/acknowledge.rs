//! Acknowledging a firing alert: no more repeats.

use super::*;

/// Acknowledges a firing alert the caller may handle: no more repeats; it still resolves
/// (and says so). An acknowledged `delivery_failed` or `digest_skipped` alert is resolved, as
/// nothing else would resolve it.
pub async fn acknowledge(ctx: &Ctx<'_>, id: Uuid, reader: ReadBy) -> AppResult<AlertView> {
    let a = get(ctx.db, id).await?;
    may_handle(ctx, a.engagement_id).await?;
    acknowledged(ctx.db, ctx.now, &ctx.actor, id, reader).await
}

async fn acknowledged(
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
    if a.state != AlertState::Firing {
        return Err(AppError::conflict("state", "not_firing", "only a firing alert is acknowledged"));
    }
    if a.acknowledged_at.is_some() {
        return Err(AppError::conflict("state", "already_acknowledged", "this alert is acknowledged already"));
    }
    let mut m: alert::ActiveModel = a.clone().into();
    m.acknowledged_at = Set(Some(now));
    m.acknowledged_by = Set(actor.id);
    if a.rule.resolves_on_acknowledgement() {
        m.state = Set(AlertState::Resolved);
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
