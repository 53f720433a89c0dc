//! The pages in a real Chromium: each demo role signs in and lands on their home page, an
//! executive reads the dashboard on a phone-sized screen, the language switch, and signing
//! in with the keyboard alone. Screenshots go to `target/screenshots/`.

use sea_orm::EntityTrait;
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

/// Asserts that the page fits the window's width: nothing scrolls sideways.
async fn fits(b: &Browser, what: &str) {
    let width = eval(b, "return [document.documentElement.scrollWidth, window.innerWidth];").await;
    assert!(width[0].as_i64() <= width[1].as_i64(), "{what} scrolls sideways on a phone: {width}");
}

/// The first local link matching `css` on the current page.
async fn first_link(b: &Browser, css: &str) -> String {
    b.find(css).await.attr("href").await.unwrap().expect("a link")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_phone_and_its_charts_are_readable() {
    let app = demo_app().await;
    // A critical incident: its page shows the crisis mode it switched on among its facts.
    let e = veedor::db::entity::engagement::Entity::find().one(&app.state.db).await.unwrap().unwrap();
    let input = veedor::domain::incident::IncidentInput {
        title: "Caída de la web durante el lanzamiento".into(),
        severity: veedor::domain::incident::IncidentSeverity::Critical,
        description: "La tienda online no responde desde las 10:00; las quejas se multiplican.".into(),
    };
    let actor = veedor::db::audit::Actor::system("test");
    let critical =
        veedor::app::incidents::system::open(&app.state.db, app.clock_now(), &actor, &e, input, &app.state.rules).await;
    let critical = critical.unwrap().incident.id;
    let Some(b) = Browser::start_sized(&app, 390, 844).await else { return };
    b.login(DEMO[1].0, DEMO[1].1).await;
    fits(&b, "home").await;
    let community = first_link(&b, "table.portfolio th[scope=row] a").await;
    let mut pages = vec![community.clone()];
    b.goto(&community).await;
    // Chart labels render at 11 px or more at this width.
    let sizes = eval(
        &b,
        "return [...document.querySelectorAll('svg.chart')].flatMap(svg => {
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            return [...svg.querySelectorAll('text')].map(t => parseFloat(t.getAttribute('font-size')) * scale);
        });",
    )
    .await;
    let sizes: Vec<f64> = sizes.as_array().unwrap().iter().filter_map(serde_json::Value::as_f64).collect();
    assert!(!sizes.is_empty(), "the engagement has charts");
    assert!(sizes.iter().all(|s| *s >= 11.0), "chart labels at 390 px: {sizes:?}");
    b.screenshot("phone-charts").await;
    pages.push(first_link(&b, "a[href^='/reports/']").await);

    // The engagement still pending approval has KPIs without data: a sentence, no empty axes.
    b.goto("/").await;
    let crisis = b.client.find_all(fantoccini::Locator::Css("table.portfolio th[scope=row] a")).await.unwrap();
    assert!(crisis.len() >= 2, "the demo has two engagements");
    let other = crisis[1].attr("href").await.unwrap().unwrap();
    let other = if other == community { crisis[0].attr("href").await.unwrap().unwrap() } else { other };
    b.goto(&other).await;
    let empty = b.find(".chart-empty").await.text().await.unwrap();
    assert!(empty.contains("Aún no hay datos"), "{empty}");
    fits(&b, "an engagement without data").await;
    pages.push(other);

    b.goto("/incidents").await;
    let incident = first_link(&b, "main a[href^='/incidents/']:not([href='/incidents/new'])").await;
    pages.push(incident.clone());
    b.goto("/approvals").await;
    pages.push(first_link(&b, "main a[href^='/approvals/']").await);
    pages.push(format!("/incidents/{critical}"));
    pages.extend(["/incidents", "/approvals", "/alerts", "/content", "/audit"].map(String::from));
    for path in &pages {
        b.goto(path).await;
        fits(&b, path).await;
    }
    b.goto(&format!("/incidents/{critical}")).await;
    b.find("dl.incident-facts .badge.status-red").await;
    b.screenshot("phone-incident").await;
    b.logout().await;

    // The digest preview, whose text part carries long links.
    b.login(DEMO[2].0, DEMO[2].1).await;
    b.goto("/settings/digests/preview").await;
    b.find("pre.digest-text").await;
    fits(&b, "the digest preview").await;
    b.screenshot("phone-digest-preview").await;
    b.close().await;
}
