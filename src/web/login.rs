//! Signing in and out from the browser, and choosing the language.
//!
//! The login form is protected from login CSRF by a double-submit token: `GET /login` sets a
//! random `veedor_login_csrf` cookie and puts the same value in the form; `POST /login`
//! refuses a post whose two copies differ. Signed-in forms use the session's own token.

use crate::present::links::paths;
use std::net::SocketAddr;

use axum::{
    Router,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use axum_extra::extract::{
    CookieJar,
    cookie::{Cookie, SameSite},
};
use minijinja::context;
use serde::Deserialize;

use super::{
    error::{PageError, PageResult},
    redirect::LocalPath,
    session::{LANG_COOKIE, PageForm, Visitor, check_csrf},
};
use crate::{
    app::{
        sessions::{self, Client},
        users,
    },
    auth::{AuthMethod, secret, session},
    domain::{enums::Language, user::UserPatch},
    error::AppError,
    state::AppState,
};

const LOGIN_CSRF_COOKIE: &str = "veedor_login_csrf";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::LOGIN, get(login_page).post(login_submit))
        .route(paths::LOGOUT, post(logout))
        .route(paths::LANGUAGE, post(language))
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    visitor: Visitor,
    jar: CookieJar,
    Query(q): Query<LoginQuery>,
) -> PageResult<Response> {
    let next = LocalPath::or_home(q.next.as_deref()).to_string();
    if visitor.principal.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let token = secret::generate();
    let page = visitor.render(
        &state,
        "login.html",
        context! { next, login_csrf => token.clone(), email => "", failed => "" },
    )?;
    Ok((jar.add(login_cookie(&state, token)), page).into_response())
}

fn login_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build((LOGIN_CSRF_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.config.secure_cookies())
        .path("/login")
        .build()
}

async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    visitor: Visitor,
    jar: CookieJar,
    body: axum::body::Bytes,
) -> PageResult<Response> {
    let field = |name: &str| {
        form_urlencoded::parse(&body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap_or_default()
    };
    let (email, password, next, presented) = (field("email"), field("password"), field("next"), field("_csrf"));
    let expected = jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    if expected.is_empty() || !secret::constant_time_eq(&presented, &expected) {
        return Err(PageError::Csrf);
    }
    let next = LocalPath::or_home(Some(&next)).to_string();
    let client = Client {
        ip: crate::request::client_ip(state.config.trust_proxy, &headers, peer),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        previous_session: jar.get(session::COOKIE).map(|c| c.value().to_owned()),
    };
    let failed = match sessions::login(&state.db, state.clock.now(), &state.config, &email, password, client).await {
        Ok(outcome) => {
            let jar = jar
                .add(session::cookie(outcome.session.cookie_value, &state.config))
                .remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/login").build());
            return Ok((jar, Redirect::to(&next)).into_response());
        }
        Err(AppError::BadCredentials) => ("login.failed", StatusCode::UNAUTHORIZED),
        Err(AppError::RateLimited { .. }) => ("login.rate_limited", StatusCode::TOO_MANY_REQUESTS),
        Err(other) => return Err(other.into()),
    };
    let token = secret::generate();
    let page = visitor.render_status(
        &state,
        failed.1,
        "login.html",
        context! { next, login_csrf => token.clone(), email, failed => failed.0 },
    )?;
    Ok((jar.add(login_cookie(&state, token)), page).into_response())
}

async fn logout(State(state): State<AppState>, jar: CookieJar, form: PageForm) -> PageResult<Response> {
    let principal = &form.user.principal;
    if let (AuthMethod::Session { .. }, Some(cookie)) = (&principal.via, jar.get(session::COOKIE)) {
        sessions::logout(&state.db, state.clock.now(), &principal.actor(), principal.user.id, cookie.value()).await?;
    }
    Ok((jar.add(session::removal(&state.config)), Redirect::to("/login?notice=signed_out")).into_response())
}

/// Switches the language: a signed-in user's setting (audited like any change to the
/// account), or a cookie for a visitor who has not signed in yet.
async fn language(
    State(state): State<AppState>,
    visitor: Visitor,
    jar: CookieJar,
    body: axum::body::Bytes,
) -> PageResult<Response> {
    let field = |name: &str| form_urlencoded::parse(&body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    let next = LocalPath::or_home(field("next").as_deref()).to_string();
    let Some(lang) = field("lang").and_then(|l| l.parse::<Language>().ok()) else {
        return Err(AppError::invalid("lang", "invalid_value", "choose es or en").into());
    };
    match &visitor.principal {
        Some(principal) => {
            check_csrf(principal, field("_csrf").as_deref())?;
            let patch = UserPatch {
                name: None,
                role: None,
                vendor_id: None,
                language: Some(lang),
                timezone: None,
                active: None,
            };
            users::update(&state.db, state.clock.now(), &principal.actor(), principal.user.id, patch, &state.tokens)
                .await?;
            Ok(Redirect::to(&next).into_response())
        }
        None => {
            let cookie = Cookie::build((LANG_COOKIE, lang.to_string()))
                .same_site(SameSite::Lax)
                .path("/")
                .max_age(time::Duration::days(365))
                .build();
            Ok((jar.add(cookie), Redirect::to(&next)).into_response())
        }
    }
}
