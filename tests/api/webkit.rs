//! Tools for the page tests: [`WebSession`], a cookie-carrying HTTP client that signs in
//! through the login form and posts forms with the session's CSRF token; and [`Browser`], a
//! real headless Chromium driven through chromedriver (fantoccini), which saves screenshots
//! under `target/screenshots/` as test artefacts.
//!
//! Without Chromium on the machine, [`Browser::start`] returns `None` and the test says so
//! and passes, unless `VEEDOR_REQUIRE_BROWSER=1` (set by CI, which installs Chromium).

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

/// An HTTP client with its own cookie jar, signed in through the login page.
pub struct WebSession {
    pub client: reqwest::Client,
    base: String,
}

impl WebSession {
    /// An anonymous visitor.
    pub fn anonymous(app: &TestApp) -> Self {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { client, base: app.url("") }
    }

    /// Signs in with the login form as `email` (test users all have the same password).
    pub async fn login(app: &TestApp, email: &str) -> Self {
        Self::login_with(app, email, PASSWORD).await
    }

    pub async fn login_with(app: &TestApp, email: &str, password: &str) -> Self {
        let session = Self::anonymous(app);
        let (status, page) = session.get("/login").await;
        assert_eq!(status, StatusCode::OK);
        let token = hidden_value(&page, "_csrf").expect("login form has a CSRF field");
        let response = session
            .client
            .post(session.url("/login"))
            .form(&[("_csrf", token.as_str()), ("email", email), ("password", password), ("next", "/")])
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login as {email} failed");
        session
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GET a page: status and body (redirects are not followed).
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self.client.get(self.url(path)).send().await.expect("get");
        (response.status(), response.text().await.expect("body"))
    }

    /// GET with a header (e.g. `Accept-Language`).
    pub async fn get_with(&self, path: &str, header: (&str, &str)) -> (StatusCode, String) {
        let response = self.client.get(self.url(path)).header(header.0, header.1).send().await.expect("get");
        (response.status(), response.text().await.expect("body"))
    }

    /// The session's CSRF token, as the pages put it in every form.
    pub async fn csrf(&self) -> String {
        let me: serde_json::Value =
            self.client.get(self.url("/api/v1/me")).send().await.expect("me").json().await.expect("me json");
        me["csrf_token"].as_str().expect("a session has a CSRF token").to_string()
    }

    /// POST a form with the CSRF token added: status, `Location` (for redirects) and body.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, Option<String>, String) {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// POST a form exactly as given (no CSRF token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, Option<String>, String) {
        let response = self.client.post(self.url(path)).form(fields).send().await.expect("post");
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (response.status(), location, response.text().await.expect("body"))
    }
}

/// The value of the first hidden input named `name` in `html`.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&#x2f;", "/").replace("&amp;", "&"))
}

/// Every `href` of `html` that stays on this site, decoded.
pub fn local_links(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("href=\"") {
        rest = &rest[i + 6..];
        let Some(end) = rest.find('"') else { break };
        let link = rest[..end].replace("&amp;", "&").replace("&#x2f;", "/");
        if link.starts_with('/')
            && !link.starts_with("//")
            && !link.starts_with("/static/")
            && !link.starts_with("/api/")
        {
            links.push(link);
        }
        rest = &rest[end..];
    }
    links
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn chromedriver() -> Option<PathBuf> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// Where screenshots go: `target/screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// A headless Chromium on a server under test.
pub struct Browser {
    pub client: Client,
    base: String,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A desktop-sized browser, or `None` (test skipped) when Chromium is not installed.
    pub async fn start(app: &TestApp) -> Option<Self> {
        Self::start_sized(app, 1280, 900).await
    }

    /// A browser whose window is `width` × `height` CSS pixels (e.g. 390 × 844 for a phone).
    pub async fn start_sized(app: &TestApp, width: u32, height: u32) -> Option<Self> {
        let (Some(browser), Some(driver)) = (chromium(), chromedriver()) else {
            assert!(
                std::env::var("VEEDOR_REQUIRE_BROWSER").is_err(),
                "VEEDOR_REQUIRE_BROWSER is set but chromium or chromedriver is missing"
            );
            eprintln!("skipping: chromium and chromedriver are not installed");
            return None;
        };
        let port = free_port();
        let driver = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--lang=es-ES".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": browser.display().to_string(), "args": args,
                    "prefs": { "intl.accept_languages": "es-ES,es" } }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..150 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
                Ok(client) => {
                    client.set_window_size(width, height).await.ok();
                    return Some(Self { client, base: app.url(""), _driver: driver, _profile: profile });
                }
                Err(e) => {
                    last_error = Some(e);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        panic!("chromedriver did not accept a session: {last_error:?}");
    }

    pub async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{}", self.base, path)).await.expect("navigate");
    }

    /// The path (and query) the browser is on.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Waits up to 30 s for the browser to be on a path (and query) containing `part`: after
    /// a click that navigates, the old page's elements can still be found for a moment.
    pub async fn wait_for_path(&self, part: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let path = self.path().await;
            if path.contains(part) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "still on {path}, waiting for {part}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The first element matching `css`, waiting up to 30 s for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css} on {}: {e}", self.base))
    }

    /// Replaces the value of the field matching `css`.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// The visible text of the page's `<main>`.
    pub async fn main_text(&self) -> String {
        self.find("main").await.text().await.expect("text")
    }

    /// Signs in through the login form and waits for the home page.
    pub async fn login(&self, email: &str, password: &str) {
        self.goto("/login").await;
        self.fill("#f-email", email).await;
        self.fill("#f-password", password).await;
        self.click("form[action='/login'] button[type=submit]").await;
        self.client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_url(&url::Url::parse(&format!("{}/", self.base)).expect("url"))
            .await
            .expect("home page after signing in");
    }

    /// Signs out with the header's button.
    pub async fn logout(&self) {
        self.click("form[action='/logout'] button").await;
        self.find("form[action='/login']").await;
    }

    /// Saves a PNG of the window to `target/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    pub async fn close(self) {
        self.client.close().await.ok();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}
