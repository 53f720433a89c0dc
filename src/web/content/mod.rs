//! The content calendar, one content item, and the forms to propose, change, withdraw or
//! mark published a publication, under the same rules as `http::content`: everyone who sees
//! an engagement reads its calendar; the agency, leads and admins write content.

use std::collections::{BTreeMap, HashMap};

use crate::present::links::paths;
use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::json;
use strum::IntoEnumIterator;
use uuid::Uuid;

mod calendar;

use self::calendar::Month;
use super::kit::{area_errors as form_errors, path_id as parse_id, query_param, time_zone};
use crate::{
    app::{
        content::{self, Calendar, ContentAction, ContentView, EngagementTitle},
        engagements,
    },
    auth::Principal,
    domain::{
        Violations,
        confidentiality::{Viewer, Visibility},
        content::{ContentInput, ContentStatus},
        enums::{Channel, Role},
    },
    error::{AppError, AppResult},
    policy::approval::{Action, authorize},
    state::AppState,
    web::{
        error::PageResult,
        session::{PageForm, SignedIn},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::CONTENT, get(calendar_page).post(propose))
        .route(paths::CONTENT_NEW, get(new_form))
        .route(paths::CONTENT_ITEM, get(item_page))
        .route(paths::CONTENT_EDIT, get(edit_form).post(edit))
        .route(paths::CONTENT_TRANSITIONS, post(transition))
}

/// How a planned time is typed in a `datetime-local` field.
const LOCAL_FORMAT: &str = "%Y-%m-%dT%H:%M";

/// A `datetime-local` value in the visitor's time zone, as an instant.
fn parse_local(text: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let local = NaiveDateTime::parse_from_str(text, LOCAL_FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    tz.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc))
}

fn local_text(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format(LOCAL_FORMAT).to_string()
}

/// The first 120 characters of a publication, for lists.
fn excerpt(body: &str) -> String {
    let mut text: String = body.chars().take(120).collect();
    if body.chars().count() > 120 {
        text.push('…');
    }
    text
}

/// One item of the calendar.
#[derive(Debug, Serialize)]
struct Entry {
    id: Uuid,
    /// Local time of day, `14:05`.
    time: String,
    channel: Channel,
    status: ContentStatus,
    engagement: String,
    excerpt: String,
}

/// `/content?month=…` with the calendar's other filters kept.
fn month_href(month: Month, filters: &BTreeMap<&str, String>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("month", &month.to_string());
    for (k, v) in filters.iter().filter(|(k, v)| **k != "month" && !v.is_empty()) {
        q.append_pair(k, v);
    }
    format!("/content?{}", q.finish())
}

/// The months the previous/next links walk through: the span of the visible engagements'
/// contracts and today (any other month is reached with the month field).
fn span(terms: &[(NaiveDate, NaiveDate)], today: NaiveDate) -> (Month, Month) {
    let first = terms.iter().map(|t| t.0).min().unwrap_or(today).min(today);
    let last = terms.iter().map(|t| t.1).max().unwrap_or(today).max(today);
    (Month::of(first), Month::of(last))
}

async fn calendar_page(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult<Html<String>> {
    let viewer = user.principal.viewer();
    let tz = time_zone(&user);
    let today = state.clock.now().with_timezone(&tz).date_naive();
    let month = match query.get("month").map(|m| m.trim()).filter(|m| !m.is_empty()) {
        Some(m) => Month::parse(m).ok_or_else(|| AppError::invalid("month", "invalid_value", "YYYY-MM"))?,
        None => Month::of(today),
    };
    let channel: Option<Channel> = query_param(&query, "channel")?;
    let (from, to) = month.bounds(tz);
    let filter = Calendar {
        from: Some(from),
        to: Some(to),
        engagement_id: query_param(&query, "engagement_id")?,
        status: query_param(&query, "status")?,
    };
    let visible = engagements::visible(&state.db, &viewer).await?;
    let ids: Vec<Uuid> = visible.iter().map(|e| e.id).collect();
    let mut items = content::calendar(&state.db, &ids, &filter).await?;
    items.retain(|i| channel.is_none_or(|c| i.channel == c));
    let count = items.len();
    let titles: HashMap<Uuid, &str> = visible.iter().map(|e| (e.id, e.title.as_str())).collect();
    let days: Vec<_> = calendar::by_day(items, tz, |i| i.planned_at)
        .into_iter()
        .map(|(day, items)| {
            let entries: Vec<Entry> = items
                .into_iter()
                .map(|i| Entry {
                    id: i.id,
                    time: i.planned_at.with_timezone(&tz).format("%H:%M").to_string(),
                    channel: i.channel,
                    status: i.status,
                    engagement: titles.get(&i.engagement_id).copied().unwrap_or_default().to_string(),
                    excerpt: excerpt(&i.body),
                })
                .collect();
            json!({ "date": day.to_string(), "weekday": day.weekday().number_from_monday(), "items": entries })
        })
        .collect();
    let filters: BTreeMap<&str, String> = ["engagement_id", "status", "channel"]
        .into_iter()
        .map(|k| (k, query.get(k).map(|v| v.trim().to_string()).unwrap_or_default()))
        .collect();
    let terms: Vec<(NaiveDate, NaiveDate)> = visible.iter().map(|e| (e.start_date, e.end_date)).collect();
    let (first, last) = span(&terms, today);
    let previous = month.previous().filter(|p| *p >= first).map(|p| month_href(p, &filters));
    let next = month.next().filter(|n| *n <= last).map(|n| month_href(n, &filters));
    let may_propose = !content::proposable(&state.ctx(&user.principal)).await?.is_empty();
    user.render(
        &state,
        "content/calendar.html",
        json!({
            "month": month.to_string(), "month_number": month.number(), "year": month.year().to_string(),
            "previous": previous, "next": next, "days": days, "count": count,
            "filter": filters, "may_propose": may_propose,
            "engagements": visible.iter().map(|e| json!([e.id, e.title])).collect::<Vec<_>>(),
            "statuses": ContentStatus::iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "channels": Channel::iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        }),
    )
}

/// Reads an item the way `http::content` does, checking `action` on its engagement.
async fn load(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: Action,
) -> AppResult<(ContentView, EngagementTitle)> {
    content::load(&state.ctx(principal), id, action).await
}

fn editable(status: ContentStatus) -> bool {
    crate::domain::content::edit(status).is_ok()
}

async fn item_page(State(state): State<AppState>, user: SignedIn, Path(id): Path<String>) -> PageResult<Html<String>> {
    let id = parse_id(&id)?;
    let (item, e) = load(&state, &user.principal, id, Action::ReadContent).await?;
    let approval = content::readable_approval(&state.ctx(&user.principal), &item).await?;
    let mut people: Vec<Uuid> = item.created_by.into_iter().collect();
    if let Some(a) = &approval {
        people.extend(a.decisions.iter().map(|d| d.decider_id));
    }
    let names = crate::db::names::users(&state.db, people).await?;
    let decisions: Vec<_> = approval
        .iter()
        .flat_map(|a| &a.decisions)
        .map(|d| json!({ "decision": d, "decider": names.get(&d.decider_id).cloned().unwrap_or_default() }))
        .collect();
    let may_write = load(&state, &user.principal, id, Action::WriteContent).await.is_ok();
    let status = item.status;
    let month = Month::of(item.planned_at.with_timezone(&time_zone(&user)).date_naive());
    user.render(
        &state,
        "content/item.html",
        json!({
            "item": item, "engagement": { "id": e.id, "title": e.title }, "month": month.to_string(),
            "author": item.created_by.and_then(|a| names.get(&a).cloned()),
            "approval": approval, "decisions": decisions,
            "may_edit": may_write && editable(status),
            "may_withdraw": may_write && crate::domain::content::withdraw(status).is_ok(),
            "may_publish": may_write && crate::domain::content::publish(status).is_ok(),
        }),
    )
}

/// What the proposal and edit forms show around their fields.
struct FormPage {
    /// `None` when proposing; the item when changing it.
    item: Option<(ContentView, String)>,
    engagements: Vec<(Uuid, String)>,
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
}

fn render_form(state: &AppState, user: &SignedIn, status: StatusCode, page: FormPage) -> PageResult<Response> {
    let (action, item) = match &page.item {
        Some((item, title)) => (format!("/content/{}/edit", item.id), json!({ "id": item.id, "engagement": title })),
        None => ("/content".to_string(), json!(null)),
    };
    user.render_status(
        state,
        status,
        "content/form.html",
        json!({
            "action": action, "item": item,
            "engagements": page.engagements.iter().map(|(id, t)| json!([id, t])).collect::<Vec<_>>(),
            "channels": Channel::iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "values": page.values, "errors": page.errors,
        }),
    )
}

/// Whether the viewer's role writes content on the engagements it sees (executives never do).
fn writes_content(viewer: &Viewer) -> bool {
    let seen = if viewer.role == Role::Vendor { Visibility::VendorView } else { Visibility::Full };
    authorize(viewer, Action::WriteContent, seen).is_ok()
}

async fn new_form(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult<Response> {
    let viewer = user.principal.viewer();
    if !writes_content(&viewer) {
        return Err(AppError::forbidden("content is proposed by the agency, leads and admins").into());
    }
    let engagements = content::proposable(&state.ctx(&user.principal)).await?;
    let values: BTreeMap<String, String> =
        query.get("engagement_id").map(|e| ("engagement_id".to_string(), e.clone())).into_iter().collect();
    render_form(&state, &user, StatusCode::OK, FormPage { item: None, engagements, values, errors: BTreeMap::new() })
}

/// The typed fields as the store's input. Everything that cannot be read is reported at
/// once, field by field; the store checks the rest (length, URL, a planned time to come).
fn parse_input(form: &PageForm, tz: Tz) -> AppResult<ContentInput> {
    let mut v = Violations::new();
    let channel = match form.get("channel").map(str::parse::<Channel>) {
        Some(Ok(c)) => Some(c),
        Some(Err(_)) => {
            v.add("channel", "invalid_value", "not a valid choice");
            None
        }
        None => {
            v.add("channel", "required", "choose a channel");
            None
        }
    };
    let planned_at = match form.get("planned_at") {
        Some(text) => {
            let at = parse_local(text, tz);
            if at.is_none() {
                v.add("planned_at", "invalid_value", "a date and time such as 2026-03-05T10:00");
            }
            at
        }
        None => {
            v.add("planned_at", "required", "when it will be published");
            None
        }
    };
    let body = form.get("body").unwrap_or_default().to_string();
    match (channel, planned_at) {
        (Some(channel), Some(planned_at)) if v.is_empty() => {
            Ok(ContentInput { channel, body, media_url: form.get("media_url").map(str::to_string), planned_at })
        }
        _ => {
            if body.is_empty() {
                v.add("body", "required", "must not be empty");
            }
            Err(v.into())
        }
    }
}

/// The engagement a proposal is for (a form field).
fn engagement_field(form: &PageForm) -> AppResult<Uuid> {
    match form.get("engagement_id") {
        None => Err(AppError::invalid("engagement_id", "required", "choose an engagement")),
        Some(id) => id.parse().map_err(|_| AppError::invalid("engagement_id", "invalid_value", "not a valid choice")),
    }
}

/// An error a form shows next to its fields (422), or `None` for one that is a page of its
/// own (not found, forbidden).
fn form_failure(err: &AppError, user: &SignedIn) -> Option<BTreeMap<String, String>> {
    match err {
        AppError::Invalid(_) | AppError::Conflict { .. } | AppError::Malformed { .. } => {
            form_errors(err, "cont", user.frame.lang)
        }
        _ => None,
    }
}

async fn propose(State(state): State<AppState>, form: PageForm) -> PageResult<Response> {
    let user = &form.user;
    let viewer = user.principal.viewer();
    if !writes_content(&viewer) {
        return Err(AppError::forbidden("content is proposed by the agency, leads and admins").into());
    }
    let result = async {
        form.only(&["engagement_id", "channel", "body", "media_url", "planned_at"])?;
        let (engagement, input) = match (engagement_field(&form), parse_input(&form, time_zone(user))) {
            (Ok(e), Ok(input)) => (e, input),
            (Err(AppError::Invalid(mut a)), Err(AppError::Invalid(b))) => {
                a.extend(b);
                return Err(AppError::Invalid(a));
            }
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        content::propose(&state.ctx(&user.principal), engagement, input).await
    }
    .await;
    match result {
        Ok(item) => Ok(Redirect::to(&format!("/content/{}?notice=cont_proposed", item.id)).into_response()),
        Err(err) => {
            let Some(errors) = form_failure(&err, user) else { return Err(err.into()) };
            let engagements = content::proposable(&state.ctx(&user.principal)).await?;
            let page = FormPage { item: None, engagements, values: form.values(), errors };
            render_form(&state, user, StatusCode::UNPROCESSABLE_ENTITY, page)
        }
    }
}

async fn edit_form(State(state): State<AppState>, user: SignedIn, Path(id): Path<String>) -> PageResult<Response> {
    let id = parse_id(&id)?;
    let (item, e) = load(&state, &user.principal, id, Action::WriteContent).await?;
    if !editable(item.status) {
        return Err(AppError::conflict("status", "invalid_transition", "this item can no longer be changed").into());
    }
    let tz = time_zone(&user);
    let values = BTreeMap::from([
        ("channel".to_string(), item.channel.to_string()),
        ("body".to_string(), item.body.clone()),
        ("media_url".to_string(), item.media_url.clone().unwrap_or_default()),
        ("planned_at".to_string(), local_text(item.planned_at, tz)),
    ]);
    let page = FormPage { item: Some((item, e.title)), engagements: Vec::new(), values, errors: BTreeMap::new() };
    render_form(&state, &user, StatusCode::OK, page)
}

async fn edit(State(state): State<AppState>, Path(id): Path<String>, form: PageForm) -> PageResult<Response> {
    let id = parse_id(&id)?;
    let user = &form.user;
    let (item, e) = load(&state, &user.principal, id, Action::WriteContent).await?;
    let result = async {
        form.only(&["channel", "body", "media_url", "planned_at"])?;
        let input = parse_input(&form, time_zone(user))?;
        content::edit(&state.ctx(&user.principal), id, input).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/content/{id}?notice=cont_updated")).into_response()),
        Err(err) => {
            let Some(errors) = form_failure(&err, user) else { return Err(err.into()) };
            let page = FormPage { item: Some((item, e.title)), engagements: Vec::new(), values: form.values(), errors };
            render_form(&state, user, StatusCode::UNPROCESSABLE_ENTITY, page)
        }
    }
}

async fn transition(State(state): State<AppState>, Path(id): Path<String>, form: PageForm) -> PageResult<Response> {
    let id = parse_id(&id)?;
    let user = &form.user;
    load(&state, &user.principal, id, Action::WriteContent).await?;
    form.only(&["action"])?;
    let action = match form.get("action") {
        Some("withdraw") => ContentAction::Withdraw,
        Some("publish") => ContentAction::Publish,
        _ => return Err(AppError::invalid("action", "invalid_value", "withdraw or publish").into()),
    };
    content::transition(&state.ctx(&user.principal), id, action).await?;
    let notice = match action {
        ContentAction::Withdraw => "cont_withdrawn",
        ContentAction::Publish => "cont_published",
    };
    Ok(Redirect::to(&format!("/content/{id}?notice={notice}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_times_are_typed_in_the_visitors_time_zone() {
        let madrid: Tz = "Europe/Madrid".parse().unwrap();
        let at = parse_local("2026-03-05T10:00", madrid).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-03-05T09:00:00+00:00");
        assert_eq!(local_text(at, madrid), "2026-03-05T10:00");
        assert_eq!(parse_local("2026-03-05T10:00:30", madrid).unwrap().to_rfc3339(), "2026-03-05T09:00:30+00:00");
        assert_eq!(parse_local("mañana", madrid), None);
    }

    #[test]
    fn long_bodies_are_cut_for_lists() {
        assert_eq!(excerpt("corto"), "corto");
        let long = "á".repeat(130);
        assert_eq!(excerpt(&long).chars().count(), 121);
    }
}
