//! Vendor reports: creation, editing, submission and review, each in one transaction with
//! its audit entry, and reads that return every version.

use crate::domain::approval::SubjectLabel;
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
    db::decode::parse,
    domain::{
        approval::{Decision, Outcome, SubjectKind},
        enums::{Channel, EngagementStatus, Language, Role},
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
            status: parse("status", &m.status)?,
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

/// The language of an engagement's reporting files (the template's headers): its internal
/// owner's language; Spanish, the product's home language, without an owner.
pub async fn file_language<C: ConnectionTrait>(db: &C, e: &engagement::Model) -> AppResult<Language> {
    let Some(owner) = e.owner_id else { return Ok(Language::Es) };
    let found: Option<String> =
        user::Entity::find_by_id(owner).select_only().column(user::Column::Language).into_tuple().one(db).await?;
    Ok(found.and_then(|l| l.parse().ok()).unwrap_or(Language::Es))
}

/// KPI sets of reporting engagements. Once an engagement reports (active, suspended or
/// ended) its KPIs change only by amendment, yet an import of 10,000 rows needed them twice
/// (to parse, then inside the write transaction to check). Each hit is confirmed by the
/// set's stamp, read in one aggregate, so a changed set is read again.
static KPI_SETS: std::sync::LazyLock<quick_cache::sync::Cache<Uuid, std::sync::Arc<KpiSet>>> =
    std::sync::LazyLock::new(|| quick_cache::sync::Cache::new(256));

pub async fn kpi_set<C: ConnectionTrait>(db: &C, e: &engagement::Model) -> AppResult<std::sync::Arc<KpiSet>> {
    let stamp: Option<(i64, Option<DateTime<Utc>>)> = kpi::Entity::find()
        .select_only()
        .column_as(kpi::Column::Id.count(), "n")
        .column_as(kpi::Column::UpdatedAt.max(), "latest")
        .filter(kpi::Column::EngagementId.eq(e.id))
        .into_tuple()
        .one(db)
        .await?;
    let stamp = stamp.unwrap_or((0, None));
    let cacheable = ensure_reporting(e).is_ok();
    if cacheable && let Some(hit) = KPI_SETS.get(&e.id).filter(|hit| hit.stamp == stamp) {
        return Ok(hit);
    }
    // Only the columns needed: an engagement may have thousands of KPIs.
    let rows: Vec<(Uuid, String, bool, serde_json::Value)> = kpi::Entity::find()
        .select_only()
        .columns([kpi::Column::Id, kpi::Column::Name, kpi::Column::AllowNegative, kpi::Column::Channels])
        .filter(kpi::Column::EngagementId.eq(e.id))
        .order_by_asc(kpi::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let (mut refs, mut rules) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
    for (id, name, allow_negative, channels) in rows {
        let channels: Vec<Channel> = serde_json::from_value(channels).map_err(anyhow::Error::from)?;
        rules.push(KpiRules { id, allow_negative, channels: channels.clone() });
        refs.push(KpiRef { id, name, channels });
    }
    let set = std::sync::Arc::new(KpiSet { stamp, refs, rules });
    if cacheable {
        KPI_SETS.insert(e.id, set.clone());
    }
    Ok(set)
}

/// Drops an engagement's cached KPI set at once (an amendment changed its KPIs). Other
/// replicas notice the change by the set's stamp.
pub fn forget_kpis(engagement_id: Uuid) {
    KPI_SETS.remove(&engagement_id);
}

/// Reports are written while the contract runs (or after it ended, for its last periods).
fn ensure_reporting(e: &engagement::Model) -> AppResult<()> {
    match parse::<EngagementStatus>("status", &e.status)? {
        EngagementStatus::Active | EngagementStatus::Suspended | EngagementStatus::Ended => Ok(()),
        _ => Err(AppError::conflict(
            "engagement",
            "engagement_not_active",
            "reports start once the engagement is active",
        )),
    }
}

async fn write_content<C: ConnectionTrait>(
    db: &C,
    r: &report::Model,
    version_id: Uuid,
    content: &ReportContent,
) -> AppResult<()> {
    let rows = content
        .values
        .iter()
        .map(|v| {
            Ok(report_value::ActiveModel {
                id: Set(Uuid::now_v7()),
                version_id: Set(version_id),
                report_id: Set(r.id),
                engagement_id: Set(r.engagement_id),
                kpi_id: Set(v.kpi_id),
                period_start: Set(r.period_start),
                value: Set(v.value),
                breakdown: Set(serde_json::to_value(&v.breakdown).map_err(anyhow::Error::from)?),
                comment: Set(v.comment.clone()),
                evidence_url: Set(v.evidence_url.clone()),
                status: Set(None),
                breach: Set(None),
                shown: Set(false),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    // Twelve columns a row: 1,000 rows stay far below every back end's bind-parameter limit.
    // The rows move into their statement rather than being copied.
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        report_value::Entity::insert_many(rows.by_ref().take(1_000)).exec_without_returning(db).await?;
    }
    let signals: Vec<_> = content
        .signals
        .iter()
        .map(|s| report_signal::ActiveModel {
            id: Set(Uuid::now_v7()),
            version_id: Set(version_id),
            report_id: Set(r.id),
            engagement_id: Set(r.engagement_id),
            category: Set(s.category.to_string()),
            severity: Set(s.severity.to_string()),
            description: Set(s.description.clone()),
            link: Set(s.link.clone()),
            shown: Set(false),
        })
        .collect();
    if !signals.is_empty() {
        report_signal::Entity::insert_many(signals).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Creates the report of a period (version 1, a draft), and submits it at once if asked
/// (`submit` carries the rules its acceptance approval and alerts need).
pub async fn create(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    engagement_id: Uuid,
    period_start: NaiveDate,
    content: ReportContent,
    submit: Option<&WriteRules>,
) -> AppResult<ReportDetail> {
    let txn = crate::db::begin_write(db).await?;
    let e = lock(&txn, engagement_id).await?;
    ensure_reporting(&e)?;
    let period = rules::reportable_period(&schedule(&e)?, period_start, now).map_err(|f| AppError::Invalid(vec![f]))?;
    let content = rules::validate_content(content, &kpi_set(&txn, &e).await?.rules)?;
    let existing = report::Entity::find()
        .filter(report::Column::EngagementId.eq(e.id))
        .filter(report::Column::PeriodStart.eq(period.start_date))
        .one(&txn)
        .await?;
    if existing.is_some() {
        return Err(AppError::conflict(
            "period_start",
            "duplicate",
            "this period already has a report; edit it instead",
        ));
    }
    let r = report::ActiveModel {
        id: Set(Uuid::now_v7()),
        engagement_id: Set(e.id),
        period_start: Set(period.start_date),
        period_end: Set(period.end_date),
        status: Set(ReportStatus::Draft.to_string()),
        version: Set(1),
        late: Set(false),
        created_by: Set(actor.id),
        created_at: Set(now),
        updated_at: Set(now),
        submitted_at: Set(None),
        accepted_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let version = new_version(&txn, &r, 1, &content, actor, now).await?;
    let (detail, warnings) = if let Some(rules) = submit {
        let r = do_submit(&txn, &e, r, version, &period, actor, now, rules).await?;
        (detail(&txn, &r).await?, Some(plausibility(&txn, &r, rules.plausibility).await?))
    } else {
        // A new draft is exactly what was just written: no need to read 10,000 values back.
        (draft_detail(&r, &version, content)?, None)
    };
    let mut record = detail.audit_record()?;
    record.warnings = warnings;
    let entry = AuditEntry::new("report.create", "report", detail.report.id).engagement(e.id).after(&record);
    audit::record(&txn, now, actor, entry).await?;
    txn.commit().await?;
    Ok(detail)
}

/// The detail of a report whose only version is the draft just written from `content`.
fn draft_detail(r: &report::Model, v: &report_version::Model, content: ReportContent) -> AppResult<ReportDetail> {
    let values = content
        .values
        .into_iter()
        .map(|x| ValueView {
            kpi_id: x.kpi_id,
            value: x.value,
            breakdown: x.breakdown,
            comment: x.comment,
            evidence_url: x.evidence_url,
            status: None,
            breach: None,
        })
        .collect();
    let signals = content
        .signals
        .into_iter()
        .map(|s| SignalView { category: s.category, severity: s.severity, description: s.description, link: s.link })
        .collect();
    Ok(ReportDetail {
        report: ReportView::try_from(r)?,
        versions: vec![VersionView {
            version: v.version,
            narrative: v.narrative.clone(),
            created_at: v.created_at,
            submitted_at: v.submitted_at,
            late: v.late,
            values,
            signals,
        }],
        reviews: vec![],
    })
}

async fn new_version<C: ConnectionTrait>(
    db: &C,
    r: &report::Model,
    number: i32,
    content: &ReportContent,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<report_version::Model> {
    let version = report_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        report_id: Set(r.id),
        version: Set(number),
        narrative: Set(content.narrative.clone()),
        created_by: Set(actor.id),
        created_at: Set(now),
        submitted_at: Set(None),
        submitted_by: Set(None),
        late: Set(false),
    }
    .insert(db)
    .await?;
    write_content(db, r, version.id, content).await?;
    Ok(version)
}

/// Submits a version: judges its values, shows it to the company, and opens the report's
/// acceptance approval (superseding the one of an earlier submission, if any).
#[allow(clippy::too_many_arguments)]
async fn do_submit<C: ConnectionTrait>(
    db: &C,
    e: &engagement::Model,
    r: report::Model,
    version: report_version::Model,
    period: &crate::domain::period::Period,
    actor: &Actor,
    now: DateTime<Utc>,
    rules: &WriteRules,
) -> AppResult<report::Model> {
    let (status, late) = rules::submit(parse("status", &r.status)?, period, now)?;
    let version_id = version.id;
    evaluation::evaluate(db, evaluation::Selection::Version(version_id)).await?;
    show_version(db, r.id, version_id).await?;
    let mut v: report_version::ActiveModel = version.into();
    v.submitted_at = Set(Some(now));
    v.submitted_by = Set(actor.id);
    v.late = Set(late);
    v.update(db).await?;
    let mut a: report::ActiveModel = r.into();
    a.status = Set(status.to_string());
    a.late = Set(late);
    a.submitted_at = Set(Some(now));
    a.updated_at = Set(now);
    let r = a.update(db).await?;
    let subject = Subject { id: r.id, label: report_label(&r), author: actor.id };
    approvals::open_in(db, now, actor, e, subject, &rules.crisis).await?;
    alerts::after_submission(db, now, &rules.notifier, e.id).await?;
    Ok(r)
}

/// Marks the values and signals of `version` as the ones the company sees, and those of the
/// report's other versions as no longer shown.
async fn show_version<C: ConnectionTrait>(db: &C, report_id: Uuid, version_id: Uuid) -> AppResult<()> {
    report_value::Entity::update_many()
        .col_expr(report_value::Column::Shown, Expr::col(report_value::Column::VersionId).eq(version_id))
        .filter(report_value::Column::ReportId.eq(report_id))
        .exec(db)
        .await?;
    report_signal::Entity::update_many()
        .col_expr(report_signal::Column::Shown, Expr::col(report_signal::Column::VersionId).eq(version_id))
        .filter(report_signal::Column::ReportId.eq(report_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Reads a report, locking it for the rest of the transaction on PostgreSQL.
async fn lock_report<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<report::Model> {
    let mut q = report::Entity::find_by_id(id);
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(db).await?.ok_or(AppError::NotFound)
}

async fn current_version<C: ConnectionTrait>(db: &C, r: &report::Model) -> AppResult<report_version::Model> {
    report_version::Entity::find()
        .filter(report_version::Column::ReportId.eq(r.id))
        .filter(report_version::Column::Version.eq(r.version))
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("report {} has no version {}", r.id, r.version)))
}

/// Replaces the content of a draft, or starts a new version after a request for changes.
pub async fn edit(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    report_id: Uuid,
    content: ReportContent,
) -> AppResult<ReportDetail> {
    let txn = crate::db::begin_write(db).await?;
    let r = lock_report(&txn, report_id).await?;
    let before = detail(&txn, &r).await?;
    let (status, new) = rules::edit(parse("status", &r.status)?)?;
    let e = engagement::Entity::find_by_id(r.engagement_id).one(&txn).await?.ok_or(AppError::NotFound)?;
    let content = rules::validate_content(content, &kpi_set(&txn, &e).await?.rules)?;
    let mut a: report::ActiveModel = r.clone().into();
    if new {
        new_version(&txn, &r, r.version + 1, &content, actor, now).await?;
        a.version = Set(r.version + 1);
    } else {
        let version = current_version(&txn, &r).await?;
        report_value::Entity::delete_many().filter(report_value::Column::VersionId.eq(version.id)).exec(&txn).await?;
        report_signal::Entity::delete_many().filter(report_signal::Column::VersionId.eq(version.id)).exec(&txn).await?;
        write_content(&txn, &r, version.id, &content).await?;
        let mut v: report_version::ActiveModel = version.into();
        v.narrative = Set(content.narrative.clone());
        v.update(&txn).await?;
    }
    a.status = Set(status.to_string());
    a.updated_at = Set(now);
    let r = a.update(&txn).await?;
    let after = detail(&txn, &r).await?;
    let entry = AuditEntry::new("report.edit", "report", r.id)
        .engagement(r.engagement_id)
        .before(&before.audit_record()?)
        .after(&after.audit_record()?);
    audit::record(&txn, now, actor, entry).await?;
    txn.commit().await?;
    Ok(after)
}

pub async fn submit(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    report_id: Uuid,
    rules: &WriteRules,
) -> AppResult<ReportDetail> {
    let txn = crate::db::begin_write(db).await?;
    let r = lock_report(&txn, report_id).await?;
    let e = lock(&txn, r.engagement_id).await?;
    let period = schedule(&e)?.period_of(r.period_start).ok_or_else(|| {
        AppError::conflict("period_start", "not_a_period", "the period is no longer part of the term")
    })?;
    let version = current_version(&txn, &r).await?;
    let r = do_submit(&txn, &e, r, version, &period, actor, now, rules).await?;
    let after = detail(&txn, &r).await?;
    let warnings = plausibility(&txn, &r, rules.plausibility).await?;
    let entry = AuditEntry::new("report.submit", "report", r.id)
        .engagement(r.engagement_id)
        .after(&serde_json::json!({ "version": r.version, "late": r.late, "warnings": warnings }));
    audit::record(&txn, now, actor, entry).await?;
    txn.commit().await?;
    Ok(after)
}

/// The reviewer's side of a report's acceptance: a decision on the current stage of the
/// report's approval, with comments per value. Accepting approves the stage (the last
/// stage's approval accepts the report); requesting changes sends it back to the agency.
#[allow(clippy::too_many_arguments)]
pub async fn review(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    (actor, role): (&Actor, Role),
    report_id: Uuid,
    decision: ReviewDecision,
    comment: Option<String>,
    value_comments: Vec<ValueComment>,
    rules: &WriteRules,
) -> AppResult<ReportDetail> {
    let txn = crate::db::begin_write(db).await?;
    let r = lock_report(&txn, report_id).await?;
    rules::review(parse("status", &r.status)?, decision)?;
    let e = engagement::Entity::find_by_id(r.engagement_id).one(&txn).await?.ok_or(AppError::NotFound)?;
    let approval = match approvals::pending_for(&txn, SubjectKind::Report, r.id).await? {
        Some(a) => a,
        // A report submitted before approvals were kept gets its approval now.
        None => {
            let subject = Subject { id: r.id, label: report_label(&r), author: r.created_by };
            approvals::open_in(&txn, now, actor, &e, subject, &rules.crisis).await?
        }
    };
    let input = DecisionInput {
        stage: approval.current_stage,
        decision: match decision {
            ReviewDecision::Accept => Decision::Approve,
            ReviewDecision::RequestChanges => Decision::RequestChanges,
        },
        // Changes asked for on single values: their comments are the decision's reason.
        comment: comment.clone().or_else(|| {
            let said: Vec<&str> = value_comments.iter().map(|c| c.comment.as_str()).collect();
            (!said.is_empty()).then(|| said.join("\n"))
        }),
    };
    let decided = approvals::decide_in(&txn, now, (actor, role), &e, approval, &input, &rules.crisis).await?;
    let r = apply_review(&txn, now, actor, r, decided.outcome, comment, value_comments).await?;
    let after = detail(&txn, &r).await?;
    txn.commit().await?;
    Ok(after)
}

/// What a report's approval is about: the period it covers.
fn report_label(r: &report::Model) -> SubjectLabel {
    SubjectLabel::Report { period_start: r.period_start, period_end: r.period_end }
}

/// Applies a decision on a report's approval inside the decision's transaction (a decision
/// through `/approvals`, without value comments).
pub async fn apply_decision<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    a: &approval::Model,
    outcome: Outcome,
    comment: Option<String>,
) -> AppResult<()> {
    let r = lock_report(txn, a.subject_id).await?;
    apply_review(txn, now, actor, r, outcome, comment, Vec::new()).await?;
    Ok(())
}

/// What a decision does to the report: when it closes the approval, the report is accepted
/// or sent back, and the review (comment and value comments) is kept with the version.
async fn apply_review<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    actor: &Actor,
    r: report::Model,
    outcome: Outcome,
    comment: Option<String>,
    value_comments: Vec<ValueComment>,
) -> AppResult<report::Model> {
    let comment = text::optional_paragraphs("comment", comment.as_deref(), rules::COMMENT_MAX)
        .map_err(|e| AppError::Invalid(vec![e]))?;
    let reported: Vec<Uuid> = report_value::Entity::find()
        .filter(report_value::Column::VersionId.eq(current_version(txn, &r).await?.id))
        .all(txn)
        .await?
        .iter()
        .map(|v| v.kpi_id)
        .collect();
    let mut errors = crate::domain::Violations::new();
    for (i, c) in value_comments.iter().enumerate() {
        if !reported.contains(&c.kpi_id) {
            errors.add(format!("value_comments[{i}].kpi_id"), "not_reported", "this report has no value for that KPI");
        }
        errors.check(text::paragraphs(&format!("value_comments[{i}].comment"), &c.comment, rules::COMMENT_MAX));
    }
    let Some(next) = rules::after_decision(outcome) else {
        if !value_comments.is_empty() {
            errors.add("value_comments", "stage_not_final", "value comments go with the last stage's decision");
        }
        errors.finish(())?;
        return Ok(r);
    };
    errors.finish(())?;
    let decision = if next == ReportStatus::Accepted { ReviewDecision::Accept } else { ReviewDecision::RequestChanges };
    report_review::ActiveModel {
        id: Set(Uuid::now_v7()),
        report_id: Set(r.id),
        version: Set(r.version),
        decision: Set(decision.to_string()),
        comment: Set(comment.unwrap_or_default()),
        value_comments: Set(serde_json::to_value(&value_comments).map_err(anyhow::Error::from)?),
        reviewer_id: Set(actor.id),
        decided_at: Set(now),
    }
    .insert(txn)
    .await?;
    let mut a: report::ActiveModel = r.into();
    a.status = Set(next.to_string());
    a.updated_at = Set(now);
    if next == ReportStatus::Accepted {
        a.accepted_at = Set(Some(now));
    }
    let r = a.update(txn).await?;
    let entry = AuditEntry::new(
        if decision == ReviewDecision::Accept { "report.accept" } else { "report.request_changes" },
        "report",
        r.id,
    )
    .engagement(r.engagement_id)
    .after(&serde_json::json!({ "version": r.version, "status": next }));
    audit::record(txn, now, actor, entry).await?;
    Ok(r)
}

pub async fn get<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<report::Model> {
    report::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)
}

/// The columns of `report_values` that [`detail`] shows: version, KPI, value, breakdown,
/// comment, evidence, status and breach.
type ValueRow = (Uuid, Uuid, f64, serde_json::Value, Option<String>, Option<String>, Option<String>, Option<String>);

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
                    status: status.as_deref().map(|s| parse("status", s)).transpose()?,
                    breach: breach.as_deref().map(|b| parse("breach", b)).transpose()?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let signals = signals
            .iter()
            .filter(|s| s.version_id == v.id)
            .map(|s| {
                Ok(SignalView {
                    category: parse("category", &s.category)?,
                    severity: parse("severity", &s.severity)?,
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
                decision: parse("decision", &x.decision)?,
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

/// The KPIs of an engagement as the import reads them (name, id, channels).
/// Puts imported figures into the period's report: a new report, or the current draft (a
/// new version after a request for changes), keeping its narrative and signals. Errors
/// about a value name the file row it came from.
pub async fn import(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    engagement_id: Uuid,
    period_start: NaiveDate,
    imported: Vec<ImportedValue>,
    submit_after: Option<&WriteRules>,
) -> AppResult<ReportDetail> {
    let rows: Vec<usize> = imported.iter().map(|v| v.row).collect();
    let values = imported
        .into_iter()
        .map(|v| ValueInput {
            kpi_id: v.kpi_id,
            value: v.value,
            breakdown: v.breakdown,
            comment: v.comment,
            evidence_url: v.evidence_url,
        })
        .collect();
    let existing = report::Entity::find()
        .filter(report::Column::EngagementId.eq(engagement_id))
        .filter(report::Column::PeriodStart.eq(period_start))
        .one(db)
        .await?;
    let result = match existing {
        None => {
            create(
                db,
                now,
                actor,
                engagement_id,
                period_start,
                ReportContent { narrative: String::new(), values, signals: vec![] },
                submit_after,
            )
            .await
        }
        Some(r) => {
            let current = detail(db, &r).await?.versions.into_iter().next();
            let (narrative, signals) = current
                .map(|v| {
                    let signals = v
                        .signals
                        .into_iter()
                        .map(|s| SignalInput {
                            category: s.category,
                            severity: s.severity,
                            description: s.description,
                            link: s.link,
                        })
                        .collect();
                    (v.narrative, signals)
                })
                .unwrap_or_default();
            let edited = edit(db, now, actor, r.id, ReportContent { narrative, values, signals }).await;
            match (edited, submit_after) {
                (Ok(_), Some(rules)) => submit(db, now, actor, r.id, rules).await,
                (other, _) => other,
            }
        }
    };
    result.map_err(|err| match err {
        AppError::Invalid(errors) => AppError::Invalid(errors.into_iter().map(|e| rename_to_row(e, &rows)).collect()),
        other => other,
    })
}

/// `values[i].value` → `rows[N].value`, where N is the file row of the i-th value.
fn rename_to_row(mut e: crate::domain::FieldError, rows: &[usize]) -> crate::domain::FieldError {
    if let Some(rest) = e.field.strip_prefix("values[")
        && let Some((index, tail)) = rest.split_once(']')
        && let Some(row) = index.parse::<usize>().ok().and_then(|i| rows.get(i))
    {
        e.field = format!("rows[{row}]{tail}");
    }
    e
}

/// A plausibility warning on one value of a report's latest version, for the reviewer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlausibilityFlag {
    pub kpi_id: Uuid,
    #[serde(flatten)]
    pub issue: Implausible,
}

/// What the plausibility checks allow (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct PlausibilityLimits {
    pub jump_factor: f64,
    pub ratio_tolerance: f64,
}

/// Flags, on the latest version's values, jumps beyond the allowed factor from the previous
/// period's submitted values, and ratio KPIs that do not match their numerator ÷ denominator
/// in the same version. Never blocks anything.
pub async fn plausibility<C: ConnectionTrait>(
    db: &C,
    r: &report::Model,
    limits: PlausibilityLimits,
) -> AppResult<Vec<PlausibilityFlag>> {
    let current = current_version(db, r).await?;
    let now = report_value::Entity::find().filter(report_value::Column::VersionId.eq(current.id)).all(db).await?;
    let before = previous_values(db, r).await?;
    let mut flags: Vec<PlausibilityFlag> = now
        .iter()
        .filter_map(|v| {
            plausibility::jump(before.get(&v.kpi_id).copied(), v.value, limits.jump_factor)
                .map(|issue| PlausibilityFlag { kpi_id: v.kpi_id, issue })
        })
        .collect();
    let reported: HashMap<Uuid, f64> = now.iter().map(|v| (v.kpi_id, v.value)).collect();
    let ratios = kpi::Entity::find()
        .filter(kpi::Column::EngagementId.eq(r.engagement_id))
        .filter(kpi::Column::RatioNumeratorId.is_not_null())
        .all(db)
        .await?;
    for k in ratios {
        let Some(ratio) = RatioOf::from_columns(k.ratio_numerator_id, k.ratio_denominator_id) else { continue };
        let (Some(value), Some(numerator), Some(denominator)) =
            (reported.get(&k.id), reported.get(&ratio.numerator_kpi_id), reported.get(&ratio.denominator_kpi_id))
        else {
            continue;
        };
        let rule = RatioRule { scale: RatioOf::scale(parse("unit", &k.unit)?), tolerance: limits.ratio_tolerance };
        if let Some(issue) = plausibility::ratio(rule, *value, *numerator, *denominator) {
            flags.push(PlausibilityFlag { kpi_id: k.id, issue });
        }
    }
    Ok(flags)
}

/// The values of the nearest earlier period whose report has a submitted version (drafts
/// do not count), looking back at most twelve periods.
async fn previous_values<C: ConnectionTrait>(db: &C, r: &report::Model) -> AppResult<HashMap<Uuid, f64>> {
    let previous = report::Entity::find()
        .filter(report::Column::EngagementId.eq(r.engagement_id))
        .filter(report::Column::PeriodStart.lt(r.period_start))
        .order_by_desc(report::Column::PeriodStart)
        .limit(12)
        .all(db)
        .await?;
    let submitted = report_version::Entity::find()
        .filter(report_version::Column::ReportId.is_in(previous.iter().map(|p| p.id)))
        .filter(report_version::Column::SubmittedAt.is_not_null())
        .all(db)
        .await?;
    let shown =
        previous.iter().find_map(|p| submitted.iter().filter(|v| v.report_id == p.id).max_by_key(|v| v.version));
    let Some(shown) = shown else { return Ok(HashMap::new()) };
    Ok(report_value::Entity::find()
        .filter(report_value::Column::VersionId.eq(shown.id))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.kpi_id, v.value))
        .collect())
}
