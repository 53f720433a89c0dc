//! Field errors in words: a [`FieldError`] carries a stable code and its parameters, and this
//! module writes the sentence for a reader's language from the catalogue
//! (`templates/i18n/errors.json`), for pages (beside the field, in the summary) and for the
//! API's problem documents (`detail`) alike.
//!
//! The sentence is the most specific text the catalogue has: an area's own wording
//! (`<area>.error.<field>.<code>`, `<area>.error.<code>`), then the shared one for the field
//! (`err.<field>.<code>`, the field being the last segment of its path without indexes:
//! `stages[0].sla_hours` → `sla_hours`), then the code's (`err.<code>`). A text whose
//! placeholders the error cannot fill is skipped, so a reader never sees `{max}`. A code the
//! catalogue does not know reads as the generic `err.invalid`, in the reader's language; the
//! developer's English `message` is never shown (a unit test keeps every code in the catalogue).

use std::collections::BTreeMap;

use super::catalog::{catalog, fill};
use crate::domain::{FieldError, enums::Language};

/// The sentence for `error` in `lang`; `area` is the catalogue prefix of the page's own
/// wordings (`rep`, `eng`, `cont`, `appr`), if it has any.
pub fn describe(error: &FieldError, lang: Language, area: Option<&str>) -> String {
    let Ok(catalog) = catalog() else { return error.code.clone() };
    let leaf = leaf(&error.field);
    let code = &error.code;
    let mut keys = Vec::with_capacity(6);
    if let Some(area) = area {
        keys.push(format!("{area}.error.{}.{code}", error.field));
        keys.push(format!("{area}.error.{leaf}.{code}"));
        keys.push(format!("{area}.error.{code}"));
    }
    keys.push(format!("err.{leaf}.{code}"));
    keys.push(format!("err.{code}"));
    keys.push("err.invalid".to_string());
    let values: Vec<(&str, String)> = error.params.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    for key in &keys {
        if let Some(text) = catalog.get(key, lang) {
            let filled = fill(text, &values);
            if !has_placeholder(&filled) {
                return filled;
            }
        }
    }
    error.code.clone()
}

/// Sentences by field, the first error of a field winning; `form_field` maps the store's
/// field names to the form's inputs (`cadence.day` → `day`).
pub fn by_field(
    errors: &[FieldError],
    lang: Language,
    area: Option<&str>,
    form_field: impl Fn(&str) -> String,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in errors {
        out.entry(form_field(&e.field)).or_insert_with(|| describe(e, lang, area));
    }
    out
}

/// `stages[0].approvers[2]` → `approvers`; `rows[3].value` → `value`.
fn leaf(field: &str) -> &str {
    let last = field.rsplit('.').next().unwrap_or(field);
    last.split('[').next().unwrap_or(last)
}

fn has_placeholder(text: &str) -> bool {
    text.split('{').skip(1).any(|rest| {
        rest.split_once('}')
            .is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    })
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeSet, path::Path};

    use super::*;

    #[test]
    fn errors_are_written_from_their_code_and_parameters() {
        let e = FieldError::new("name", "too_long", "must be at most 200 characters").with("max", "200");
        assert_eq!(describe(&e, Language::Es, None), "Escriba como máximo 200 caracteres.");
        assert_eq!(describe(&e, Language::En, None), "Write at most 200 characters.");
        let unfilled = FieldError::new("name", "too_long", "no max given");
        assert!(!describe(&unfilled, Language::Es, None).contains('{'), "a sentence never shows a placeholder");
        let unknown = FieldError::new("x", "no_such_code_anywhere", "the developer's words");
        assert_eq!(
            describe(&unknown, Language::Es, None),
            describe(&FieldError::new("x", "zzz", ""), Language::Es, None)
        );
        assert_ne!(describe(&unknown, Language::Es, None), "the developer's words");
        let area = FieldError::new("value_1", "not_a_number", "x");
        assert_eq!(describe(&area, Language::Es, Some("rep")), "no es un número");
    }

    #[test]
    fn the_field_may_have_its_own_wording() {
        let e = FieldError::new("stages[1].sla_hours", "out_of_range", "").with("min", 1).with("max", 720);
        assert_eq!(leaf(&e.field), "sla_hours");
        assert_eq!(leaf("rows[3].value"), "value");
        assert_eq!(leaf("engagement_ids[2]"), "engagement_ids");
        let until = FieldError::new("until", "too_long", "").with("max", 30);
        assert_eq!(describe(&until, Language::Es, None), "Como máximo 30 días.");
    }

    /// Every code the source hands to a field error (`FieldError::new`, `Violations::add`,
    /// `AppError::invalid` / `conflict`, `Violations::single`, an import `RowError`) has its
    /// sentence in the catalogue, in both languages.
    #[test]
    fn every_code_in_the_source_has_a_sentence() {
        let catalog = catalog().unwrap();
        let mut missing = BTreeSet::new();
        let mut seen = 0;
        for code in codes_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")) {
            seen += 1;
            if !catalog.has(&format!("err.{code}")) {
                missing.insert(code);
            }
        }
        assert!(seen > 50, "the scan found the codes ({seen})");
        assert!(missing.is_empty(), "codes without a sentence in templates/i18n/errors.json: {missing:?}");
    }

    fn codes_in(dir: &Path) -> BTreeSet<String> {
        let mut codes = BTreeSet::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let source = std::fs::read_to_string(&path).unwrap();
                    // Unit tests make up codes on purpose.
                    let source = source.split("#[cfg(test)]").next().unwrap_or("");
                    codes.extend(codes_of(source));
                }
            }
        }
        codes
    }

    /// The code argument of every constructor call, when it is a string literal.
    fn codes_of(source: &str) -> Vec<String> {
        // The call, and the position of its code argument.
        const CALLS: [(&str, usize); 11] = [
            ("FieldError::new(", 1),
            (".add(", 1),
            ("AppError::invalid(", 1),
            ("AppError::conflict(", 1),
            ("Violations::single(", 1),
            ("RowError::new(", 2),
            // The import's header and cell helpers take the code first.
            (" error(", 0),
            ("problem(", 0),
            ("fail(", 1),
            ("Err((", 0),
            ("Finding::new(", 1),
        ];
        let mut out = Vec::new();
        for (call, index) in CALLS {
            for (at, _) in source.match_indices(call) {
                let rest = &source[at + call.len()..];
                let arg = match index {
                    0 => rest.trim_start(),
                    n => match top_level_comma(rest, n - 1) {
                        Some(comma) => rest[comma + 1..].trim_start(),
                        None => continue,
                    },
                };
                if let Some(literal) = arg.strip_prefix('"')
                    && let Some(end) = literal.find('"')
                {
                    let code = &literal[..end];
                    let slug = code.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit());
                    if !code.is_empty() && slug {
                        out.push(code.to_string());
                    }
                }
            }
        }
        out
    }

    /// The position of the comma after argument number `skip` (0-based) of a call.
    fn top_level_comma(args: &str, skip: usize) -> Option<usize> {
        let (mut depth, mut in_string, mut escaped, mut seen) = (0i32, false, false, 0);
        for (i, c) in args.char_indices() {
            if in_string {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => in_string = false,
                    _ => escaped = false,
                }
                continue;
            }
            match c {
                '"' => in_string = true,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => return None,
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 => {
                    if seen == skip {
                        return Some(i);
                    }
                    seen += 1;
                }
                _ => {}
            }
        }
        None
    }
}
