//! A report's page. The agency sees its report, and when changes were requested the
//! reviewer's comments next to each value and the form to answer them. Leads and admins get
//! the review screen: every value with its KPI, target, status and plausibility flags, a
//! comment box per value, and the decision. Everyone who reads it sees its versions and the
//! review history.

use std::collections::{BTreeMap, HashMap};

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{
    EngagementBrief, FormErrors, allowed,
    form::{ValuesForm, form_context, merge},
    kpi_list, parse_id, refused_fields, report_for, to_report, tr,
    upload::UploadState,
};
use crate::{
    app::{
        engagements,
        reports::{self, PlausibilityFlag, Review, ReviewView, ValueComment, VersionView},
        users,
    },
    db::entity::{engagement, report},
    domain::{
        FieldError,
        confidentiality::Visibility,
        enums::{Channel, Language},
        evaluation::Status,
        plausibility::Implausible,
        report::{ReportStatus, ReviewDecision},
    },
    policy::report::Action,
    state::AppState,
    views::KpiView,
    web::{
        error::PageResult,
        session::{PageForm, SignedIn},
    },
};

/// What a failed post puts back on the page instead of the stored state.
#[derive(Debug, Default)]
pub(super) struct Overrides {
    pub edit: Option<ValuesForm>,
    pub review: Option<ReviewForm>,
    pub upload: Option<UploadState>,
}

/// The state of the review form.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct ReviewForm {
    pub values: BTreeMap<String, String>,
    pub errors: FormErrors,
}

/// One value of a version, with what the page shows around it.
#[derive(Debug, Serialize)]
struct ValueRow<'a> {
    kpi_id: Uuid,
    /// The KPI, unless an amendment removed it since.
    kpi: Option<&'a KpiView>,
    value: f64,
    breakdown: &'a BTreeMap<Channel, f64>,
    comment: Option<&'a str>,
    evidence_url: Option<&'a str>,
    status: Option<Status>,
    flags: Vec<&'a Implausible>,
    /// The reviewer's comment on this value, when changes were requested.
    review_comment: Option<&'a str>,
}

fn value_rows<'a>(
    version: &'a VersionView,
    kpis: &'a [KpiView],
    flags: &'a [PlausibilityFlag],
    comments: &HashMap<Uuid, &'a str>,
) -> Vec<ValueRow<'a>> {
    version
        .values
        .iter()
        .map(|v| ValueRow {
            kpi_id: v.kpi_id,
            kpi: kpis.iter().find(|k| k.id == v.kpi_id),
            value: v.value,
            breakdown: &v.breakdown,
            comment: v.comment.as_deref(),
            evidence_url: v.evidence_url.as_deref(),
            status: v.status,
            flags: flags.iter().filter(|f| f.kpi_id == v.kpi_id).map(|f| &f.issue).collect(),
            review_comment: comments.get(&v.kpi_id).copied(),
        })
        .collect()
}

/// A review decision as the history shows it.
#[derive(Debug, Serialize)]
struct ReviewLine<'a> {
    version: i32,
    decision: ReviewDecision,
    comment: &'a str,
    reviewer: String,
    decided_at: chrono::DateTime<chrono::Utc>,
    value_comments: Vec<(String, &'a str)>,
}

async fn review_lines<'a>(
    state: &AppState,
    reviews: &'a [ReviewView],
    kpis: &[KpiView],
) -> PageResult<Vec<ReviewLine<'a>>> {
    let mut names: HashMap<Uuid, String> = HashMap::new();
    let mut lines = Vec::with_capacity(reviews.len());
    for r in reviews.iter().rev() {
        let reviewer = match r.reviewer_id {
            Some(id) if !names.contains_key(&id) => {
                let name = users::get(&state.db, id).await.map(|u| u.name).unwrap_or_default();
                names.insert(id, name.clone());
                name
            }
            Some(id) => names.get(&id).cloned().unwrap_or_default(),
            None => String::new(),
        };
        let value_comments = r.value_comments.iter().map(|c| (kpi_name(kpis, c.kpi_id), c.comment.as_str())).collect();
        lines.push(ReviewLine {
            version: r.version,
            decision: r.decision,
            comment: &r.comment,
            reviewer,
            decided_at: r.decided_at,
            value_comments,
        });
    }
    Ok(lines)
}

fn kpi_name(kpis: &[KpiView], id: Uuid) -> String {
    kpis.iter().find(|k| k.id == id).map_or_else(|| id.to_string(), |k| k.name.clone())
}

/// The report page.
pub(super) async fn page(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let (r, e, seen) = report_for(&state, &user.principal, parse_id(&id)?, Action::Read).await?;
    render(&state, &user, &r, &e, seen, Overrides::default(), StatusCode::OK).await
}

/// Renders the report page for the caller, with a failed form's state if any.
pub(super) async fn render(
    state: &AppState,
    user: &SignedIn,
    r: &report::Model,
    e: &engagement::Model,
    seen: Visibility,
    overrides: Overrides,
    status: StatusCode,
) -> PageResult<Response> {
    let lang = user.frame.lang;
    let detail = reports::detail(&state.db, r).await?;
    let flags = reports::plausibility(&state.db, r, state.rules.plausibility).await?;
    let kpis = kpi_list(state, e).await?;
    let report_status = detail.report.status;
    let editable = matches!(report_status, ReportStatus::Draft | ReportStatus::ChangesRequested);
    let can_edit = editable && allowed(&user.principal, Action::Write, seen);
    let can_review = report_status == ReportStatus::Submitted && allowed(&user.principal, Action::Review, seen);
    // The latest request for changes, while the agency is answering it.
    let sent_back = detail.reviews.last().filter(|x| editable && x.decision == ReviewDecision::RequestChanges);
    let comments: HashMap<Uuid, &str> = sent_back
        .map(|x| x.value_comments.iter().map(|c| (c.kpi_id, c.comment.as_str())).collect())
        .unwrap_or_default();
    let current = detail.versions.first();
    let rows = current.map(|v| value_rows(v, &kpis, &flags, &comments)).unwrap_or_default();
    let history: Vec<_> = detail
        .versions
        .iter()
        .map(|v| json!({ "version": v, "rows": value_rows(v, &kpis, &[], &HashMap::new()) }))
        .collect();
    let period = engagements::schedule(e)?.period_of(r.period_start);
    let edit = overrides.edit.unwrap_or_else(|| ValuesForm::filled(format!("/reports/{}", r.id), current, lang));
    let page = json!({
        "engagement": EngagementBrief::from(e),
        "report": detail.report,
        "due": period.map(|p| p.due_date),
        "current": current,
        "rows": rows,
        "flag_count": flags.len(),
        "history": history,
        "reviews": review_lines(state, &detail.reviews, &kpis).await?,
        "sent_back": sent_back.map(|x| json!({ "comment": x.comment, "decided_at": x.decided_at })),
        "value_comments": comments,
        "can_edit": can_edit,
        "can_review": can_review,
        "form": edit,
        "review": overrides.review.unwrap_or_default(),
        "upload": overrides.upload.unwrap_or_default(),
        "upload_action": format!("/engagements/{}/reports/import", e.id),
        "period_start": r.period_start,
    });
    let mut ctx = form_context(&kpis);
    merge(&mut ctx, page);
    user.render_status(state, status, "reports/show.html", ctx)
}

/// A reviewer's decision: accept, or request changes with comments per value.
pub(super) async fn review(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PageForm,
) -> PageResult<Response> {
    let user = &form.user;
    let (r, e, seen) = report_for(&state, &user.principal, parse_id(&id)?, Action::Review).await?;
    let lang = user.frame.lang;
    let kpis = kpi_list(&state, &e).await?;
    let refused = async |errors: Vec<FieldError>| {
        let errors = FormErrors::new(&errors, lang, |f| review_label(f, &kpis, lang));
        let review = ReviewForm { values: form.values(), errors };
        let overrides = Overrides { review: Some(review), ..Overrides::default() };
        render(&state, user, &r, &e, seen, overrides, StatusCode::UNPROCESSABLE_ENTITY).await
    };
    if let Err(err) = form.only(&["decision", "review_comment", "vc_*"]) {
        return refused(crate::web::kit::refused_fields(&err).map(<[_]>::to_vec).unwrap_or_default()).await;
    }
    let decision = match form.get("decision") {
        Some("accept") => ReviewDecision::Accept,
        Some("request_changes") => ReviewDecision::RequestChanges,
        _ => return refused(vec![FieldError::new("decision", "invalid_choice", "choose one of the options")]).await,
    };
    let comment = form.get("review_comment").map(str::to_string);
    let value_comments: Vec<ValueComment> = form
        .fields
        .iter()
        .filter_map(|(name, text)| {
            let kpi_id = name.strip_prefix("vc_")?.parse().ok()?;
            let comment = text.trim();
            (!comment.is_empty()).then(|| ValueComment { kpi_id, comment: comment.to_string() })
        })
        .collect();
    let kpi_of: Vec<Uuid> = value_comments.iter().map(|c| c.kpi_id).collect();
    let decided =
        reports::review(&state.ctx(&user.principal), r.id, Review { decision, comment, value_comments }).await;
    match decided {
        Ok(detail) => Ok(to_report(
            r.id,
            match detail.report.status {
                ReportStatus::Accepted => "rep_accepted",
                ReportStatus::ChangesRequested => "rep_changes_requested",
                _ => "rep_decision_recorded",
            },
        )),
        Err(err) => {
            let errors = refused_fields(err)?.into_iter().map(|e| review_field(e, &kpi_of)).collect();
            refused(errors).await
        }
    }
}

/// The store names `comment` and `value_comments[i]`; the form `review_comment` and `vc_<kpi>`.
fn review_field(mut e: FieldError, kpi_of: &[Uuid]) -> FieldError {
    if e.field == "comment" {
        e.field = "review_comment".into();
    } else if let Some(rest) = e.field.strip_prefix("value_comments[")
        && let Some(kpi) = rest.split_once(']').and_then(|(i, _)| kpi_of.get(i.parse::<usize>().ok()?))
    {
        e.field = format!("vc_{kpi}");
    }
    e
}

fn review_label(field: &str, kpis: &[KpiView], lang: Language) -> Option<String> {
    if let Some(id) = field.strip_prefix("vc_") {
        let name = kpi_name(kpis, id.parse().ok()?);
        return Some(tr("rep.label.review_value", lang, &[("kpi", name)]));
    }
    match field {
        "review_comment" => Some(tr("rep.review.comment", lang, &[])),
        "decision" => Some(tr("rep.review.decision", lang, &[])),
        _ => None,
    }
}
