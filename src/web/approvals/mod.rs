//! Approvals and the content calendar, as pages: the queue of approvals with their decide
//! buttons, one approval with its stages and decisions, the content calendar by month, one
//! content item, and the agency's form to propose or change a publication.
//!
//! Both areas live together because a content item exists to be approved: the calendar links
//! an item to its approval, and the approval to its item. Every handler reads and writes
//! through the same store functions and `policy::approval` checks as `http::approvals` and
//! `http::content`, so a page never shows or does what the API would refuse.

mod calendar;
mod content;
mod queue;

use std::{
    collections::{BTreeMap, HashMap},
    str::FromStr,
};

use axum::Router;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::session::SignedIn;
use crate::present::{catalog::catalog, errors};
use crate::{
    db::entity::user,
    domain::enums::Language,
    error::{AppError, AppResult},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().merge(queue::router()).merge(content::router())
}

/// Field errors of a refused form by field, each in the visitor's language (the area's own
/// wording `<prefix>.error.…` first, see `present::errors`). `None` when the error names no
/// field (not found, forbidden, internal).
fn form_errors(err: &AppError, prefix: &str, lang: Language) -> Option<BTreeMap<String, String>> {
    let errors = super::session::refused_fields(err)?;
    // The store calls the engagement `engagement`; the forms call their field `engagement_id`.
    let field = |f: &str| if f == "engagement" { "engagement_id".to_string() } else { f.to_string() };
    Some(errors::by_field(errors, lang, Some(prefix), field))
}

/// A message of the catalogue in `lang` (the key itself if it is missing, which the unit
/// tests rule out).
fn message(key: &str, lang: Language) -> String {
    catalog().ok().and_then(|c| c.get(key, lang)).unwrap_or(key).to_string()
}

/// An id in a page's path; anything that is not one is a page that does not exist.
fn parse_id(raw: &str) -> AppResult<Uuid> {
    raw.parse().map_err(|_| AppError::NotFound)
}

/// An optional query parameter (blank counts as absent); a value that does not fit is a
/// validation error naming the parameter.
fn query_param<T: FromStr>(query: &HashMap<String, String>, name: &str) -> AppResult<Option<T>> {
    match query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| AppError::invalid(name, "invalid_value", "not a valid choice")),
    }
}

/// The `?page=` of a list.
fn page_of(query: &HashMap<String, String>) -> Option<usize> {
    query.get("page").and_then(|p| p.parse().ok())
}

/// The visitor's time zone (UTC if theirs is unknown).
fn time_zone(user: &SignedIn) -> chrono_tz::Tz {
    user.principal.user.timezone.parse().unwrap_or(chrono_tz::UTC)
}

/// People's names by id, for approvers, deciders and authors.
async fn user_names(state: &AppState, ids: impl IntoIterator<Item = Uuid>) -> AppResult<HashMap<Uuid, String>> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found = user::Entity::find().filter(user::Column::Id.is_in(ids)).all(&state.db).await?;
    Ok(found.into_iter().map(|u| (u.id, u.name)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldError;

    #[test]
    fn store_errors_are_shown_in_the_visitors_language() {
        let err = AppError::Invalid(vec![
            FieldError::new("body", "required", "must not be empty"),
            FieldError::new("planned_at", "in_the_past", "must be in the future"),
            FieldError::new("media_url", "no_such_code", "as the store says"),
        ]);
        let es = form_errors(&err, "cont", Language::Es).unwrap();
        assert_eq!(es["body"], message("cont.error.required", Language::Es));
        assert_ne!(es["body"], "must not be empty");
        assert_ne!(es["media_url"], "as the store says", "the developer's English is never shown");
        assert_eq!(es["media_url"], message("err.invalid", Language::Es), "unknown codes read as generic");
        let conflict = AppError::conflict("engagement", "engagement_not_active", "not active");
        let en = form_errors(&conflict, "cont", Language::En).unwrap();
        assert!(en.contains_key("engagement_id"));
        assert!(form_errors(&AppError::NotFound, "cont", Language::En).is_none());
    }

    #[test]
    fn bad_query_values_name_their_parameter() {
        let q: HashMap<String, String> =
            [("status", "nope"), ("view", " ")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert!(matches!(
            query_param::<crate::domain::approval::ApprovalStatus>(&q, "status"),
            Err(AppError::Invalid(e)) if e[0].field == "status"
        ));
        assert_eq!(query_param::<String>(&q, "view").unwrap(), None);
        assert!(matches!(parse_id("x"), Err(AppError::NotFound)));
    }
}
