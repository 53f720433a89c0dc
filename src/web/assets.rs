//! The pages' stylesheet, script and icon, compiled in and served by Veedor itself (no CDN,
//! no build step). URLs carry a content hash (`?v=`), so browsers may cache them for a year.

use std::sync::LazyLock;

use axum::{
    Router,
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use sha2::{Digest, Sha256};

use crate::app::AppState;

const FILES: [(&str, &str, &str); 3] = [
    ("veedor.css", "text/css; charset=utf-8", include_str!("../../assets/web/veedor.css")),
    ("veedor.js", "text/javascript; charset=utf-8", include_str!("../../assets/web/veedor.js")),
    ("icon.svg", "image/svg+xml", include_str!("../../assets/web/icon.svg")),
];

/// A short hash of every asset, appended to their URLs.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for (_, _, body) in FILES {
        hasher.update(body.as_bytes());
    }
    hex::encode(&hasher.finalize()[..6])
});

pub fn router() -> Router<AppState> {
    Router::new().route("/static/{name}", get(asset))
}

async fn asset(Path(name): Path<String>) -> Response {
    let Some((_, kind, body)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = (*body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
