//! Parsing of free-text fields: trimming, length limits, e-mail addresses, URLs and time zones.

use super::FieldError;

/// Trims `value` and checks its length in characters.
pub fn required(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, "required", "must not be empty"));
    }
    if trimmed.chars().count() > max {
        return Err(FieldError::new(field, "too_long", format!("must be at most {max} characters")).with("max", max));
    }
    Ok(trimmed.to_string())
}

/// Like [`required`] but an absent or blank value is `None`.
pub fn optional(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => required(field, v, max).map(Some),
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
    fn timezones_and_urls() {
        assert_eq!(timezone("tz", "Europe/Madrid").unwrap(), "Europe/Madrid");
        assert!(timezone("tz", "Mars/Olympus").is_err());
        assert!(http_url("u", "https://marea.example/informe").is_ok());
        assert!(http_url("u", "javascript:alert(1)").is_err());
        assert!(http_url("u", "ftp://x.example").is_err());
    }

    #[test]
    fn name_keys_ignore_case_and_spacing() {
        assert_eq!(name_key("  Marea   Digital "), name_key("marea digital"));
    }
}
