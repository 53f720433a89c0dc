//! The pages in a real Chromium: each demo role signs in and lands on their home page, an
//! executive reads the dashboard on a phone-sized screen, the language switch, and signing
//! in with the keyboard alone. Screenshots go to `target/screenshots/`.

use serde_json::Value;

use crate::{
    web_pages::{DEMO, demo_app},
    webkit::Browser,
};

/// Runs a script in the page and returns its value.
async fn eval(b: &Browser, script: &str) -> Value {
    b.client.execute(script, Vec::new()).await.expect("script runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_signs_in_and_sees_their_home_page() {
    let app = demo_app().await;
    let Some(b) = Browser::start(&app).await else { return };
    let expectations = [
        ("admin", "Cartera", "/admin/users"),
        ("lead", "Gestión de comunidad y contenidos", "/audit"),
        ("executive", "Gestión de comunidad y contenidos", "/settings/digests"),
        ("vendor", "Portal de la agencia", "/incidents"),
    ];
    for ((email, password), (role, text, nav)) in DEMO.iter().zip(expectations) {
        b.login(email, password).await;
        let main = b.main_text().await;
        assert!(main.contains(text), "{role} home:\n{main}");
        b.find(&format!("#main-nav a[href='{nav}']")).await;
        if role == "vendor" {
            assert!(!main.contains("Cartera"), "the agency sees the portal, not the portfolio");
            assert!(b.client.find(fantoccini::Locator::Css("#main-nav a[href='/alerts']")).await.is_err());
        } else {
            // Health is a word and an icon, not only a colour.
            let badge = b.find("table.portfolio .badge").await.text().await.unwrap();
            assert!(badge.contains("objetivo") || badge.contains("riesgo") || badge.contains("datos"), "{badge}");
        }
        b.screenshot(&format!("home-{role}")).await;
        b.logout().await;
    }
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executive_reads_the_dashboard_on_a_phone() {
    let app = demo_app().await;
    let Some(b) = Browser::start_sized(&app, 390, 844).await else { return };
    b.login(DEMO[2].0, DEMO[2].1).await;
    let width = eval(&b, "return [document.documentElement.scrollWidth, window.innerWidth];").await;
    assert!(width[0].as_i64() <= width[1].as_i64(), "no sideways scrolling on a phone: {width}");
    // The navigation folds behind the menu button, which opens it.
    let nav_shown = "return getComputedStyle(document.getElementById('main-nav')).display !== 'none';";
    assert_eq!(eval(&b, nav_shown).await, Value::Bool(false));
    b.click("[data-nav-toggle]").await;
    assert_eq!(eval(&b, nav_shown).await, Value::Bool(true));
    // Portfolio rows become labelled blocks instead of a wide table.
    let stacked = "return getComputedStyle(document.querySelector('table.responsive td')).display;";
    assert_eq!(eval(&b, stacked).await, Value::String("flex".into()));
    b.screenshot("phone-home").await;

    b.click("table.portfolio th[scope=row] a").await;
    b.find("svg.chart").await;
    let width = eval(&b, "return [document.documentElement.scrollWidth, window.innerWidth];").await;
    assert!(width[0].as_i64() <= width[1].as_i64(), "the engagement page fits a phone: {width}");
    b.screenshot("phone-engagement").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_the_language() {
    let app = demo_app().await;
    let Some(b) = Browser::start(&app).await else { return };
    // Before signing in: the browser's language (Chromium here asks for Spanish).
    b.goto("/login").await;
    assert_eq!(b.find("html").await.attr("lang").await.unwrap().as_deref(), Some("es"));
    b.click("form[action='/language'] button[value=en]").await;
    b.find("html[lang=en]").await;
    assert!(b.main_text().await.contains("Sign in"));
    b.screenshot("login-en").await;
    b.click("form[action='/language'] button[value=es]").await;
    b.find("html[lang=es]").await;

    // Signed in: the user's own setting, kept across pages and sessions.
    b.login(DEMO[1].0, DEMO[1].1).await;
    assert!(b.main_text().await.contains("Cartera"));
    b.click("form[action='/language'] button[value=en]").await;
    b.find("html[lang=en]").await;
    let main = b.main_text().await;
    assert!(main.contains("Portfolio") && (main.contains("On track") || main.contains("Off track")), "{main}");
    b.screenshot("home-lead-en").await;
    b.logout().await;
    b.login(DEMO[1].0, DEMO[1].1).await;
    b.find("html[lang=en]").await;
    b.close().await;
}

/// Presses a key (a WebDriver key code such as Tab, `\u{E004}`) wherever the focus is.
async fn press(b: &Browser, key: char) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let actions =
        KeyActions::new("keyboard".into()).then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
    b.client.perform_actions(actions).await.expect("key press");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_and_moving_around_with_the_keyboard_alone() {
    let app = demo_app().await;
    let Some(b) = Browser::start(&app).await else { return };
    b.goto("/login").await;
    // The e-mail field has the focus: e-mail, Tab, password, Enter.
    let focused = eval(&b, "return document.activeElement.id;").await;
    assert_eq!(focused, Value::String("f-email".into()));
    let keys = format!("{}\u{E004}{}\u{E007}", DEMO[1].0, DEMO[1].1);
    b.find("#f-email").await.send_keys(&keys).await.unwrap();
    b.find("table.portfolio").await;
    assert_eq!(b.path().await, "/");
    // On the home page the skip link is the first stop of Tab, and Enter on it moves the
    // focus to the content.
    press(&b, '\u{E004}').await;
    let focused = eval(&b, "return document.activeElement.className;").await;
    assert_eq!(focused, Value::String("skip-link".into()));
    press(&b, '\u{E007}').await;
    let focused = eval(&b, "return document.activeElement.id;").await;
    assert_eq!(focused, Value::String("main".into()));
    // Every form field on the page has a label.
    let unlabelled = eval(
        &b,
        "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).length;",
    )
    .await;
    assert_eq!(unlabelled, Value::from(0));
    b.close().await;
}
