//! Problem documents in the caller's language: the API's answers are written in Spanish when
//! nothing else is known, and this layer rewrites them in the request's language.

use axum::{extract::Request, http::header, middleware::Next, response::Response};

use crate::{
    auth::Principal,
    error::{DEFAULT_LANGUAGE, ProblemSource},
    present,
};

/// Writes an API problem answer in the request's language: its `Accept-Language` when it
/// has one, else the signed-in caller's language (see `docs/api.md`, Errors).
pub async fn localize(request: Request, next: Next) -> Response {
    let accept = request.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let own = request.extensions().get::<Principal>().map(|p| p.user.language);
    let response = next.run(request).await;
    let lang = match (accept, own) {
        (Some(accept), _) => present::negotiate(Some(&accept)),
        (None, Some(own)) => own,
        (None, None) => DEFAULT_LANGUAGE,
    };
    match response.extensions().get::<ProblemSource>() {
        Some(source) if lang != DEFAULT_LANGUAGE => source.render(lang),
        _ => response,
    }
}
