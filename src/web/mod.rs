//! The pages people use: server-rendered HTML in Spanish or English, forms that work
//! without JavaScript (`veedor.js` only adds conveniences), every asset served by Veedor.
//!
//! Handlers are as thin as the API's and call the same use cases (`crate::app`), which
//! authorize through `crate::policy`, so a page never shows what the API would refuse. They take a
//! [`session::SignedIn`] (or [`session::PageForm`] for posts, which checks the CSRF token),
//! and answer [`error::PageError`], rendered as an error page in the visitor's language.
//! Their security headers are set for every response in `crate::security_headers`.

pub mod assets;
pub mod error;
pub mod home;
pub mod kit;
pub mod login;
pub mod numbers;
pub mod paging;
pub mod redirect;
pub mod session;

pub mod admin;
pub mod alerts;
pub mod approvals;
pub mod audit;
pub mod content;
pub mod engagement;
pub mod incidents;
pub mod reports;
pub mod settings;

use axum::{
    Router,
    http::Uri,
    middleware::{from_fn, from_fn_with_state},
    response::{IntoResponse, Response},
};

use crate::{error::AppError, state::AppState};
use error::PageError;

pub use crate::present::Pages;

/// Every page route, with the session and error-page layers. Its fallback
/// answers every unknown path (see [`not_found`]).
pub fn router(state: AppState) -> Router<AppState> {
    let pages = Router::new()
        .merge(login::router())
        .merge(home::router())
        .merge(engagement::router())
        .merge(reports::router())
        .merge(approvals::router())
        .merge(content::router())
        .merge(incidents::router())
        .merge(alerts::router())
        .merge(admin::router())
        .merge(settings::router())
        .merge(audit::router())
        .fallback(not_found)
        .layer(from_fn(session::refuse_control_characters))
        .layer(from_fn_with_state(state.clone(), error::error_pages))
        .layer(from_fn_with_state(state, session::resolve));
    assets::router().merge(pages)
}

/// An unknown path: a page in the visitor's language for people, a problem document for
/// the API and other machine paths.
async fn not_found(uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || path == "/api" || path.starts_with("/static/") {
        return AppError::NotFound.into_response();
    }
    PageError::from(AppError::NotFound).into_response()
}
