//! The page kit: what every page handler needs to read a request and answer a refused form,
//! written once. Ids in paths (one that is not an id names nothing, like an unknown one),
//! query parameters (blank counts as absent; a value that does not parse is a validation
//! error naming the parameter), the page number of a list, the field errors of a refused
//! form in the visitor's language (and the form again with what was typed), catalogue
//! lookups, people's names and engagement options for lists and filters, and the time zones
//! a form offers.

use std::{
    collections::{BTreeMap, HashMap},
    future::Future,
    str::FromStr,
};

use chrono::NaiveDate;
use serde::Serialize;
use strum::IntoEnumIterator;
use uuid::Uuid;

use super::{
    error::PageError,
    session::{PageForm, SignedIn},
};
use crate::{
    domain::{FieldError, enums::Language},
    error::{AppError, AppResult},
    present::{catalog::catalog, errors},
    state::AppState,
};

/// Query parameters by name, for the pages that keep them ordered.
pub type QueryMap = BTreeMap<String, String>;

/// The id in a page's path; one that is not an id names nothing, like an unknown id.
pub fn path_id(raw: &str) -> Result<Uuid, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

/// Query parameters by name, as the page handlers take them.
pub trait Params {
    fn raw(&self, name: &str) -> Option<&String>;
}

impl Params for HashMap<String, String> {
    fn raw(&self, name: &str) -> Option<&String> {
        self.get(name)
    }
}

impl Params for BTreeMap<String, String> {
    fn raw(&self, name: &str) -> Option<&String> {
        self.get(name)
    }
}

/// A query parameter, trimmed; blank counts as absent.
pub fn query_value<'q>(q: &'q impl Params, name: &str) -> Option<&'q str> {
    q.raw(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// An optional parameter parsed as `T`; a value that does not parse is a validation error
/// naming the parameter (`expected` is the developer's note).
pub fn query_parse<T: FromStr>(q: &impl Params, name: &str, expected: &str) -> Result<Option<T>, AppError> {
    query_value(q, name)
        .map(|v| v.parse::<T>().map_err(|_| AppError::invalid(name, "invalid_value", expected)))
        .transpose()
}

/// An optional choice among `T`'s values.
pub fn query_param<T: FromStr>(q: &impl Params, name: &str) -> Result<Option<T>, AppError> {
    query_parse(q, name, "not a valid choice")
}

/// An optional date as `YYYY-MM-DD`.
pub fn query_date(q: &impl Params, name: &str) -> Result<Option<NaiveDate>, AppError> {
    query_parse(q, name, "a date as YYYY-MM-DD")
}

/// The page number of a list (`?page=N`); anything else is the first page.
pub fn page_number(q: &impl Params) -> Option<usize> {
    query_value(q, "page").and_then(|p| p.parse().ok())
}

/// A refused form's errors by field, in the visitor's language, for templates:
/// `errors["email"]` (the first error of a field wins).
pub type FormErrors = BTreeMap<String, String>;

/// The field errors of a refused write, if it was refused for what was typed (a validation
/// error, or a conflict naming fields); other errors go on to the error page.
pub fn refused_fields(err: &AppError) -> Option<&[FieldError]> {
    match err {
        AppError::Invalid(errors) => Some(errors),
        AppError::Malformed { errors, .. } | AppError::Conflict { errors, .. } if !errors.is_empty() => Some(errors),
        _ => None,
    }
}

/// The field errors of a refused write in `lang`, worded by the shared catalogue.
pub fn field_errors(err: &AppError, lang: Language) -> Option<FormErrors> {
    refused_fields(err).map(|errors| errors::by_field(errors, lang, None, str::to_string))
}

/// The field errors of a refused write in an area's own wording (`<area>.error.<code>` first,
/// see `present::errors`), with the use case's field names mapped to the form's.
pub fn area_field_errors(
    err: &AppError,
    lang: Language,
    area: &str,
    field: impl Fn(&str) -> String,
) -> Option<FormErrors> {
    refused_fields(err).map(|errors| errors::by_field(errors, lang, Some(area), field))
}

/// Every IANA time zone, for a select; a value that is not one (typed into a crafted form)
/// comes first, so that the form shows what was sent.
pub fn timezone_options(current: &str) -> Vec<&str> {
    let mut zones: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    zones.sort_unstable();
    if !current.is_empty() && !zones.contains(&current) {
        zones.insert(0, current);
    }
    zones
}

/// The names of people by id, for the "who" of lists and timelines.
pub fn people<'a>(
    state: &'a AppState,
    ids: impl IntoIterator<Item = Option<Uuid>>,
) -> impl Future<Output = AppResult<HashMap<Uuid, String>>> + Send + 'a {
    crate::db::names::users(&state.db, ids.into_iter().flatten())
}

/// Someone's name, if the id names a person (system changes name nobody).
pub fn name_of(people: &HashMap<Uuid, String>, id: Option<Uuid>) -> Option<String> {
    id.and_then(|id| people.get(&id).cloned())
}

/// An engagement as a filter or form option.
#[derive(Debug, Clone, Serialize)]
pub struct EngagementOption {
    pub id: Uuid,
    pub title: String,
}

/// The engagements (id and title) as a select's options, by title.
pub fn engagement_options<'a>(visible: impl IntoIterator<Item = (Uuid, &'a str)>) -> Vec<EngagementOption> {
    let mut options: Vec<EngagementOption> =
        visible.into_iter().map(|(id, title)| EngagementOption { id, title: title.to_owned() }).collect();
    options.sort_by_key(|o| o.title.to_lowercase());
    options
}

/// What was typed into a form and what was wrong with it, to show the form again.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Typed {
    pub values: BTreeMap<String, String>,
    pub errors: BTreeMap<String, String>,
}

impl Typed {
    /// The form again after `err`, or `None` when `err` is not about what was typed.
    pub fn after(form: &PageForm, err: &AppError) -> Option<Self> {
        field_errors(err, form.user.frame.lang).map(|errors| Self { values: form.values(), errors })
    }
}

/// Every value of an enumeration, as the filters and selects offer them.
pub fn all_of<T: IntoEnumIterator + ToString>() -> Vec<String> {
    T::iter().map(|v| v.to_string()).collect()
}

/// Field errors of a refused form by field, each in the visitor's language (the area's own
/// wording `<prefix>.error.…` first, see `present::errors`). `None` when the error names no
/// field (not found, forbidden, internal).
pub fn area_errors(err: &AppError, prefix: &str, lang: Language) -> Option<FormErrors> {
    // The use cases call the engagement `engagement`; the forms call their field `engagement_id`.
    let field = |f: &str| if f == "engagement" { "engagement_id".to_string() } else { f.to_string() };
    area_field_errors(err, lang, prefix, field)
}

/// A message of the catalogue in `lang` (the key itself if it is missing, which the unit
/// tests rule out).
pub fn message(key: &str, lang: Language) -> String {
    catalog().ok().and_then(|c| c.get(key, lang)).unwrap_or(key).to_string()
}

/// The visitor's time zone (UTC if theirs is unknown).
pub fn time_zone(user: &SignedIn) -> chrono_tz::Tz {
    user.principal.user.timezone.parse().unwrap_or(chrono_tz::UTC)
}

/// The field errors of a refused form in the visitor's language, to show next to its fields;
/// any other error goes on to the error page.
pub fn form_errors(err: AppError, lang: Language) -> Result<FormErrors, PageError> {
    match field_errors(&err, lang) {
        Some(errors) => Ok(errors),
        None => Err(err.into()),
    }
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
        let q: BTreeMap<String, String> =
            [("from".to_string(), "2026-02-30".to_string()), ("to".into(), " ".into())].into();
        assert_eq!(query_date(&q, "to").unwrap(), None);
        let err = query_date(&q, "from").unwrap_err();
        assert!(matches!(err, AppError::Invalid(ref e) if e[0].field == "from"));
        assert!(matches!(path_id("nope"), Err(AppError::NotFound)));
    }

    #[test]
    fn bad_query_values_name_their_parameter() {
        let h: HashMap<String, String> =
            [("status", "nope"), ("view", " "), ("page", "3")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        assert!(matches!(
            query_param::<crate::domain::approval::ApprovalStatus>(&h, "status"),
            Err(AppError::Invalid(e)) if e[0].field == "status"
        ));
        assert_eq!(query_param::<String>(&h, "view").unwrap(), None);
        assert_eq!(page_number(&h), Some(3));
        assert!(matches!(path_id("x"), Err(AppError::NotFound)));
    }
}
