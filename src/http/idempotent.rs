//! Runs a write under an optional `Idempotency-Key`: the first answer (success or refusal)
//! is stored and replayed for retries of the same request; a server error frees the key.

use std::future::Future;

use axum::{
    body::to_bytes,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use crate::{
    auth::Principal,
    db::idempotency::{self, Claim},
    error::{AppError, AppResult},
    state::AppState,
};

pub async fn run<Fut>(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    request_line: &str,
    body: &[u8],
    handle: impl FnOnce() -> Fut,
) -> AppResult<Response>
where
    Fut: Future<Output = AppResult<Response>>,
{
    let Some(key) = headers.get(idempotency::HEADER) else { return handle().await };
    let key = key.to_str().map_err(|_| AppError::invalid("Idempotency-Key", "invalid_key", "must be visible ASCII"))?;
    let mut hasher = Sha256::new();
    hasher.update(request_line.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    let request_hash = hex::encode(hasher.finalize());
    let id = match idempotency::claim(&state.db, state.clock.now(), principal.user.id, key, &request_hash).await? {
        Claim::Replay { status, body } => return Ok(replay(status, body)),
        Claim::Fresh(id) => id,
    };
    let response = match handle().await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    };
    if response.status().is_server_error() {
        idempotency::abandon(&state.db, id).await?;
        return Ok(response);
    }
    let status = response.status();
    let media = response.headers().get(header::CONTENT_TYPE).cloned();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    idempotency::complete(&state.db, id, status.as_u16(), text).await?;
    let mut response = (status, bytes).into_response();
    if let Some(media) = media {
        response.headers_mut().insert(header::CONTENT_TYPE, media);
    }
    Ok(response)
}

fn replay(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let media = if status.is_success() { "application/json" } else { "application/problem+json" };
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
