//! My notification preferences as a page (`/settings/notifications`, the target of every
//! alert email's footer): quiet hours in my time zone and the non-critical rules I want no
//! email for. The same preferences as `GET/PUT /api/v1/me/notification-preferences`; a bad
//! entry re-renders the form with the error beside its field, in my language. Admins also
//! see the messages the outbox gave up on, and send them again (one, or all) through the
//! same function as `POST /api/v1/notifications/{id}/resend` and `veedor outbox resend`.

use std::collections::BTreeMap;

use axum::{
    Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde_json::json;
use strum::IntoEnumIterator;

use crate::{
    app::{
        alerts::{self, Preferences},
        outbox::{self, NotificationFilter, NotificationStatus, Resend},
    },
    domain::alert::{AlertRule, QuietHours},
    policy::alert::{Action, authorize},
    present::{links::paths, text},
    state::AppState,
    web::{
        error::PageResult,
        session::{PageForm, SignedIn},
    },
};

pub fn router() -> Router<AppState> {
    Router::new().route(paths::NOTIFICATIONS, get(show).post(save)).route(paths::NOTIFICATIONS_RESEND, post(resend))
}

/// The rules a person may mute: critical alerts always arrive, and the admins' operational
/// alerts are about Veedor itself.
fn mutable_rules() -> Vec<AlertRule> {
    AlertRule::iter().filter(|r| !r.is_operational()).collect()
}

async fn show(State(state): State<AppState>, user: SignedIn) -> PageResult<Response> {
    let (values, muted) = saved(&state, &user).await?;
    render(&state, &user, StatusCode::OK, values, muted, BTreeMap::new()).await
}

/// My saved preferences, as the form shows them.
async fn saved(state: &AppState, user: &SignedIn) -> PageResult<(BTreeMap<String, String>, Vec<String>)> {
    let prefs = alerts::preferences(&state.db, user.principal.viewer().user_id).await?;
    let values = BTreeMap::from([
        ("quiet_start".to_string(), prefs.quiet_start.clone().unwrap_or_default()),
        ("quiet_end".to_string(), prefs.quiet_end.clone().unwrap_or_default()),
    ]);
    Ok((values, prefs.muted_rules.iter().map(|r| r.to_string()).collect()))
}

/// Whether `user` runs the outbox (admins).
fn runs_outbox(user: &SignedIn) -> bool {
    authorize(&user.principal.viewer(), Action::Operate, true).is_ok()
}

async fn render(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    values: BTreeMap<String, String>,
    muted: Vec<String>,
    errors: BTreeMap<String, String>,
) -> PageResult<Response> {
    let failed = if runs_outbox(user) {
        let filter = NotificationFilter { status: Some(NotificationStatus::Failed), user_id: None };
        outbox::list(&state.db, &filter).await?
    } else {
        Vec::new()
    };
    let page = json!({
        "values": values,
        "muted": muted,
        "rules": mutable_rules(),
        "errors": errors,
        "action": paths::NOTIFICATIONS,
        "outbox": runs_outbox(user),
        "failed": failed,
    });
    user.render_status(state, status, "settings/notifications.html", page)
}

/// The form as preferences, or each wrong field with its message in the visitor's language.
fn read(form: &PageForm) -> Result<Preferences, BTreeMap<String, String>> {
    let lang = form.user.frame.lang;
    if let Err(err) = form.only(&["quiet_start", "quiet_end", "muted_rules"]) {
        return Err(crate::web::kit::field_errors(&err, lang).unwrap_or_default());
    }
    let start = form.get("quiet_start").map(str::to_string);
    let end = form.get("quiet_end").map(str::to_string);
    let mut errors = BTreeMap::new();
    let well_formed =
        |t: &Option<String>| t.as_deref().is_none_or(|t| chrono::NaiveTime::parse_from_str(t, "%H:%M").is_ok());
    for (name, value) in [("quiet_start", &start), ("quiet_end", &end)] {
        if !well_formed(value) {
            errors.insert(name.to_string(), text("notif.error.time", lang, &[]));
        }
    }
    if errors.is_empty() {
        match (&start, &end) {
            (Some(_), None) => {
                errors.insert("quiet_end".into(), text("notif.error.both", lang, &[]));
            }
            (None, Some(_)) => {
                errors.insert("quiet_start".into(), text("notif.error.both", lang, &[]));
            }
            _ if QuietHours::parse(start.as_deref(), end.as_deref()).is_err() => {
                errors.insert("quiet_end".into(), text("notif.error.differ", lang, &[]));
            }
            _ => {}
        }
    }
    let mut muted_rules = Vec::new();
    for (k, v) in form.fields.iter().filter(|(k, _)| k == "muted_rules") {
        match v.parse::<AlertRule>() {
            Ok(rule) if mutable_rules().contains(&rule) => muted_rules.push(rule),
            _ => {
                errors.insert(k.clone(), text("notif.error.rule", lang, &[]));
            }
        }
    }
    if errors.is_empty() { Ok(Preferences { quiet_start: start, quiet_end: end, muted_rules }) } else { Err(errors) }
}

async fn save(State(state): State<AppState>, form: PageForm) -> PageResult<Response> {
    let user = &form.user;
    match read(&form) {
        Ok(prefs) => {
            let principal = &user.principal;
            alerts::set_preferences(
                &state.db,
                state.clock.now(),
                &principal.actor(),
                principal.viewer().user_id,
                prefs,
            )
            .await?;
            Ok(Redirect::to(&format!("{}?notice=notifications_saved", paths::NOTIFICATIONS)).into_response())
        }
        Err(errors) => {
            let muted = form.fields.iter().filter(|(k, _)| k == "muted_rules").map(|(_, v)| v.clone()).collect();
            render(&state, user, StatusCode::UNPROCESSABLE_ENTITY, form.values(), muted, errors).await
        }
    }
}

/// Sends one failed message again (`id`), or all of them (no `id`); admins only.
async fn resend(State(state): State<AppState>, form: PageForm) -> PageResult<Response> {
    let user = &form.user;
    let principal = &user.principal;
    authorize(&principal.viewer(), Action::Operate, true)?;
    let which = match form.get("id").map(str::parse::<uuid::Uuid>) {
        None => Resend::Failed(NotificationFilter { status: Some(NotificationStatus::Failed), user_id: None }),
        Some(Ok(id)) => Resend::One(id),
        Some(Err(_)) => {
            let errors = BTreeMap::from([("id".to_string(), text("notif.error.message", user.frame.lang, &[]))]);
            let (values, muted) = saved(&state, user).await?;
            return render(&state, user, StatusCode::UNPROCESSABLE_ENTITY, values, muted, errors).await;
        }
    };
    outbox::resend(&state.db, state.clock.now(), &principal.actor(), which).await?;
    Ok(Redirect::to(&format!("{}?notice=notifications_resent", paths::NOTIFICATIONS)).into_response())
}
