//! Each user's notification preferences (quiet hours, what they hear of).

use super::*;

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
