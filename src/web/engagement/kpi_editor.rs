//! The KPI editor: agree a new KPI or change one, as `POST`/`PUT
//! /api/v1/engagements/{id}/kpis[/{kpi_id}]` do, under the same policy (admins and leads
//! with the full view) and through the same store functions, so the same rules apply: the
//! KPIs of an active engagement change only by amendment (409, shown on the form).
//!
//! A saved KPI opens again in the editor with its realism check: a target beyond what the
//! term can plausibly deliver is flagged (not refused), and the flag is shown as a warning
//! there, on a form sent back with errors, and beside the KPI on the engagement page.

use std::collections::BTreeMap;

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde_json::json;
use strum::IntoEnumIterator;
use uuid::Uuid;

use super::{
    form_errors,
    kpi_form::{self, Posted},
    parse_id, texts,
};
use crate::{
    app::kpis::{self, KpiSheet},
    domain::{
        FieldError,
        enums::{Aggregation, Channel, KpiDirection, KpiUnit, Language},
        kpi::RealismFlag,
    },
    state::AppState,
    web::{
        error::PageResult,
        session::{PageForm, SignedIn},
    },
};

/// What the form shows.
struct Editor {
    values: BTreeMap<String, String>,
    channels: Vec<String>,
    errors: BTreeMap<String, String>,
    realism: Option<RealismFlag>,
}

/// `[value, label]` pairs of an enumeration, labelled from the vocabulary (`<prefix>.<value>`).
fn options<T: IntoEnumIterator + std::fmt::Display>(prefix: &str, lang: Language) -> Vec<[String; 2]> {
    T::iter()
        .map(|v| {
            let value = v.to_string();
            let label = texts::text(&format!("{prefix}.{value}"), lang, &[]);
            [value, label]
        })
        .collect()
}

async fn render(
    state: &AppState,
    user: &SignedIn,
    e: &KpiSheet,
    kpi_id: Option<Uuid>,
    editor: Editor,
    status: StatusCode,
) -> PageResult<Response> {
    let lang = user.frame.lang;
    let others = &e.kpis;
    let mut ratio_choices = vec![[String::new(), texts::text("eng.kpi_form.no_ratio", lang, &[])]];
    ratio_choices.extend(others.iter().filter(|k| Some(k.id) != kpi_id).map(|k| [k.id.to_string(), k.name.clone()]));
    let name = kpi_id.and_then(|id| others.iter().find(|k| k.id == id)).map(|k| k.name.clone());
    let action = match kpi_id {
        Some(k) => format!("/engagements/{}/kpis/{k}/edit", e.engagement_id),
        None => format!("/engagements/{}/kpis/new", e.engagement_id),
    };
    let page = json!({
        "engagement": { "id": e.engagement_id, "title": e.title, "currency": e.currency },
        "kpi_id": kpi_id,
        "kpi_name": name,
        "action": action,
        "values": editor.values,
        "channels_checked": editor.channels,
        "errors": editor.errors,
        "realism": editor.realism,
        "units": options::<KpiUnit>("unit", lang),
        "directions": options::<KpiDirection>("direction", lang),
        "aggregations": options::<Aggregation>("aggregation", lang),
        "channels": options::<Channel>("channel", lang),
        "ratio_choices": ratio_choices,
    });
    user.render_status(state, status, "engagement/kpi_editor.html", page)
}

/// `GET /engagements/{id}/kpis/new`.
pub async fn new(State(state): State<AppState>, user: SignedIn, Path(id): Path<String>) -> PageResult<Response> {
    let e = kpis::open_sheet(&state.ctx(&user.principal), parse_id(&id)?).await?;
    let editor = Editor { values: kpi_form::defaults(), channels: Vec::new(), errors: BTreeMap::new(), realism: None };
    render(&state, &user, &e, None, editor, StatusCode::OK).await
}

/// `GET /engagements/{id}/kpis/{kpi_id}/edit`.
pub async fn edit(
    State(state): State<AppState>,
    user: SignedIn,
    Path((id, kpi_id)): Path<(String, String)>,
) -> PageResult<Response> {
    let e = kpis::open_sheet(&state.ctx(&user.principal), parse_id(&id)?).await?;
    let view = e.kpi(parse_id(&kpi_id)?)?.clone();
    let editor = Editor {
        values: kpi_form::values_of(&view, user.frame.lang),
        channels: view.channels.iter().map(ToString::to_string).collect(),
        errors: BTreeMap::new(),
        realism: view.realism.clone(),
    };
    render(&state, &user, &e, Some(view.id), editor, StatusCode::OK).await
}

/// `POST /engagements/{id}/kpis/new`.
pub async fn create(State(state): State<AppState>, Path(id): Path<String>, form: PageForm) -> PageResult<Response> {
    let e = kpis::sheet(&state.ctx(&form.user.principal), parse_id(&id)?).await?;
    save(&state, &e, None, form).await
}

/// `POST /engagements/{id}/kpis/{kpi_id}/edit`.
pub async fn update(
    State(state): State<AppState>,
    Path((id, kpi_id)): Path<(String, String)>,
    form: PageForm,
) -> PageResult<Response> {
    let e = kpis::sheet(&state.ctx(&form.user.principal), parse_id(&id)?).await?;
    let kpi_id = e.kpi(parse_id(&kpi_id)?)?.id;
    save(&state, &e, Some(kpi_id), form).await
}

/// Reads the form and asks the store to save it; on success opens the saved KPI in the
/// editor, else shows the form again (422) as it was typed, with the errors.
async fn save(state: &AppState, e: &KpiSheet, kpi_id: Option<Uuid>, form: PageForm) -> PageResult<Response> {
    let user = &form.user;
    let lang = user.frame.lang;
    if let Err(err) = form.only(&kpi_form::FIELDS)
        && let Some(errors) = form_errors(&err)
    {
        return refused(state, e, kpi_id, &form, &errors).await;
    }
    let input = match kpi_form::kpi_input(&Posted(&form.fields), lang) {
        Ok(input) => input,
        Err(errors) => return refused(state, e, kpi_id, &form, &errors).await,
    };
    let ctx = state.ctx(&user.principal);
    let saved = match kpi_id {
        Some(k) => kpis::replace(&ctx, e.engagement_id, k, input).await,
        None => kpis::create(&ctx, e.engagement_id, input).await,
    };
    match saved {
        Ok(view) => {
            let to = format!("/engagements/{}/kpis/{}/edit?notice=eng_kpi_saved", e.engagement_id, view.id);
            Ok(Redirect::to(&to).into_response())
        }
        Err(err) => match form_errors(&err) {
            Some(errors) => refused(state, e, kpi_id, &form, &errors).await,
            None => Err(err.into()),
        },
    }
}

async fn refused(
    state: &AppState,
    e: &KpiSheet,
    kpi_id: Option<Uuid>,
    form: &PageForm,
    errors: &[FieldError],
) -> PageResult<Response> {
    let lang = form.user.frame.lang;
    let posted = Posted(&form.fields);
    let growth = state.config.realism_max_yearly_growth;
    let editor = Editor {
        values: form.values(),
        channels: posted.channels(),
        errors: texts::field_errors(errors, lang, kpi_form::form_field),
        realism: kpi_form::realism_of_form(&posted, lang, e.term_days, growth),
    };
    render(state, &form.user, e, kpi_id, editor, StatusCode::UNPROCESSABLE_ENTITY).await
}
