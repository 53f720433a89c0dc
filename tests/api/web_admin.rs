//! The settings and administration pages: digest subscriptions through their form (stored,
//! refused with the input kept and nothing changed), the digest preview in the reader's
//! language, users created by an admin who then sign in, tokens issued on the page that work
//! until revoked, the audit log's filters and its cursor, CSRF, an authorization matrix
//! compared with the API's answers, every page of this area reached by each demo role in both
//! languages, and the main flows in a real browser.

use std::collections::{BTreeSet, VecDeque};

use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;
use veedor::domain::enums::{Language, Role};

use crate::{
    digests::{World, world},
    helpers::{Caller, PASSWORD, TestApp},
    web_pages::{DEMO, demo_app, set_language},
    webkit::{Browser, WebSession, local_links},
};

/// The world of the digest tests: an active engagement reported (red) for January 2026, at
/// 2026-03-02 12:00 UTC; Javier (lead, Spanish), Elena (executive, English, who has the
/// default weekly digest), Lucía (agency) and an admin.
async fn setup() -> World {
    world(TestApp::spawn().await, "2026-03-02T12:00:00Z", &["2026-01-01"]).await
}

async fn session(w: &World, who: &Caller) -> WebSession {
    let email = veedor::app::users::get(&w.app.state.db, who.id).await.unwrap().email;
    WebSession::login(&w.app, &email).await
}

/// The `value` of the input with this `id`.
fn input_value(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find("value=\"")? + 7;
    let end = rest[start..].find('"')? + start;
    Some(rest[start..end].to_string())
}

/// A page as its reader sees the text (minijinja escapes `/` and quotes).
fn unescaped(page: &str) -> String {
    page.replace("&#x2f;", "/").replace("&quot;", "\"").replace("&#x27;", "'").replace("&amp;", "&")
}

/// The caller's subscriptions, through the API.
async fn subscriptions(app: &TestApp, who: &Caller) -> Vec<Value> {
    let (status, body) = app.get(who, "/api/v1/digests").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

/// A secret engagement only the admin sees (a lead outside its team does not).
async fn secret_engagement(w: &World) -> Uuid {
    let vendor = w.app.vendor(&w.admin, "Oleaje").await;
    w.app.engagement(&w.admin, vendor, "secret", Some(w.admin.id)).await
}

#[tokio::test]
async fn a_subscription_is_made_changed_and_deleted_through_the_form() {
    let w = setup().await;
    let lead = session(&w, &w.lead).await;
    let (status, page) = lead.get("/settings/digests/new").await;
    assert_eq!(status, StatusCode::OK);
    for label in ["f-cadence", "f-weekday", "f-day", "f-local_time", "f-timezone", "f-language", "f-skip_unchanged"] {
        assert!(page.contains(&format!("<label for=\"{label}\"")), "{label} is labelled");
    }
    assert!(page.contains("Comunidad Brisa"), "the engagements the lead sees are offered");
    let engagement = w.engagement.to_string();
    let form = [
        ("cadence", "weekly"),
        ("weekday", "fri"),
        ("day", "1"),
        ("local_time", "07:30"),
        ("timezone", "Europe/Madrid"),
        ("language", "en"),
        ("engagement_ids", engagement.as_str()),
        ("skip_unchanged", "on"),
        ("active", "on"),
    ];
    let (status, location, _) = lead.post_form("/settings/digests/new", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/settings/digests?notice=dig_created"));
    let mine = subscriptions(&w.app, &w.lead).await;
    assert_eq!(mine.len(), 1);
    let s = &mine[0];
    assert_eq!(s["cadence"], serde_json::json!({ "every": "weekly", "weekday": "Fri" }));
    assert_eq!((s["local_time"].as_str(), s["language"].as_str()), (Some("07:30"), Some("en")));
    assert_eq!(s["engagement_ids"], serde_json::json!([engagement]));
    assert_eq!((s["skip_unchanged"].as_bool(), s["active"].as_bool()), (Some(true), Some(true)));

    let (status, page) = lead.get("/settings/digests?notice=dig_created").await;
    assert_eq!(status, StatusCode::OK);
    let page = unescaped(&page);
    assert!(page.contains("Suscripción creada"), "the notice, in Spanish");
    assert!(page.contains("Cada semana, el viernes") && page.contains("a las 07:30 (Europe/Madrid)"));
    assert!(page.contains("Comunidad Brisa") && page.contains("Inglés"));

    // Changing it: the form starts from what is stored.
    let id = s["id"].as_str().unwrap();
    let (status, page) = lead.get(&format!("/settings/digests/{id}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("value=\"07:30\"") && page.contains("<option value=\"fri\" selected>"));
    assert!(page.contains(&format!("value=\"{engagement}\" checked")));
    let monthly = [
        ("cadence", "monthly"),
        ("weekday", "mon"),
        ("day", "31"),
        ("local_time", "18:00"),
        ("timezone", "America/Bogota"),
        ("language", "es"),
    ];
    let (status, location, _) = lead.post_form(&format!("/settings/digests/{id}/edit"), &monthly).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/settings/digests?notice=dig_updated")));
    let s = &subscriptions(&w.app, &w.lead).await[0];
    assert_eq!(s["cadence"], serde_json::json!({ "every": "monthly", "day": 31 }));
    assert_eq!(s["engagement_ids"], Value::Null, "nothing ticked: every engagement");
    assert_eq!((s["active"].as_bool(), s["skip_unchanged"].as_bool()), (Some(false), Some(false)));

    let (status, location, _) = lead.post_form(&format!("/settings/digests/{id}/delete"), &[]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/settings/digests?notice=dig_deleted")));
    assert!(subscriptions(&w.app, &w.lead).await.is_empty());
}

#[tokio::test]
async fn bad_subscriptions_are_refused_with_the_input_kept_and_nothing_stored() {
    let w = setup().await;
    let secret = secret_engagement(&w).await.to_string();
    let lead = session(&w, &w.lead).await;
    let elena = session(&w, &w.exec).await;
    // Read first: reading through the API records the tokens' last use.
    assert!(subscriptions(&w.app, &w.lead).await.is_empty());
    let stored = subscriptions(&w.app, &w.exec).await[0].clone();
    let before = w.app.snapshot().await;
    let base = [("weekday", "mon"), ("language", "es"), ("active", "on")];
    // The fields, the id of the error shown, what shows that the input was kept.
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, String);
    let cases: Vec<Case> = vec![
        (
            vec![("cadence", "monthly"), ("day", "32"), ("local_time", "07:30"), ("timezone", "Europe/Madrid")],
            "e-day",
            "value=\"32\"".into(),
        ),
        (
            vec![("cadence", "weekly"), ("day", "1"), ("local_time", "09:15"), ("timezone", "Mars/Olympus")],
            "e-timezone",
            "<option value=\"Mars/Olympus\" selected>".into(),
        ),
        (
            vec![
                ("cadence", "daily"),
                ("day", "1"),
                ("local_time", "06:00"),
                ("timezone", "Europe/Madrid"),
                ("engagement_ids", &secret),
            ],
            "e-engagement_ids",
            format!("value=\"{secret}\" checked"),
        ),
    ];
    for (fields, error, kept) in cases {
        let mut form: Vec<(&str, &str)> = base.to_vec();
        form.extend_from_slice(&fields);
        let (status, _, page) = lead.post_form("/settings/digests/new", &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let page = unescaped(&page);
        assert!(page.contains(&format!("id=\"{error}\"")), "the error is next to its field: {error}");
        assert!(page.contains(&kept), "the input is kept: {kept}");
        assert!(page.contains("class=\"error-summary\""));
        let time = fields.iter().find(|(k, _)| *k == "local_time").unwrap().1;
        assert!(page.contains(&format!("value=\"{time}\"")), "the other fields are kept too");
    }
    assert!(subscriptions(&w.app, &w.lead).await.is_empty(), "nothing stored");
    assert_eq!(w.app.snapshot().await, before, "nothing changed");

    // A changed subscription refused keeps the stored one as it was.
    let id = stored["id"].as_str().unwrap();
    let form = [
        ("cadence", "weekly"),
        ("weekday", "someday"),
        ("local_time", "25:00"),
        ("timezone", "UTC"),
        ("language", "en"),
    ];
    let (status, _, page) = elena.post_form(&format!("/settings/digests/{id}/edit"), &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"e-weekday\"") && page.contains("value=\"25:00\""));
    assert_eq!(subscriptions(&w.app, &w.exec).await[0], stored);

    // Without the form's CSRF token nothing is even read.
    let (status, _, _) =
        lead.post_raw("/settings/digests/new", &[("cadence", "daily"), ("timezone", "UTC"), ("language", "es")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = elena.post_raw(&format!("/settings/digests/{id}/delete"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(subscriptions(&w.app, &w.exec).await.len(), 1);
    assert_eq!(w.app.snapshot().await, before, "nothing changed");
}

#[tokio::test]
async fn the_preview_shows_the_digest_in_the_readers_language() {
    let w = setup().await;
    // Elena reads English: her default digest, over January.
    let elena = session(&w, &w.exec).await;
    let (status, page) = elena.get("/settings/digests/preview?from=2026-01-01&to=2026-01-31").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<html lang=\"en\">") && page.contains("Digest preview"));
    assert!(page.contains("<iframe class=\"preview\" sandbox srcdoc=\""), "the digest's HTML inside the page");
    let page = unescaped(&page);
    assert!(page.contains("data:image/png;base64,"), "charts inlined");
    assert!(!page.contains("cid:"));
    assert!(page.contains("Comunidad Brisa") && page.contains("Tasa de interacción"));
    assert!(page.contains("Off track"), "the red KPI's status word, in English, as on every page");
    assert!(page.contains("Plain-text version") && page.contains("Jan 1, 2026 to Jan 31, 2026"));

    // The same through the API.
    let response = w
        .app
        .client
        .get(w.app.url("/api/v1/digests/preview?from=2026-01-01&to=2026-01-31&format=text"))
        .bearer_auth(&w.exec.token)
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    let first_line = text.lines().find(|l| l.contains("Digest for")).unwrap();
    assert!(page.contains(first_line), "the page's text version is the API's: {first_line}");

    // Javier reads Spanish and has no subscription: the default digest, in Spanish.
    let javier = session(&w, &w.lead).await;
    let (status, page) = javier.get("/settings/digests/preview?from=2026-01-01&to=2026-01-31").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Vista previa del resumen") && page.contains("El resumen semanal por defecto"));
    assert!(page.contains("Fuera de objetivo") && page.contains("Resumen del"), "the digest in Spanish");

    // Dates the API refuses are refused here too, with the form kept.
    let (status, page) = javier.get("/settings/digests/preview?from=2026-02-01").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"e-to\"") && page.contains("value=\"2026-02-01\"") && !page.contains("<iframe"));

    // Another user's subscription is not there to preview.
    let elenas = subscriptions(&w.app, &w.exec).await[0]["id"].as_str().unwrap().to_string();
    let (status, _) = javier.get(&format!("/settings/digests/preview?subscription_id={elenas}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_admin_creates_users_who_then_sign_in() {
    let w = setup().await;
    let admin = session(&w, &w.admin).await;
    let (status, page) = admin.get("/admin/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("javier@brisa.example") && page.contains("lucia@marea.example"));
    let (_, agency) = admin.get("/admin/users?role=vendor").await;
    assert!(agency.contains("lucia@marea.example") && !agency.contains("javier@brisa.example"));

    // No password given: one is generated and shown once.
    let (status, page) = admin.get("/admin/users/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<label for=\"f-email\"") && page.contains("<label for=\"f-password\""));
    let form = [
        ("email", "nuria@brisa.example"),
        ("name", "Nuria"),
        ("role", "executive"),
        ("vendor_id", ""),
        ("language", "en"),
        ("timezone", "Europe/Madrid"),
        ("password", ""),
    ];
    let (status, _, page) = admin.post_form("/admin/users/new", &form).await;
    assert_eq!(status, StatusCode::OK);
    let password = input_value(&page, "generated-password").expect("the generated password is shown");
    assert!(password.len() >= 12, "{password}");
    let nuria = WebSession::login_with(&w.app, "nuria@brisa.example", &password).await;
    let (status, home) = nuria.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("<html lang=\"en\">"));

    // A password given: no secret to show, back to the list.
    let form = [
        ("email", "pablo@brisa.example"),
        ("name", "Pablo"),
        ("role", "lead"),
        ("language", "es"),
        ("timezone", "Europe/Madrid"),
        ("password", PASSWORD),
    ];
    let (status, location, _) = admin.post_form("/admin/users/new", &form).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/users?notice=adm_user_created")));
    WebSession::login(&w.app, "pablo@brisa.example").await;

    // Refused: an agency user without an agency, an e-mail taken. Input kept, nothing stored.
    let before = w.app.snapshot().await;
    let form = [
        ("email", "x@marea.example"),
        ("name", "Xavi"),
        ("role", "vendor"),
        ("language", "es"),
        ("timezone", "Europe/Madrid"),
    ];
    let (status, _, page) = admin.post_form("/admin/users/new", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"e-vendor_id\"") && page.contains("value=\"x@marea.example\""));
    let form =
        [("email", "pablo@brisa.example"), ("name", "Otro"), ("role", "lead"), ("language", "es"), ("timezone", "UTC")];
    let (status, _, page) = admin.post_form("/admin/users/new", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"e-email\"") && page.contains("value=\"Otro\""));
    assert_eq!(w.app.snapshot().await, before, "nothing changed");

    // Changing an account: role, language, zone, and disabling it ends its sessions.
    let pablo = veedor::app::users::find_by_email(&w.app.state.db, "pablo@brisa.example").await.unwrap().unwrap();
    let (status, page) = admin.get(&format!("/admin/users/{}/edit", pablo.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("value=\"Pablo\"") && page.contains("<option value=\"lead\" selected>"));
    let form = [
        ("name", "Pablo R."),
        ("role", "executive"),
        ("vendor_id", ""),
        ("language", "en"),
        ("timezone", "America/Bogota"),
    ];
    let (status, location, _) = admin.post_form(&format!("/admin/users/{}/edit", pablo.id), &form).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/users?notice=adm_user_updated")));
    let pablo = veedor::app::users::get(&w.app.state.db, pablo.id).await.unwrap();
    assert_eq!((pablo.name.as_str(), pablo.role, pablo.language), ("Pablo R.", Role::Executive, Language::En));
    assert_eq!((pablo.timezone.as_str(), pablo.active), ("America/Bogota", false));

    // An admin cannot lock themselves out: refused next to the field, nothing changed.
    let before = w.app.snapshot().await;
    let form = [("name", "Admin"), ("role", "admin"), ("language", "es"), ("timezone", "Europe/Madrid")];
    let (status, _, page) = admin.post_form(&format!("/admin/users/{}/edit", w.admin.id), &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"e-active\""));
    assert_eq!(w.app.snapshot().await, before);
}

/// `GET /api/v1/me` with a bearer token.
async fn me_with(app: &TestApp, token: &str) -> StatusCode {
    app.client.get(app.url("/api/v1/me")).bearer_auth(token).send().await.unwrap().status()
}

#[tokio::test]
async fn a_token_issued_on_the_page_works_until_it_is_revoked() {
    let w = setup().await;
    let admin = session(&w, &w.admin).await;
    let (status, page) = admin.get("/admin/tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("value=\"90\""), "the default lifetime is offered");
    let (status, _, page) =
        admin.post_form("/admin/tokens", &[("name", "Informe semanal"), ("expires_in_days", "30")]).await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = input_value(&page, "token-secret").expect("the secret is shown once");
    assert_eq!(me_with(&w.app, &secret).await, StatusCode::OK);
    let (_, again) = admin.get("/admin/tokens").await;
    assert!(again.contains("Informe semanal") && !again.contains(&secret), "listed, secret never again");

    let (_, tokens) = w.app.get(&w.admin, "/api/v1/tokens?limit=200").await;
    let token = tokens["items"].as_array().unwrap().iter().find(|t| t["name"] == "Informe semanal").unwrap().clone();
    let id = token["id"].as_str().unwrap();
    assert!(again.contains(&format!("action=\"/admin/tokens/{id}/revoke\"")));
    assert!(again.contains("data-confirm="), "revoking asks first");

    // Someone else's token is not theirs to revoke.
    let lead = session(&w, &w.lead).await;
    let before = w.app.snapshot().await;
    let (status, _, _) = lead.post_form(&format!("/admin/tokens/{id}/revoke"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = admin.post_raw(&format!("/admin/tokens/{id}/revoke"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(w.app.snapshot().await, before);
    assert_eq!(me_with(&w.app, &secret).await, StatusCode::OK);

    let (status, location, _) = admin.post_form(&format!("/admin/tokens/{id}/revoke"), &[]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/tokens?notice=adm_token_revoked")));
    assert_eq!(me_with(&w.app, &secret).await, StatusCode::UNAUTHORIZED);
    let (_, page) = admin.get("/admin/tokens?notice=adm_token_revoked").await;
    assert!(page.contains("Token revocado") && page.contains("Revocado"));

    // Refused: no name, a lifetime beyond the maximum. Input kept, nothing issued.
    let before = w.app.snapshot().await;
    let (status, _, page) = admin.post_form("/admin/tokens", &[("name", "Largo"), ("expires_in_days", "9999")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("id=\"e-expires_in_days\"")
            && page.contains("value=\"Largo\"")
            && page.contains("value=\"9999\"")
    );
    let (status, _, page) = admin.post_form("/admin/tokens", &[("name", " "), ("expires_in_days", "5")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"e-name\""));
    assert_eq!(w.app.snapshot().await, before);
}

/// The entries of an audit page (their `<li>`s).
fn entries(page: &str) -> Vec<&str> {
    page.split("<li class=\"audit-entry\">").skip(1).collect()
}

/// The `href` of the "older" link, decoded.
fn older_link(page: &str) -> Option<String> {
    let at = page.find("rel=\"next\" href=\"")? + 17;
    let end = page[at..].find('"')? + at;
    Some(page[at..end].replace("&amp;", "&").replace("&#x2f;", "/"))
}

#[tokio::test]
async fn the_audit_log_narrows_by_filter_and_pages_back_with_its_cursor() {
    let w = setup().await;
    for _ in 0..30 {
        w.app.token_for(w.lead.id).await;
    }
    let secret = secret_engagement(&w).await;
    let admin = session(&w, &w.admin).await;

    let (status, page) = admin.get("/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(entries(&page).len(), 25, "a page of entries");

    // One action: only its entries. The executive's time zone change reads as a diff.
    let (_, page) = admin.get("/audit?action=user.update").await;
    let found = entries(&page);
    assert!(!found.is_empty() && found.iter().all(|e| e.contains("Usuario cambiado")));
    assert!(page.contains("<del>Europe&#x2f;Madrid</del>") && page.contains("<ins>America&#x2f;Bogota</ins>"));
    assert!(!found[0].contains("<code>email</code>"), "unchanged fields are left out");

    // An actor, an engagement, an object.
    let (_, page) = admin.get(&format!("/audit?actor_id={}", w.agency.id)).await;
    assert!(entries(&page).iter().all(|e| e.contains("lucia@marea.example")));
    assert!(entries(&page).iter().any(|e| e.contains("Informe creado")));
    let (_, page) = admin.get(&format!("/audit?engagement_id={}", w.engagement)).await;
    let found = entries(&page);
    assert!(!found.is_empty() && found.iter().all(|e| e.contains(&format!("/engagements/{}", w.engagement))));
    let (_, page) = admin.get(&format!("/audit?object_type=user&object_id={}", w.exec.id)).await;
    assert!(entries(&page).iter().all(|e| e.contains(&w.exec.id.to_string())));

    // Dates are whole days in the reader's zone.
    let (_, page) = admin.get("/audit?from=2026-03-03").await;
    assert!(entries(&page).is_empty() && page.contains("Ninguna entrada coincide"));
    let (_, page) = admin.get("/audit?from=2026-03-02&to=2026-03-02&action=kpi.create").await;
    assert_eq!(entries(&page).len(), 1);
    let (status, page) = admin.get("/audit?from=2026-13-01").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"e-from\"") && page.contains("value=\"2026-13-01\""));

    // The cursor walks back through the filtered entries, the filters kept.
    let (_, first) = admin.get("/audit?object_type=api_token").await;
    let older = older_link(&first).expect("an older link");
    assert!(older.starts_with("/audit?object_type=api_token&cursor="), "{older}");
    let (status, second) = admin.get(&older).await;
    assert_eq!(status, StatusCode::OK);
    let (a, b) = (entries(&first), entries(&second));
    assert_eq!(a.len(), 25);
    assert!(!b.is_empty() && b.iter().all(|e| e.contains("Token de API")));
    assert!(a.iter().all(|e| !b.contains(e)), "older entries, none repeated");
    assert!(second.contains("href=\"/audit?object_type=api_token\""), "a way back to the newest");

    // Leads do not see entries about secret engagements they are not part of; admins do.
    let (_, page) = admin.get(&format!("/audit?engagement_id={secret}")).await;
    assert!(entries(&page).iter().any(|e| e.contains("Contrato creado")));
    let lead = session(&w, &w.lead).await;
    let (status, page) = lead.get(&format!("/audit?engagement_id={secret}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(entries(&page).is_empty());
    let (_, api) = w.app.get(&w.lead, &format!("/api/v1/audit?engagement_id={secret}")).await;
    assert_eq!(api["items"].as_array().unwrap().len(), 0, "as the API");
}

#[tokio::test]
async fn who_may_open_and_post_what() {
    let w = setup().await;
    let callers = [("admin", &w.admin), ("lead", &w.lead), ("executive", &w.exec), ("vendor", &w.agency)];
    let mut sessions = Vec::new();
    for (role, caller) in callers {
        sessions.push((role, caller, session(&w, caller).await));
    }
    let elenas = subscriptions(&w.app, &w.exec).await[0]["id"].as_str().unwrap().to_string();
    let javier = w.lead.id;
    // Page, API twin (if any), expected status for admin, lead, executive, vendor.
    let gets: Vec<(String, Option<String>, [u16; 4])> = vec![
        ("/settings/digests".into(), Some("/api/v1/digests".into()), [200, 200, 200, 403]),
        ("/settings/digests/new".into(), None, [200, 200, 200, 403]),
        ("/settings/digests/preview".into(), None, [200, 200, 200, 403]),
        // Another user's subscription is a 404, as a missing one, for all but admins.
        (format!("/settings/digests/{elenas}/edit"), Some(format!("/api/v1/digests/{elenas}")), [200, 404, 200, 404]),
        ("/admin/users".into(), Some("/api/v1/users".into()), [200, 200, 403, 403]),
        ("/admin/users/new".into(), None, [200, 403, 403, 403]),
        (format!("/admin/users/{javier}/edit"), None, [200, 403, 404, 404]),
        ("/admin/tokens".into(), Some("/api/v1/tokens".into()), [200, 200, 200, 200]),
        ("/audit".into(), Some("/api/v1/audit".into()), [200, 200, 403, 403]),
    ];
    for (path, api, expected) in &gets {
        for (i, (role, caller, web)) in sessions.iter().enumerate() {
            let (status, _) = web.get(path).await;
            assert_eq!(status.as_u16(), expected[i], "{role} GET {path}");
            if let Some(api) = api {
                let (api_status, _) = w.app.get(caller, api).await;
                assert_eq!(api_status, status, "{role}: {path} answers as {api}");
            }
        }
    }

    // Posts: refused ones change nothing.
    let daily = [
        ("cadence", "daily"),
        ("local_time", "08:00"),
        ("timezone", "Europe/Madrid"),
        ("language", "es"),
        ("active", "on"),
    ];
    for (i, (role, _, web)) in sessions.iter().enumerate() {
        let before = w.app.snapshot().await;
        let (status, _, _) = web.post_form("/settings/digests/new", &daily).await;
        assert_eq!(status.as_u16(), [303, 303, 303, 403][i], "{role} subscribes");
        if status == StatusCode::FORBIDDEN {
            assert_eq!(w.app.snapshot().await, before);
        }
        let email = format!("new-{role}@brisa.example");
        let user = [
            ("email", email.as_str()),
            ("name", "Nuevo"),
            ("role", "lead"),
            ("language", "es"),
            ("timezone", "UTC"),
            ("password", PASSWORD),
        ];
        let before = w.app.snapshot().await;
        let (status, _, _) = web.post_form("/admin/users/new", &user).await;
        assert_eq!(status.as_u16(), [303, 403, 403, 403][i], "{role} creates a user");
        if i > 0 {
            assert_eq!(w.app.snapshot().await, before);
        }
    }
    // Only admins subscribe someone else.
    let for_javier = [
        ("user_id", javier.to_string()),
        ("cadence", "daily".into()),
        ("timezone", "UTC".into()),
        ("language", "es".into()),
    ];
    let for_javier: Vec<(&str, &str)> = for_javier.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let before = w.app.snapshot().await;
    assert_eq!(sessions[2].2.post_form("/settings/digests/new", &for_javier).await.0, StatusCode::FORBIDDEN);
    assert_eq!(w.app.snapshot().await, before);
    let (_, form) = sessions[0].2.get("/settings/digests/new").await;
    assert!(form.contains(&format!("<option value=\"{javier}\">")), "admins pick the recipient");
    assert_eq!(sessions[0].2.post_form("/settings/digests/new", &for_javier).await.0, StatusCode::SEE_OTHER);
    assert_eq!(subscriptions(&w.app, &w.lead).await.len(), 2, "the lead's own and the admin's for him");

    // Own versus foreign subscription: Elena's is hers (and the admin's to manage); neither
    // the lead nor the agency can find it.
    let change = [("cadence", "daily"), ("local_time", "09:00"), ("timezone", "UTC"), ("language", "en")];
    let edit = format!("/settings/digests/{elenas}/edit");
    let delete = format!("/settings/digests/{elenas}/delete");
    let before = w.app.snapshot().await;
    for (web, expected) in [(&sessions[1].2, StatusCode::NOT_FOUND), (&sessions[3].2, StatusCode::NOT_FOUND)] {
        assert_eq!(web.post_form(&edit, &change).await.0, expected);
        assert_eq!(web.post_form(&delete, &[]).await.0, expected);
    }
    assert_eq!(w.app.snapshot().await, before);
    assert!(subscriptions(&w.app, &w.exec).await.iter().any(|s| s["id"] == elenas.as_str()), "still there");
    assert_eq!(sessions[2].2.post_form(&edit, &change).await.0, StatusCode::SEE_OTHER, "Elena changes her own");
    let hers = subscriptions(&w.app, &w.exec).await;
    assert_eq!(hers.iter().find(|s| s["id"] == elenas.as_str()).unwrap()["local_time"], "09:00");
    let (status, location, _) = sessions[0].2.post_form(&delete, &[]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/settings/digests?notice=dig_deleted")));
    let hers = subscriptions(&w.app, &w.exec).await;
    assert!(hers.iter().all(|s| s["id"] != elenas.as_str()), "admins manage everyone's");

    // Admins may list everyone's subscriptions; the others see only theirs.
    let (_, everyone) = sessions[0].2.get("/settings/digests?scope=all").await;
    assert!(everyone.contains("javier"), "the lead's subscription, with its recipient");
    let (_, mine) = sessions[1].2.get("/settings/digests?scope=all").await;
    assert!(!mine.contains("href=\"/settings/digests?scope=all\""), "no link to everyone's");
    assert_eq!(mine.matches("/edit\"").count(), 2, "the lead's two only, not everyone's");
}

/// Follows the links of this area (digests, users, tokens, audit) from the home page.
async fn crawl_area(session: &WebSession, language: &str) -> BTreeSet<String> {
    let mine = |l: &str| l.starts_with("/settings/digests") || l.starts_with("/admin/") || l.starts_with("/audit");
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from(["/".to_string()]);
    while let Some(path) = queue.pop_front() {
        if seen.len() >= 80 || !seen.insert(path.clone()) {
            continue;
        }
        let (status, page) = session.get(&path).await;
        if path != "/" {
            assert_eq!(status, StatusCode::OK, "{path} ({language}):\n{}", &page[..page.len().min(2000)]);
            assert!(page.contains(&format!("<html lang=\"{language}\">")), "{path} is not in {language}");
            // As the site-wide crawler checks: no `{placeholder}` left unfilled.
            let unfilled = page.find('{').and_then(|i| {
                let rest = &page[i + 1..];
                let inner = &rest[..rest.find('}')?];
                (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_lowercase() || c == '_')).then_some(inner)
            });
            assert_eq!(unfilled, None, "{path} has an unfilled placeholder");
        }
        for link in local_links(&page) {
            let key = link.split('#').next().unwrap_or(&link).to_string();
            if mine(&key) && !seen.contains(&key) && !key.contains("page=") && !key.contains("format=") {
                queue.push_back(key);
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_the_area_renders_for_each_demo_role_in_both_languages() {
    let app = demo_app().await;
    for language in [Language::Es, Language::En] {
        for (email, password) in DEMO {
            set_language(&app, email, language).await;
            let session = WebSession::login_with(&app, email, password).await;
            let visited = crawl_area(&session, language.as_ref()).await;
            let vendor = email.ends_with("@marea.example");
            assert_eq!(visited.len() == 1, vendor, "{email} reaches this area unless from the agency: {visited:?}");
        }
    }
    let rendered = app.state.pages.rendered();
    for template in [
        "settings/digests/list.html",
        "settings/digests/form.html",
        "settings/digests/preview.html",
        "admin/users.html",
        "admin/user_form.html",
        "admin/tokens.html",
        "audit/list.html",
    ] {
        for lang in ["es", "en"] {
            assert!(rendered.contains(&format!("{template}:{lang}")), "{template} never rendered in {lang}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_an_executive_subscribes_and_previews_and_an_admin_reads_the_audit_log() {
    let w = setup().await;
    let Some(b) = Browser::start(&w.app).await else { return };
    b.login("elena@brisa.example", PASSWORD).await;
    b.click("a[href='/settings/digests']").await;
    assert!(b.main_text().await.contains("Every week on Monday"), "her default digest");
    b.click("a[href='/settings/digests/new']").await;
    b.find("#f-cadence").await.select_by_value("weekly").await.unwrap();
    b.find("#f-weekday").await.select_by_value("wed").await.unwrap();
    b.click(&format!("input[value='{}']", w.engagement)).await;
    b.click("#f-skip_unchanged").await;
    b.click("form.card button[type=submit]").await;
    b.find("p.notice").await;
    assert_eq!(b.path().await, "/settings/digests?notice=dig_created");
    let text = b.main_text().await;
    assert!(text.contains("Every week on Wednesday") && text.contains("Comunidad Brisa"), "{text}");
    b.screenshot("digests").await;

    let stored = subscriptions(&w.app, &w.exec).await;
    let new = stored.iter().find(|s| s["cadence"]["weekday"] == "Wed").expect("stored");
    b.click(&format!("a[href='/settings/digests/preview?subscription_id={}']", new["id"].as_str().unwrap())).await;
    let frame = b.find("iframe.preview").await;
    frame.enter_frame().await.unwrap();
    let digest = b.find("body").await.text().await.unwrap();
    assert!(
        digest.contains("Comunidad Brisa") || digest.contains("Hello"),
        "the digest renders in the frame: {digest}"
    );
    b.client.enter_parent_frame().await.unwrap();
    assert!(b.main_text().await.contains("Plain-text version"));
    b.screenshot("digest-preview").await;
    b.logout().await;

    b.login("admin@brisa.example", PASSWORD).await;
    b.click("a[href='/admin/users']").await;
    assert!(b.main_text().await.contains("elena@brisa.example"));
    b.screenshot("users").await;
    b.click("a[href='/audit']").await;
    b.find("#f-action").await.select_by_value("digest.subscribe").await.unwrap();
    b.click("form.filters button[type=submit]").await;
    b.wait_for_path("action=digest.subscribe").await;
    b.find("li.audit-entry").await;
    let shown = b.client.find_all(Locator::Css("li.audit-entry")).await.unwrap();
    assert_eq!(shown.len(), 1, "Elena's subscription only");
    let text = shown[0].text().await.unwrap();
    assert!(text.contains("Suscripción a resúmenes creada") && text.contains("elena@brisa.example"), "{text}");
    assert!(text.contains("Miércoles") || text.contains("Wed"), "what she chose: {text}");
    b.screenshot("audit-log").await;
    b.close().await;
}

#[tokio::test]
async fn vendors_are_not_offered_the_area() {
    let w = setup().await;
    let lucia = session(&w, &w.agency).await;
    let (_, home) = lucia.get("/").await;
    let home = unescaped(&home);
    for link in ["/settings/digests", "/audit", "/admin/users", "/admin/tokens"] {
        assert!(!home.contains(&format!("href=\"{link}\"")), "{link} is not offered to the agency");
    }
    let exec = session(&w, &w.exec).await;
    let (_, home) = exec.get("/").await;
    let home = unescaped(&home);
    assert!(home.contains("href=\"/settings/digests\"") && !home.contains("href=\"/audit\""));
}
