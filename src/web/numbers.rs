//! Numbers typed into forms. Every form reads them with the import's parser
//! (`domain::import::parse_number`) and the visitor's decimal mark, so a figure means the
//! same typed into the report form, the KPI editor or a Spanish CSV: `1234,5`, `1234.5` and
//! `1.234,5` in Spanish, `1,234.5` in English. Stored numbers are written back for editing
//! without grouping, in the visitor's decimal mark, so they read back unchanged.

use crate::domain::{
    FieldError,
    enums::Language,
    import::{DecimalMark, NumberError, parse_number},
};

/// How `lang` marks decimals: Spanish `1234,5`, English `1234.5`. Both marks are read either
/// way; only a grouping such as `1.234` / `1,234` follows the language.
pub fn decimal_mark(lang: Language) -> DecimalMark {
    match lang {
        Language::Es => DecimalMark::Comma,
        Language::En => DecimalMark::Point,
    }
}

/// A number typed by someone writing `lang`, if it is one.
pub fn parse(raw: &str, lang: Language) -> Option<f64> {
    parse_number(raw, decimal_mark(lang)).ok()
}

/// A typed number, or the error to show next to its field.
pub fn typed(field: &str, raw: &str, lang: Language) -> Result<f64, FieldError> {
    parse_number(raw, decimal_mark(lang)).map_err(|e| {
        let (code, message) = match e {
            NumberError::Empty => ("required", "must not be empty"),
            NumberError::NotFinite => ("not_finite", "must be a finite number"),
            NumberError::Ambiguous => ("ambiguous_number", "could be read with either decimal mark"),
            NumberError::Invalid => ("not_a_number", "not a number"),
        };
        FieldError::new(field, code, message)
    })
}

/// A stored number as the visitor types it: no grouping, their decimal mark.
pub fn for_input(value: f64, lang: Language) -> String {
    let plain = if value == 0.0 { "0".to_string() } else { value.to_string() };
    match lang {
        Language::Es => plain.replace('.', ","),
        Language::En => plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_in_either_decimal_mark() {
        for (raw, lang, expected) in [
            ("1234,5", Language::Es, 1234.5),
            ("1234.5", Language::Es, 1234.5),
            ("1.234,5", Language::Es, 1234.5),
            ("1.234", Language::Es, 1234.0),
            ("1,234", Language::En, 1234.0),
            ("1,234.5", Language::En, 1234.5),
            ("1234,5", Language::En, 1234.5),
            ("-3,5", Language::Es, -3.5),
            ("12,5 %", Language::Es, 12.5),
        ] {
            assert_eq!(typed("v", raw, lang).unwrap(), expected, "{raw} in {lang}");
        }
        assert_eq!(typed("v", "doce", Language::Es).unwrap_err().code, "not_a_number");
        assert_eq!(typed("v", "", Language::Es).unwrap_err().code, "required");
        assert_eq!(parse("NaN", Language::En), None);
    }

    #[test]
    fn stored_numbers_are_written_back_as_typed() {
        for value in [480_000.0, 0.04, 1234.5, -3.5, 1.234, 1e21, 0.0, -0.0, 0.000_001] {
            for lang in [Language::Es, Language::En] {
                let shown = for_input(value, lang);
                assert_eq!(typed("v", &shown, lang).unwrap(), value, "{shown} in {lang}");
            }
        }
        assert_eq!(for_input(1234.5, Language::Es), "1234,5");
        assert_eq!(for_input(-0.0, Language::En), "0");
    }
}
