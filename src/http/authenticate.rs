//! The API's authentication middleware: resolves the caller of each request once, from a
//! bearer token or a session cookie, and leaves the [`Principal`] (or, for a cookie write
//! without its CSRF token, the [`CsrfRejected`] marker) in the request's extensions.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use axum_extra::extract::CookieJar;

use crate::{
    auth::{self, AuthMethod, CSRF_HEADER, CsrfRejected, Principal, session, token},
    error::{AppError, AppResult},
    state::AppState,
};

/// Resolves the caller, if any. A bearer token that does not check out is refused outright;
/// a stale session cookie just leaves the request anonymous.
pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    match resolve(&state, request.headers()).await {
        Ok(Some(principal)) => {
            if is_safe(request.method()) || csrf_ok(request.headers(), &principal) {
                request.extensions_mut().insert(principal);
            } else {
                request.extensions_mut().insert(CsrfRejected);
            }
        }
        Ok(None) => {}
        Err(err) => return err.into_response(),
    }
    next.run(request).await
}

async fn resolve(state: &AppState, headers: &HeaderMap) -> AppResult<Option<Principal>> {
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION) {
        let presented = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(AppError::Unauthenticated)?;
        return token::authenticate(&state.db, state.clock.now(), &state.tokens, presented).await.map(Some);
    }
    let jar = CookieJar::from_headers(headers);
    let Some(cookie) = jar.get(session::COOKIE) else { return Ok(None) };
    session::authenticate(&state.db, state.clock.now(), state.config.session_idle(), cookie.value()).await
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Synchronizer-token CSRF defence: a cookie-authenticated write must echo the session's
/// CSRF token in a header, which another site's page cannot read or set.
fn csrf_ok(headers: &HeaderMap, principal: &Principal) -> bool {
    let AuthMethod::Session { csrf_token, .. } = &principal.via else { return true };
    let presented = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    auth::secret::constant_time_eq(presented, csrf_token)
}
