//! The approvals queue, one approval, and deciding on it. Company users see what they may
//! see and decide what waits on them; agency users see only the approvals of what they
//! submitted and never decide (as the API).

use crate::domain::enums::Language;
use crate::present;
use crate::present::links::paths;
use crate::web::redirect::LocalPath;
use std::collections::{BTreeMap, HashMap};

use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use strum::IntoEnumIterator;
use uuid::Uuid;

use super::{form_errors, message, page_of, parse_id, query_param};
use crate::{
    app::{
        approvals::{self, ApprovalView, DecisionInput, QueueFilter, QueueView},
        engagements,
    },
    db::entity::engagement,
    domain::{
        approval::{ApprovalStatus, Approver, Decision, SubjectKind},
        confidentiality::{Viewer, Visibility},
        enums::{Role, TeamRole},
    },
    error::{AppError, AppResult},
    policy::{
        approval::{Action, authorize},
        engagement::Action as EngagementAction,
    },
    state::AppState,
    web::{
        error::PageResult,
        paging::{PER_PAGE, Paged},
        session::{PageForm, SignedIn},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::APPROVALS, get(queue))
        .route(paths::APPROVAL, get(detail))
        .route(paths::APPROVAL_DECISIONS, post(decide))
}

/// The page of the approval's subject, where there is one.
fn subject_href(a: &ApprovalView) -> String {
    match a.subject_kind {
        SubjectKind::Report => format!("/reports/{}", a.subject_id),
        SubjectKind::Content => format!("/content/{}", a.subject_id),
        SubjectKind::Activation | SubjectKind::Amendment => format!("/engagements/{}", a.engagement_id),
    }
}

/// Whether the viewer may decide the approval's current stage now: the same rules the store
/// applies (`domain::approval::decide`), so a button is never shown that would be refused.
fn may_decide(a: &ApprovalView, viewer: &Viewer, seen: Visibility) -> bool {
    let already_approved = a
        .decisions
        .iter()
        .any(|d| d.stage == a.current_stage && d.decider_id == viewer.user_id && d.decision == Decision::Approve);
    authorize(viewer, Action::Decide, seen).is_ok()
        && a.status == ApprovalStatus::Pending
        && a.author_id != Some(viewer.user_id)
        && a.current_approvers.contains(&viewer.user_id)
        && !already_approved
}

/// One approval as the queue and the detail page show it.
#[derive(Debug, Serialize)]
struct Row {
    approval: ApprovalView,
    engagement: String,
    subject_href: String,
    /// Name of the current stage, and its number (1-based) of how many.
    stage_name: String,
    stage_number: usize,
    stage_count: usize,
    approvers: Vec<String>,
    may_decide: bool,
}

impl Row {
    fn new(
        a: ApprovalView,
        engagement: String,
        names: &HashMap<Uuid, String>,
        may_decide: bool,
        language: Language,
    ) -> Self {
        let stage = usize::try_from(a.current_stage).unwrap_or_default();
        Self {
            engagement,
            subject_href: subject_href(&a),
            stage_name: a.stages.get(stage).map(|s| present::titles::stage(s, language)).unwrap_or_default(),
            stage_number: stage + 1,
            stage_count: a.stages.len(),
            approvers: a.current_approvers.iter().filter_map(|id| names.get(id).cloned()).collect(),
            may_decide,
            approval: a,
        }
    }
}

/// The queue's filters from the query string (`page` aside).
fn queue_filter(query: &HashMap<String, String>) -> AppResult<QueueFilter> {
    let view = match query.get("view").map(|v| v.trim()).unwrap_or_default() {
        "" | "all" => QueueView::All,
        "waiting_on_me" => QueueView::WaitingOnMe,
        "submitted_by_me" => QueueView::SubmittedByMe,
        _ => return Err(AppError::invalid("view", "invalid_value", "not a valid choice")),
    };
    Ok(QueueFilter {
        view,
        status: query_param(query, "status")?,
        subject_kind: query_param(query, "subject_kind")?,
        engagement_id: query_param(query, "engagement_id")?,
        overdue: query_param(query, "overdue")?,
    })
}

/// The filters as the form and the pager links repeat them.
fn filter_values(query: &HashMap<String, String>, vendor: bool) -> BTreeMap<&'static str, String> {
    let mut keys = vec!["status", "subject_kind", "engagement_id", "overdue"];
    if !vendor {
        keys.insert(0, "view");
    }
    keys.into_iter().map(|k| (k, query.get(k).map(|v| v.trim().to_string()).unwrap_or_default())).collect()
}

async fn queue(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult<Html<String>> {
    let viewer = user.principal.viewer();
    let vendor = viewer.role == Role::Vendor;
    let filter = queue_filter(&query)?;
    let visible = engagements::visible(&state.db, &viewer).await?;
    let ids: Vec<Uuid> = visible.iter().map(|e| e.id).collect();
    let now = state.clock.now();
    let found = approvals::queue(&state.db, &ids, viewer.user_id, vendor, &filter, now, user.frame.lang).await?;
    let names = crate::db::names::users(&state.db, found.iter().flat_map(|a| a.current_approvers.clone())).await?;
    let titles: HashMap<Uuid, &str> = visible.iter().map(|e| (e.id, e.title.as_str())).collect();
    // Every engagement listed is visible: fully to company users, as the agency to vendors.
    let seen = if vendor { Visibility::VendorView } else { Visibility::Full };
    let rows: Vec<Row> = found
        .into_iter()
        .map(|a| {
            let title = titles.get(&a.engagement_id).copied().unwrap_or_default().to_string();
            let decide = may_decide(&a, &viewer, seen);
            Row::new(a, title, &names, decide, user.frame.lang)
        })
        .collect();
    let paged = Paged::of(rows, page_of(&query), PER_PAGE);
    let engagements: Vec<_> = visible.iter().map(|e| json!([e.id, e.title])).collect();
    user.render(
        &state,
        "approvals/queue.html",
        json!({
            "paged": paged,
            "filter": filter_values(&query, vendor),
            "vendor": vendor,
            "engagements": engagements,
            "statuses": ApprovalStatus::iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "kinds": SubjectKind::iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        }),
    )
}

/// Reads an approval the way `GET /api/v1/approvals/{id}` does: 404 for an approval of an
/// engagement the viewer does not see, and for agency users, of a subject they did not author.
async fn load(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    language: Language,
) -> AppResult<(ApprovalView, engagement::Model, Visibility)> {
    let a = approvals::get(&state.db, id).await?;
    let (e, seen) = engagements::load(&state.db, viewer, a.engagement_id, EngagementAction::Read).await?;
    authorize(viewer, Action::ReadApproval { authored: a.author_id == Some(viewer.user_id) }, seen)?;
    let view = approvals::views(&state.db, &[a], state.clock.now(), language).await?.into_iter().next();
    Ok((view.ok_or(AppError::NotFound)?, e, seen))
}

/// Who an approver of a workflow stage stands for, as the page names them.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ApproverLabel {
    User { name: String },
    TeamRole { team_role: TeamRole },
}

fn label(a: &Approver, names: &HashMap<Uuid, String>) -> ApproverLabel {
    match a {
        Approver::User { user_id } => ApproverLabel::User { name: names.get(user_id).cloned().unwrap_or_default() },
        Approver::TeamRole { team_role } => ApproverLabel::TeamRole { team_role: *team_role },
    }
}

/// A decide form sent back: what was typed, what was wrong, and the status to answer.
#[derive(Debug, Default)]
struct Attempt {
    status: Option<StatusCode>,
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
}

async fn detail(State(state): State<AppState>, user: SignedIn, Path(id): Path<String>) -> PageResult<Response> {
    let id = parse_id(&id)?;
    render_detail(&state, &user, id, Attempt::default()).await
}

/// Everyone the detail page names: approvers, deciders, the author, named stage approvers.
fn people_of(a: &ApprovalView) -> Vec<Uuid> {
    let mut people: Vec<Uuid> = a.current_approvers.clone();
    people.extend(a.decisions.iter().map(|d| d.decider_id));
    people.extend(a.author_id);
    for stage in &a.stages {
        for approver in stage.approvers.iter().chain(&stage.escalation) {
            if let Approver::User { user_id } = approver {
                people.push(*user_id);
            }
        }
    }
    people
}

/// The workflow's stages as the detail page lists them.
fn stage_rows(a: &ApprovalView, names: &HashMap<Uuid, String>, language: Language) -> Vec<serde_json::Value> {
    let current = usize::try_from(a.current_stage).ok();
    a.stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "number": i + 1,
                "name": present::titles::stage(s, language),
                "approvers": s.approvers.iter().map(|x| label(x, names)).collect::<Vec<_>>(),
                "quorum": s.quorum,
                "sla_hours": s.sla_hours.to_string(),
                "escalation": s.escalation.as_ref().map(|x| label(x, names)),
                "current": current == Some(i),
            })
        })
        .collect()
}

/// The decisions, each with its stage's name and its decider's.
fn decision_rows(a: &ApprovalView, names: &HashMap<Uuid, String>, language: Language) -> Vec<serde_json::Value> {
    a.decisions
        .iter()
        .map(|d| {
            let stage = usize::try_from(d.stage)
                .ok()
                .and_then(|s| a.stages.get(s))
                .map(|s| present::titles::stage(s, language));
            json!({
                "decision": d,
                "stage": stage.unwrap_or_default(),
                "decider": names.get(&d.decider_id).cloned().unwrap_or_default(),
            })
        })
        .collect()
}

async fn render_detail(state: &AppState, user: &SignedIn, id: Uuid, attempt: Attempt) -> PageResult<Response> {
    let viewer = user.principal.viewer();
    let lang = user.frame.lang;
    let (a, e, seen) = load(state, &viewer, id, lang).await?;
    let names = crate::db::names::users(&state.db, people_of(&a)).await?;
    let (stages, decisions) = (stage_rows(&a, &names, lang), decision_rows(&a, &names, lang));
    let author = a.author_id.and_then(|id| names.get(&id).cloned());
    let decide = may_decide(&a, &viewer, seen);
    // An activation is decided on the engagement's governance: its findings go with it.
    let governance = match a.subject_kind {
        SubjectKind::Activation => crate::web::engagement::governance_for(state, user, &e).await?,
        _ => None,
    };
    let row = Row::new(a, e.title, &names, decide, lang);
    // The comment's error shows by the comment; any other reason above the form.
    let refusal: Vec<&String> = attempt.errors.iter().filter(|(k, _)| *k != "comment").map(|(_, v)| v).collect();
    user.render_status(
        state,
        attempt.status.unwrap_or(StatusCode::OK),
        "approvals/detail.html",
        json!({
            "row": row, "stages": stages, "decisions": decisions, "author": author,
            "values": attempt.values, "errors": attempt.errors, "refusal": refusal,
            "governance": governance,
        }),
    )
}

/// The decide form (from the queue or the detail page).
#[derive(Debug, Deserialize)]
struct DecideForm {
    stage: i32,
    decision: Decision,
    #[serde(default)]
    comment: Option<String>,
}

/// Where to go after deciding from the queue: back to the queue as it was filtered, never
/// anywhere else.
fn back_to(back: Option<&str>, id: Uuid) -> String {
    let back = back.and_then(LocalPath::parse);
    let Some(back) =
        back.as_ref().map(LocalPath::as_str).filter(|b| *b == "/approvals" || b.starts_with("/approvals?"))
    else {
        return format!("/approvals/{id}");
    };
    let query = back.split_once('?').map_or("", |(_, q)| q);
    let kept = form_urlencoded::parse(query.as_bytes()).into_owned().filter(|(k, _)| k != "notice");
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish();
    if query.is_empty() { "/approvals".to_string() } else { format!("/approvals?{query}") }
}

fn with_notice(path: &str, notice: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}notice={notice}")
}

async fn decide(State(state): State<AppState>, Path(id): Path<String>, form: PageForm) -> PageResult<Response> {
    let id = parse_id(&id)?;
    let user = &form.user;
    let viewer = user.principal.viewer();
    let (_, _, seen) = load(&state, &viewer, id, user.frame.lang).await?;
    let result = async {
        authorize(&viewer, Action::Decide, seen)?;
        form.only(&["stage", "decision", "comment", "back"])?;
        let input: DecideForm = form.parse()?;
        let input = DecisionInput { stage: input.stage, decision: input.decision, comment: input.comment };
        let decider = (&user.principal.actor(), viewer.role);
        crate::app::decisions::decide(&state.db, state.clock.now(), decider, id, &input, &state.rules, user.frame.lang)
            .await?;
        Ok::<_, AppError>(input.decision)
    }
    .await;
    let lang = user.frame.lang;
    let (status, errors) = match result {
        Ok(decision) => {
            let notice = format!("appr_{decision}");
            return Ok(Redirect::to(&with_notice(&back_to(form.get("back"), id), &notice)).into_response());
        }
        Err(AppError::Forbidden(_)) => {
            (StatusCode::FORBIDDEN, BTreeMap::from([("approval".to_string(), message("appr.error.forbidden", lang))]))
        }
        Err(err @ (AppError::Invalid(_) | AppError::Conflict { .. } | AppError::Malformed { .. })) => {
            let status = if matches!(err, AppError::Conflict { .. }) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            (status, form_errors(&err, "appr", lang).unwrap_or_default())
        }
        Err(other) => return Err(other.into()),
    };
    render_detail(&state, user, id, Attempt { status: Some(status), values: form.values(), errors }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciding_from_the_queue_goes_back_to_the_queue_only() {
        let id = Uuid::nil();
        assert_eq!(back_to(None, id), format!("/approvals/{id}"));
        assert_eq!(back_to(Some("https://evil.example/approvals"), id), format!("/approvals/{id}"));
        assert_eq!(back_to(Some("/approvalsX"), id), format!("/approvals/{id}"));
        assert_eq!(back_to(Some("/approvals"), id), "/approvals");
        assert_eq!(
            back_to(Some("/approvals?view=waiting_on_me&notice=appr_reject&page=2"), id),
            "/approvals?view=waiting_on_me&page=2"
        );
        assert_eq!(with_notice("/approvals", "appr_approve"), "/approvals?notice=appr_approve");
        assert_eq!(with_notice("/approvals?page=2", "appr_approve"), "/approvals?page=2&notice=appr_approve");
    }

    #[test]
    fn queue_filters_are_read_from_the_query() {
        let q = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let f = queue_filter(&q(&[("view", "waiting_on_me"), ("status", "pending"), ("overdue", "true")])).unwrap();
        assert_eq!((f.view, f.status, f.overdue), (QueueView::WaitingOnMe, Some(ApprovalStatus::Pending), Some(true)));
        let f = queue_filter(&q(&[("view", ""), ("subject_kind", ""), ("page", "3")])).unwrap();
        assert_eq!((f.view, f.subject_kind), (QueueView::All, None));
        assert!(queue_filter(&q(&[("view", "everything")])).is_err());
        assert!(queue_filter(&q(&[("engagement_id", "nope")])).is_err());
        let shown = filter_values(&q(&[("view", "all"), ("status", " approved ")]), true);
        assert!(!shown.contains_key("view"), "agency users have no view to choose");
        assert_eq!(shown["status"], "approved");
    }
}
