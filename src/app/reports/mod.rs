//! Vendor reports: creation, editing, submission and review, each in one transaction with
//! its audit entry, and reads that return every version.

mod flags;
mod import;
mod kpi_cache;
mod requests;
mod review;
mod write;

pub use flags::{PlausibilityFlag, PlausibilityLimits, plausibility};
pub use kpi_cache::{file_language, forget_kpis, kpi_set};
pub use requests::{
    Review, Shown, Then, Upload, create, edit, engagement_for, import_file, list_of, load, review, show, submit,
    system, template,
};
pub use review::apply_decision;
use review::*;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::approval::SubjectLabel;
use crate::{
    app::{
        WriteRules, alerts,
        approvals::{self, DecisionInput, Subject},
        audit::{self, Actor, AuditEntry},
        engagements::{lock, schedule},
        evaluation,
    },
    db::entity::{approval, engagement, kpi, report, report_review, report_signal, report_value, report_version, user},
};
use crate::{
    domain::{
        approval::{Decision, Outcome, SubjectKind},
        enums::{Channel, Language, Role},
        evaluation::{Breach, Status},
        import::{ImportedValue, KpiRef},
        kpi::RatioOf,
        plausibility::{self, Implausible, RatioRule},
        report::{
            self as rules, KpiRules, ReportContent, ReportStatus, ReportTransitionError, ReviewDecision, Severity,
            SignalCategory, SignalInput, ValueInput,
        },
        text,
    },
    error::{AppError, AppResult},
};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportView {
    pub id: Uuid,
    pub engagement_id: Uuid,
    /// First day of the period reported on.
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub status: ReportStatus,
    /// The latest version.
    pub version: i32,
    /// Whether the latest submission came after the due date.
    pub late: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
}

impl TryFrom<&report::Model> for ReportView {
    type Error = anyhow::Error;
    fn try_from(m: &report::Model) -> anyhow::Result<Self> {
        Ok(Self {
            id: m.id,
            engagement_id: m.engagement_id,
            period_start: m.period_start,
            period_end: m.period_end,
            status: m.status,
            version: m.version,
            late: m.late,
            created_at: m.created_at,
            updated_at: m.updated_at,
            submitted_at: m.submitted_at,
            accepted_at: m.accepted_at,
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValueView {
    pub kpi_id: Uuid,
    pub value: f64,
    pub breakdown: BTreeMap<Channel, f64>,
    pub comment: Option<String>,
    pub evidence_url: Option<String>,
    /// How the value was judged against its KPI when the version was submitted (absent on
    /// drafts).
    pub status: Option<Status>,
    pub breach: Option<Breach>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignalView {
    pub category: SignalCategory,
    pub severity: Severity,
    pub description: String,
    pub link: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionView {
    pub version: i32,
    pub narrative: String,
    pub created_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub late: bool,
    pub values: Vec<ValueView>,
    pub signals: Vec<SignalView>,
}

/// A reviewer's comment on one reported value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueComment {
    pub kpi_id: Uuid,
    pub comment: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewView {
    pub version: i32,
    pub decision: ReviewDecision,
    pub comment: String,
    pub value_comments: Vec<ValueComment>,
    pub reviewer_id: Option<Uuid>,
    pub decided_at: DateTime<Utc>,
}

/// A report with every version (newest first) and the history of review decisions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportDetail {
    #[serde(flatten)]
    pub report: ReportView,
    pub versions: Vec<VersionView>,
    pub reviews: Vec<ReviewView>,
}

/// What the audit log keeps of a report write: the report's state and a SHA-256 digest of
/// its current version's content (narrative, values, signals), not the figures themselves.
/// An import may hold 10,000 values; the version rows hold the figures, and the digest in
/// the append-only log shows whether they were changed since.
#[derive(Debug, Serialize)]
struct AuditRecord<'a> {
    #[serde(flatten)]
    report: &'a ReportView,
    values: usize,
    signals: usize,
    content_sha256: String,
    /// When the write submitted the report: the plausibility warnings raised, as kinds and
    /// numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    warnings: Option<Vec<PlausibilityFlag>>,
}

impl ReportDetail {
    fn audit_record(&self) -> AppResult<AuditRecord<'_>> {
        use sha2::{Digest, Sha256};
        let current = self.versions.first();
        let content = current.map(|v| serde_json::json!([v.narrative, v.values, v.signals])).unwrap_or_default();
        let bytes = serde_json::to_vec(&content).map_err(anyhow::Error::from)?;
        Ok(AuditRecord {
            report: &self.report,
            values: current.map_or(0, |v| v.values.len()),
            signals: current.map_or(0, |v| v.signals.len()),
            content_sha256: hex::encode(Sha256::digest(&bytes)),
            warnings: None,
        })
    }
}

impl From<ReportTransitionError> for AppError {
    fn from(e: ReportTransitionError) -> Self {
        AppError::conflict("status", "invalid_transition", e.to_string())
    }
}

/// The KPIs of an engagement as reports read them: for the import (names, channels) and
/// for the checks (sign, channels). One read, ordered by id.
#[derive(Debug)]
pub struct KpiSet {
    /// How many KPIs, and when the latest one changed: any change to the set changes this.
    stamp: (i64, Option<DateTime<Utc>>),
    pub refs: Vec<KpiRef>,
    pub rules: Vec<KpiRules>,
}

/// Reports are written while the contract runs (or after it ended, for its last periods).
fn ensure_reporting(e: &engagement::Model) -> AppResult<()> {
    if rules::takes_reports(e.status) {
        return Ok(());
    }
    Err(AppError::conflict("engagement", "engagement_not_active", "reports start once the engagement is active"))
}

pub async fn get<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<report::Model> {
    report::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)
}

/// The columns of `report_values` that [`detail`] shows: version, KPI, value, breakdown,
/// comment, evidence, status and breach.
type ValueRow = (Uuid, Uuid, f64, serde_json::Value, Option<String>, Option<String>, Option<Status>, Option<Breach>);

/// A report with all its versions and reviews, read in a fixed number of queries.
pub async fn detail<C: ConnectionTrait>(db: &C, r: &report::Model) -> AppResult<ReportDetail> {
    let versions = report_version::Entity::find()
        .filter(report_version::Column::ReportId.eq(r.id))
        .order_by_desc(report_version::Column::Version)
        .all(db)
        .await?;
    // Only the columns shown are read: a version may hold thousands of values.
    let values: Vec<ValueRow> = report_value::Entity::find()
        .select_only()
        .columns([
            report_value::Column::VersionId,
            report_value::Column::KpiId,
            report_value::Column::Value,
            report_value::Column::Breakdown,
            report_value::Column::Comment,
            report_value::Column::EvidenceUrl,
            report_value::Column::Status,
            report_value::Column::Breach,
        ])
        .filter(report_value::Column::VersionId.is_in(versions.iter().map(|v| v.id)))
        .filter(report_value::Column::ReportId.eq(r.id))
        .order_by_asc(report_value::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let signals = report_signal::Entity::find()
        .filter(report_signal::Column::EngagementId.eq(r.engagement_id))
        .filter(report_signal::Column::ReportId.eq(r.id))
        .order_by_asc(report_signal::Column::Id)
        .all(db)
        .await?;
    let reviews = report_review::Entity::find()
        .filter(report_review::Column::ReportId.eq(r.id))
        .order_by_asc(report_review::Column::DecidedAt)
        .all(db)
        .await?;
    let mut version_views = Vec::with_capacity(versions.len());
    for v in &versions {
        let values = values
            .iter()
            .filter(|x| x.0 == v.id)
            .map(|(_, kpi_id, value, breakdown, comment, evidence_url, status, breach)| {
                Ok(ValueView {
                    kpi_id: *kpi_id,
                    value: *value,
                    breakdown: serde_json::from_value(breakdown.clone())?,
                    comment: comment.clone(),
                    evidence_url: evidence_url.clone(),
                    status: *status,
                    breach: *breach,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let signals = signals
            .iter()
            .filter(|s| s.version_id == v.id)
            .map(|s| {
                Ok(SignalView {
                    category: s.category,
                    severity: s.severity,
                    description: s.description.clone(),
                    link: s.link.clone(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        version_views.push(VersionView {
            version: v.version,
            narrative: v.narrative.clone(),
            created_at: v.created_at,
            submitted_at: v.submitted_at,
            late: v.late,
            values,
            signals,
        });
    }
    let reviews = reviews
        .iter()
        .map(|x| {
            Ok(ReviewView {
                version: x.version,
                decision: x.decision,
                comment: x.comment.clone(),
                value_comments: serde_json::from_value(x.value_comments.clone())?,
                reviewer_id: x.reviewer_id,
                decided_at: x.decided_at,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(ReportDetail { report: ReportView::try_from(r)?, versions: version_views, reviews })
}

pub async fn list(db: &DatabaseConnection, engagement_id: Uuid) -> AppResult<Vec<ReportView>> {
    let rows = report::Entity::find()
        .filter(report::Column::EngagementId.eq(engagement_id))
        .order_by_asc(report::Column::PeriodStart)
        .limit(10_000)
        .all(db)
        .await?;
    Ok(rows.iter().map(ReportView::try_from).collect::<anyhow::Result<_>>()?)
}

/// The report of an engagement's period, if one was started.
pub async fn of_period(
    db: &DatabaseConnection,
    engagement_id: Uuid,
    start: NaiveDate,
) -> AppResult<Option<report::Model>> {
    Ok(report::Entity::find()
        .filter(report::Column::EngagementId.eq(engagement_id))
        .filter(report::Column::PeriodStart.eq(start))
        .one(db)
        .await?)
}

/// Reads a report, locking it for the rest of the transaction on PostgreSQL.
pub(super) async fn lock_report<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<report::Model> {
    let mut q = report::Entity::find_by_id(id);
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(db).await?.ok_or(AppError::NotFound)
}

pub(super) async fn current_version<C: ConnectionTrait>(db: &C, r: &report::Model) -> AppResult<report_version::Model> {
    report_version::Entity::find()
        .filter(report_version::Column::ReportId.eq(r.id))
        .filter(report_version::Column::Version.eq(r.version))
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("report {} has no version {}", r.id, r.version)))
}
