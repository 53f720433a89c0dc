//! Pure domain rules of Veedor: plain types in, plain results out. Nothing here knows about
//! HTTP or the database, so every rule is unit-tested on its own.

pub mod alert;
pub mod amendment;
pub mod approval;
pub mod confidentiality;
pub mod content;
pub mod digest;
pub mod engagement;
pub mod enums;
pub mod evaluation;
pub mod governance;
pub mod import;
pub mod incident;
pub mod kpi;
pub mod money;
pub mod number;
pub mod outbox;
pub mod period;
pub mod plausibility;
pub mod report;
pub mod scale;
pub mod scope;
pub mod slots;
pub mod team;
pub mod text;
pub mod user;
pub mod vendor;

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// One reason why an input was refused, naming the field it concerns (a JSON path such as
/// `contacts[1].email`).
///
/// What a person reads is rendered from `code` and `params` in their language
/// (`crate::present::errors`); `message` is the developer's English note, kept for logs and
/// for API clients that read it, never shown on a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    /// A stable slug: `required`, `too_long`, `out_of_range`, …
    pub code: String,
    /// What the code's sentence needs, such as `max` for `too_long` (plain text values).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    pub message: String,
}

/// Every problem found in one input, so that a client can fix them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(pub Vec<FieldError>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        let mut v = Self::new();
        v.add(field, code, message);
        v
    }

    pub fn add(&mut self, field: impl Into<String>, code: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    /// Records an error built elsewhere (say, one with parameters).
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Ok(value) when nothing was found, the collected violations otherwise.
    pub fn finish<T>(self, value: T) -> Result<T, Violations> {
        if self.0.is_empty() { Ok(value) } else { Err(self) }
    }

    /// Records the violations of a nested input under `prefix` (e.g. `kpis.add[0]`),
    /// returning its value when it had none.
    pub fn nested<T>(&mut self, prefix: &str, result: Result<T, Violations>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(inner) => {
                self.0.extend(inner.0.into_iter().map(|mut e| {
                    e.field = format!("{prefix}.{}", e.field);
                    e
                }));
                None
            }
        }
    }

    /// Runs a check that may fail, recording its violation and returning the parsed value.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), params: BTreeMap::new(), message: message.into() }
    }

    /// The same error with a parameter of its sentence (`max`, `min`, `example`, …).
    pub fn with(mut self, name: &str, value: impl ToString) -> Self {
        self.params.insert(name.to_string(), value.to_string());
        self
    }
}
