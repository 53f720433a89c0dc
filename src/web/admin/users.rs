//! User accounts as pages: the list (admins, and leads who look people up to build teams,
//! as `GET /api/v1/users` allows), and for admins the forms to create an account (its
//! generated password shown once) and to change one.

use crate::present::links::paths;
use std::collections::{BTreeMap, HashMap};

use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{QueryMap, form_errors, path_id, query_parse, timezone_options};
use crate::{
    app::users,
    domain::{
        Violations,
        enums::{Language, Role},
        user::{NewUserInput, UserPatch},
    },
    error::{AppError, AppResult},
    policy,
    state::AppState,
    views::UserView,
    web::{
        error::PageResult,
        paging::PER_PAGE,
        session::{PageForm, SignedIn},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::USERS, get(list))
        .route(paths::USER_NEW, get(new_form).post(create))
        .route(paths::USER_EDIT, get(edit_form).post(update))
}

const ROLES: [&str; 4] = ["admin", "lead", "executive", "vendor"];

/// An account just created with a generated password, shown this once.
#[derive(Debug, Serialize)]
struct Created {
    name: String,
    email: String,
    password: String,
}

async fn list(State(state): State<AppState>, user: SignedIn, Query(q): Query<QueryMap>) -> PageResult<Response> {
    policy::user::list(&user.principal.viewer())?;
    let role: Option<Role> = query_parse(&q, "role", "a role")?;
    let page = query_parse(&q, "page", "a page number").ok().flatten();
    render_list(&state, &user, role, page, None).await
}

async fn render_list(
    state: &AppState,
    user: &SignedIn,
    role: Option<Role>,
    page: Option<usize>,
    created: Option<Created>,
) -> PageResult<Response> {
    let shown = users::by_name(&state.db, role, page, PER_PAGE).await?;
    let vendors = vendor_names(state).await?;
    let rows = shown.map(|u| {
        let vendor = u.identity.vendor_id.and_then(|v| vendors.get(&v).cloned());
        json!({ "user": u, "vendor": vendor })
    });
    let context = json!({
        "users": rows,
        "role": role.map(|r| r.to_string()).unwrap_or_default(),
        "roles": ROLES,
        "can_manage": user.principal.user.role == Role::Admin,
        "created": created,
    });
    user.render_status(state, StatusCode::OK, "admin/users.html", context)
}

async fn vendor_names(state: &AppState) -> AppResult<HashMap<Uuid, String>> {
    crate::db::names::vendors(&state.db, None).await
}

/// The account form, for a new account (`editing` is `None`) or to change one.
async fn render_form(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    editing: Option<&UserView>,
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
) -> PageResult<Response> {
    let mut vendors: Vec<(Uuid, String)> = vendor_names(state).await?.into_iter().collect();
    vendors.sort_by_key(|(_, name)| name.to_lowercase());
    let vendors: Vec<_> = vendors.into_iter().map(|(id, name)| json!({ "id": id.to_string(), "name": name })).collect();
    let timezone = values.get("timezone").cloned().unwrap_or_default();
    let action = match editing {
        Some(u) => format!("/admin/users/{}/edit", u.identity.id),
        None => "/admin/users/new".to_string(),
    };
    let context = json!({
        "action": action,
        "editing": editing,
        "values": values,
        "errors": errors,
        "roles": ROLES,
        "vendors": vendors,
        "timezones": timezone_options(&timezone),
    });
    user.render_status(state, status, "admin/user_form.html", context)
}

async fn new_form(State(state): State<AppState>, user: SignedIn) -> PageResult<Response> {
    policy::user::write(&user.principal.viewer(), None)?;
    let values: BTreeMap<String, String> = [
        ("role", "executive"),
        ("language", user.principal.user.language.as_ref()),
        ("timezone", user.principal.user.timezone.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    render_form(&state, &user, StatusCode::OK, None, values, BTreeMap::new()).await
}

async fn create(State(state): State<AppState>, form: PageForm) -> PageResult<Response> {
    let principal = &form.user.principal;
    policy::user::write(&principal.viewer(), None)?;
    let created = async {
        let input: NewUserInput = form.parse()?;
        users::create(&state.db, state.clock.now(), &principal.actor(), input).await
    }
    .await;
    match created {
        Ok(created) => match created.generated_password {
            Some(password) => {
                let shown = Created { name: created.user.name, email: created.user.email, password };
                render_list(&state, &form.user, None, None, Some(shown)).await
            }
            None => Ok(Redirect::to("/admin/users?notice=adm_user_created").into_response()),
        },
        Err(err) => {
            let errors = form_errors(err, form.user.frame.lang)?;
            let mut values = form.values();
            values.remove("password");
            render_form(&state, &form.user, StatusCode::UNPROCESSABLE_ENTITY, None, values, errors).await
        }
    }
}

/// The account as the edit form shows it.
fn values_of(u: &UserView) -> BTreeMap<String, String> {
    let id = &u.identity;
    let mut values: BTreeMap<String, String> = [
        ("name", id.name.clone()),
        ("role", id.role.to_string()),
        ("vendor_id", id.vendor_id.map(|v| v.to_string()).unwrap_or_default()),
        ("language", id.language.to_string()),
        ("timezone", id.timezone.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if u.active {
        values.insert("active".into(), "on".into());
    }
    values
}

async fn edit_form(State(state): State<AppState>, user: SignedIn, Path(id): Path<String>) -> PageResult<Response> {
    let id = path_id(&id)?;
    policy::user::write(&user.principal.viewer(), Some(id))?;
    let view = UserView::try_from(&users::get(&state.db, id).await?)?;
    render_form(&state, &user, StatusCode::OK, Some(&view), values_of(&view), BTreeMap::new()).await
}

/// Every field of the edit form, as a patch (a blank vendor is none; no tick is inactive).
fn patch_of(form: &PageForm) -> Result<UserPatch, AppError> {
    form.only(&["name", "role", "vendor_id", "language", "timezone", "active"])?;
    let mut v = Violations::new();
    let role = form.get("role").and_then(|r| r.parse::<Role>().ok());
    if role.is_none() {
        v.add("role", "invalid_value", "admin, lead, executive or vendor");
    }
    let language = form.get("language").and_then(|l| l.parse::<Language>().ok());
    if language.is_none() {
        v.add("language", "invalid_value", "es or en");
    }
    let vendor_id = match form.get("vendor_id").map(str::parse::<Uuid>).transpose() {
        Ok(id) => id,
        Err(_) => {
            v.add("vendor_id", "invalid_value", "not a vendor");
            None
        }
    };
    v.finish(())?;
    Ok(UserPatch {
        name: Some(form.get("name").unwrap_or_default().to_string()),
        role,
        vendor_id: Some(vendor_id),
        language,
        timezone: Some(form.get("timezone").unwrap_or_default().to_string()),
        active: Some(form.get("active").is_some()),
    })
}

async fn update(State(state): State<AppState>, Path(id): Path<String>, form: PageForm) -> PageResult<Response> {
    let principal = &form.user.principal;
    let id = path_id(&id)?;
    policy::user::write(&principal.viewer(), Some(id))?;
    let current = UserView::try_from(&users::get(&state.db, id).await?)?;
    let updated = async {
        let patch = patch_of(&form)?;
        users::update(&state.db, state.clock.now(), &principal.actor(), id, patch, &state.tokens).await
    }
    .await;
    match updated {
        Ok(_) => Ok(Redirect::to("/admin/users?notice=adm_user_updated").into_response()),
        Err(err) => {
            let errors = form_errors(err, form.user.frame.lang)?;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render_form(&state, &form.user, status, Some(&current), form.values(), errors).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edit_form_starts_from_the_account() {
        let view = UserView {
            identity: crate::auth::Identity {
                id: Uuid::nil(),
                email: "ana@brisa.example".into(),
                name: "Ana".into(),
                role: Role::Lead,
                vendor_id: None,
                language: Language::En,
                timezone: "Europe/Madrid".into(),
            },
            active: false,
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
        };
        let values = values_of(&view);
        assert_eq!(values["role"], "lead");
        assert_eq!(values["vendor_id"], "");
        assert!(!values.contains_key("active"), "an inactive account is not ticked");
    }
}
