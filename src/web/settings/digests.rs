//! Digest subscriptions as pages: the list of mine (admins: everyone's too), a form to
//! subscribe or change one, deleting, and a preview of the digest as it would be sent now,
//! the same HTML as `GET /api/v1/digests/preview` (charts inlined) shown inside the page.
//! Agency users have no digests: every page answers 403, as the API does.

use crate::present::links::paths;
use std::collections::{BTreeMap, HashMap, HashSet};

use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::Weekday;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::app::digests::preview;
use crate::web::kit::{QueryMap, form_errors, path_id, query_date, query_parse, query_value, timezone_options};
use crate::{
    app::{
        digests::{
            run,
            subscriptions::{self, SubscriptionInput, SubscriptionView},
        },
        engagements, users,
    },
    auth::Principal,
    domain::{
        Violations,
        confidentiality::Viewer,
        digest::DigestCadence,
        enums::{Language, Role},
    },
    error::{AppError, AppResult},
    policy::digest::{Action, authorize},
    state::AppState,
    web::{
        error::PageResult,
        numbers,
        paging::{PER_PAGE, Paged},
        session::{PageForm, SignedIn},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::DIGESTS, get(list))
        .route(paths::DIGEST_NEW, get(new_form).post(create))
        .route(paths::DIGEST_PREVIEW, get(preview))
        .route(paths::DIGEST_EDIT, get(edit_form).post(update))
        .route(paths::DIGEST_DELETE, post(delete))
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A subscription as the list shows it.
#[derive(Debug, Serialize)]
struct Row {
    #[serde(flatten)]
    subscription: SubscriptionView,
    recipient: String,
    /// The titles of the engagements covered (`None` for one the viewer cannot see);
    /// `None` when it covers every engagement the recipient sees.
    engagements: Option<Vec<Option<String>>>,
}

async fn list(State(state): State<AppState>, user: SignedIn, Query(q): Query<QueryMap>) -> PageResult<Html<String>> {
    let viewer = user.principal.viewer();
    let everyone = viewer.role == Role::Admin && query_value(&q, "scope") == Some("all");
    let subscriptions =
        subscriptions::listed(&state.ctx(&user.principal), (!everyone).then_some(viewer.user_id)).await?;
    let titles = engagement_titles(&state, &viewer).await?;
    let names = user_names(&state, subscriptions.iter().map(|s| s.user_id).collect()).await?;
    let rows: Vec<Row> = subscriptions
        .into_iter()
        .map(|s| Row {
            recipient: names.get(&s.user_id).cloned().unwrap_or_default(),
            engagements: s.engagement_ids.as_ref().map(|ids| ids.iter().map(|id| titles.get(id).cloned()).collect()),
            subscription: s,
        })
        .collect();
    let page = query_parse(&q, "page", "a page number").ok().flatten();
    let rows = Paged::of(rows, page, PER_PAGE);
    user.render(
        &state,
        "settings/digests/list.html",
        json!({ "rows": rows, "everyone": everyone, "is_admin": viewer.role == Role::Admin }),
    )
}

async fn engagement_titles(state: &AppState, viewer: &Viewer) -> AppResult<HashMap<Uuid, String>> {
    Ok(engagements::visible(&state.db, viewer).await?.into_iter().map(|e| (e.id, e.title)).collect())
}

async fn user_names(state: &AppState, ids: HashSet<Uuid>) -> AppResult<HashMap<Uuid, String>> {
    crate::db::names::users(&state.db, ids).await
}

/// What the subscription form holds, as typed: kept as text so that a refused form shows
/// exactly what was sent.
#[derive(Debug, Clone, Serialize)]
struct Fields {
    /// The recipient (admins subscribing someone else); blank for the caller.
    user_id: String,
    cadence: String,
    weekday: String,
    day: String,
    local_time: String,
    timezone: String,
    language: String,
    engagement_ids: Vec<String>,
    skip_unchanged: bool,
    active: bool,
}

fn weekday_code(w: Weekday) -> String {
    w.to_string().to_lowercase()
}

impl Fields {
    /// A new subscription: weekly on Mondays at 08:00, in the caller's zone and language.
    fn defaults(principal: &Principal) -> Self {
        Self {
            user_id: String::new(),
            cadence: "weekly".into(),
            weekday: "mon".into(),
            day: "1".into(),
            local_time: "08:00".into(),
            timezone: principal.user.timezone.clone(),
            language: principal.user.language.to_string(),
            engagement_ids: Vec::new(),
            skip_unchanged: false,
            active: true,
        }
    }

    fn of(s: &SubscriptionView) -> Self {
        let (cadence, weekday, day) = match s.cadence {
            DigestCadence::Daily => ("daily", "mon".to_string(), "1".to_string()),
            DigestCadence::Weekly { weekday } => ("weekly", weekday_code(weekday), "1".to_string()),
            DigestCadence::Monthly { day } => ("monthly", "mon".to_string(), day.to_string()),
        };
        Self {
            user_id: s.user_id.to_string(),
            cadence: cadence.into(),
            weekday,
            day,
            local_time: s.local_time.clone(),
            timezone: s.timezone.clone(),
            language: s.language.to_string(),
            engagement_ids: s.engagement_ids.iter().flatten().map(Uuid::to_string).collect(),
            skip_unchanged: s.skip_unchanged,
            active: s.active,
        }
    }

    /// The form's fields; any other is refused.
    const NAMES: [&str; 10] = [
        "user_id",
        "cadence",
        "weekday",
        "day",
        "local_time",
        "timezone",
        "language",
        "engagement_ids",
        "skip_unchanged",
        "active",
    ];

    fn posted(form: &PageForm) -> Self {
        let text = |name: &str| form.get(name).unwrap_or_default().to_string();
        Self {
            user_id: text("user_id"),
            cadence: text("cadence"),
            weekday: text("weekday"),
            day: text("day"),
            local_time: text("local_time"),
            timezone: text("timezone"),
            language: text("language"),
            engagement_ids: form
                .fields
                .iter()
                .filter(|(k, v)| k == "engagement_ids" && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_string())
                .collect(),
            skip_unchanged: form.get("skip_unchanged").is_some(),
            active: form.get("active").is_some(),
        }
    }

    /// The API's input; fields that do not parse are errors named as the form names them.
    /// No engagement ticked means every engagement the recipient sees. The day of the month
    /// is read as `lang` writes numbers.
    fn input(&self, lang: Language) -> Result<SubscriptionInput, AppError> {
        let mut v = Violations::new();
        let cadence = match self.cadence.as_str() {
            "daily" => Some(DigestCadence::Daily),
            "weekly" => match self.weekday.parse::<Weekday>() {
                Ok(weekday) => Some(DigestCadence::Weekly { weekday }),
                Err(_) => {
                    v.add("weekday", "invalid_value", "a day of the week");
                    None
                }
            },
            "monthly" => match numbers::whole("day", &self.day, lang, 1, 31) {
                Ok(day) => u32::try_from(day).ok().map(|day| DigestCadence::Monthly { day }),
                Err(e) => {
                    v.push(e);
                    None
                }
            },
            _ => {
                v.add("cadence", "invalid_value", "daily, weekly or monthly");
                None
            }
        };
        let language = self.language.parse::<Language>().ok();
        if language.is_none() {
            v.add("language", "invalid_value", "es or en");
        }
        let mut engagement_ids = Vec::new();
        for raw in &self.engagement_ids {
            match raw.parse::<Uuid>() {
                Ok(id) => engagement_ids.push(id),
                Err(_) => v.add("engagement_ids", "invalid_value", "not an engagement"),
            }
        }
        let user_id = match self.user_id.as_str() {
            "" => None,
            raw => raw.parse::<Uuid>().map(Some).unwrap_or_else(|_| {
                v.add("user_id", "invalid_value", "not a user");
                None
            }),
        };
        v.finish(())?;
        let given = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Ok(SubscriptionInput {
            user_id,
            cadence: cadence.unwrap_or(DigestCadence::Daily),
            local_time: given(&self.local_time),
            timezone: given(&self.timezone),
            language,
            engagement_ids: (!engagement_ids.is_empty()).then_some(engagement_ids),
            skip_unchanged: self.skip_unchanged,
            active: self.active,
        })
    }
}

/// The store names nested fields (`cadence.day`, `engagement_ids[2]`); the form has one
/// input (or group) for each.
fn form_field(store_field: &str) -> &str {
    match store_field {
        "cadence.day" => "day",
        f if f.starts_with("engagement_ids") => "engagement_ids",
        f if f.starts_with("cadence") => "cadence",
        f => f,
    }
}

fn on_form(errors: BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut mapped = BTreeMap::new();
    for (field, message) in errors {
        mapped.entry(form_field(&field).to_string()).or_insert(message);
    }
    mapped
}

/// The subscription form. It subscribes the recipient of `editing`, or for a new
/// subscription the caller (admins may pick another company user).
async fn render_form(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    editing: Option<&SubscriptionView>,
    fields: &Fields,
    errors: BTreeMap<String, String>,
) -> PageResult<Response> {
    let principal = &user.principal;
    let viewer = principal.viewer();
    let owner = editing.map_or(viewer.user_id, |s| s.user_id);
    let engagements: Vec<_> = subscriptions::coverable(&state.ctx(principal), owner)
        .await?
        .into_iter()
        .map(|(id, title)| json!({ "id": id.to_string(), "title": title }))
        .collect();
    let recipients = match (editing, viewer.role) {
        (None, Role::Admin) => company_users(state).await?,
        _ => Vec::new(),
    };
    let (action, id) = match editing {
        Some(s) => (format!("/settings/digests/{}/edit", s.id), Some(s.id)),
        None => ("/settings/digests/new".to_string(), None),
    };
    user.render_status(
        state,
        status,
        "settings/digests/form.html",
        json!({
            "action": action,
            "subscription_id": id,
            "values": fields,
            "errors": errors,
            "engagements": engagements,
            "recipients": recipients,
            "weekdays": WEEKDAYS,
            "timezones": timezone_options(&fields.timezone),
        }),
    )
}

/// The active company users, by name: whom an admin may subscribe.
async fn company_users(state: &AppState) -> AppResult<Vec<users::Choice>> {
    users::choices(&state.db, users::Pickable::ActiveCompany).await
}

async fn new_form(State(state): State<AppState>, user: SignedIn) -> PageResult<Response> {
    let viewer = user.principal.viewer();
    authorize(&viewer, Action::Manage, viewer.user_id)?;
    let fields = Fields::defaults(&user.principal);
    render_form(&state, &user, StatusCode::OK, None, &fields, BTreeMap::new()).await
}

async fn create(State(state): State<AppState>, form: PageForm) -> PageResult<Response> {
    let principal = &form.user.principal;
    let viewer = principal.viewer();
    authorize(&viewer, Action::Manage, viewer.user_id)?;
    let fields = Fields::posted(&form);
    let created = async {
        form.only(&Fields::NAMES)?;
        let input = fields.input(form.user.frame.lang)?;
        subscriptions::subscribe(&state.ctx(principal), input).await
    }
    .await;
    match created {
        Ok(_) => Ok(Redirect::to("/settings/digests?notice=dig_created").into_response()),
        Err(err) => {
            let errors = on_form(form_errors(err, form.user.frame.lang)?);
            render_form(&state, &form.user, StatusCode::UNPROCESSABLE_ENTITY, None, &fields, errors).await
        }
    }
}

async fn edit_form(State(state): State<AppState>, user: SignedIn, Path(id): Path<String>) -> PageResult<Response> {
    let view = subscriptions::read(&state.ctx(&user.principal), path_id(&id)?).await?;
    render_form(&state, &user, StatusCode::OK, Some(&view), &Fields::of(&view), BTreeMap::new()).await
}

async fn update(State(state): State<AppState>, Path(id): Path<String>, form: PageForm) -> PageResult<Response> {
    let ctx = state.ctx(&form.user.principal);
    let id = path_id(&id)?;
    let existing = subscriptions::read(&ctx, id).await?;
    let fields = Fields::posted(&form);
    let updated = async {
        form.only(&Fields::NAMES)?;
        let mut input = fields.input(form.user.frame.lang)?;
        // The recipient of a subscription never changes.
        input.user_id = None;
        subscriptions::change(&ctx, id, input).await
    }
    .await;
    match updated {
        Ok(_) => Ok(Redirect::to("/settings/digests?notice=dig_updated").into_response()),
        Err(err) => {
            let errors = on_form(form_errors(err, form.user.frame.lang)?);
            render_form(&state, &form.user, StatusCode::UNPROCESSABLE_ENTITY, Some(&existing), &fields, errors).await
        }
    }
}

async fn delete(State(state): State<AppState>, Path(id): Path<String>, form: PageForm) -> PageResult<Response> {
    let ctx = state.ctx(&form.user.principal);
    let id = path_id(&id)?;
    subscriptions::read(&ctx, id).await?;
    form.only(&[])?;
    subscriptions::unsubscribe(&ctx, id).await?;
    Ok(Redirect::to("/settings/digests?notice=dig_deleted").into_response())
}

/// The digest as it would be sent now (or over the dates asked), inside the page, with its
/// plain-text version below.
async fn preview(State(state): State<AppState>, user: SignedIn, Query(q): Query<QueryMap>) -> PageResult<Response> {
    let ctx = state.ctx(&user.principal);
    let subscription_id = query_value(&q, "subscription_id").map(path_id).transpose()?;
    let target = preview::target(&ctx, subscription_id).await?;
    let (subscription, recipient) = (target.subscription.as_ref(), &target.recipient);
    let choices = subscriptions::listed(&ctx, Some(recipient.id)).await?;
    let values = json!({
        "subscription_id": subscription.as_ref().map(|s| s.id.to_string()).unwrap_or_default(),
        "from": query_value(&q, "from").unwrap_or_default(),
        "to": query_value(&q, "to").unwrap_or_default(),
    });
    let mut context = json!({
        "values": values, "choices": choices, "recipient": recipient.name,
        "errors": {}, "period": null, "html": null, "text": null,
    });
    let asked = query_date(&q, "from").and_then(|from| Ok((from, query_date(&q, "to")?)));
    let period = match asked.and_then(|(from, to)| preview::period(&ctx, &target, from, to)) {
        Ok(period) => period,
        Err(err) => {
            context["errors"] = json!(form_errors(err, user.frame.lang)?);
            return user.render_status(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "settings/digests/preview.html",
                context,
            );
        }
    };
    let built = preview::build(&ctx, &target, period, state.config.digest_charts).await?;
    context["period"] = json!(period);
    if let Some(built) = built {
        context["html"] = json!(run::html_with_data_uris(&built));
        context["text"] = json!(built.rendered.text);
    }
    user.render_status(&state, StatusCode::OK, "settings/digests/preview.html", context)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Fields {
        Fields {
            user_id: String::new(),
            cadence: "weekly".into(),
            weekday: "fri".into(),
            day: "1".into(),
            local_time: "07:30".into(),
            timezone: "America/Bogota".into(),
            language: "en".into(),
            engagement_ids: vec![],
            skip_unchanged: true,
            active: true,
        }
    }

    #[test]
    fn the_form_becomes_the_apis_input() {
        let input = fields().input(Language::En).unwrap();
        assert_eq!(input.cadence, DigestCadence::Weekly { weekday: Weekday::Fri });
        assert_eq!(input.local_time.as_deref(), Some("07:30"));
        assert_eq!(input.language, Some(Language::En));
        assert_eq!(input.engagement_ids, None, "nothing ticked: every engagement");
        assert!(input.skip_unchanged && input.active && input.user_id.is_none());
        let monthly = Fields { cadence: "monthly".into(), day: "31".into(), ..fields() };
        assert_eq!(monthly.input(Language::Es).unwrap().cadence, DigestCadence::Monthly { day: 31 });
    }

    #[test]
    fn fields_that_do_not_parse_are_named() {
        let bad = Fields {
            cadence: "monthly".into(),
            day: "last".into(),
            language: "fr".into(),
            engagement_ids: vec!["x".into()],
            ..fields()
        };
        let Err(AppError::Invalid(errors)) = bad.input(Language::Es) else { panic!("refused") };
        let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["day", "language", "engagement_ids"]);
    }

    #[test]
    fn store_fields_land_on_the_form_inputs() {
        let errors: BTreeMap<String, String> = [
            ("cadence.day".to_string(), "1 to 31".to_string()),
            ("engagement_ids[1]".into(), "not visible".into()),
            ("timezone".into(), "IANA".into()),
        ]
        .into();
        let mapped = on_form(errors);
        assert_eq!(mapped.keys().collect::<Vec<_>>(), ["day", "engagement_ids", "timezone"]);
    }
}
