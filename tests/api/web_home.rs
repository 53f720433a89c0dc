//! The home page says why: the worst KPI of each engagement with its value against the
//! target, crisis mode above everything, what waits on the reader by deadline, counts with
//! their plural; and the agency portal lists the content sent back with the reviewer's words.

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use veedor::{
    app::crisis,
    db::{audit::Actor, entity::engagement},
};

use crate::{
    web_pages::{DEMO, demo_app},
    webkit::WebSession,
};

const COMMUNITY: &str = "Gestión de comunidad y contenidos";

async fn engagement_id(app: &crate::helpers::TestApp, title: &str) -> Uuid {
    engagement::Entity::find()
        .filter(engagement::Column::Title.eq(title))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no engagement {title}"))
        .id
}

#[tokio::test]
async fn home_says_which_kpi_is_off_and_shows_crisis_mode() {
    let app = demo_app().await;
    let lead = WebSession::login_with(&app, DEMO[1].0, DEMO[1].1).await;
    let (status, page) = lead.get("/").await;
    assert_eq!(status, StatusCode::OK);
    // The red engagement names its worst KPI, with its value and the target in their unit.
    let why = page.split("class=\"small worst-kpi\">").nth(1).expect("the worst KPI is named").split("</span>").next();
    let why = why.unwrap();
    assert!(why.starts_with("Tiempo medio de primera respuesta: "), "{why}");
    assert!(why.contains("8,8\u{a0}h (objetivo: como máximo 2\u{a0}h)"), "{why}");
    assert!(!page.contains("crisis-banner"), "no crisis yet");

    // Crisis mode on: a banner above everything, and the engagement marked in the table.
    let id = engagement_id(&app, COMMUNITY).await;
    let actor = Actor::system("test");
    crisis::start(&app.state.db, app.clock_now(), &actor, id, "Vídeo viral con quejas").await.unwrap();
    let (_, page) = lead.get("/").await;
    let banner = page.find("class=\"card crisis-banner\"").expect("a crisis banner");
    assert!(banner < page.find("class=\"summary\"").unwrap(), "above the summary");
    assert!(page.contains("Modo crisis activado en 1 contrato"), "singular");
    assert!(page.contains(&format!("href=\"/engagements/{id}#crisis\"")));
    assert!(page.contains("crisis-badge"));
}

#[tokio::test]
async fn counts_of_one_are_singular_and_what_waits_comes_by_deadline() {
    let app = demo_app().await;
    let lead = WebSession::login_with(&app, DEMO[1].0, DEMO[1].1).await;
    let (_, page) = lead.get("/").await;
    for wrong in ["1</span> contratos", "1</span> alertas activas", "1</span> informes", "1 altas"] {
        assert!(!page.contains(wrong), "{wrong}");
    }
    // The deadlines of what waits, in the order the page lists them, are ascending.
    let section = page.split("id=\"waiting-h\"").nth(1).unwrap().split("</section>").next().unwrap();
    let ids: Vec<Uuid> = section
        .split("href=\"/approvals/")
        .skip(1)
        .filter_map(|s| s.split('"').next().and_then(|id| id.parse().ok()))
        .collect();
    assert!(ids.len() >= 2, "the demo has several approvals waiting on the lead: {section}");
    let mut deadlines = Vec::new();
    for id in &ids {
        let a = veedor::app::approvals::get(&app.state.db, *id).await.unwrap();
        deadlines.push(a.stage_due_at);
    }
    let mut sorted = deadlines.clone();
    sorted.sort();
    assert_eq!(deadlines, sorted, "soonest deadline first");
}

#[tokio::test]
async fn the_portal_lists_content_sent_back_with_the_reviewers_comment() {
    let app = demo_app().await;
    let agency = WebSession::login_with(&app, DEMO[3].0, DEMO[3].1).await;
    let (status, page) = agency.get("/").await;
    assert_eq!(status, StatusCode::OK);
    let section = page.split("class=\"list content-sent-back\"").nth(1).expect("content sent back").split("</ul>");
    let section = section.into_iter().next().unwrap();
    assert!(section.contains("Tres formas de llevar la camisa vaquera"), "{section}");
    assert!(section.contains("Mostrad la camisa con prendas de la colección"), "the reviewer's comment: {section}");
    assert!(section.contains("href=\"/content/"), "a link to answer it");
    let link = section.split("href=\"").nth(1).unwrap().split('"').next().unwrap();
    assert_eq!(agency.get(link).await.0, StatusCode::OK);
}
