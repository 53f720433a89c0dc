//! Numbers typed into forms, read by the form's language and nothing else: Spanish writes
//! `1.234,5` (decimal comma, `.` or a space between thousands), English `1,234.5` (decimal
//! point, `,` or a space between thousands). Every form reads its numbers here, through the
//! import's parser (`domain::import::parse_number`) with the language's decimal mark.
//!
//! A number written in the other language's notation is refused beside its field with the
//! reading the form would take for it (code `decimal_mark`, parameter `example`), never
//! guessed: `12.5` on a Spanish form and `1,5` or `1.234,5` on an English one. So `1.000` is
//! one thousand on a Spanish form and one on an English form, and nothing else is read
//! differently by the two. Stored numbers are written back for editing without grouping, in
//! the form's decimal mark, so they read back unchanged.

use crate::domain::{
    FieldError,
    enums::Language,
    import::{DecimalMark, NumberError, parse_number},
};

/// How `lang` marks decimals: Spanish `1234,5`, English `1234.5`.
pub fn decimal_mark(lang: Language) -> DecimalMark {
    match lang {
        Language::Es => DecimalMark::Comma,
        Language::En => DecimalMark::Point,
    }
}

/// The other language: the notation a number on a `lang` form must not be written in.
fn other(lang: Language) -> Language {
    match lang {
        Language::Es => Language::En,
        Language::En => Language::Es,
    }
}

/// A number typed by someone writing `lang`, if it is one.
pub fn parse(raw: &str, lang: Language) -> Option<f64> {
    typed("", raw, lang).ok()
}

/// A typed number, or the error to show next to its field.
pub fn typed(field: &str, raw: &str, lang: Language) -> Result<f64, FieldError> {
    let value = parse_number(raw, decimal_mark(lang)).map_err(|e| {
        let (code, message) = match e {
            NumberError::Empty => ("required", "must not be empty"),
            NumberError::NotFinite => ("not_finite", "must be a finite number"),
            NumberError::Ambiguous => ("ambiguous_number", "could be read with either decimal mark"),
            NumberError::Invalid => ("not_a_number", "not a number"),
        };
        FieldError::new(field, code, message)
    })?;
    if follows(raw, lang) {
        return Ok(value);
    }
    // Only the other notation explains the input: say how this form writes that number.
    let meant = parse_number(raw, decimal_mark(other(lang))).unwrap_or(value);
    Err(FieldError::new(field, "decimal_mark", format!("not written as {lang} writes numbers"))
        .with("example", for_input(meant, lang)))
}

/// A typed whole number from `min` to `max` (days, a day of the month), read like any other.
pub fn whole(field: &str, raw: &str, lang: Language, min: i64, max: i64) -> Result<i64, FieldError> {
    let out_of_range = || {
        FieldError::new(field, "out_of_range", format!("must be a whole number from {min} to {max}"))
            .with("min", min)
            .with("max", max)
    };
    let value = typed(field, raw, lang)?;
    if value.fract() != 0.0 || value < min as f64 || value > max as f64 {
        return Err(out_of_range());
    }
    Ok(value as i64)
}

/// Whether the separators of `raw` are the ones `lang` writes: its decimal mark at most once,
/// and the other mark only between groups of three digits before it.
fn follows(raw: &str, lang: Language) -> bool {
    let (decimal, group) = match lang {
        Language::Es => (',', '.'),
        Language::En => ('.', ','),
    };
    // The digits and separators of the mantissa (sign, spaces, `%` and exponent aside).
    let mantissa: String = raw
        .chars()
        .take_while(|c| !matches!(c, 'e' | 'E'))
        .filter(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .collect();
    let (int, fraction) = match mantissa.split_once(decimal) {
        Some((int, fraction)) => (int, fraction),
        None => (mantissa.as_str(), ""),
    };
    if fraction.contains([decimal, group]) {
        return false;
    }
    if !int.contains(group) {
        return true;
    }
    let mut groups = int.split(group);
    let first = groups.next().unwrap_or("");
    (1..=3).contains(&first.len()) && groups.all(|g| g.len() == 3)
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
    fn numbers_are_read_by_the_forms_language() {
        for (raw, lang, expected) in [
            ("1234,5", Language::Es, 1234.5),
            ("1.234,5", Language::Es, 1234.5),
            ("1.234", Language::Es, 1234.0),
            ("1.000", Language::Es, 1000.0),
            ("1 234,5", Language::Es, 1234.5),
            ("1234", Language::Es, 1234.0),
            ("-3,5", Language::Es, -3.5),
            ("12,5 %", Language::Es, 12.5),
            ("1,234", Language::Es, 1.234),
            ("1,234", Language::En, 1234.0),
            ("1,234.5", Language::En, 1234.5),
            ("1.000", Language::En, 1.0),
            ("1234.5", Language::En, 1234.5),
            ("1,5E3", Language::Es, 1500.0),
            ("1.5E3", Language::En, 1500.0),
        ] {
            assert_eq!(typed("v", raw, lang).unwrap(), expected, "{raw} in {lang}");
        }
        assert_eq!(typed("v", "doce", Language::Es).unwrap_err().code, "not_a_number");
        assert_eq!(typed("v", "", Language::Es).unwrap_err().code, "required");
        assert_eq!(parse("NaN", Language::En), None);
    }

    #[test]
    fn the_other_languages_notation_is_refused_with_what_was_meant() {
        for (raw, lang, example) in [
            ("12.5", Language::Es, "12,5"),
            ("1234.5", Language::Es, "1234,5"),
            ("1,234.5", Language::Es, "1234,5"),
            ("1,5", Language::En, "1.5"),
            ("1234,5", Language::En, "1234.5"),
            ("1.234,5", Language::En, "1234.5"),
        ] {
            let e = typed("v", raw, lang).unwrap_err();
            assert_eq!((e.code.as_str(), e.params["example"].as_str()), ("decimal_mark", example), "{raw} in {lang}");
            assert_eq!(parse(raw, lang), None);
        }
    }

    #[test]
    fn whole_numbers_are_typed_numbers_in_a_range() {
        assert_eq!(whole("d", "30", Language::Es, 1, 365), Ok(30));
        assert_eq!(whole("d", "1.000", Language::Es, 1, 5000), Ok(1000));
        assert_eq!(whole("d", "1.000", Language::En, 1, 5000), Ok(1));
        let e = whole("d", "400", Language::En, 1, 365).unwrap_err();
        assert_eq!((e.code.as_str(), e.params["max"].as_str()), ("out_of_range", "365"));
        assert_eq!(whole("d", "2,5", Language::Es, 1, 31).unwrap_err().code, "out_of_range");
        assert_eq!(whole("d", "dos", Language::Es, 1, 31).unwrap_err().code, "not_a_number");
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
