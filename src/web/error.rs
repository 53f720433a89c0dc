//! The pages' error type: an [`AppError`] (or a bad CSRF token, or a template failure)
//! answered as an HTML page in the visitor's language instead of a problem document.
//!
//! A handler cannot render without the request's frame, so [`PageError::into_response`]
//! leaves an [`ErrorPage`] marker in the response, and the [`error_pages`] middleware,
//! which knows the visitor, renders it. Anonymous visitors of a page that needs a session
//! are redirected to the login page with a `next=` back to where they were.

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use minijinja::context;

use super::session::Visitor;
use crate::{domain::FieldError, error::AppError, present::errors::describe, state::AppState};

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("missing or wrong CSRF token")]
    Csrf,
    #[error("sign in first")]
    SignIn { next: String },
    #[error("template: {0:#}")]
    Render(#[from] minijinja::Error),
}

impl From<anyhow::Error> for PageError {
    fn from(err: anyhow::Error) -> Self {
        PageError::App(AppError::Internal(err))
    }
}

pub type PageResult<T> = Result<T, PageError>;

/// What the error page shows; set by [`PageError`], rendered by [`error_pages`].
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub status: StatusCode,
    /// Catalogue key of the explanation.
    pub key: &'static str,
    /// Field errors of a validation failure that reached the error page.
    pub fields: Vec<FieldError>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, key, fields) = match self {
            PageError::SignIn { next } => return sign_in(&next),
            PageError::App(AppError::Unauthenticated) => return sign_in("/"),
            PageError::Csrf => (StatusCode::FORBIDDEN, "error.csrf", Vec::new()),
            PageError::Render(err) => {
                tracing::error!(error = %err, detail = ?err.detail(), "page template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "error.internal", Vec::new())
            }
            PageError::App(err) => {
                let fields = crate::web::kit::refused_fields(&err).map(<[_]>::to_vec).unwrap_or_default();
                let response = err.into_response();
                let key = match response.status() {
                    StatusCode::NOT_FOUND => "error.not_found",
                    StatusCode::FORBIDDEN => "error.forbidden",
                    StatusCode::CONFLICT => "error.conflict",
                    StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "error.invalid",
                    StatusCode::TOO_MANY_REQUESTS => "error.rate_limited",
                    StatusCode::PAYLOAD_TOO_LARGE => "error.too_large",
                    s if s.is_client_error() => "error.invalid",
                    _ => "error.internal",
                };
                (response.status(), key, fields)
            }
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(ErrorPage { status, key, fields });
        response
    }
}

fn sign_in(next: &str) -> Response {
    let next = super::redirect::LocalPath::or_home(Some(next));
    let target = format!(
        "/login?{}",
        form_urlencoded::Serializer::new(String::new()).append_pair("next", next.as_str()).finish()
    );
    Redirect::to(&target).into_response()
}

/// Renders the [`ErrorPage`] a handler left, in the visitor's language.
pub async fn error_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let visitor = Visitor::from_request_parts(&mut parts, &state).await;
    let response = next.run(Request::from_parts(parts, body)).await;
    let Some(page) = response.extensions().get::<ErrorPage>().cloned() else { return response };
    let Ok(visitor) = visitor else { return response };
    let lang = visitor.frame.lang;
    let fields: Vec<String> = page.fields.iter().map(|e| describe(e, lang, None)).collect();
    let ctx = context! { status => page.status.as_u16(), message => page.key, fields => fields };
    match visitor.render(&state, "error.html", ctx) {
        Ok(html) => {
            let mut rendered = (page.status, html).into_response();
            if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
                rendered.headers_mut().insert(header::RETRY_AFTER, retry.clone());
            }
            rendered
        }
        Err(err) => {
            tracing::error!(error = %err, "the error page failed to render");
            (page.status, "error").into_response()
        }
    }
}
