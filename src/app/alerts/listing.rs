//! Reading alerts as the API and the alerts page give them, worded in the reader's language.

use super::*;

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
    pub(super) fn new(a: &alert::Model, reader: ReadBy) -> AppResult<AlertView> {
        let worded = crate::mail::alerts::worded(a, None, reader.language, reader.timezone)?;
        Ok(AlertView {
            id: a.id,
            dedup_key: a.dedup_key.clone(),
            rule: a.rule,
            severity: a.severity,
            state: a.state,
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
        q = q.filter(alert::Column::State.eq(state));
    }
    if let Some(rule) = filter.rule {
        q = q.filter(alert::Column::Rule.eq(rule));
    }
    if let Some(e) = filter.engagement_id {
        q = q.filter(alert::Column::EngagementId.eq(e));
    }
    q.all(db).await?.iter().map(|a| AlertView::new(a, reader)).collect()
}

pub async fn get<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<alert::Model> {
    alert::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)
}
