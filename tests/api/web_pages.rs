//! The pages as a whole: signing in and out, CSRF on every form, the language (setting,
//! cookie, Accept-Language), security headers, and a crawl of every page each demo role
//! reaches from the home page, in both languages, which must render every page template.

use std::collections::{BTreeSet, VecDeque};

use reqwest::StatusCode;
use veedor::domain::{enums::Language, user::UserPatch};

use crate::{
    helpers::TestApp,
    webkit::{WebSession, hidden_value, local_links},
};

/// The demo accounts (see `veedor::demo`).
pub const DEMO: [(&str, &str); 4] = [
    ("admin@brisa.example", "veedor-demo-admin"),
    ("lead@brisa.example", "veedor-demo-lead"),
    ("direccion@brisa.example", "veedor-demo-exec"),
    ("lucia@marea.example", "veedor-demo-vendor"),
];

/// An app with the demo data loaded.
pub async fn demo_app() -> TestApp {
    let app = TestApp::spawn().await;
    veedor::demo::load(&app.state.db, app.clock_now(), &app.state.rules).await.expect("demo loads");
    app
}

/// Sets a user's language directly in the store.
pub async fn set_language(app: &TestApp, email: &str, language: Language) {
    let user = veedor::app::users::find_by_email(&app.state.db, email).await.unwrap().unwrap();
    let actor = veedor::db::audit::Actor { id: Some(user.id), label: email.into() };
    let patch =
        UserPatch { name: None, role: None, vendor_id: None, language: Some(language), timezone: None, active: None };
    veedor::app::users::update(&app.state.db, app.clock_now(), &actor, user.id, patch, &app.state.tokens)
        .await
        .unwrap();
}

#[tokio::test]
async fn signing_in_and_out_with_the_login_form() {
    let app = demo_app().await;
    let visitor = WebSession::anonymous(&app);
    let (status, _) = visitor.get("/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let response = visitor.client.get(app.url("/?page=2")).send().await.unwrap();
    assert_eq!(response.headers()["location"], "/login?next=%2F%3Fpage%3D2");

    // A wrong password: 401, the e-mail kept, no session.
    let (_, page) = visitor.get("/login").await;
    let token = hidden_value(&page, "_csrf").unwrap();
    let (status, _, page) = visitor
        .post_raw("/login", &[("_csrf", &token), ("email", "lead@brisa.example"), ("password", "nope"), ("next", "/")])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("value=\"lead@brisa.example\""), "the e-mail is kept");
    assert!(page.contains("Correo o contraseña incorrectos"));

    // Without the login form's token: refused before the password is checked.
    let (status, _, _) = visitor
        .post_raw("/login", &[("email", "lead@brisa.example"), ("password", "veedor-demo-lead"), ("next", "/")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Signed in, sent back where they were going, but never to another site.
    let (_, page) = visitor.get("/login?next=/alerts").await;
    let form = &page[page.find("action=\"/login\"").unwrap()..];
    let token = hidden_value(form, "_csrf").unwrap();
    assert_eq!(hidden_value(form, "next").as_deref(), Some("/alerts"));
    let (status, location, _) = visitor
        .post_raw(
            "/login",
            &[
                ("_csrf", &token),
                ("email", "lead@brisa.example"),
                ("password", "veedor-demo-lead"),
                ("next", "//evil.example"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/"));
    let (status, home) = visitor.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("Gestión de comunidad y contenidos"), "the demo engagement is on the home page");

    // Signing out needs the session's CSRF token.
    let (status, _, page) = visitor.post_raw("/logout", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("<html lang=\"es\">") && page.contains("El formulario había caducado"));
    assert_eq!(visitor.get("/").await.0, StatusCode::OK, "still signed in");
    let (status, location, _) = visitor.post_form("/logout", &[]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login?notice=signed_out")));
    assert_eq!(visitor.get("/").await.0, StatusCode::SEE_OTHER, "signed out");
}

#[tokio::test]
async fn pages_carry_security_headers_and_assets_are_served_locally() {
    let app = demo_app().await;
    let lead = WebSession::login_with(&app, DEMO[1].0, DEMO[1].1).await;
    let response = lead.client.get(app.url("/")).send().await.unwrap();
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'self'"), "{csp}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    for asset in ["/static/veedor.css", "/static/veedor.js", "/static/icon.svg"] {
        assert!(page.contains(asset), "{asset} linked");
        let response = lead.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert!(response.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    }
    assert!(!page.contains("http://") && !page.contains("https://"), "nothing is loaded from elsewhere");
}

#[tokio::test]
async fn the_language_follows_the_setting_the_choice_or_the_browser() {
    let app = demo_app().await;
    let visitor = WebSession::anonymous(&app);
    let (_, page) = visitor.get_with("/login", ("accept-language", "en-GB,en;q=0.9,es;q=0.5")).await;
    assert!(page.contains("<html lang=\"en\">") && page.contains("Sign in"));
    let (_, page) = visitor.get_with("/login", ("accept-language", "fr-FR")).await;
    assert!(page.contains("<html lang=\"es\">") && page.contains("Iniciar sesión"));
    // A visitor's choice, remembered in a cookie, wins over the browser.
    let (status, location, _) = visitor.post_raw("/language", &[("lang", "en"), ("next", "/login")]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login")));
    let (_, page) = visitor.get_with("/login", ("accept-language", "es")).await;
    assert!(page.contains("<html lang=\"en\">"));
    let (status, _, _) = visitor.post_raw("/language", &[("lang", "fr"), ("next", "/login")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A signed-in user's setting wins over everything; changing it is audited.
    let lead = WebSession::login_with(&app, DEMO[1].0, DEMO[1].1).await;
    let (_, home) = lead.get_with("/", ("accept-language", "en")).await;
    assert!(home.contains("<html lang=\"es\">") && home.contains("Cartera"));
    let (status, _, _) = lead.post_raw("/language", &[("lang", "en"), ("next", "/")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a signed-in user's change needs the CSRF token");
    let (status, location, _) = lead.post_form("/language", &[("lang", "en"), ("next", "/")]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/")));
    let (_, home) = lead.get("/").await;
    assert!(home.contains("<html lang=\"en\">") && home.contains("Portfolio"));
    let user = veedor::app::users::find_by_email(&app.state.db, DEMO[1].0).await.unwrap().unwrap();
    assert_eq!(user.language, Language::En);
}

#[tokio::test]
async fn numbers_and_dates_follow_the_language() {
    let app = demo_app().await;
    let lead = WebSession::login_with(&app, DEMO[1].0, DEMO[1].1).await;
    let (_, es) = lead.get("/").await;
    let due_es = regex_like_date(&es, '/');
    assert!(due_es, "Spanish dates are dd/mm/yyyy:\n{es}");
    set_language(&app, DEMO[1].0, Language::En).await;
    let (_, en) = lead.get("/").await;
    assert!(en.contains(", 20"), "English dates are `Mon d, yyyy`");
}

/// Whether `html` holds a `dd/mm/yyyy` date (escaped slashes included).
fn regex_like_date(html: &str, _sep: char) -> bool {
    let text = html.replace("&#x2f;", "/");
    text.as_bytes().windows(10).any(|w| {
        w[2] == b'/' && w[5] == b'/' && w.iter().enumerate().all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit())
    })
}

/// Visits every page reachable from the home page by links, as `email`; every page must
/// answer 200 in the expected language, with no placeholder left unfilled. English words
/// found on Spanish pages are added to `english`.
async fn crawl(session: &WebSession, language: &str, limit: usize, english: &mut Vec<String>) -> BTreeSet<String> {
    let english_words = crate::untranslated::english_only();
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from(["/".to_string()]);
    while let Some(path) = queue.pop_front() {
        if seen.len() >= limit || !seen.insert(path.clone()) {
            continue;
        }
        let (status, page) = session.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path} ({language}):\n{}", &page[..page.len().min(3000)]);
        assert!(page.contains(&format!("<html lang=\"{language}\">")), "{path} is not in {language}");
        let unfilled = page.find('{').and_then(|i| {
            let rest = &page[i + 1..];
            let end = rest.find('}')?;
            let inner = &rest[..end];
            (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_lowercase() || c == '_')).then(|| inner.to_string())
        });
        assert_eq!(unfilled, None, "{path} has an unfilled placeholder");
        if language == "es" {
            let text = crate::untranslated::readable(&page);
            english.extend(
                crate::untranslated::english_in(&text, &english_words).into_iter().map(|w| format!("{path}: {w}")),
            );
        }
        for key in crate::untranslated::keys_in(&crate::untranslated::readable(&page)) {
            english.push(format!("{path}: catalogue key shown as text: {key}"));
        }
        for link in local_links(&page) {
            // Sorting and paging variants of a list add nothing after the first.
            let key = link.split('#').next().unwrap_or(&link).to_string();
            if !seen.contains(&key) && !key.contains("page=") && !key.contains("format=") {
                queue.push_back(key);
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_in_both_languages_for_every_role() {
    let app = demo_app().await;
    let mut english = Vec::new();
    for language in [Language::Es, Language::En] {
        for (email, password) in DEMO {
            set_language(&app, email, language).await;
            let session = WebSession::login_with(&app, email, password).await;
            let visited = crawl(&session, language.as_ref(), 300, &mut english).await;
            assert!(visited.len() > 1, "{email} reached no page from home");
            // A page that does not exist, in the visitor's language.
            let (status, page) = session.get(&format!("/engagements/{}", uuid::Uuid::nil())).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            assert!(page.contains(&format!("<html lang=\"{language}\">")));
        }
        let visitor = WebSession::anonymous(&app);
        let lang = language.to_string();
        visitor.post_raw("/language", &[("lang", lang.as_str()), ("next", "/login")]).await;
        let (status, _) = visitor.get("/login").await;
        assert_eq!(status, StatusCode::OK);
    }
    let rendered = app.state.pages.rendered();
    let missing: Vec<String> = app
        .state
        .pages
        .names()
        .iter()
        .flat_map(|name| ["es", "en"].map(|l| format!("{name}:{l}")))
        .filter(|key| !rendered.contains(key))
        .collect();
    assert!(missing.is_empty(), "templates never rendered: {missing:?}");
    english.sort();
    english.dedup();
    assert!(english.is_empty(), "English on Spanish pages:\n{}", english.join("\n"));
}

#[tokio::test]
async fn serve_with_the_demo_shows_a_populated_home_page_at_the_printed_address() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_veedor"))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("VEEDOR_DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.path().join("demo.db").display()))
        .env("VEEDOR_BIND", format!("0.0.0.0:{port}"))
        .args(["serve", "--demo"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.strip_prefix("Veedor is running: open ") {
                return rest.split_whitespace().next().unwrap().trim_end_matches('/').to_string();
            }
        }
        panic!("the server never printed its address");
    })
    .await
    .expect("the address is printed");
    assert_eq!(address, format!("http://127.0.0.1:{port}"), "a browsable address, not 0.0.0.0");

    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let page = client.get(format!("{address}/")).send().await.unwrap().text().await.unwrap();
    let token = hidden_value(&page, "_csrf").expect("a newcomer lands on the login form");
    let home = client
        .post(format!("{address}/login"))
        .form(&[("_csrf", token.as_str()), ("email", DEMO[1].0), ("password", DEMO[1].1), ("next", "/")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in ["Gestión de comunidad y contenidos", "Escucha y respuesta ante crisis", "Fuera de objetivo"] {
        assert!(home.contains(expected), "{expected} missing from the demo home page");
    }
    child.kill().await.ok();
}

#[tokio::test]
async fn an_unknown_address_is_a_page_for_people_and_a_problem_for_the_api() {
    let app = demo_app().await;
    let visitor = WebSession::anonymous(&app);
    let response = visitor.client.get(app.url("/no/such/page")).header("accept-language", "en").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = response.text().await.unwrap();
    assert!(page.contains("<html lang=\"en\">") && page.contains("This page does not exist"));
    let response = visitor.client.get(app.url("/api/v1/no-such-thing")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
}
