//! Vendor reports: the agency writes and submits them, leads review them. Creating and
//! submitting honour `Idempotency-Key`.

use axum::{
    Json,
    extract::{DefaultBodyLimit, Multipart, State, multipart::MultipartRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    extract::{ApiJson, ApiPath, ApiQuery, Empty, JsonBytes, parse_json},
    idempotent,
};
use crate::{
    app::reports::{self, PlausibilityFlag, ReportDetail, ReportView, Review, Then, Upload, ValueComment},
    auth::Principal,
    domain::{
        enums::Language,
        import::ImportLimits,
        report::{ReportContent, ReviewDecision, SignalInput, ValueInput},
    },
    error::{AppError, AppResult, Problem},
    policy::report::Action,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    // Uploads may exceed the default body limit; the import itself enforces its own limit.
    let uploads = OpenApiRouter::new()
        .routes(routes!(import))
        .layer(DefaultBodyLimit::max(ImportLimits::default().max_upload_bytes + 64 * 1024));
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(template))
        .routes(routes!(get, edit))
        .routes(routes!(submit))
        .routes(routes!(review))
        .merge(uploads)
}

/// The reports of an engagement, by period.
#[utoipa::path(
    get, path = "/api/v1/engagements/{id}/reports", tag = "reports", operation_id = "listReports",
    params(("id" = Uuid, Path, description = "The engagement")),
    responses((status = 200, body = Vec<ReportView>), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Vec<ReportView>>> {
    Ok(Json(reports::list_of(&state.ctx(&principal), id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    /// First day of the period reported on (see `/engagements/{id}/periods`).
    pub period_start: NaiveDate,
    #[serde(default)]
    pub narrative: String,
    #[serde(default)]
    pub values: Vec<ValueInput>,
    #[serde(default)]
    pub signals: Vec<SignalInput>,
    /// Submit at once instead of keeping a draft.
    #[serde(default)]
    pub submit: bool,
}

/// Report on a period (the agency). Send `Idempotency-Key` to retry safely.
#[utoipa::path(
    post, path = "/api/v1/engagements/{id}/reports", tag = "reports", operation_id = "createReport",
    request_body = NewReport,
    params(("id" = Uuid, Path, description = "The engagement"), ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body get the first answer")),
    responses(
        (status = 201, body = ReportDetail),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The period already has a report", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    JsonBytes(body): JsonBytes,
) -> AppResult<Response> {
    let ctx = state.ctx(&principal);
    reports::engagement_for(&ctx, id, Action::Write).await?;
    let request_line = format!("POST /api/v1/engagements/{id}/reports");
    idempotent::run(&state, &principal, &headers, &request_line, &body, || async {
        let input: NewReport = parse_json(&body)?;
        let content = ReportContent { narrative: input.narrative, values: input.values, signals: input.signals };
        let then = if input.submit { Then::Submit } else { Then::KeepDraft };
        let detail = reports::create(&ctx, id, input.period_start, content, then).await?;
        Ok((StatusCode::CREATED, Json(detail)).into_response())
    })
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportForReview {
    #[serde(flatten)]
    pub detail: ReportDetail,
    /// Values of the latest version that look implausible next to the previous period's.
    pub plausibility: Vec<PlausibilityFlag>,
}

/// A report with every version, the review history and plausibility flags.
#[utoipa::path(
    get, path = "/api/v1/reports/{id}", tag = "reports", operation_id = "getReport",
    params(("id" = Uuid, Path, description = "The report")),
    responses((status = 200, body = ReportForReview), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ReportForReview>> {
    let shown = reports::show(&state.ctx(&principal), id).await?;
    Ok(Json(ReportForReview { detail: shown.detail, plausibility: shown.plausibility }))
}

/// Replace the content of a draft; after a request for changes, this starts a new version.
#[utoipa::path(
    put, path = "/api/v1/reports/{id}", tag = "reports", operation_id = "editReport",
    params(("id" = Uuid, Path, description = "The report")),
    request_body = ReportContent,
    responses(
        (status = 200, body = ReportDetail),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Submitted or accepted reports cannot be edited", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn edit(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(content): ApiJson<ReportContent>,
) -> AppResult<Json<ReportDetail>> {
    Ok(Json(reports::edit(&state.ctx(&principal), id, content, Then::KeepDraft).await?))
}

/// Submit the current version; after the due date it is accepted but marked late. Send
/// `Idempotency-Key` to retry safely.
#[utoipa::path(
    post, path = "/api/v1/reports/{id}/submit", tag = "reports", operation_id = "submitReport",
    params(("id" = Uuid, Path, description = "The report"), ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key get the first answer")),
    responses(
        (status = 200, body = ReportDetail),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn submit(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    _: Empty,
) -> AppResult<Response> {
    let ctx = state.ctx(&principal);
    reports::load(&ctx, id, Action::Write).await?;
    let request_line = format!("POST /api/v1/reports/{id}/submit");
    idempotent::run(&state, &principal, &headers, &request_line, &[], || async {
        let detail = reports::submit(&ctx, id).await?;
        Ok(Json(detail).into_response())
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    pub decision: ReviewDecision,
    /// Required when requesting changes without value comments.
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub value_comments: Vec<ValueComment>,
}

/// Accept a submitted report, or send it back with comments: a decision on the current stage
/// of the report's acceptance approval (the caller must be one of its approvers). Accepting
/// at the last stage accepts the report.
#[utoipa::path(
    post, path = "/api/v1/reports/{id}/review", tag = "reports", operation_id = "reviewReport",
    params(("id" = Uuid, Path, description = "The report")),
    request_body = ReviewRequest,
    responses(
        (status = 200, body = ReportDetail),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Only submitted reports are reviewed", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn review(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReviewRequest>,
) -> AppResult<Json<ReportDetail>> {
    let review = Review { decision: body.decision, comment: body.comment, value_comments: body.value_comments };
    Ok(Json(reports::review(&state.ctx(&principal), id, review).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TemplateQuery {
    /// Language of the headers (`es`: `kpi;valor;comentario;evidencia`, `en`:
    /// `kpi;value;comment;evidence_url`); default: the engagement's, which is its internal
    /// owner's language (Spanish without an owner).
    pub language: Option<Language>,
}

/// A CSV template for the engagement's KPIs (UTF-8 with BOM, `;`-separated, as Spanish
/// Excel opens it), to fill in and upload to `/reports/import`, which reads the headers of
/// either language.
#[utoipa::path(
    get, path = "/api/v1/engagements/{id}/reports/template", tag = "reports", operation_id = "getReportTemplate", params(("id" = Uuid, Path, description = "The engagement"), TemplateQuery),
    responses(
        (status = 200, description = "The template", content_type = "text/csv", body = String),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn template(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<TemplateQuery>,
) -> AppResult<Response> {
    let csv = reports::template(&state.ctx(&principal), id, q.language).await?;
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"veedor-report-template.csv\""),
    );
    Ok(response)
}

/// The multipart form of an import.
#[derive(Debug, ToSchema)]
#[expect(dead_code, reason = "describes the multipart form for the OpenAPI document")]
pub struct ImportForm {
    /// A `.csv` or `.xlsx` file with the columns of the template.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// First day of the period the figures are for.
    period_start: NaiveDate,
    /// `true` to submit the report after importing.
    submit: Option<bool>,
}

/// Import a period's figures from a CSV or XLSX file (multipart: `file`, `period_start`,
/// optional `submit`). All or nothing: a file with one bad row is refused with every error
/// by row and column. Creates the period's report, or replaces the values of its draft.
#[utoipa::path(
    post, path = "/api/v1/engagements/{id}/reports/import", tag = "reports", operation_id = "importReports",
    params(("id" = Uuid, Path, description = "The engagement")),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = ReportDetail),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The file or some rows are invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn import(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    form: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    let ctx = state.ctx(&principal);
    reports::engagement_for(&ctx, id, Action::Write).await?;
    let mut form = form.map_err(|r| {
        AppError::UnsupportedMediaType(format!("send the file as multipart/form-data: {}", r.body_text()))
    })?;
    let malformed = |e: axum::extract::multipart::MultipartError| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        _ => AppError::invalid("file", "malformed_form", e.body_text()),
    };
    let (mut file, mut period_start, mut submit) = (None, None, false);
    while let Some(field) = form.next_field().await.map_err(malformed)? {
        match field.name().unwrap_or("") {
            "file" => {
                let name = field.file_name().unwrap_or("").to_string();
                file = Some((name, field.bytes().await.map_err(malformed)?));
            }
            "period_start" => {
                let text = field.text().await.map_err(malformed)?;
                period_start = Some(text.trim().parse::<NaiveDate>().map_err(|_| {
                    AppError::invalid("period_start", "invalid_date", "must be a date such as 2027-03-01")
                })?);
            }
            "submit" => submit = field.text().await.map_err(malformed)?.trim() == "true",
            other => return Err(AppError::invalid(other, "unknown_field", "this form has no such field")),
        }
    }
    let (name, bytes) = file.ok_or_else(|| AppError::invalid("file", "required", "attach a .csv or .xlsx file"))?;
    let period_start = period_start.ok_or_else(|| AppError::invalid("period_start", "required", "name the period"))?;
    if bytes.len() > ImportLimits::default().max_upload_bytes {
        return Err(AppError::PayloadTooLarge);
    }
    let upload = Upload { file_name: &name, bytes: &bytes, period_start };
    let then = if submit { Then::Submit } else { Then::KeepDraft };
    let detail = reports::import_file(&ctx, id, upload, then).await?;
    Ok((StatusCode::CREATED, Json(detail)).into_response())
}
