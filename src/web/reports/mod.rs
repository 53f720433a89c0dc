//! The report pages: the agency writes a period's report in a form or uploads it as a
//! CSV/XLSX file (row errors shown on the file's own rows), answers a request for changes,
//! and the company's leads review each value with its target, status and plausibility flags.
//!
//! Every handler authorizes exactly as `crate::http::reports` does (the engagement is
//! loaded for reading, then `policy::report::authorize`) and writes through the same store
//! functions, so a page never allows what the API refuses.

mod form;
mod list;
mod show;
mod upload;

use std::collections::BTreeMap;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use super::error::{PageError, PageResult};
use super::kit::path_id as parse_id;
use crate::present::links::paths;
use crate::{
    app::{engagements, kpis, reports},
    auth::Principal,
    db::entity::{engagement, report},
    domain::{
        FieldError, confidentiality::Visibility, enums::Language, import::ImportLimits, period::Period, report as rules,
    },
    error::AppError,
    policy::report::Action,
    present::catalog::{self as i18n, catalog},
    state::AppState,
    views::KpiView,
};

pub fn router() -> Router<AppState> {
    // An upload may exceed the default body limit; the import enforces its own.
    let upload_limit = DefaultBodyLimit::max(ImportLimits::default().max_upload_bytes + 64 * 1024);
    Router::new()
        .route(paths::ENGAGEMENT_REPORTS, get(list::page).post(form::create))
        .route(paths::REPORT_NEW, get(form::new))
        .route(paths::REPORT_IMPORT, post(upload::import).layer(upload_limit))
        .route(paths::REPORT, get(show::page).post(form::update))
        .route(paths::REPORT_REVIEW, post(show::review))
}

/// Loads an engagement the caller may do `action` on its reports (404 when hidden).
async fn engagement_for(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: Action,
) -> PageResult<(engagement::Model, Visibility)> {
    Ok(reports::engagement_for(&state.ctx(principal), id, action).await?)
}

/// Loads a report and its engagement, checking the caller may do `action` on it.
async fn report_for(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: Action,
) -> PageResult<(report::Model, engagement::Model, Visibility)> {
    Ok(reports::load(&state.ctx(principal), id, action).await?)
}

/// The report of an engagement's period, if one was started.
async fn report_of_period(
    state: &AppState,
    engagement_id: Uuid,
    start: NaiveDate,
) -> PageResult<Option<report::Model>> {
    Ok(crate::app::reports::of_period(&state.db, engagement_id, start).await?)
}

/// A period of the engagement that may be reported on now (a validation error otherwise).
fn reportable(state: &AppState, e: &engagement::Model, start: NaiveDate) -> PageResult<Period> {
    let schedule = engagements::schedule(e)?;
    rules::reportable_period(&schedule, start, state.clock.now()).map_err(|f| AppError::Invalid(vec![f]).into())
}

/// Where to go after a write: the report, with a one-line confirmation.
fn to_report(id: Uuid, notice: &str) -> Response {
    Redirect::to(&format!("/reports/{id}?notice={notice}")).into_response()
}

/// Whether the caller may do `action` on the reports of an engagement seen as `seen`.
fn allowed(principal: &Principal, action: Action, seen: Visibility) -> bool {
    crate::policy::report::authorize(&principal.viewer(), action, seen).is_ok()
}

/// Whether the engagement takes reports (the rule the use cases apply).
fn reporting(e: &engagement::Model) -> bool {
    rules::takes_reports(e.status)
}

/// The engagement's KPIs, as the form and the review show them.
async fn kpi_list(state: &AppState, e: &engagement::Model) -> PageResult<Vec<KpiView>> {
    Ok(kpis::list(&state.db, e, state.config.realism_max_yearly_growth).await?)
}

/// What the pages show of the engagement a report belongs to.
#[derive(Debug, Serialize)]
struct EngagementBrief {
    id: Uuid,
    title: String,
    currency: String,
}

impl From<&engagement::Model> for EngagementBrief {
    fn from(e: &engagement::Model) -> Self {
        Self { id: e.id, title: e.title.clone(), currency: e.currency.clone() }
    }
}

/// `key` in `lang` with its placeholders filled; the key itself if it is missing (the
/// catalogue test catches that).
fn tr(key: &str, lang: Language, values: &[(&str, String)]) -> String {
    let text = catalog().ok().and_then(|c| c.get(key, lang)).unwrap_or(key);
    i18n::fill(text, values)
}

/// A validation message in the visitor's language: the area's own wording
/// (`rep.error.<field>.<code>`, `rep.error.<code>`) first, see `present::errors`.
fn say(error: &FieldError, lang: Language) -> String {
    crate::present::errors::describe(error, lang, Some("rep"))
}

/// The field errors of a refused write, if it was refused for its input (a validation
/// error, or a conflict naming fields); other errors become the error page.
fn refused_fields(err: AppError) -> Result<Vec<FieldError>, PageError> {
    match err {
        AppError::Invalid(errors) => Ok(errors),
        AppError::Conflict { errors, .. } | AppError::Malformed { errors, .. } if !errors.is_empty() => Ok(errors),
        other => Err(other.into()),
    }
}

/// One line of an error summary: a link to the field and what is wrong with it.
#[derive(Debug, Clone, Serialize)]
struct SummaryLine {
    /// The id of the field (`f-<name>`), or empty when the error belongs to no field.
    target: String,
    label: String,
    message: String,
}

/// Errors by field name (for the fields) and as a summary (for the top of the form).
#[derive(Debug, Clone, Default, Serialize)]
struct FormErrors {
    fields: BTreeMap<String, String>,
    summary: Vec<SummaryLine>,
}

impl FormErrors {
    /// `label` names a field for the summary; fields it does not know get the generic label.
    fn new(errors: &[FieldError], lang: Language, label: impl Fn(&str) -> Option<String>) -> Self {
        let mut out = Self::default();
        for e in errors {
            let message = say(e, lang);
            let known = label(&e.field);
            let target = if known.is_some() { format!("f-{}", e.field) } else { String::new() };
            out.fields.entry(e.field.clone()).or_insert_with(|| message.clone());
            let label = known.unwrap_or_else(|| tr("rep.field.other", lang, &[]));
            out.summary.push(SummaryLine { target, label, message });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_translated_by_code() {
        let e = FieldError::new("value_x", "not_a_number", "«x» is not a number");
        assert_eq!(say(&e, Language::En), "not a number");
        assert_eq!(say(&e, Language::Es), "no es un número");
        let taken = FieldError::new("period_start", "duplicate", "this period already has a report");
        assert_eq!(say(&taken, Language::En), "this period already has a report: open it from the list of reports");
        let unknown = FieldError::new("x", "something_new", "as the store says");
        assert_ne!(say(&unknown, Language::Es), "as the store says", "the developer's English is never shown");
    }
}
