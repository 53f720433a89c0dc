//! Reviewing a submitted report: a decision on the current stage of its acceptance
//! approval, and what an outcome does to the report (accepted, or sent back with comments).

use super::*;

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
    rules::review(r.status, decision)?;
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
pub(super) fn report_label(r: &report::Model) -> SubjectLabel {
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
pub(super) async fn apply_review<C: ConnectionTrait>(
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
        decision: Set(decision),
        comment: Set(comment.unwrap_or_default()),
        value_comments: Set(serde_json::to_value(&value_comments).map_err(anyhow::Error::from)?),
        reviewer_id: Set(actor.id),
        decided_at: Set(now),
    }
    .insert(txn)
    .await?;
    let mut a: report::ActiveModel = r.into();
    a.status = Set(next);
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
