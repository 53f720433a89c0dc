//! The application error, mapped once to an RFC 9457 `application/problem+json` answer.
//!
//! Everything below the HTTP layer returns [`AppError`]; anything unexpected is logged with its
//! full cause chain and answered as a generic 500.
//!
//! A field error reaches the client with its stable `code` and `params` and a `detail`
//! sentence in the caller's language (`present::errors`). The answer is written in Spanish
//! when nothing else is known; `http::problems::localize`, on the API router, rewrites it in the
//! language of the request's `Accept-Language`, else the signed-in caller's own.

use std::collections::BTreeMap;

use axum::{
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sea_orm::{DbErr, SqlErr};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    domain::{FieldError, Violations, engagement::InvalidTransition, enums::Language},
    present::{self, errors::describe},
};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request could not be read at all (malformed JSON, bad query string).
    #[error("{detail}")]
    Malformed { detail: String, errors: Vec<FieldError> },
    /// The request was read but some fields are invalid.
    #[error("validation failed")]
    Invalid(Vec<FieldError>),
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid e-mail or password")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    /// The request conflicts with the current state (a duplicate, a forbidden transition).
    #[error("{detail}")]
    Conflict { detail: String, errors: Vec<FieldError> },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many attempts; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// URI reference identifying the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// One entry per offending field, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// One offending field of a [`Problem`].
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemField {
    /// A JSON path into the request, a parameter name, or `body`, `action`, `file`, …
    pub field: String,
    /// A stable, machine-readable slug (`required`, `too_long`, `out_of_range`, …).
    pub code: String,
    /// What the code's sentence needs, such as `max` for `too_long`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    /// The sentence for a person, in the caller's language.
    pub detail: String,
    /// The developer's English note; `detail` is what to show.
    pub message: String,
}

impl ProblemField {
    pub fn of(e: &FieldError, lang: Language) -> Self {
        Self {
            field: e.field.clone(),
            code: e.code.clone(),
            params: e.params.clone(),
            detail: describe(e, lang, None),
            message: e.message.clone(),
        }
    }
}

/// What a problem answer is written from, kept in the response so that
/// [`localize_problems`] can write it again in another language.
#[derive(Debug, Clone)]
pub struct ProblemSource {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    /// The detail when it does not depend on the language.
    detail: String,
    /// Validation problems say how many fields were refused instead.
    count_fields: bool,
    /// Conflicts say what their first field error says.
    first_field: bool,
    errors: Vec<FieldError>,
    retry_after: Option<u64>,
}

impl ProblemSource {
    /// The problem document in `lang`.
    pub fn render(&self, lang: Language) -> Response {
        let detail = match self.errors.first() {
            _ if self.count_fields => {
                present::text("problem.invalid_fields", lang, &[("n", self.errors.len().to_string())])
            }
            Some(first) if self.first_field => describe(first, lang, None),
            _ => self.detail.clone(),
        };
        let problem = Problem {
            kind: format!("/problems/{}", self.slug),
            title: self.title.into(),
            status: self.status.as_u16(),
            detail,
            errors: self.errors.iter().map(|e| ProblemField::of(e, lang)).collect(),
        };
        let mut response = problem_response(self.status, &problem, self.retry_after);
        response.extensions_mut().insert(self.clone());
        response
    }
}

/// Answers a refusal that left a handler or a layer as plain text (axum's own rejections: a
/// body over the limit, a form or a body that could not be read) as a problem document
/// instead, so that no refusal reaches a client as `text/plain` whichever extractor read the
/// request.
pub async fn plain_rejections(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let refusal = matches!(
        status,
        StatusCode::BAD_REQUEST
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNSUPPORTED_MEDIA_TYPE
            | StatusCode::UNPROCESSABLE_ENTITY
    );
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !refusal || !plain || response.extensions().get::<ProblemSource>().is_some() {
        return response;
    }
    let text = match axum::body::to_bytes(response.into_body(), 64 * 1024).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType(text),
        StatusCode::UNPROCESSABLE_ENTITY => AppError::invalid("body", "invalid", text),
        _ => AppError::Malformed { detail: text.clone(), errors: vec![FieldError::new("body", "unreadable", text)] },
    };
    error.into_response()
}

impl AppError {
    pub fn conflict(field: &str, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        AppError::Conflict { detail: message.clone(), errors: vec![FieldError::new(field, code, message)] }
    }

    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError::new(field, code, message)])
    }

    pub fn forbidden(why: impl Into<String>) -> Self {
        AppError::Forbidden(why.into())
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            AppError::Malformed { .. } => (StatusCode::BAD_REQUEST, "malformed-request", "Malformed request"),
            AppError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation-error", "Invalid input"),
            AppError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", "Authentication required"),
            AppError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad-credentials", "Invalid credentials"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            AppError::NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            AppError::Conflict { .. } => (StatusCode::CONFLICT, "conflict", "Conflict"),
            AppError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "Payload too large"),
            AppError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type")
            }
            AppError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate-limited", "Too many requests"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }
}

impl AppError {
    /// What the answer to this error is written from.
    pub fn problem(self) -> ProblemSource {
        let (status, slug, title) = self.parts();
        let detail = match &self {
            AppError::Internal(err) => {
                tracing::error!(error = ?err, "request failed");
                "the request could not be completed; it has been logged".to_string()
            }
            other => other.to_string(),
        };
        let retry_after = match &self {
            AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let count_fields = matches!(self, AppError::Invalid(_));
        let first_field = matches!(self, AppError::Conflict { .. });
        let errors = match self {
            AppError::Invalid(errors) => errors,
            AppError::Malformed { errors, .. } | AppError::Conflict { errors, .. } => errors,
            AppError::PayloadTooLarge => vec![FieldError::new("body", "too_large", detail.clone())],
            AppError::UnsupportedMediaType(_) => vec![FieldError::new("content-type", "unsupported", detail.clone())],
            _ => Vec::new(),
        };
        ProblemSource { status, slug, title, detail, count_fields, first_field, errors, retry_after }
    }
}

/// The language a problem is written in when the request says nothing.
pub const DEFAULT_LANGUAGE: Language = Language::Es;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.problem().render(DEFAULT_LANGUAGE)
    }
}

/// Serialises a problem document with its media type.
pub fn problem_response(status: StatusCode, problem: &Problem, retry_after: Option<u64>) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

impl From<Violations> for AppError {
    fn from(v: Violations) -> Self {
        AppError::Invalid(v.0)
    }
}

impl From<InvalidTransition> for AppError {
    fn from(e: InvalidTransition) -> Self {
        AppError::conflict("action", "invalid_transition", e.to_string())
    }
}

/// Unique indexes (PostgreSQL names the index, SQLite the last column), and the request field
/// each protects.
const UNIQUE_FIELDS: &[(&str, &str, &str, &str)] = &[
    ("ix_vendors_name_key", "vendors.name_key", "name", "a vendor with this name already exists"),
    ("ix_users_email", "users.email", "email", "a user with this e-mail already exists"),
    ("ix_kpis_engagement_id_name_key", "kpis.name_key", "name", "this engagement already has a KPI with this name"),
    ("ix_team_members_engagement_id_user_id", "team_members.user_id", "user_id", "the user is already on the team"),
    (
        "ix_reports_engagement_id_period_start",
        "reports.period_start",
        "period_start",
        "this period already has a report",
    ),
];

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() {
            for (index, column, field, text) in UNIQUE_FIELDS {
                if message.contains(index) || message.contains(column) {
                    return AppError::conflict(field, "duplicate", *text);
                }
            }
            return AppError::conflict("body", "duplicate", "an object with these values already exists");
        }
        AppError::Internal(anyhow::Error::new(err))
    }
}
