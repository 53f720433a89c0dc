//! The OpenAPI document and an interactive documentation page (Swagger UI) whose assets are
//! compiled into the binary: no CDN, so it works offline.

use axum::{
    Router,
    body::Bytes,
    extract::Path,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{error::AppError, state::AppState};

const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js"),
    ),
    ("swagger-ui.css", "text/css; charset=utf-8", include_bytes!("../../assets/swagger-ui/swagger-ui.css")),
    ("init.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/swagger-ui/init.js")),
];

const INDEX: &str = include_str!("../../assets/swagger-ui/index.html");

/// Serves the document of the routes' annotations, completed with the answers every
/// operation shares (`answers`: they can only be added once every route is merged).
pub fn router(mut openapi: utoipa::openapi::OpenApi) -> Router<AppState> {
    utoipa::Modify::modify(&super::answers::CommonAnswers, &mut openapi);
    close_forms(&mut openapi, "Approver");
    let document = Bytes::from(openapi.to_pretty_json().unwrap_or_else(|_| "{}".into()));
    Router::new()
        .route(
            "/api/openapi.json",
            get(move || {
                let document = document.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], document) }
            }),
        )
        .route("/api/docs", get(|| async { axum::response::Html(INDEX) }))
        .route("/api/docs/{file}", get(asset))
}

/// Marks each form of an internally tagged enum as a closed object: the derived schema does
/// not carry serde's `deny_unknown_fields`, which refuses unknown fields in every form that
/// has fields of its own.
fn close_forms(openapi: &mut utoipa::openapi::OpenApi, name: &str) {
    use utoipa::openapi::{
        RefOr,
        schema::{AdditionalProperties, Schema},
    };
    let schema = openapi.components.as_mut().and_then(|c| c.schemas.get_mut(name));
    if let Some(RefOr::T(Schema::OneOf(one_of))) = schema {
        for form in one_of.items.iter_mut() {
            if let RefOr::T(Schema::Object(object)) = form {
                object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
}

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, body)) => {
            let mut response = (*body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
            response
        }
        None => AppError::NotFound.into_response(),
    }
}
