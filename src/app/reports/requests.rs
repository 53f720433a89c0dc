//! What a person asks of reports, each authorized here once for every surface: the JSON API
//! and the pages call these and nothing else. An engagement the person may not see answers
//! 404 (as an id that names nothing); one they see but may not act on answers 403.
//!
//! The functions under [`system`] are the same changes without a person (the demo loader,
//! fixtures): they authorize nothing.

use super::*;
use crate::{
    app::{Ctx, engagements},
    domain::{
        confidentiality::Visibility,
        import::{self as import_rules, ImportLimits},
    },
    policy::{self, engagement::Action as EngagementAction, report::Action},
};

/// What to do with a report once its content is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    KeepDraft,
    Submit,
}

/// Loads an engagement for `action` on its reports.
pub async fn engagement_for(
    ctx: &Ctx<'_>,
    engagement_id: Uuid,
    action: Action,
) -> AppResult<(engagement::Model, Visibility)> {
    let (e, seen) = engagements::load(ctx.db, &ctx.viewer, engagement_id, EngagementAction::Read).await?;
    policy::report::authorize(&ctx.viewer, action, seen)?;
    Ok((e, seen))
}

/// Loads a report and its engagement for `action`.
pub async fn load(
    ctx: &Ctx<'_>,
    report_id: Uuid,
    action: Action,
) -> AppResult<(report::Model, engagement::Model, Visibility)> {
    let r = get(ctx.db, report_id).await?;
    let (e, seen) = engagement_for(ctx, r.engagement_id, action).await?;
    Ok((r, e, seen))
}

/// The reports of an engagement, by period.
pub async fn list_of(ctx: &Ctx<'_>, engagement_id: Uuid) -> AppResult<Vec<ReportView>> {
    let (e, _) = engagement_for(ctx, engagement_id, Action::Read).await?;
    list(ctx.db, e.id).await
}

/// A report with every version, its review history and the plausibility flags of its
/// latest version.
pub struct Shown {
    pub report: report::Model,
    pub engagement: engagement::Model,
    pub seen: Visibility,
    pub detail: ReportDetail,
    pub plausibility: Vec<PlausibilityFlag>,
}

/// A report as its reader sees it.
pub async fn show(ctx: &Ctx<'_>, report_id: Uuid) -> AppResult<Shown> {
    let (r, e, seen) = load(ctx, report_id, Action::Read).await?;
    let plausibility = plausibility(ctx.db, &r, ctx.rules.plausibility).await?;
    let detail = detail(ctx.db, &r).await?;
    Ok(Shown { report: r, engagement: e, seen, detail, plausibility })
}

/// Reports on a period (the agency), as a draft or submitted at once.
pub async fn create(
    ctx: &Ctx<'_>,
    engagement_id: Uuid,
    period_start: NaiveDate,
    content: ReportContent,
    then: Then,
) -> AppResult<ReportDetail> {
    let (e, _) = engagement_for(ctx, engagement_id, Action::Write).await?;
    let submit = (then == Then::Submit).then_some(ctx.rules);
    system::create(ctx.db, ctx.now, &ctx.actor, e.id, period_start, content, submit).await
}

/// Replaces the content of a draft (a new version after a request for changes), and
/// submits it if asked.
pub async fn edit(ctx: &Ctx<'_>, report_id: Uuid, content: ReportContent, then: Then) -> AppResult<ReportDetail> {
    let (r, _, _) = load(ctx, report_id, Action::Write).await?;
    let edited = system::edit(ctx.db, ctx.now, &ctx.actor, r.id, content).await?;
    match then {
        Then::KeepDraft => Ok(edited),
        Then::Submit => system::submit(ctx.db, ctx.now, &ctx.actor, r.id, ctx.rules).await,
    }
}

/// Submits the current version; after the due date it is accepted but marked late.
pub async fn submit(ctx: &Ctx<'_>, report_id: Uuid) -> AppResult<ReportDetail> {
    let (r, _, _) = load(ctx, report_id, Action::Write).await?;
    system::submit(ctx.db, ctx.now, &ctx.actor, r.id, ctx.rules).await
}

/// What a reviewer decides on a submitted report.
pub struct Review {
    pub decision: ReviewDecision,
    pub comment: Option<String>,
    pub value_comments: Vec<ValueComment>,
}

/// A decision on the current stage of the report's acceptance approval.
pub async fn review(ctx: &Ctx<'_>, report_id: Uuid, review: Review) -> AppResult<ReportDetail> {
    let (r, _, _) = load(ctx, report_id, Action::Review).await?;
    let decider = (&ctx.actor, ctx.viewer.role);
    let Review { decision, comment, value_comments } = review;
    system::review(ctx.db, ctx.now, decider, r.id, decision, comment, value_comments, ctx.rules).await
}

/// The CSV template of the engagement's KPIs, with headers in `language` (default: the
/// engagement's, which is its internal owner's language).
pub async fn template(ctx: &Ctx<'_>, engagement_id: Uuid, language: Option<Language>) -> AppResult<Vec<u8>> {
    let (e, _) = engagement_for(ctx, engagement_id, Action::Read).await?;
    let lang = match language {
        Some(lang) => lang,
        None => file_language(ctx.db, &e).await?,
    };
    Ok(import_rules::template_csv(&kpi_set(ctx.db, &e).await?.refs, lang))
}

/// An uploaded file of a period's figures.
pub struct Upload<'f> {
    pub file_name: &'f str,
    pub bytes: &'f [u8],
    pub period_start: NaiveDate,
}

/// Imports a period's figures from a CSV or XLSX file: all or nothing, every error named by
/// the file's row and column.
pub async fn import_file(
    ctx: &Ctx<'_>,
    engagement_id: Uuid,
    upload: Upload<'_>,
    then: Then,
) -> AppResult<ReportDetail> {
    let (e, _) = engagement_for(ctx, engagement_id, Action::Write).await?;
    let values = read_upload(ctx, &e, &upload).await?;
    let submit = (then == Then::Submit).then_some(ctx.rules);
    system::import(ctx.db, ctx.now, &ctx.actor, e.id, upload.period_start, values, submit).await
}

/// The figures of an uploaded file, checked against the engagement's KPIs (size, format,
/// rows), without writing anything; a file over the size limit is a `file` error.
async fn read_upload(ctx: &Ctx<'_>, e: &engagement::Model, upload: &Upload<'_>) -> AppResult<Vec<ImportedValue>> {
    let limits = ImportLimits::default();
    let kpis = kpi_set(ctx.db, e).await?;
    import_rules::parse(upload.file_name, upload.bytes, &kpis.refs, &limits)
        .map_err(|err| AppError::from(err.violations()))
}

/// The changes without a person: for the demo loader and fixtures, which act for people
/// they name themselves. Nothing here authorizes.
pub mod system {
    pub use super::super::{
        import::import,
        review::review,
        write::{create, edit, submit},
    };
}
