//! The security headers every response carries — pages, the API, its documentation, metrics,
//! and errors the router itself answers (404, 405, 413, a panic turned into a 500) — set in
//! one outermost layer so that no route can be left without them.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, header},
    middleware::Next,
    response::Response,
};

/// Pages: only Veedor's own script runs; nothing is loaded from elsewhere.
const PAGE_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                           script-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'; \
                           object-src 'none'";

/// The API documentation page: Swagger UI's own served files, its inline styles and icons, and
/// calls to this API only.
const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                           img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; form-action 'self'; \
                           base-uri 'none'; object-src 'none'";

/// Everything that is not a page (JSON, CSV, images, metrics): nothing may run or load.
const DATA_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const HSTS: &str = "max-age=31536000; includeSubDomains";

/// What the layer needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct SecurityHeaders {
    /// Whether the site is served over https (its base URL), and so asks for HSTS.
    pub https: bool,
}

impl SecurityHeaders {
    pub fn for_base_url(base_url: &str) -> Self {
        Self { https: base_url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://")) }
    }
}

/// Adds the headers after the handler (and every inner layer) answered. A response that chose
/// its own `Cache-Control` (static assets) keeps it; everything else is `no-store`, since API
/// answers and pages carry personal data and CSRF tokens.
pub async fn layer(State(config): State<SecurityHeaders>, request: Request, next: Next) -> Response {
    let docs_page = matches!(request.uri().path(), "/api/docs" | "/api/docs/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let policy = if docs_page {
        DOCS_POLICY
    } else if is_html(headers) {
        PAGE_POLICY
    } else {
        DATA_POLICY
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if config.https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    response
}

fn is_html(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"))
}

#[cfg(test)]
mod tests {
    use super::SecurityHeaders;

    #[test]
    fn hsts_only_for_an_https_base_url() {
        assert!(SecurityHeaders::for_base_url("https://veedor.example").https);
        assert!(SecurityHeaders::for_base_url("HTTPS://veedor.example").https);
        assert!(!SecurityHeaders::for_base_url("http://127.0.0.1:8080").https);
        assert!(!SecurityHeaders::for_base_url("").https);
    }
}
