//! API tokens as a page: the tokens (admins: everyone's; others their own, as
//! `GET /api/v1/tokens`), issuing one for oneself (its secret shown on the answer only),
//! and revoking one.

use crate::present::links::paths;
use std::collections::{BTreeMap, HashMap};

use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{QueryMap, form_errors, path_id, query_parse};
use crate::{
    app::tokens::{self, Lifetimes},
    error::{AppError, AppResult},
    policy,
    state::AppState,
    views::TokenView,
    web::{
        error::PageResult,
        numbers,
        paging::PER_PAGE,
        session::{PageForm, SignedIn},
    },
};

pub fn router() -> Router<AppState> {
    Router::new().route(paths::TOKENS, get(list).post(issue)).route(paths::TOKEN_REVOKE, post(revoke))
}

/// A token as the list shows it.
#[derive(Debug, Serialize)]
struct Row {
    #[serde(flatten)]
    token: TokenView,
    owner: String,
    /// `active`, `expired` or `revoked`.
    state: &'static str,
}

fn state_of(t: &TokenView, now: DateTime<Utc>) -> &'static str {
    match (t.revoked_at, t.expires_at <= now) {
        (Some(_), _) => "revoked",
        (None, true) => "expired",
        (None, false) => "active",
    }
}

/// A token just issued: its secret, shown this once.
#[derive(Debug, Serialize)]
struct Issued {
    name: String,
    secret: String,
}

/// What the page shows besides the list: the issue form as typed, its errors, a new secret.
struct Extras {
    status: StatusCode,
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
    issued: Option<Issued>,
}

impl Extras {
    fn blank(state: &AppState) -> Self {
        let values = [("expires_in_days".to_string(), state.config.token_default_days.to_string())].into();
        Self { status: StatusCode::OK, values, errors: BTreeMap::new(), issued: None }
    }
}

async fn list(State(state): State<AppState>, user: SignedIn, Query(q): Query<QueryMap>) -> PageResult<Response> {
    let page = query_parse(&q, "page", "a page number").ok().flatten();
    let extras = Extras::blank(&state);
    render(&state, &user, page, extras).await
}

async fn render(state: &AppState, user: &SignedIn, page: Option<usize>, extras: Extras) -> PageResult<Response> {
    let viewer = user.principal.viewer();
    let scope = policy::token::list_scope(&viewer);
    let shown = tokens::newest_first(&state.ctx(&user.principal), page, PER_PAGE).await?;
    let owners = owner_names(state, &shown.items).await?;
    let now = state.clock.now();
    let rows = shown.map(|t| Row {
        owner: owners.get(&t.user_id).cloned().unwrap_or_default(),
        state: state_of(&t, now),
        token: t,
    });
    let context = json!({
        "tokens": rows,
        "everyone": scope.is_none(),
        "values": extras.values,
        "errors": extras.errors,
        "issued": extras.issued,
        "max_days": state.config.token_max_days,
    });
    user.render_status(state, extras.status, "admin/tokens.html", context)
}

async fn owner_names(state: &AppState, tokens: &[TokenView]) -> AppResult<HashMap<Uuid, String>> {
    crate::db::names::users(&state.db, tokens.iter().map(|t| t.user_id)).await
}

/// The lifetime asked for, in days, read in the visitor's number format (the use case
/// checks its range).
fn lifetime(form: &PageForm) -> Result<Option<f64>, AppError> {
    form.get("expires_in_days")
        .map(|raw| numbers::typed("expires_in_days", raw, form.user.frame.lang))
        .transpose()
        .map_err(|e| AppError::Invalid(vec![e]))
}

async fn issue(State(state): State<AppState>, form: PageForm) -> PageResult<Response> {
    let principal = &form.user.principal;
    let issued = async {
        form.only(&["name", "expires_in_days"])?;
        let lifetime = (lifetime(&form)?, Lifetimes::from_config(&state.config));
        let name = form.get("name").unwrap_or_default();
        tokens::issue(&state.db, state.clock.now(), &principal.actor(), principal.user.id, name, lifetime).await
    }
    .await;
    let extras = match issued {
        Ok(issued) => Extras {
            status: StatusCode::CREATED,
            issued: Some(Issued { name: issued.token.name, secret: issued.secret }),
            ..Extras::blank(&state)
        },
        Err(err) => Extras {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            values: form.values(),
            errors: form_errors(err, form.user.frame.lang)?,
            issued: None,
        },
    };
    render(&state, &form.user, None, extras).await
}

async fn revoke(State(state): State<AppState>, Path(id): Path<String>, form: PageForm) -> PageResult<Response> {
    let id = path_id(&id)?;
    form.only(&[])?;
    tokens::revoke(&state.ctx(&form.user.principal), id, &state.tokens).await?;
    Ok(Redirect::to("/admin/tokens?notice=adm_token_revoked").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_active_until_it_expires_or_is_revoked() {
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(10);
        let token = |expires: i64, revoked: bool| TokenView {
            id: Uuid::nil(),
            user_id: Uuid::nil(),
            name: "script".into(),
            prefix: "vdr_".into(),
            created_at: DateTime::UNIX_EPOCH,
            expires_at: DateTime::UNIX_EPOCH + chrono::Duration::days(expires),
            last_used_at: None,
            revoked_at: revoked.then_some(now),
        };
        assert_eq!(state_of(&token(11, false), now), "active");
        assert_eq!(state_of(&token(10, false), now), "expired");
        assert_eq!(state_of(&token(11, true), now), "revoked");
    }
}
