//! The administration pages (`/admin`): user accounts ([`users`]) and API tokens
//! ([`tokens`]). Each page asks the same policy as its API resource, so what a role may do
//! here is exactly what it may do through `/api/v1`.

mod tokens;
mod users;

use axum::Router;

pub(super) use super::kit::{QueryMap, form_errors, path_id, query_parse, timezone_options};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(users::router()).merge(tokens::router())
}
