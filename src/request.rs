//! What both surfaces, the JSON API and the pages, read off a request the same way: the
//! client's address (behind a trusted proxy, the one it saw) and the query parameters that
//! hold a control character, which both refuse before anything reads them.

use std::net::SocketAddr;

use axum::http::HeaderMap;

use crate::domain::{
    FieldError,
    text::{self, Lines},
};

/// The client's address: the last `X-Forwarded-For` entry when Veedor runs behind a proxy it
/// trusts (`trust_proxy`), else the peer's.
pub fn client_ip(trust_proxy: bool, headers: &HeaderMap, peer: SocketAddr) -> String {
    if trust_proxy
        && let Some(first) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return first.chars().take(64).collect();
    }
    peer.ip().to_string()
}

/// The parameters of a query string that hold a control character: a parameter is one line
/// of text, and a NUL in a filter would otherwise reach the database (PostgreSQL refuses it
/// with an error of its own).
pub fn control_characters(query: &str) -> Vec<FieldError> {
    form_urlencoded::parse(query.as_bytes())
        .filter_map(|(key, value)| text::plain(&key, &value, Lines::One).err())
        .collect()
}
