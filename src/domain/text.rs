//! Parsing of free-text fields: trimming, length limits, control characters, e-mail
//! addresses, URLs and time zones.
//!
//! Every free text a person types reaches the store through [`required`], [`optional`],
//! [`paragraphs`], [`optional_paragraphs`] or [`plain`], so the character rule lives here
//! once: no control character (NUL, escape, C1 controls… which PostgreSQL cannot store and
//! nobody types on purpose), except that a multi-line text keeps its tabs and line breaks.

use super::FieldError;

/// Whether a text may span several lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// A name, a title: no tab or line break either.
    One,
    /// A description, a comment: tabs and line breaks (`\n`, `\r`) stay.
    Many,
}

/// Refuses control characters in `value` (see [`Lines`] for what a multi-line text keeps).
pub fn plain(field: &str, value: &str, lines: Lines) -> Result<(), FieldError> {
    let layout = |c: char| matches!(c, '\t' | '\n' | '\r');
    match value.chars().find(|c| c.is_control()) {
        None => Ok(()),
        Some(c) if layout(c) && lines == Lines::Many => match value.chars().find(|c| c.is_control() && !layout(*c)) {
            None => Ok(()),
            Some(c) => Err(control_character(field, c)),
        },
        Some(c) if layout(c) => Err(FieldError::new(field, "line_break", "must be written on one line")),
        Some(c) => Err(control_character(field, c)),
    }
}

fn control_character(field: &str, c: char) -> FieldError {
    let code_point = format!("U+{:04X}", u32::from(c));
    FieldError::new(field, "control_character", format!("must not contain control characters ({code_point})"))
        .with("character", code_point)
}

/// Trims a one-line `value` and checks its length in characters.
pub fn required(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    checked(field, value, max, Lines::One)
}

/// Like [`required`] but an absent or blank value is `None`.
pub fn optional(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    optional_text(field, value, max, Lines::One)
}

/// Like [`required`] for a text that may span lines.
pub fn paragraphs(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    checked(field, value, max, Lines::Many)
}

/// Like [`optional`] for a text that may span lines.
pub fn optional_paragraphs(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    optional_text(field, value, max, Lines::Many)
}

fn checked(field: &str, value: &str, max: usize, lines: Lines) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, "required", "must not be empty"));
    }
    plain(field, trimmed, lines)?;
    if trimmed.chars().count() > max {
        return Err(FieldError::new(field, "too_long", format!("must be at most {max} characters")).with("max", max));
    }
    Ok(trimmed.to_string())
}

fn optional_text(field: &str, value: Option<&str>, max: usize, lines: Lines) -> Result<Option<String>, FieldError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => checked(field, v, max, lines).map(Some),
    }
}

/// A syntactically plausible e-mail address, lower-cased. Deliverability is not checked here.
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    let value = value.trim().to_lowercase();
    let invalid = || FieldError::new(field, "invalid_email", "must be an e-mail address such as ana@example.com");
    if value.len() > 320 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.contains('.')
        && !domain.contains('@')
        && domain.split('.').all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
    if local.is_empty() || local.len() > 64 || !domain_ok {
        return Err(invalid());
    }
    Ok(value)
}

/// An absolute http(s) URL.
pub fn http_url(field: &str, value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    // The URL parser would drop or escape them, but the text is stored as written.
    plain(field, value, Lines::One)?;
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() && value.len() <= 500 => {
            Ok(value.to_string())
        }
        _ => Err(FieldError::new(field, "invalid_url", "must be an absolute http or https URL")),
    }
}

/// An IANA time-zone name such as `Europe/Madrid`.
pub fn timezone(field: &str, value: &str) -> Result<String, FieldError> {
    value
        .trim()
        .parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| FieldError::new(field, "invalid_timezone", "must be an IANA time zone such as Europe/Madrid"))
}

/// Case- and space-insensitive key used for uniqueness of names.
pub fn name_key(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("e", " Ana@Example.COM ").unwrap(), "ana@example.com");
        for bad in ["", "ana", "ana@", "@example.com", "ana@example", "a na@example.com", "ana@ex..com", "a@b@c.com"] {
            assert!(email("e", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn required_trims_and_limits() {
        assert_eq!(required("t", "  hola ", 10).unwrap(), "hola");
        assert_eq!(required("t", "   ", 10).unwrap_err().code, "required");
        assert_eq!(required("t", "ñññññ", 4).unwrap_err().code, "too_long");
        assert_eq!(optional("t", Some("  "), 4).unwrap(), None);
    }

    #[test]
    fn control_characters_are_refused() {
        for bad in ["a\0b", "a\u{1b}[31m", "a\u{7f}", "a\u{85}b"] {
            assert_eq!(required("t", bad, 99).unwrap_err().code, "control_character", "{bad:?}");
            assert_eq!(paragraphs("t", bad, 99).unwrap_err().code, "control_character", "{bad:?}");
        }
        assert_eq!(required("t", "a\0", 99).unwrap_err().params["character"], "U+0000");
        for layout in ["a\tb", "a\nb", "a\r\nb"] {
            assert_eq!(required("t", layout, 99).unwrap_err().code, "line_break", "{layout:?}");
            assert_eq!(paragraphs("t", layout, 99).unwrap(), layout);
        }
        assert_eq!(paragraphs("t", "a\n\0", 99).unwrap_err().code, "control_character");
        assert_eq!(optional_paragraphs("t", Some("x\u{0}"), 9).unwrap_err().code, "control_character");
        assert_eq!(required("t", " hola\n", 9).unwrap(), "hola", "surrounding line breaks are trimmed");
        assert!(plain("t", "", Lines::One).is_ok());
    }

    #[test]
    fn timezones_and_urls() {
        assert_eq!(timezone("tz", "Europe/Madrid").unwrap(), "Europe/Madrid");
        assert!(timezone("tz", "Mars/Olympus").is_err());
        assert!(http_url("u", "https://marea.example/informe").is_ok());
        assert!(http_url("u", "javascript:alert(1)").is_err());
        assert!(http_url("u", "ftp://x.example").is_err());
        assert_eq!(http_url("u", "https://x.example/a\0b").unwrap_err().code, "control_character");
        assert_eq!(http_url("u", "https://x.example/a\tb").unwrap_err().code, "line_break");
    }

    #[test]
    fn name_keys_ignore_case_and_spacing() {
        assert_eq!(name_key("  Marea   Digital "), name_key("marea digital"));
    }
}
