//! Words this area writes from Rust rather than from a template: the charts' descriptions
//! and the form's error messages. They come from the same catalogue as the templates'
//! `t()` (`templates/pages/i18n/engagement.json`).

use std::collections::BTreeMap;

use crate::{
    domain::{FieldError, enums::Language},
    present::errors as present_errors,
};

/// The message `key` in `language` with its placeholders filled (`n` picks a plural form);
/// the key itself if it is missing (a unit test proves the keys used here exist).
pub fn text(key: &str, language: Language, values: &[(&str, String)]) -> String {
    crate::present::text(key, language, values)
}

#[cfg(test)]
fn has(key: &str) -> bool {
    crate::present::catalog().is_ok_and(|c| c.has(key))
}

/// Field errors for a form, in the user's language: `eng.error.<code>` when the area has its
/// own wording, else the shared one (see `present::errors`). `field` maps a store field name
/// to the form's; the first error of a field wins.
pub fn field_errors(
    errors: &[FieldError],
    language: Language,
    field: impl Fn(&str) -> &str,
) -> BTreeMap<String, String> {
    present_errors::by_field(errors, language, Some("eng"), |f| field(f).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_used_from_rust_exist_in_both_languages() {
        let keys = [
            "eng.chart.summary",
            "eng.chart.summary_empty",
            "status.grey",
            "status.green",
            "status.amber",
            "status.red",
        ];
        for key in keys {
            for lang in [Language::Es, Language::En] {
                assert_ne!(text(key, lang, &[]), key, "{key} {lang}");
            }
        }
        for code in
            ["required", "not_a_number", "ambiguous_number", "threshold_order", "duplicate", "amendment_required"]
        {
            assert!(has(&format!("eng.error.{code}")), "{code}");
        }
    }

    #[test]
    fn errors_are_translated_by_code_or_keep_the_store_message() {
        let errors = vec![
            FieldError::new("target", "not_a_number", "must be a number"),
            FieldError::new("target", "required", "second error of the same field"),
            FieldError::new("ratio_of.numerator_kpi_id", "something_new", "the store's words"),
        ];
        let map =
            field_errors(&errors, Language::Es, |f| if f.starts_with("ratio_of") { "ratio_numerator" } else { f });
        assert_eq!(map["target"], text("eng.error.not_a_number", Language::Es, &[]));
        assert_ne!(map["ratio_numerator"], "the store's words", "the developer's English is never shown");
    }
}
