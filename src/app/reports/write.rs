//! Writing a report: creating a period's report, editing its draft (a new version after a
//! request for changes) and submitting it, each in one transaction with its audit entry, its
//! alerts reconciled and its acceptance approval opened.

use super::*;

pub(super) async fn write_content<C: ConnectionTrait>(
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
            category: Set(s.category),
            severity: Set(s.severity),
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
        status: Set(ReportStatus::Draft),
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
pub(super) fn draft_detail(
    r: &report::Model,
    v: &report_version::Model,
    content: ReportContent,
) -> AppResult<ReportDetail> {
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

pub(super) async fn new_version<C: ConnectionTrait>(
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
pub(super) async fn do_submit<C: ConnectionTrait>(
    db: &C,
    e: &engagement::Model,
    r: report::Model,
    version: report_version::Model,
    period: &crate::domain::period::Period,
    actor: &Actor,
    now: DateTime<Utc>,
    rules: &WriteRules,
) -> AppResult<report::Model> {
    let (status, late) = rules::submit(r.status, period, now)?;
    let version_id = version.id;
    evaluation::evaluate(db, evaluation::Selection::Version(version_id)).await?;
    show_version(db, r.id, version_id).await?;
    let mut v: report_version::ActiveModel = version.into();
    v.submitted_at = Set(Some(now));
    v.submitted_by = Set(actor.id);
    v.late = Set(late);
    v.update(db).await?;
    let mut a: report::ActiveModel = r.into();
    a.status = Set(status);
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
pub(super) async fn show_version<C: ConnectionTrait>(db: &C, report_id: Uuid, version_id: Uuid) -> AppResult<()> {
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
    let (status, new) = rules::edit(r.status)?;
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
    a.status = Set(status);
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
