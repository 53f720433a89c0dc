//! What a use case acts with: the database, the instant it happens at, the write rules, and
//! who acts (the viewer the policies decide for, the actor the audit log names, and the
//! language they read). A surface builds one per request (`AppState::ctx`) and hands it to
//! one use case, which authorizes through `policy` before it reads or changes anything.
//!
//! Jobs that act for nobody in particular (the scheduler's reconciliations, the delivery
//! workers) do not take a context: they call the use cases' own system functions, which
//! take the database and the clock and authorize nothing, because no person asked.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::{WriteRules, audit::Actor};
use crate::domain::{confidentiality::Viewer, enums::Language};

/// One person's request, as the use cases see it.
#[derive(Clone)]
pub struct Ctx<'a> {
    pub db: &'a DatabaseConnection,
    pub now: DateTime<Utc>,
    pub rules: &'a WriteRules,
    /// Whom the policies decide for.
    pub viewer: Viewer,
    /// Whom the audit log names.
    pub actor: Actor,
    /// The language the person reads (for what a use case words, such as a file template).
    pub language: Language,
}
