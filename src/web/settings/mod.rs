//! The settings pages (`/settings`): one's digest subscriptions and their preview
//! ([`digests`]), and one's notification preferences with the outbox ledger ([`notifications`]).
//! Each page asks the same policy as its API resource.

mod digests;
mod notifications;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(digests::router()).merge(notifications::router())
}
