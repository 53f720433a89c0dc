//! The agency's report form: one input per KPI (with its unit and objective), the signals
//! found while listening, and a comment; saved as a draft or submitted. The same form edits
//! a draft and answers a request for changes on the report's own page.

use std::collections::{BTreeMap, HashMap};

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use strum::IntoEnumIterator;
use uuid::Uuid;

use super::{
    EngagementBrief, FormErrors, allowed, engagement_for, kpi_list, parse_id, refused_fields, report_for,
    report_of_period, reportable, show, to_report, tr, upload::UploadState,
};
use crate::{
    app::reports::{self, Then, VersionView},
    db::entity::engagement,
    domain::{
        FieldError,
        enums::{Channel, Language},
        period::Period,
        report::{ReportContent, SIGNALS_MAX, Severity, SignalCategory, SignalInput, ValueInput},
    },
    error::AppError,
    policy::report::Action,
    state::AppState,
    views::KpiView,
    web::{
        error::{PageError, PageResult},
        numbers,
        session::{PageForm, SignedIn},
    },
};

/// Empty signal rows offered below the ones already written.
const BLANK_SIGNAL_ROWS: usize = 2;

/// The state of the values form: what is in its fields and what is wrong with them.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ValuesForm {
    pub action: String,
    pub values: BTreeMap<String, String>,
    pub errors: FormErrors,
    pub signal_rows: usize,
}

impl ValuesForm {
    /// An empty form posting to `action`.
    pub fn blank(action: String) -> Self {
        Self { action, values: BTreeMap::new(), errors: FormErrors::default(), signal_rows: BLANK_SIGNAL_ROWS }
    }

    /// The form filled with a version's content, in the visitor's number format.
    pub fn filled(action: String, version: Option<&VersionView>, lang: Language) -> Self {
        let mut form = Self::blank(action);
        let Some(v) = version else { return form };
        let values = &mut form.values;
        values.insert("narrative".into(), v.narrative.clone());
        for x in &v.values {
            values.insert(format!("value_{}", x.kpi_id), numbers::for_input(x.value, lang));
            for (channel, n) in &x.breakdown {
                values.insert(format!("bd_{}_{channel}", x.kpi_id), numbers::for_input(*n, lang));
            }
            values.extend(x.comment.clone().map(|c| (format!("comment_{}", x.kpi_id), c)));
            values.extend(x.evidence_url.clone().map(|u| (format!("evidence_{}", x.kpi_id), u)));
        }
        for (i, s) in v.signals.iter().enumerate() {
            values.insert(format!("sig_{i}_category"), s.category.to_string());
            values.insert(format!("sig_{i}_severity"), s.severity.to_string());
            values.insert(format!("sig_{i}_description"), s.description.clone());
            values.extend(s.link.clone().map(|l| (format!("sig_{i}_link"), l)));
        }
        form.signal_rows = v.signals.len() + BLANK_SIGNAL_ROWS;
        form
    }

    /// The form as posted, with its errors.
    pub fn posted(action: String, form: &PageForm, errors: FormErrors) -> Self {
        Self { action, values: form.values(), errors, signal_rows: signal_rows(form) }
    }
}

/// What the values form needs besides its state: the KPIs and the choices of a signal.
pub(super) fn form_context(kpis: &[KpiView]) -> serde_json::Value {
    json!({
        "kpis": kpis,
        "signal_categories": SignalCategory::iter().collect::<Vec<_>>(),
        "severities": Severity::iter().collect::<Vec<_>>(),
    })
}

fn signal_rows(form: &PageForm) -> usize {
    form.get("signal_rows")
        .and_then(|n| n.parse().ok())
        .unwrap_or(BLANK_SIGNAL_ROWS)
        .min(SIGNALS_MAX + BLANK_SIGNAL_ROWS)
}

/// A report's content read from the form, and where each part came from (to put the store's
/// errors, which name `values[i]` and `signals[j]`, next to their fields).
pub(super) struct Typed {
    pub content: ReportContent,
    kpi_of_value: Vec<Uuid>,
    row_of_signal: Vec<usize>,
}

impl Typed {
    /// The form field a store error names.
    pub fn form_field(&self, field: &str) -> String {
        let indexed = |prefix: &str| {
            let rest = field.strip_prefix(prefix)?;
            let (index, tail) = rest.split_once(']')?;
            Some((index.parse::<usize>().ok()?, tail.trim_start_matches('.').to_string()))
        };
        if let Some((i, tail)) = indexed("values[")
            && let Some(kpi) = self.kpi_of_value.get(i)
        {
            return match tail.as_str() {
                "comment" => format!("comment_{kpi}"),
                "evidence_url" => format!("evidence_{kpi}"),
                t => match t.strip_prefix("breakdown.") {
                    Some(channel) => format!("bd_{kpi}_{channel}"),
                    None => format!("value_{kpi}"),
                },
            };
        }
        if let Some((j, tail)) = indexed("signals[")
            && let Some(row) = self.row_of_signal.get(j)
        {
            return format!("sig_{row}_{tail}");
        }
        field.to_string()
    }
}

/// The fields of the values form (per KPI and per signal row by prefix); any other is refused.
const FIELDS: [&str; 9] =
    ["period_start", "action", "narrative", "signal_rows", "value_*", "comment_*", "evidence_*", "bd_*", "sig_*"];

/// Reads the report the form describes. A KPI left blank is not reported; a number may be
/// typed with either decimal mark. Every problem is named by its form field.
pub(super) fn read_content(form: &PageForm, kpis: &[KpiView], lang: Language) -> Result<Typed, Vec<FieldError>> {
    if let Err(err) = form.only(&FIELDS) {
        return Err(refused_fields(err).unwrap_or_default());
    }
    let mut errors = Vec::new();
    let mut typed = Typed {
        content: ReportContent {
            narrative: form.fields.iter().find(|(k, _)| k == "narrative").map(|(_, v)| v.clone()).unwrap_or_default(),
            values: Vec::new(),
            signals: Vec::new(),
        },
        kpi_of_value: Vec::new(),
        row_of_signal: Vec::new(),
    };
    for k in kpis {
        match read_value(form, k, lang) {
            Ok(Some(value)) => {
                typed.content.values.push(value);
                typed.kpi_of_value.push(k.id);
            }
            Ok(None) => {}
            Err(mut e) => errors.append(&mut e),
        }
    }
    for row in 0..signal_rows(form) {
        match read_signal(form, row) {
            Ok(Some(signal)) => {
                typed.content.signals.push(signal);
                typed.row_of_signal.push(row);
            }
            Ok(None) => {}
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() { Ok(typed) } else { Err(errors) }
}

fn read_value(form: &PageForm, k: &KpiView, lang: Language) -> Result<Option<ValueInput>, Vec<FieldError>> {
    let id = k.id;
    let comment = form.get(&format!("comment_{id}")).map(str::to_string);
    let evidence_url = form.get(&format!("evidence_{id}")).map(str::to_string);
    let mut errors = Vec::new();
    let mut breakdown = BTreeMap::new();
    for channel in &k.channels {
        let field = format!("bd_{id}_{channel}");
        if let Some(raw) = form.get(&field) {
            match numbers::typed(&field, raw, lang) {
                Ok(n) => {
                    breakdown.insert(*channel, n);
                }
                Err(e) => errors.push(e),
            }
        }
    }
    let field = format!("value_{id}");
    let value = match form.get(&field) {
        Some(raw) => numbers::typed(&field, raw, lang).map_err(|e| errors.push(e)).ok(),
        None if comment.is_some() || evidence_url.is_some() || !breakdown.is_empty() => {
            errors.push(FieldError::new(field, "value_needed", "give the value, or leave the KPI's fields empty"));
            None
        }
        None => return if errors.is_empty() { Ok(None) } else { Err(errors) },
    };
    match value {
        Some(value) if errors.is_empty() => {
            Ok(Some(ValueInput { kpi_id: id, value, breakdown, comment, evidence_url }))
        }
        _ => Err(errors),
    }
}

fn read_signal(form: &PageForm, row: usize) -> Result<Option<SignalInput>, Vec<FieldError>> {
    let name = |part: &str| format!("sig_{row}_{part}");
    let description = form.get(&name("description")).map(str::to_string);
    let link = form.get(&name("link")).map(str::to_string);
    if description.is_none() && link.is_none() {
        return Ok(None);
    }
    let mut errors = Vec::new();
    let category: Option<SignalCategory> = choice(form, &name("category"), &mut errors);
    let severity: Option<Severity> = choice(form, &name("severity"), &mut errors);
    match (category, severity) {
        (Some(category), Some(severity)) => {
            Ok(Some(SignalInput { category, severity, description: description.unwrap_or_default(), link }))
        }
        _ => Err(errors),
    }
}

/// One of a select's options, or an error naming the field.
fn choice<T: std::str::FromStr>(form: &PageForm, field: &str, errors: &mut Vec<FieldError>) -> Option<T> {
    let found = form.get(field).and_then(|v| v.parse().ok());
    if found.is_none() {
        errors.push(FieldError::new(field, "invalid_choice", "choose one of the options"));
    }
    found
}

/// How the summary names a field of the values form.
pub(super) fn field_label(field: &str, kpis: &[KpiView], lang: Language) -> Option<String> {
    let kpi_name = |id: &str| {
        let id: Uuid = id.parse().ok()?;
        kpis.iter().find(|k| k.id == id).map(|k| k.name.clone())
    };
    let labelled = |kpi: &str, key: &str, extra: Vec<(&str, String)>| {
        let mut values = vec![("kpi", kpi_name(kpi)?)];
        values.extend(extra);
        Some(tr(key, lang, &values))
    };
    if let Some(id) = field.strip_prefix("value_") {
        return kpi_name(id);
    }
    if let Some(id) = field.strip_prefix("comment_") {
        return labelled(id, "rep.label.kpi_comment", vec![]);
    }
    if let Some(id) = field.strip_prefix("evidence_") {
        return labelled(id, "rep.label.kpi_evidence", vec![]);
    }
    if let Some(rest) = field.strip_prefix("bd_")
        && let Some((id, channel)) = rest.split_once('_')
    {
        let channel = channel.parse::<Channel>().ok()?;
        return labelled(id, "rep.label.kpi_channel", vec![("channel", tr(&format!("channel.{channel}"), lang, &[]))]);
    }
    if let Some(rest) = field.strip_prefix("sig_")
        && let Some((row, part)) = rest.split_once('_')
    {
        let n = row.parse::<usize>().ok()? + 1;
        let part = tr(&format!("rep.signal.{part}"), lang, &[]);
        return Some(tr("rep.label.signal", lang, &[("n", n.to_string()), ("part", part)]));
    }
    match field {
        "narrative" => Some(tr("rep.form.narrative", lang, &[])),
        _ => None,
    }
}

/// The errors of the values form, each next to its field and in the summary.
pub(super) fn values_errors(errors: &[FieldError], kpis: &[KpiView], lang: Language) -> FormErrors {
    FormErrors::new(errors, lang, |f| field_label(f, kpis, lang))
}

/// The form of a period without a report yet.
pub(super) async fn new(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult<Response> {
    let (e, _) = engagement_for(&state, &user.principal, parse_id(&id)?, Action::Write).await?;
    let start = period_start(query.get("period_start").map(String::as_str))?;
    if let Some(r) = report_of_period(&state, e.id, start).await? {
        return Ok(Redirect::to(&format!("/reports/{}", r.id)).into_response());
    }
    let period = reportable(&state, &e, start)?;
    let kpis = kpi_list(&state, &e).await?;
    let form = ValuesForm::blank(format!("/engagements/{}/reports", e.id));
    render_new(&state, &user, &e, &period, &kpis, form, UploadState::default(), StatusCode::OK)
}

fn period_start(raw: Option<&str>) -> PageResult<NaiveDate> {
    raw.and_then(|d| d.trim().parse().ok()).ok_or_else(|| {
        PageError::from(AppError::invalid("period_start", "invalid_date", "must be a date such as 2027-03-01"))
    })
}

/// The page of a period without a report: the form and the upload.
#[allow(clippy::too_many_arguments)]
pub(super) fn render_new(
    state: &AppState,
    user: &SignedIn,
    e: &engagement::Model,
    period: &Period,
    kpis: &[KpiView],
    form: ValuesForm,
    upload: UploadState,
    status: StatusCode,
) -> PageResult<Response> {
    let page = json!({
        "engagement": EngagementBrief::from(e),
        "period": { "start": period.start_date, "end": period.end_date, "due": period.due_date,
                    "overdue": period.is_late(state.clock.now()) },
        "form": form,
        "value_comments": {},
        "upload": upload,
        "upload_action": format!("/engagements/{}/reports/import", e.id),
        "period_start": period.start_date,
    });
    let mut ctx = form_context(kpis);
    merge(&mut ctx, page);
    user.render_status(state, status, "reports/new.html", ctx)
}

/// Adds the keys of `extra` to `into` (both JSON objects).
pub(super) fn merge(into: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(into), serde_json::Value::Object(extra)) = (into.as_object_mut(), extra) {
        into.extend(extra);
    }
}

/// Creates the period's report from the form: a draft, or submitted at once.
pub(super) async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PageForm,
) -> PageResult<Response> {
    let user = &form.user;
    let (e, _) = engagement_for(&state, &user.principal, parse_id(&id)?, Action::Write).await?;
    let start = period_start(form.get("period_start"))?;
    let period = reportable(&state, &e, start)?;
    let kpis = kpi_list(&state, &e).await?;
    let lang = user.frame.lang;
    let submit = form.get("action") == Some("submit");
    let action = format!("/engagements/{}/reports", e.id);
    let refused = |errors: FormErrors| {
        let values = ValuesForm::posted(action.clone(), &form, errors);
        render_new(&state, user, &e, &period, &kpis, values, UploadState::default(), StatusCode::UNPROCESSABLE_ENTITY)
    };
    let typed = match read_content(&form, &kpis, lang) {
        Ok(typed) => typed,
        Err(errors) => return refused(values_errors(&errors, &kpis, lang)),
    };
    let then = if submit { Then::Submit } else { Then::KeepDraft };
    match reports::create(&state.ctx(&user.principal), e.id, start, typed.content.clone(), then).await {
        Ok(detail) => Ok(to_report(detail.report.id, if submit { "rep_submitted" } else { "rep_saved" })),
        Err(err) => refused(values_errors(&store_errors(err, &typed)?, &kpis, lang)),
    }
}

/// The store's field errors renamed to the form's fields.
fn store_errors(err: AppError, typed: &Typed) -> Result<Vec<FieldError>, PageError> {
    Ok(refused_fields(err)?
        .into_iter()
        .map(|mut e| {
            e.field = typed.form_field(&e.field);
            e
        })
        .collect())
}

/// Saves the form over a draft (or, after a request for changes, as a new version), and
/// submits it when asked.
pub(super) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PageForm,
) -> PageResult<Response> {
    let user = &form.user;
    let (r, e, seen) = report_for(&state, &user.principal, parse_id(&id)?, Action::Write).await?;
    let kpis = kpi_list(&state, &e).await?;
    let lang = user.frame.lang;
    let submit = form.get("action") == Some("submit");
    let refused = async |errors: FormErrors| {
        let values = ValuesForm::posted(format!("/reports/{}", r.id), &form, errors);
        let overrides = show::Overrides { edit: Some(values), ..show::Overrides::default() };
        show::render(&state, user, &r, &e, seen, overrides, StatusCode::UNPROCESSABLE_ENTITY).await
    };
    let typed = match read_content(&form, &kpis, lang) {
        Ok(typed) => typed,
        Err(errors) => return refused(values_errors(&errors, &kpis, lang)).await,
    };
    let then = if submit { Then::Submit } else { Then::KeepDraft };
    let saved = reports::edit(&state.ctx(&user.principal), r.id, typed.content.clone(), then).await;
    match saved {
        Ok(detail) => Ok(to_report(detail.report.id, if submit { "rep_submitted" } else { "rep_saved" })),
        Err(err) => refused(values_errors(&store_errors(err, &typed)?, &kpis, lang)).await,
    }
}

/// Whether the caller may write the reports of an engagement (for links to the form).
pub(super) fn may_write(
    user: &SignedIn,
    seen: crate::domain::confidentiality::Visibility,
    e: &engagement::Model,
) -> bool {
    allowed(&user.principal, Action::Write, seen) && super::reporting(e)
}
