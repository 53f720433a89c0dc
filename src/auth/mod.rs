//! Who is calling: bearer tokens for scripts and vendors, server-side sessions for browsers.
//!
//! The API's `authenticate` middleware (`http::authenticate`) resolves the caller once per
//! request through [`token::authenticate`] or [`session::authenticate`] and leaves a
//! [`Principal`] in the request's extensions; handlers take it as an extractor, which answers
//! 401 when there is none. What a principal may do is decided in `crate::policy`.

pub mod password;
pub mod secret;
pub mod session;
pub mod token;

use axum::{extract::FromRequestParts, http::request::Parts};
use std::sync::Arc;

use uuid::Uuid;

use crate::{
    db::{audit::Actor, entity::user},
    domain::{
        confidentiality::Viewer,
        enums::{Language, Role},
    },
    error::{AppError, AppResult},
};

/// Header carrying the CSRF token on cookie-authenticated writes.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Who a user is, as the rest of the application (and the API) sees them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Identity {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub vendor_id: Option<Uuid>,
    pub language: Language,
    pub timezone: String,
}

impl TryFrom<&user::Model> for Identity {
    type Error = anyhow::Error;
    fn try_from(u: &user::Model) -> anyhow::Result<Self> {
        Ok(Self {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role,
            vendor_id: u.vendor_id,
            language: u.language,
            timezone: u.timezone.clone(),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum AuthMethod {
    Session { session_id: String, csrf_token: String },
    Token { token_id: Uuid },
}

/// Who is calling and how they proved it.
#[derive(Debug)]
pub struct Authenticated {
    pub user: Identity,
    pub via: AuthMethod,
}

/// The caller of a request. Shared, not copied: the token cache, the request extensions
/// and the handler all hold the same value.
#[derive(Debug, Clone)]
pub struct Principal(Arc<Authenticated>);

impl std::ops::Deref for Principal {
    type Target = Authenticated;
    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

impl Principal {
    pub fn new(user: Identity, via: AuthMethod) -> Self {
        Self(Arc::new(Authenticated { user, via }))
    }

    pub fn viewer(&self) -> Viewer {
        Viewer { user_id: self.user.id, role: self.user.role, vendor_id: self.user.vendor_id }
    }

    pub fn actor(&self) -> Actor {
        Actor { id: Some(self.user.id), label: self.user.email.clone() }
    }
}

/// Left in place of a principal when a cookie-authenticated write lacks its CSRF token, so
/// that handlers needing a principal answer 403 while public ones (login) are unaffected.
#[derive(Debug, Clone)]
pub struct CsrfRejected;

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> AppResult<Self> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        if parts.extensions.get::<CsrfRejected>().is_some() {
            return Err(AppError::forbidden("missing or wrong X-CSRF-Token header for a cookie-authenticated write"));
        }
        Err(AppError::Unauthenticated)
    }
}
