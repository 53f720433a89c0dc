//! Who is looking at a page and in which language, and the form extractor that checks the
//! CSRF token of every posted form.
//!
//! Pages authenticate with the session cookie only (never a bearer token), through
//! [`resolve`], which leaves the [`Principal`] in the request. A page that needs a signed-in
//! user takes [`SignedIn`], which sends anonymous visitors to the login page and back.
//! Every form carries the session's CSRF token in a hidden `_csrf` field; [`PageForm`]
//! refuses a post whose token is missing or wrong before the handler runs.

use std::collections::BTreeMap;

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, State},
    http::{HeaderMap, StatusCode, header, request::Parts},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use axum_extra::extract::CookieJar;
use minijinja::{Value, context, value::Serde};
use serde::{Serialize, de::DeserializeOwned};

use super::error::PageError;
use crate::present::catalog as i18n;
use crate::{
    auth::{AuthMethod, Principal, secret, session},
    domain::{
        FieldError,
        enums::{Language, Role},
    },
    error::AppError,
    state::AppState,
};

/// Cookie remembering the language an anonymous visitor chose.
pub const LANG_COOKIE: &str = "veedor_lang";

/// Resolves the session cookie, if any, for every page request.
pub async fn resolve(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(request.headers());
    if let Some(cookie) = jar.get(session::COOKIE) {
        match session::authenticate(&state.db, state.clock.now(), state.config.session_idle(), cookie.value()).await {
            Ok(Some(principal)) => {
                request.extensions_mut().insert(principal);
            }
            Ok(None) => {}
            Err(err) => return PageError::from(err).into_response(),
        }
    }
    next.run(request).await
}

/// Refuses a page whose query string holds a control character, naming the parameter on the
/// error page (422), as the API does.
pub async fn refuse_control_characters(request: Request, next: Next) -> Response {
    let refused = crate::request::control_characters(request.uri().query().unwrap_or(""));
    if !refused.is_empty() {
        return PageError::from(AppError::Invalid(refused)).into_response();
    }
    next.run(request).await
}

/// The language of a request: the signed-in user's setting, else the language the visitor
/// chose on the login page, else the browser's `Accept-Language`.
pub fn language_of(principal: Option<&Principal>, headers: &HeaderMap) -> Language {
    if let Some(p) = principal {
        return p.user.language;
    }
    let jar = CookieJar::from_headers(headers);
    if let Some(l) = jar.get(LANG_COOKIE).and_then(|c| c.value().parse().ok()) {
        return l;
    }
    i18n::negotiate(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}

/// One entry of the navigation bar.
#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    pub href: &'static str,
    /// Catalogue key of its label.
    pub label: &'static str,
    pub current: bool,
}

/// The signed-in user as pages show them.
#[derive(Debug, Clone, Serialize)]
pub struct FrameUser {
    pub id: uuid::Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
}

/// What the layout (`base.html`) needs on every page.
#[derive(Debug, Clone, Serialize)]
pub struct Frame {
    pub lang: Language,
    pub tz: String,
    pub user: Option<FrameUser>,
    pub csrf: Option<String>,
    /// Path and query of this page (for `next=` links and the language switch).
    pub path: String,
    pub nav: Vec<NavItem>,
    /// Catalogue key (`notice.<x>`) of a one-line confirmation after a redirect.
    pub notice: Option<String>,
    pub brand: String,
    pub brand_colour: String,
}

/// The pages each role reaches from the navigation bar.
fn nav(role: Role, path: &str) -> Vec<NavItem> {
    let mut items: Vec<(&'static str, &'static str)> = vec![("/", "nav.home")];
    if role != Role::Vendor {
        items.push(("/approvals", "nav.approvals"));
    }
    items.extend([("/content", "nav.content"), ("/incidents", "nav.incidents")]);
    if role == Role::Vendor {
        items.push(("/approvals", "nav.my_submissions"));
    } else {
        items.push(("/alerts", "nav.alerts"));
        items.push(("/settings/digests", "nav.digests"));
    }
    if matches!(role, Role::Admin | Role::Lead) {
        items.push(("/audit", "nav.audit"));
    }
    if role == Role::Admin {
        items.push(("/admin/users", "nav.users"));
        items.push(("/admin/tokens", "nav.tokens"));
    }
    let section = |href: &str| href != "/" && (path == href || path.starts_with(&format!("{href}/")));
    items
        .into_iter()
        .map(|(href, label)| NavItem { href, label, current: if href == "/" { path == "/" } else { section(href) } })
        .collect()
}

/// Anyone looking at a page, signed in or not.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub principal: Option<Principal>,
    pub frame: Frame,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let principal = parts.extensions.get::<Principal>().cloned();
        let lang = language_of(principal.as_ref(), &parts.headers);
        let path = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
        let notice = parts.uri.query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "notice")
                .map(|(_, v)| v.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>())
                .filter(|v| !v.is_empty())
                .map(|v| format!("notice.{v}"))
        });
        let (user, csrf, tz) = match &principal {
            Some(p) => {
                let csrf = match &p.via {
                    AuthMethod::Session { csrf_token, .. } => Some(csrf_token.clone()),
                    AuthMethod::Token { .. } => None,
                };
                let u = &p.user;
                let user = FrameUser { id: u.id, name: u.name.clone(), email: u.email.clone(), role: u.role };
                (Some(user), csrf, u.timezone.clone())
            }
            None => (None, None, "UTC".to_string()),
        };
        let nav = user.as_ref().map(|u| nav(u.role, parts.uri.path())).unwrap_or_default();
        let frame = Frame {
            lang,
            tz,
            user,
            csrf,
            path,
            nav,
            notice,
            brand: state.config.brand_name.clone(),
            brand_colour: state.config.brand_colour.clone(),
        };
        Ok(Self { principal, frame })
    }
}

impl Visitor {
    /// Renders a page: the layout's frame plus the page's own context.
    /// `page` is anything serializable: `minijinja::context!{..}`, a struct or `json!({..})`.
    pub fn render<T: Serialize>(&self, state: &AppState, template: &str, page: T) -> Result<Html<String>, PageError> {
        let ctx = context! { ..Value::from(Serde(&self.frame)), ..Value::from(Serde(page)) };
        Ok(Html(state.pages.render(template, ctx)?))
    }

    /// Renders a page with a status other than 200 (say 422 for a form with errors).
    pub fn render_status<T: Serialize>(
        &self,
        state: &AppState,
        status: StatusCode,
        template: &str,
        page: T,
    ) -> Result<Response, PageError> {
        Ok((status, self.render(state, template, page)?).into_response())
    }
}

/// A signed-in visitor; anonymous ones are sent to the login page and brought back after.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub principal: Principal,
    pub visitor: Visitor,
}

impl std::ops::Deref for SignedIn {
    type Target = Visitor;
    fn deref(&self) -> &Visitor {
        &self.visitor
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let visitor = Visitor::from_request_parts(parts, state).await?;
        match visitor.principal.clone() {
            Some(principal) => Ok(Self { principal, visitor }),
            None => Err(PageError::SignIn { next: visitor.frame.path.clone() }),
        }
    }
}

/// A posted form (`application/x-www-form-urlencoded`) from a signed-in user whose `_csrf`
/// field matched their session. Fields keep their order; a field may repeat.
#[derive(Debug, Clone)]
pub struct PageForm {
    pub user: SignedIn,
    pub fields: Vec<(String, String)>,
}

impl FromRequest<AppState> for PageForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let user = SignedIn::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| PageError::from(AppError::PayloadTooLarge))?;
        let mut fields: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        let presented = fields.iter().position(|(k, _)| k == "_csrf").map(|i| fields.remove(i).1);
        check_csrf(&user.principal, presented.as_deref())?;
        Ok(Self { user, fields })
    }
}

/// Refuses a write whose CSRF token is not the session's (also used by multipart forms).
pub fn check_csrf(principal: &Principal, presented: Option<&str>) -> Result<(), PageError> {
    match &principal.via {
        AuthMethod::Session { csrf_token, .. }
            if presented.is_some_and(|p| secret::constant_time_eq(p, csrf_token)) =>
        {
            Ok(())
        }
        _ => Err(PageError::Csrf),
    }
}

impl PageForm {
    /// The fields by name (the last one wins), to fill a form again after an error.
    pub fn values(&self) -> BTreeMap<String, String> {
        self.fields.iter().cloned().collect()
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// The fields as `T`; a field that does not fit is a validation error naming it.
    /// Blank fields count as absent, so optional inputs left empty are `None`. A form struct
    /// that denies unknown fields refuses them as [`PageForm::only`] does.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, AppError> {
        let present: Vec<(&str, &str)> =
            self.fields.iter().filter(|(_, v)| !v.trim().is_empty()).map(|(k, v)| (k.as_str(), v.trim())).collect();
        let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(present).finish();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        serde_path_to_error::deserialize(de).map_err(|err| {
            let path = err.path().to_string();
            let message = err.into_inner().to_string();
            let named =
                |prefix: &str| message.strip_prefix(prefix).and_then(|r| r.split('`').next()).map(str::to_string);
            let (field, code) = match (named("missing field `"), named("unknown field `")) {
                (Some(field), _) => (field, "required"),
                (_, Some(field)) => (field, UNKNOWN_FIELD),
                _ => (path, "invalid_value"),
            };
            AppError::Invalid(vec![FieldError::new(field, code, message)])
        })
    }

    /// Refuses every field the form does not have, as the API refuses an unknown field of a
    /// JSON body: a post carrying `status=approved` learns that nothing reads it instead of
    /// being obeyed in part. `names` are the form's fields; one ending in `*` stands for every
    /// field starting with what precedes it (`values[*` for a table of rows).
    pub fn only(&self, names: &[&str]) -> Result<(), AppError> {
        let known = |key: &str| {
            names.iter().any(|name| match name.strip_suffix('*') {
                Some(prefix) => key.starts_with(prefix),
                None => key == *name,
            })
        };
        let mut unknown: Vec<FieldError> = Vec::new();
        for (key, _) in &self.fields {
            if !known(key) && !unknown.iter().any(|e| e.field == *key) {
                unknown.push(FieldError::new(key, UNKNOWN_FIELD, "this form has no such field"));
            }
        }
        if unknown.is_empty() { Ok(()) } else { Err(AppError::Invalid(unknown)) }
    }
}

/// The code of a refused field that the form does not have.
const UNKNOWN_FIELD: &str = "unknown_field";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_reaches_its_pages() {
        let hrefs = |role| nav(role, "/").into_iter().map(|n| n.href).collect::<Vec<_>>();
        assert!(hrefs(Role::Admin).contains(&"/admin/users"));
        assert!(!hrefs(Role::Lead).contains(&"/admin/users"));
        assert!(hrefs(Role::Lead).contains(&"/audit"));
        assert!(!hrefs(Role::Executive).contains(&"/audit"));
        assert!(!hrefs(Role::Vendor).contains(&"/alerts"));
        assert!(!hrefs(Role::Vendor).contains(&"/settings/digests"));
    }

    #[test]
    fn the_current_section_is_marked() {
        let current =
            |path| nav(Role::Lead, path).into_iter().filter(|n| n.current).map(|n| n.href).collect::<Vec<_>>();
        assert_eq!(current("/"), ["/"]);
        assert_eq!(current("/approvals/123"), ["/approvals"]);
        assert_eq!(current("/engagements/1"), Vec::<&str>::new());
    }
}
