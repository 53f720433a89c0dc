//! The engagement page: the contract as the company agreed it (brief, money, term, cadence,
//! scope, team), how it is going (each KPI's latest value, status, trend and chart; the
//! reporting periods; the agency's signals), crisis mode, and the audit trail of the
//! engagement; plus the KPI editor (`kpi_editor`).
//!
//! It shows what `GET /api/v1/engagements/{id}` and its dashboard, scope, team, KPI, crisis
//! and audit endpoints would answer the same user, from the same store functions under the
//! same policy: the agency's people get the vendor view (no budget, no company notes, no
//! audit trail, no management forms); anyone who may not see the engagement gets 404.

mod chart;
mod kpi_editor;
mod kpi_form;
mod texts;

use std::collections::HashMap;

use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::kit::path_id as parse_id;
use super::{
    error::PageResult,
    paging::{PER_PAGE, Paged},
    session::{PageForm, SignedIn},
};
use crate::present::links::paths;
use crate::{
    app::{
        audit::{self, AuditFilter},
        crisis,
        dashboard::{self, KpiSeries, PeriodState},
        engagements, kpis, scope, team, users, vendors,
    },
    db::{entity::engagement, pagination::PageRequest},
    domain::{
        FieldError,
        confidentiality::Visibility,
        engagement::{Editability, editability},
        enums::{Aggregation, Channel, EngagementStatus, KpiDirection, KpiUnit, Language, Role},
        evaluation::{Status, Trend},
        kpi::RealismFlag,
        period::Standing,
        report::ReportStatus,
    },
    error::AppError,
    policy::{self, audit::AuditScope, engagement::Action},
    present::findings,
    state::AppState,
    views::{EngagementView, KpiView, VendorView},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ENGAGEMENT, get(show))
        .route(paths::ENGAGEMENT_CRISIS, post(crisis_start))
        .route(paths::ENGAGEMENT_CRISIS_END, post(crisis_end))
        .route(paths::KPI_NEW, get(kpi_editor::new).post(kpi_editor::create))
        .route(paths::KPI_EDIT, get(kpi_editor::edit).post(kpi_editor::update))
}

/// Audit entries per page of the trail.
const AUDIT_PER_PAGE: u64 = 25;

/// The field errors of a store refusal that a form can show beside its fields, if it is one.
fn form_errors(err: &AppError) -> Option<Vec<FieldError>> {
    match err {
        AppError::Invalid(errors) => Some(errors.clone()),
        AppError::Conflict { errors, .. } if !errors.is_empty() => Some(errors.clone()),
        AppError::Conflict { detail, .. } => Some(vec![FieldError::new("form", "conflict", detail.clone())]),
        _ => None,
    }
}

/// Whether the engagement's KPIs may still be changed directly (not by amendment).
fn kpis_open(e: &engagement::Model) -> PageResult<bool> {
    Ok(editability(e.status) == Editability::Open)
}

/// One KPI as its row of the table and its chart.
#[derive(Debug, Serialize)]
struct KpiRow {
    id: Uuid,
    name: String,
    objective: String,
    unit: KpiUnit,
    direction: KpiDirection,
    aggregation: Aggregation,
    channels: Vec<Channel>,
    baseline: Option<f64>,
    target: f64,
    target_upper: Option<f64>,
    warning_threshold: f64,
    critical_threshold: f64,
    latest_value: Option<f64>,
    latest_period: Option<NaiveDate>,
    status: Status,
    trend: Trend,
    aggregate: Option<f64>,
    realism: Option<RealismFlag>,
    /// The chart, an `<svg>` element with every text escaped.
    chart: String,
}

/// A reporting period and where its report stands.
#[derive(Debug, Serialize)]
struct PeriodRow {
    start: NaiveDate,
    end: NaiveDate,
    /// The due date (a local date): the same date the report pages, portal and digest show.
    due: NaiveDate,
    /// `reported`, `late` (reported after the due date), `missing` or `not_due`.
    state: &'static str,
    report_id: Option<Uuid>,
    report_status: Option<ReportStatus>,
    /// Whether the caller may open the report.
    may_open: bool,
    /// Whether the caller writes the period's report (the agency, none started yet).
    may_write: bool,
}

fn period_state(p: &PeriodState) -> &'static str {
    match p.standing {
        Standing::Late => "late",
        Standing::Reported => "reported",
        Standing::Missing => "missing",
        Standing::NotDue => "not_due",
    }
}

/// What the crisis forms show after a refused post: which form, what was typed, the errors.
#[derive(Debug, Default, Serialize)]
struct CrisisForm {
    values: std::collections::BTreeMap<String, String>,
    errors: std::collections::BTreeMap<String, String>,
}

/// Everything the engagement page shows, for one viewer.
struct PageData<'a> {
    state: &'a AppState,
    user: &'a SignedIn,
    e: &'a engagement::Model,
    seen: Visibility,
}

impl PageData<'_> {
    fn language(&self) -> Language {
        self.user.frame.lang
    }

    fn role(&self) -> Role {
        self.user.principal.user.role
    }

    /// Whether the viewer manages the engagement (as the API's `Manage`).
    fn manages(&self) -> bool {
        self.seen == Visibility::Full && matches!(self.role(), Role::Admin | Role::Lead)
    }

    async fn build(&self, query: &HashMap<String, String>, crisis_form: CrisisForm) -> PageResult<serde_json::Value> {
        let (state, e) = (self.state, self.e);
        let db = &state.db;
        let view = EngagementView::new(e, self.seen)?;
        let dash = dashboard::build(db, e, e.start_date, e.end_date, state.clock.now()).await?;
        let kpi_views = kpis::list(db, e, state.config.realism_max_yearly_growth).await?;
        let team = team::list(db, e.id).await?;
        let owner = self.owner_name(&team).await?;
        let vendor = VendorView::for_role(&vendors::get(db, e.vendor_id).await?, self.role())?;
        let page = |name: &str| query.get(name).and_then(|p| p.parse().ok());
        Ok(json!({
            "engagement": view,
            "full": self.seen == Visibility::Full,
            "manages": self.manages(),
            "kpis_open": kpis_open(e)?,
            "vendor": { "name": vendor.name, "notes": vendor.notes },
            "owner": owner,
            "health": dash.health,
            "kpis": self.kpi_rows(&dash.kpis, kpi_views),
            "periods": Paged::of(self.period_rows(&dash.periods)?, page("page"), PER_PAGE),
            "signals": Paged::of(dash.signals.clone(), page("signals_page"), PER_PAGE),
            "scope": scope::list(db, e.id).await?,
            "team": team,
            "crisis": crisis::state(db, e.id).await?,
            "governance": self.governance().await?,
            "crisis_form": crisis_form,
            "audit": self.audit(query.get("audit_before").map(String::as_str)).await?,
            "query": { "page": query.get("page"), "signals_page": query.get("signals_page") },
        }))
    }

    /// The governance findings, worded, for those who may read them (the company's people,
    /// as `GET /api/v1/engagements/{id}/governance`); `ready` while activation is to come.
    async fn governance(&self) -> PageResult<Option<serde_json::Value>> {
        governance_for(self.state, self.user, self.e).await
    }

    async fn owner_name(&self, team: &[crate::views::TeamMemberView]) -> PageResult<Option<String>> {
        let Some(owner) = self.e.owner_id else { return Ok(None) };
        if let Some(m) = team.iter().find(|m| m.user_id == owner) {
            return Ok(Some(m.name.clone()));
        }
        match users::get(&self.state.db, owner).await {
            Ok(u) => Ok(Some(u.name)),
            Err(AppError::NotFound) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    fn kpi_rows(&self, series: &[KpiSeries], views: Vec<KpiView>) -> Vec<KpiRow> {
        let by_id: HashMap<Uuid, &KpiSeries> = series.iter().map(|s| (s.kpi_id, s)).collect();
        views
            .into_iter()
            .map(|k| {
                let s = by_id.get(&k.id).copied();
                let latest = s.and_then(|s| s.series.iter().rev().find(|p| p.value.is_some()));
                KpiRow {
                    chart: self.chart(&k, s),
                    id: k.id,
                    name: k.name,
                    objective: k.objective,
                    unit: k.unit,
                    direction: k.direction,
                    aggregation: k.aggregation,
                    channels: k.channels,
                    baseline: k.baseline,
                    target: k.target,
                    target_upper: k.target_upper,
                    warning_threshold: k.warning_threshold,
                    critical_threshold: k.critical_threshold,
                    latest_value: latest.and_then(|p| p.value),
                    latest_period: latest.map(|p| p.period_start),
                    status: s.map_or(Status::Grey, |s| s.latest_status),
                    trend: s.map_or(Trend::Unknown, |s| s.trend),
                    aggregate: s.and_then(|s| s.aggregate),
                    realism: k.realism,
                }
            })
            .collect()
    }

    fn chart(&self, k: &KpiView, series: Option<&KpiSeries>) -> String {
        let lang = self.language();
        let points: Vec<chart::Point> = series
            .map(|s| {
                s.series
                    .iter()
                    .map(|p| chart::Point { period_start: p.period_start, value: p.value, status: p.status })
                    .collect()
            })
            .unwrap_or_default();
        let currency = self.e.currency.as_str();
        let value = |v: f64| chart::format_value(v, k.unit, currency, 2, lang);
        let target = match k.target_upper {
            Some(upper) => format!("{}–{}", value(k.target), value(upper)),
            None => value(k.target),
        };
        let status_word = |s: Status| texts::text(&format!("status.{s}"), lang, &[]);
        let latest = points.iter().rev().find(|p| p.value.is_some());
        let summary = match (points.first(), points.last(), latest) {
            (Some(first), Some(last), Some(latest)) => texts::text(
                "eng.chart.summary",
                lang,
                &[
                    ("name", k.name.clone()),
                    ("n", points.len().to_string()),
                    ("periods", points.len().to_string()),
                    ("from", crate::present::format::date(first.period_start, lang)),
                    ("to", crate::present::format::date(last.period_start, lang)),
                    ("target", target),
                    ("latest", latest.value.map(value).unwrap_or_default()),
                    ("status", status_word(latest.status)),
                ],
            ),
            _ => texts::text("eng.chart.summary_empty", lang, &[("name", k.name.clone()), ("target", target)]),
        };
        let words = chart::Words {
            summary,
            statuses: [Status::Grey, Status::Green, Status::Amber, Status::Red].map(status_word),
            empty: texts::text("eng.chart.no_data", lang, &[]),
        };
        let id = k.id.to_string();
        let c = chart::Chart {
            id: &id,
            points: &points,
            target: k.target,
            target_upper: k.target_upper,
            unit: k.unit,
            currency,
            language: lang,
        };
        chart::svg(&c, &words)
    }

    /// Newest first; reports linked for those who may open them (as the reports API).
    fn period_rows(&self, periods: &[PeriodState]) -> PageResult<Vec<PeriodRow>> {
        let viewer = self.user.principal.viewer();
        let may_read = policy::report::authorize(&viewer, policy::report::Action::Read, self.seen).is_ok();
        // The agency writes the reports; the page offers to start one only to its people.
        let writes = self.role() == Role::Vendor
            && policy::report::authorize(&viewer, policy::report::Action::Write, self.seen).is_ok();
        Ok(periods
            .iter()
            .rev()
            .map(|p| PeriodRow {
                start: p.period_start,
                end: p.period_end,
                due: p.due_date,
                state: period_state(p),
                report_id: p.report_id,
                report_status: p.report_status,
                may_open: may_read && p.report_id.is_some(),
                may_write: writes && p.report_id.is_none(),
            })
            .collect())
    }

    /// One page of the engagement's audit trail, for those who read the audit log (as
    /// `GET /api/v1/audit?engagement_id=`); `None` for everyone else.
    async fn audit(&self, before: Option<&str>) -> PageResult<Option<serde_json::Value>> {
        if self.seen != Visibility::Full {
            return Ok(None);
        }
        let Ok(scope) = policy::audit::read(&self.user.principal.viewer()) else { return Ok(None) };
        let hide = (scope == AuditScope::WithoutForeignSecrets).then_some(self.user.principal.user.id);
        let request = PageRequest::parse(before, Some(AUDIT_PER_PAGE))?;
        let filter = AuditFilter { engagement_id: Some(self.e.id), ..AuditFilter::default() };
        let page = audit::list(&self.state.db, hide, filter, request).await?;
        let entries: Vec<_> = page
            .items
            .iter()
            .map(|a| {
                json!({
                    "at": a.at, "actor": a.actor_label, "action": a.action,
                    "action_key": format!("eng.audit.{}", a.action.replace('.', "_")),
                    "object_type": a.object_type,
                })
            })
            .collect();
        Ok(Some(json!({ "entries": entries, "next": page.next_cursor, "paged": before.is_some() })))
    }
}

/// An engagement's governance findings as the engagement page and its activation approval
/// show them; `None` for those who may not read them.
pub(crate) async fn governance_for(
    state: &AppState,
    user: &SignedIn,
    e: &engagement::Model,
) -> PageResult<Option<serde_json::Value>> {
    let viewer = user.principal.viewer();
    let access = engagements::access(&state.db, &viewer, e).await?;
    if policy::engagement::authorize(&viewer, Action::ReadGovernance, &access).is_err() {
        return Ok(None);
    }
    let report =
        engagements::governance(&state.db, e, state.clock.now(), state.config.realism_max_yearly_growth).await?;
    let lang = user.frame.lang;
    let status: EngagementStatus = e.status;
    Ok(Some(json!({
        "blockers": findings::worded(&report.blockers, lang),
        "warnings": findings::worded(&report.warnings, lang),
        "ready": matches!(status, EngagementStatus::Draft | EngagementStatus::PendingApproval),
    })))
}

/// The template of the engagement page for this visibility.
fn template(seen: Visibility) -> &'static str {
    if seen == Visibility::Full { "engagement/show.html" } else { "engagement/vendor.html" }
}

async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult<Response> {
    let id = parse_id(&id)?;
    let (e, seen) = engagements::load(&state.db, &user.principal.viewer(), id, Action::Read).await?;
    let data = PageData { state: &state, user: &user, e: &e, seen };
    let page = data.build(&query, CrisisForm::default()).await?;
    Ok(user.render(&state, template(seen), page)?.into_response())
}

/// Crisis mode on or off, as `POST /api/v1/engagements/{id}/crisis[/end]` (admins and
/// leads); a refusal shows the page again with the reason typed and the error beside it.
async fn crisis_change(state: AppState, id: &str, form: PageForm, start: bool) -> PageResult<Response> {
    let id = parse_id(id)?;
    let user = &form.user;
    let (e, seen) = engagements::load(&state.db, &user.principal.viewer(), id, Action::Manage).await?;
    let reason = form.get("reason").unwrap_or_default();
    let (now, actor) = (state.clock.now(), user.principal.actor());
    let result = match form.only(&["reason"]) {
        Err(err) => Err(err),
        Ok(()) if start => crisis::start(&state.db, now, &actor, e.id, reason).await.map(|_| ()),
        Ok(()) => crisis::end(&state.db, now, &actor, e.id, reason).await.map(|_| ()),
    };
    let err = match result {
        Ok(_) => {
            let notice = if start { "eng_crisis_started" } else { "eng_crisis_ended" };
            return Ok(Redirect::to(&format!("/engagements/{id}?notice={notice}#crisis")).into_response());
        }
        Err(err) => err,
    };
    let Some(errors) = form_errors(&err) else { return Err(err.into()) };
    let lang = user.frame.lang;
    let crisis_form = CrisisForm {
        values: form.values(),
        errors: texts::field_errors(&errors, lang, |f| if f == "reason" { f } else { "form" }),
    };
    let data = PageData { state: &state, user, e: &e, seen };
    let page = data.build(&HashMap::new(), crisis_form).await?;
    user.render_status(&state, StatusCode::UNPROCESSABLE_ENTITY, template(seen), page)
}

async fn crisis_start(State(state): State<AppState>, Path(id): Path<String>, form: PageForm) -> PageResult<Response> {
    crisis_change(state, &id, form, true).await
}

async fn crisis_end(State(state): State<AppState>, Path(id): Path<String>, form: PageForm) -> PageResult<Response> {
    crisis_change(state, &id, form, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(report_status: Option<ReportStatus>, standing: Standing) -> PeriodState {
        let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        PeriodState {
            period_start: d,
            period_end: d,
            due_date: NaiveDate::from_ymd_opt(2026, 2, 5).unwrap(),
            report_id: report_status.map(|_| Uuid::nil()),
            report_status,
            standing,
            late: standing == Standing::Late,
            missing: standing == Standing::Missing,
        }
    }

    #[test]
    fn each_period_says_where_its_report_stands() {
        assert_eq!(period_state(&period(Some(ReportStatus::Accepted), Standing::Reported)), "reported");
        assert_eq!(period_state(&period(Some(ReportStatus::Submitted), Standing::Late)), "late");
        assert_eq!(period_state(&period(Some(ReportStatus::Draft), Standing::Missing)), "missing");
        assert_eq!(period_state(&period(None, Standing::Missing)), "missing");
        assert_eq!(period_state(&period(Some(ReportStatus::Draft), Standing::NotDue)), "not_due");
        assert_eq!(period_state(&period(None, Standing::NotDue)), "not_due");
    }

    #[test]
    fn store_refusals_become_form_errors() {
        let conflict = AppError::conflict("kpis", "amendment_required", "needs an amendment");
        assert_eq!(form_errors(&conflict).unwrap()[0].field, "kpis");
        assert!(form_errors(&AppError::NotFound).is_none());
        assert!(parse_id("not-a-uuid").is_err());
    }
}
