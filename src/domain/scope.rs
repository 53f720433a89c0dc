//! Scope items: the outsourced functions of an engagement and what each delivers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{FieldError, Violations, enums::ScopeFunction, text};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeItemInput {
    pub function: ScopeFunction,
    pub description: String,
    /// What the agency delivers for this function, one entry each.
    #[serde(default)]
    pub deliverables: Vec<String>,
    /// How many deliverables per reporting period, when the function is counted.
    #[serde(default)]
    pub quantity_per_period: Option<i32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidScopeItem(pub ScopeItemInput);

impl ScopeItemInput {
    pub fn validate(mut self) -> Result<ValidScopeItem, Violations> {
        let mut v = Violations::new();
        if let Some(d) = v.check(text::paragraphs("description", &self.description, 2000)) {
            self.description = d;
        }
        if self.deliverables.len() > 50 {
            v.push(FieldError::new("deliverables", "too_many", "at most 50 deliverables").with("max", 50));
        }
        for (i, d) in self.deliverables.iter_mut().enumerate() {
            if let Some(clean) = v.check(text::required(&format!("deliverables[{i}]"), d, 300)) {
                *d = clean;
            }
        }
        if let Some(q) = self.quantity_per_period
            && !(1..=100_000).contains(&q)
        {
            v.push(
                FieldError::new("quantity_per_period", "out_of_range", "must be between 1 and 100000")
                    .with("min", 1)
                    .with("max", "100.000"),
            );
        }
        v.finish(ValidScopeItem(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_items_are_checked() {
        let ok = ScopeItemInput {
            function: ScopeFunction::ContentCreation,
            description: " Contenidos para Instagram ".into(),
            deliverables: vec![" 12 publicaciones ".into()],
            quantity_per_period: Some(12),
        };
        let valid = ok.clone().validate().unwrap().0;
        assert_eq!(
            (valid.description.as_str(), valid.deliverables[0].as_str()),
            ("Contenidos para Instagram", "12 publicaciones")
        );
        let bad = ScopeItemInput {
            description: "".into(),
            deliverables: vec!["".into()],
            quantity_per_period: Some(0),
            ..ok
        };
        let fields: Vec<_> = bad.validate().unwrap_err().0.into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["description", "deliverables[0]", "quantity_per_period"]);
    }
}
