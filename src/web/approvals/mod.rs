//! Approvals and the content calendar, as pages: the queue of approvals with their decide
//! buttons, one approval with its stages and decisions, the content calendar by month, one
//! content item, and the agency's form to propose or change a publication.
//!
//! Both areas live together because a content item exists to be approved: the calendar links
//! an item to its approval, and the approval to its item. Every handler reads and writes
//! through the same store functions and `policy::approval` checks as `http::approvals` and
//! `http::content`, so a page never shows or does what the API would refuse.

mod queue;

use axum::Router;

use super::kit::{area_errors as form_errors, message, page_number as page_of, path_id as parse_id, query_param};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    queue::router()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldError;
    use crate::{domain::enums::Language, error::AppError};

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
}
