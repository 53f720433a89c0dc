//! The settings and administration pages: digest subscriptions and their preview
//! ([`digests`]), user accounts ([`users`]), API tokens ([`tokens`]) and the audit log
//! ([`audit`]). Each page asks the same policy as its API resource, so what a role may do
//! here is exactly what it may do through `/api/v1`.

mod audit;
mod digests;
mod notifications;
mod tokens;
mod users;

use std::{collections::BTreeMap, future::Future};

use axum::Router;
use chrono::NaiveDate;
use uuid::Uuid;

use super::error::PageError;
use crate::{
    db::pagination::{MAX_LIMIT, PageRequest},
    domain::enums::Language,
    error::{AppError, AppResult},
    state::AppState,
    views::Page,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(digests::router())
        .merge(notifications::router())
        .merge(users::router())
        .merge(tokens::router())
        .merge(audit::router())
}

/// The id in a page's path; one that is not an id names nothing, like an unknown id.
fn path_id(raw: &str) -> Result<Uuid, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

/// Query parameters by name, blank ones left out.
type QueryMap = BTreeMap<String, String>;

fn query_value<'q>(q: &'q QueryMap, name: &str) -> Option<&'q str> {
    q.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// An optional parameter parsed as `T`; a value that does not parse is a validation error
/// naming the parameter.
fn query_parse<T: std::str::FromStr>(q: &QueryMap, name: &str, expected: &str) -> Result<Option<T>, AppError> {
    query_value(q, name)
        .map(|v| v.parse::<T>().map_err(|_| AppError::invalid(name, "invalid_value", expected)))
        .transpose()
}

fn query_date(q: &QueryMap, name: &str) -> Result<Option<NaiveDate>, AppError> {
    query_parse(q, name, "a date as YYYY-MM-DD")
}

/// The field errors of a refused form in the visitor's language, to show next to its fields;
/// any other error goes on to the error page.
fn form_errors(err: AppError, lang: Language) -> Result<BTreeMap<String, String>, PageError> {
    match super::session::field_errors(&err, lang) {
        Some(errors) => Ok(errors),
        None => Err(err.into()),
    }
}

/// Every IANA time zone, for a select; a value that is not one (typed into a crafted form)
/// comes first, so that the form shows what was sent.
fn timezone_options(current: &str) -> Vec<&str> {
    let mut zones: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    zones.sort_unstable();
    if !current.is_empty() && !zones.contains(&current) {
        zones.insert(0, current);
    }
    zones
}

/// Every item of a cursor-paginated store listing (pages of the largest size, at most
/// 10 000 items): for the pages' own pagination, sorting and filter choices.
async fn every<T, F, Fut>(mut fetch: F) -> AppResult<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = AppResult<Page<T>>>,
{
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let page = fetch(PageRequest::parse(cursor.as_deref(), Some(MAX_LIMIT))?).await?;
        items.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_zone_is_kept_first() {
        let zones = timezone_options("Europe/Madrid");
        assert!(zones.contains(&"America/Bogota") && zones[0] != "Europe/Madrid");
        assert_eq!(timezone_options("Mars/Olympus")[0], "Mars/Olympus");
    }

    #[test]
    fn query_values_parse_or_name_the_parameter() {
        let q: QueryMap = [("from".to_string(), "2026-02-30".to_string()), ("to".into(), " ".into())].into();
        assert_eq!(query_date(&q, "to").unwrap(), None);
        let err = query_date(&q, "from").unwrap_err();
        assert!(matches!(err, AppError::Invalid(ref e) if e[0].field == "from"));
        assert!(matches!(path_id("nope"), Err(AppError::NotFound)));
    }
}
