//! The approvals queue, decisions, and each engagement's workflow definitions.

use axum::{Json, extract::State};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{
    app::{
        approvals::{self, ApprovalView, DecisionInput, QueueFilter, WorkflowView},
        engagements,
    },
    auth::Principal,
    domain::{
        approval::{SubjectKind, WorkflowInput},
        enums::Role,
    },
    error::{AppResult, Problem},
    policy::{
        approval::{Action, authorize},
        engagement::Action as EngagementAction,
    },
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(queue))
        .routes(routes!(get))
        .routes(routes!(decide))
        .routes(routes!(list_workflows))
        .routes(routes!(get_workflow, set_workflow))
}

/// What waits on the caller (`view=waiting_on_me`), what the caller submitted
/// (`submitted_by_me`), or everything visible (`all`, the default); newest first, at most 500.
#[utoipa::path(
    get, path = "/api/v1/approvals", tag = "approvals", operation_id = "listApprovals",
    params(QueueFilter),
    responses((status = 200, body = Vec<ApprovalView>), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
async fn queue(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<QueueFilter>,
) -> AppResult<Json<Vec<ApprovalView>>> {
    let viewer = principal.viewer();
    let visible: Vec<Uuid> = engagements::visible(&state.db, &viewer).await?.iter().map(|e| e.id).collect();
    let now = state.clock.now();
    let vendor = viewer.role == Role::Vendor;
    Ok(Json(
        approvals::queue(&state.db, &visible, viewer.user_id, vendor, &filter, now, principal.user.language).await?,
    ))
}

/// One approval with its stages, current approvers, decisions and deadline.
#[utoipa::path(
    get, path = "/api/v1/approvals/{id}", tag = "approvals", operation_id = "getApproval",
    params(("id" = Uuid, Path, description = "The approval")),
    responses((status = 200, body = ApprovalView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ApprovalView>> {
    let a = approvals::get(&state.db, id).await?;
    let viewer = principal.viewer();
    let (_, seen) = engagements::load(&state.db, &viewer, a.engagement_id, EngagementAction::Read).await?;
    authorize(&viewer, Action::ReadApproval { authored: a.author_id == Some(viewer.user_id) }, seen)?;
    Ok(Json(approvals::views(&state.db, &[a], state.clock.now(), principal.user.language).await?.remove(0)))
}

/// Approve, reject (with a comment) or request changes (with a comment) at the stage the
/// caller saw. 403 for agency users, the subject's author and non-approvers; 409 when the
/// approval is closed or the stage was already decided (two approvers racing under quorum
/// "any": exactly one wins).
#[utoipa::path(
    post, path = "/api/v1/approvals/{id}/decisions", tag = "approvals", operation_id = "decideApproval",
    params(("id" = Uuid, Path, description = "The approval")),
    request_body = DecisionInput,
    responses(
        (status = 200, body = ApprovalView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> AppResult<Json<ApprovalView>> {
    let a = approvals::get(&state.db, id).await?;
    let viewer = principal.viewer();
    let (_, seen) = engagements::load(&state.db, &viewer, a.engagement_id, EngagementAction::Read).await?;
    authorize(&viewer, Action::ReadApproval { authored: a.author_id == Some(viewer.user_id) }, seen)?;
    authorize(&viewer, Action::Decide, seen)?;
    let rules = &state.rules;
    let now = state.clock.now();
    Ok(Json(
        crate::app::decisions::decide(
            &state.db,
            now,
            (&principal.actor(), viewer.role),
            id,
            &input,
            rules,
            principal.user.language,
        )
        .await?,
    ))
}

/// The engagement's workflow for each kind of subject (its own, or the default template).
#[utoipa::path(
    get, path = "/api/v1/engagements/{id}/workflows", tag = "approvals", operation_id = "listWorkflows",
    params(("id" = Uuid, Path, description = "The engagement")),
    responses((status = 200, body = Vec<WorkflowView>), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
async fn list_workflows(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Vec<WorkflowView>>> {
    let viewer = principal.viewer();
    let (e, seen) = engagements::load(&state.db, &viewer, id, EngagementAction::Read).await?;
    authorize(&viewer, Action::ReadWorkflow, seen)?;
    Ok(Json(approvals::workflows(&state.db, e.id).await?))
}

#[utoipa::path(
    get, path = "/api/v1/engagements/{id}/workflows/{kind}", tag = "approvals", operation_id = "getWorkflow",
    params(("id" = Uuid, Path, description = "The engagement"), ("kind" = SubjectKind, Path, description = "What the workflow approves")),
    responses((status = 200, body = WorkflowView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
async fn get_workflow(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, kind)): ApiPath<(Uuid, SubjectKind)>,
) -> AppResult<Json<WorkflowView>> {
    let viewer = principal.viewer();
    let (e, seen) = engagements::load(&state.db, &viewer, id, EngagementAction::Read).await?;
    authorize(&viewer, Action::ReadWorkflow, seen)?;
    Ok(Json(approvals::workflow(&state.db, e.id, kind).await?))
}

/// Defines the engagement's workflow for a kind of subject: ordered stages, each with
/// approvers (users or team roles), quorum, SLA hours and an optional escalation target.
/// Running approvals keep the stages they were opened with.
#[utoipa::path(
    put, path = "/api/v1/engagements/{id}/workflows/{kind}", tag = "approvals", operation_id = "setWorkflow",
    params(("id" = Uuid, Path, description = "The engagement"), ("kind" = SubjectKind, Path, description = "What the workflow approves")),
    request_body = WorkflowInput,
    responses(
        (status = 200, body = WorkflowView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn set_workflow(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, kind)): ApiPath<(Uuid, SubjectKind)>,
    ApiJson(input): ApiJson<WorkflowInput>,
) -> AppResult<Json<WorkflowView>> {
    let viewer = principal.viewer();
    let (e, seen) = engagements::load(&state.db, &viewer, id, EngagementAction::Read).await?;
    authorize(&viewer, Action::ManageWorkflow, seen)?;
    Ok(Json(approvals::set_workflow(&state.db, state.clock.now(), &principal.actor(), &e, kind, input).await?))
}
