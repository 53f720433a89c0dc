//! Request extractors whose every rejection is a problem document naming the field:
//! JSON bodies (unknown fields refused, size limited), the empty body of an action that takes
//! no input, query strings (no control characters) and path parameters.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, rejection::PathRejection},
    http::{StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;

use crate::{domain::FieldError, error::AppError};

/// A JSON body deserialised into `T`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The raw bytes of a JSON body (media type checked, size limited), for handlers that need
/// them as sent (say, to fingerprint an idempotent request) before parsing.
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !is_json(req.headers()) {
            return Err(AppError::UnsupportedMediaType("send the body as application/json".into()));
        }
        body_bytes(req, state).await.map(JsonBytes)
    }
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// The whole body, within the body limit; going over it is a 413 problem document.
async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::Malformed {
                detail: rejection.body_text(),
                errors: vec![FieldError::new("body", "unreadable", rejection.body_text())],
            }
        }
    })
}

/// The body of an action that takes no input (submit, withdraw, acknowledge, a `DELETE`…):
/// none, or an empty JSON object. Anything else is refused like an unknown field of any
/// other endpoint, so that a client sending `{"status":"accepted"}` learns that nothing
/// reads it.
pub struct Empty;

/// What an [`Empty`] body may hold: nothing.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

impl<S: Send + Sync> FromRequest<S> for Empty {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let json = is_json(req.headers());
        let bytes = body_bytes(req, state).await?;
        if bytes.trim_ascii().is_empty() {
            return Ok(Empty);
        }
        if !json {
            return Err(AppError::UnsupportedMediaType("this action takes no body".into()));
        }
        if !bytes.trim_ascii().starts_with(b"{") {
            return Err(AppError::invalid("body", "unexpected_body", "this action takes no body"));
        }
        parse_json::<NoFields>(&bytes).map(|_| Empty)
    }
}

/// Deserialises a JSON object, reporting the path of the offending field. JSON has one kind
/// of number, so a whole number written with a fraction (`3.0`, `-0.0`) is read as the integer
/// it is, also where an integer is expected; a body that is not an object is refused.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut value: serde_json::Value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        AppError::Malformed {
            detail: format!("the body is not valid JSON: {message}"),
            errors: vec![FieldError::new(
                if path == "." { "body".to_string() } else { path },
                "malformed_json",
                message,
            )],
        }
    })?;
    de.end().map_err(|e| AppError::Malformed {
        detail: format!("the body is not valid JSON: {e}"),
        errors: vec![FieldError::new("body", "malformed_json", e.to_string())],
    })?;
    if !value.is_object() {
        return Err(AppError::invalid("body", "invalid_type", "the body must be a JSON object"));
    }
    whole_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let field = field_name(&path, &message);
        AppError::Invalid(vec![FieldError::new(field, data_code(&message), strip_position(&message))])
    })
}

/// Rewrites every number with no fractional part as an integer (`-0.0` as `0`), where it fits
/// one.
fn whole_numbers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            let Some(f) = n.as_f64() else { return };
            if f.fract() != 0.0 {
                return;
            }
            if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
                *n = serde_json::Number::from(f as i64);
            } else if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                *n = serde_json::Number::from(f as u64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        serde_json::Value::Object(map) => map.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// Combines the path where deserialisation failed with the field a serde message names
/// (serde reports unknown and missing fields on the enclosing object).
fn field_name(path: &str, message: &str) -> String {
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    let base = if path == "." { "" } else { path };
    match named {
        Some(name) if base == name || base.ends_with(&format!(".{name}")) => base.to_string(),
        Some(name) if base.is_empty() => name.to_string(),
        Some(name) => format!("{base}.{name}"),
        None if base.is_empty() => "body".to_string(),
        None => base.to_string(),
    }
}

fn data_code(message: &str) -> &'static str {
    if message.starts_with("unknown field") {
        "unknown_field"
    } else if message.starts_with("missing field") {
        "required"
    } else if message.starts_with("unknown variant") {
        "invalid_value"
    } else {
        "invalid_type"
    }
}

fn strip_position(message: &str) -> String {
    message.split(" at line ").next().unwrap_or(message).to_string()
}

/// A query string deserialised into `T`.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or("");
        let refused = crate::request::control_characters(query);
        if !refused.is_empty() {
            return Err(AppError::Invalid(refused));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(ApiQuery).map_err(|err| {
            let path = err.path().to_string();
            let message = err.into_inner().to_string();
            AppError::Invalid(vec![FieldError::new(field_name(&path, &message), data_code(&message), message)])
        })
    }
}

/// Path parameters; a malformed one (say, not a UUID) is a 400 naming the parameter.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_error(rejection)),
        }
    }
}

fn path_error(rejection: PathRejection) -> AppError {
    let field = match &rejection {
        PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
            axum::extract::path::ErrorKind::ParseErrorAtKey { key, .. }
            | axum::extract::path::ErrorKind::DeserializeError { key, .. }
            | axum::extract::path::ErrorKind::InvalidUtf8InPathParam { key } => key.clone(),
            _ => "path".to_string(),
        },
        _ => "path".to_string(),
    };
    let detail = rejection.body_text();
    AppError::Malformed {
        detail: detail.clone(),
        errors: vec![FieldError::new(field, "invalid_path_parameter", detail)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::NewUserInput;

    fn fields(body: &str) -> Vec<(String, String)> {
        match parse_json::<NewUserInput>(body.as_bytes()) {
            Err(AppError::Invalid(errors)) | Err(AppError::Malformed { errors, .. }) => {
                errors.into_iter().map(|e| (e.field, e.code)).collect()
            }
            other => panic!("unexpected {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn json_problems_name_their_field() {
        let ok = r#"{"email":"a@b.co","name":"A","role":"lead"}"#;
        assert!(parse_json::<NewUserInput>(ok.as_bytes()).is_ok());
        assert_eq!(
            fields(r#"{"email":"a@b.co","name":"A","role":"lead","x":1}"#),
            [("x".into(), "unknown_field".into())]
        );
        assert_eq!(fields(r#"{"email":"a@b.co","name":"A"}"#), [("role".into(), "required".into())]);
        assert_eq!(fields(r#"{"email":"a@b.co","name":"A","role":"king"}"#), [("role".into(), "invalid_value".into())]);
        assert_eq!(fields(r#"{"email":5,"name":"A","role":"lead"}"#), [("email".into(), "invalid_type".into())]);
        assert_eq!(fields(r#"{"email":"#), [("email".into(), "malformed_json".into())]);
        assert_eq!(fields(r#"{"email":"a@b.co","name":"A","role":"lead"} trailing"#)[0].1, "malformed_json");
    }

    #[test]
    fn whole_numbers_are_integers_and_bodies_are_objects() {
        let body = r#"{"name":"T","expires_in_days":30.0}"#;
        let token: serde_json::Value = parse_json(body.as_bytes()).unwrap();
        assert_eq!(token["expires_in_days"], serde_json::json!(30));
        #[derive(Debug, serde::Deserialize)]
        struct Days {
            days: i64,
            share: f64,
        }
        let days: Days = parse_json(br#"{"days":-0.0,"share":2.0}"#).unwrap();
        assert_eq!((days.days, days.share), (0, 2.0));
        assert!(parse_json::<Days>(br#"{"days":1.5,"share":2}"#).is_err());
        match parse_json::<Days>(b"[1, 2.0]") {
            Err(AppError::Invalid(errors)) => {
                assert_eq!((errors[0].field.as_str(), errors[0].code.as_str()), ("body", "invalid_type"))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn nested_fields_get_their_full_path() {
        let body = r#"{"name":"M","contacts":[{"name":"L","email":"l@m.co","fax":"1"}]}"#;
        match parse_json::<crate::domain::vendor::VendorInput>(body.as_bytes()) {
            Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, "contacts[0].fax"),
            other => panic!("unexpected {:?}", other.map(|_| ())),
        }
    }
}
