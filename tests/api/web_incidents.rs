//! The incident and alert pages: reporting an incident through the form, its timeline after
//! updates, acknowledgement and resolution through the forms, bad input, other agencies,
//! acknowledging and silencing alerts, CSRF; who may do what (role × action); and a lead
//! in a real browser acknowledging the demo's firing alert and adding to an incident.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::{
    db::entity,
    domain::{
        alert::{AlertRule, AlertState},
        enums::Role,
    },
};

use crate::{
    helpers::{Caller, TestApp, id_of, kpi_body, scope_body},
    web_pages::{DEMO, demo_app},
    webkit::{Browser, WebSession},
};

const ADMIN: &str = "admin@brisa.example";
const LEAD: &str = "javier@brisa.example";
const EXEC: &str = "elena@brisa.example";
const AGENCY: &str = "lucia@marea.example";
const OTHER: &str = "otro@rival.example";

/// An active internal engagement of Marea Digital, owned by the lead, with the executive
/// and the agency's user on its team; and a user of another agency.
struct World {
    app: TestApp,
    lead: Caller,
    agency: Caller,
    engagement: Uuid,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.actor(ADMIN, Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let rival = app.vendor(&admin, "Otra Agencia").await;
    let lead = app.actor(LEAD, Role::Lead, None).await;
    let exec = app.actor(EXEC, Role::Executive, None).await;
    let agency = app.actor(AGENCY, Role::Vendor, Some(vendor)).await;
    app.user(OTHER, Role::Vendor, Some(rival)).await;
    let engagement = app.engagement(&lead, vendor, "internal", Some(lead.id)).await;
    let base = format!("/api/v1/engagements/{engagement}");
    app.post(&lead, &format!("{base}/scope"), scope_body()).await;
    app.post(&lead, &format!("{base}/kpis"), kpi_body("Tasa de engagement")).await;
    for (who, role) in [(&exec, "executive"), (&agency, "agency_contact")] {
        let (status, body) =
            app.post(&lead, &format!("{base}/team"), json!({ "user_id": who.id, "team_role": role })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    app.activate(&lead, engagement).await;
    // A token's first use is recorded; done here so that snapshots compare only the rest.
    for caller in [&admin, &lead, &exec, &agency] {
        assert_eq!(app.get(caller, "/api/v1/me").await.0, StatusCode::OK);
    }
    World { app, lead, agency, engagement }
}

impl World {
    /// Opens an incident over the API (which fires its `incident_opened` alert).
    async fn open_api(&self, by: &Caller, title: &str, severity: &str) -> Uuid {
        let body = json!({ "title": title, "severity": severity, "description": "Quejas en Instagram" });
        let path = format!("/api/v1/engagements/{}/incidents", self.engagement);
        let (status, body) = self.app.post(by, &path, body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        id_of(&body)
    }

    async fn incident(&self, id: Uuid) -> Value {
        let (status, body) = self.app.get(&self.lead, &format!("/api/v1/incidents/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// The alert an incident's opening fired.
    async fn alert_of(&self, incident: Uuid) -> entity::alert::Model {
        entity::alert::Entity::find()
            .filter(entity::alert::Column::SubjectId.eq(incident))
            .filter(entity::alert::Column::Rule.eq("incident_opened"))
            .one(&self.app.state.db)
            .await
            .unwrap()
            .expect("the incident fired an alert")
    }

    async fn silences(&self) -> Vec<entity::alert_silence::Model> {
        entity::alert_silence::Entity::find().all(&self.app.state.db).await.unwrap()
    }

    /// Every business row, alerts and silences included.
    async fn snapshot(&self) -> Value {
        let db = &self.app.state.db;
        let mut all = self.app.snapshot().await;
        let alerts = entity::alert::Entity::find().order_by_asc(entity::alert::Column::Id).into_json().all(db).await;
        let silences = entity::alert_silence::Entity::find()
            .order_by_asc(entity::alert_silence::Column::Id)
            .into_json()
            .all(db)
            .await;
        all["alert"] = Value::Array(alerts.unwrap());
        all["alert_silence"] = Value::Array(silences.unwrap());
        all
    }
}

/// A form's fields.
type Fields<'a> = &'a [(&'a str, &'a str)];

/// A form to post: where, and its fields.
type Post<'a> = (String, Vec<(&'a str, &'a str)>);

/// The id at the end of a `/incidents/{id}?notice=…` redirect.
fn incident_in(location: &str) -> Uuid {
    let rest = location.strip_prefix("/incidents/").unwrap_or_else(|| panic!("not an incident: {location}"));
    rest.split('?').next().unwrap().parse().unwrap()
}

/// The HTML of the page's timeline.
fn timeline(page: &str) -> &str {
    let start = page.find("<ol class=\"timeline\">").expect("a timeline");
    let end = page[start..].find("</ol>").expect("the timeline ends") + start;
    &page[start..end]
}

/// A silence end the form accepts: a local date and time two days ahead.
fn in_two_days() -> String {
    (Utc::now() + Duration::days(2)).format("%Y-%m-%dT%H:%M").to_string()
}

#[tokio::test]
async fn the_agency_reports_an_incident_through_the_form() {
    let w = world().await;
    let agency = WebSession::login(&w.app, AGENCY).await;
    let (status, form) = agency.get(&format!("/incidents/new?engagement_id={}", w.engagement)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains(&format!("<option value=\"{}\" selected>", w.engagement)), "the engagement is chosen");

    let engagement = w.engagement.to_string();
    let (status, location, _) = agency
        .post_form(
            "/incidents/new",
            &[
                ("engagement_id", &engagement),
                ("title", "Caída de la tienda online"),
                ("severity", "high"),
                ("description", "El checkout falla desde las 10:00"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(location.ends_with("?notice=inc_opened"), "{location}");
    let id = incident_in(&location);

    let stored = w.incident(id).await;
    assert_eq!(stored["title"], "Caída de la tienda online");
    assert_eq!(stored["severity"], "high");
    assert_eq!(stored["status"], "open");
    assert_eq!(stored["opened_by"], w.agency.id.to_string());
    assert_eq!(stored["description"], "El checkout falla desde las 10:00");

    let (status, page) = agency.get(&location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("La incidencia está comunicada"), "the notice is shown");
    assert!(page.contains("El checkout falla desde las 10:00"));
    assert!(page.contains("Alta") && page.contains("Abierta"), "severity and status in words");
    assert!(!page.contains("/acknowledge\""), "the agency does not acknowledge");
    let (_, list) = agency.get(&format!("/incidents?severity=high&engagement_id={}", w.engagement)).await;
    assert!(list.contains(&format!("href=\"/incidents/{id}\"")), "the list links to it");
    let (_, filtered) = agency.get("/incidents?severity=low").await;
    assert!(!filtered.contains(&format!("/incidents/{id}")), "the filter applies");
}

#[tokio::test]
async fn bad_input_is_refused_with_what_was_typed_kept_and_nothing_stored() {
    let w = world().await;
    let incident = w.open_api(&w.lead, "Comentario ofensivo", "medium").await;
    let lead = WebSession::login(&w.app, LEAD).await;
    let before = w.snapshot().await;
    let engagement = w.engagement.to_string();

    let (status, _, page) = lead
        .post_form(
            "/incidents/new",
            &[("engagement_id", &engagement), ("title", "  "), ("severity", ""), ("description", "Texto escrito")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(">Texto escrito</textarea>"), "the description is kept");
    assert!(page.contains("error-summary"));
    assert!(page.contains("id=\"e-severity\""), "the severity's error is next to it");
    // The title's error too, once the severity is chosen.
    let (status, _, page) = lead
        .post_form(
            "/incidents/new",
            &[("engagement_id", &engagement), ("title", ""), ("severity", "low"), ("description", "")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"e-title\"") && page.contains("id=\"e-description\""), "both named at once");
    assert!(page.contains("<option value=\"low\" selected>"), "the severity is kept");

    let path = format!("/incidents/{incident}");
    let (status, _, page) = lead.post_form(&format!("{path}/updates"), &[("body", " "), ("severity", "high")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"e-body\"") && page.contains("<option value=\"high\" selected>"));
    assert!(page.contains("Comentario ofensivo"), "the incident is shown again");
    let (status, _, page) = lead.post_form(&format!("{path}/resolve"), &[("summary", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"e-summary\""));
    let long = "n".repeat(5_001);
    let (status, _, page) = lead.post_form(&format!("{path}/acknowledge"), &[("note", &long)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(&long), "the note is kept");

    let (status, _, page) = lead
        .post_form(
            "/alerts/silences",
            &[
                ("rule", "kpi_breach"),
                ("engagement_id", &engagement),
                ("until", "2001-01-01T10:00"),
                ("reason", "Campaña"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"e-until\"") && page.contains("value=\"2001-01-01T10:00\""), "the date is kept");
    assert!(page.contains(">Campaña</textarea>"));
    let (status, _, page) = lead.post_form("/alerts/silences", &[("engagement_id", &engagement), ("reason", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["rule", "until", "reason"] {
        assert!(page.contains(&format!("id=\"e-{field}\"")), "{field} is named");
    }
    assert_eq!(w.snapshot().await, before, "nothing changed");
}

#[tokio::test]
async fn the_timeline_shows_every_step_in_order() {
    let w = world().await;
    let agency = WebSession::login(&w.app, AGENCY).await;
    let lead = WebSession::login(&w.app, LEAD).await;
    let engagement = w.engagement.to_string();
    let (_, location, _) = agency
        .post_form(
            "/incidents/new",
            &[
                ("engagement_id", &engagement),
                ("title", "Sorteo mal comunicado"),
                ("severity", "medium"),
                ("description", "Paso uno: quejas en Instagram"),
            ],
        )
        .await;
    let id = incident_in(&location.unwrap());
    let path = format!("/incidents/{id}");

    let steps: [(&str, &str, Fields); 5] = [
        ("updates", "inc_updated", &[("body", "Paso dos: respuesta tipo publicada")]),
        ("acknowledge", "inc_acknowledged", &[("note", "Paso tres: lo lleva Legal")]),
        ("updates", "inc_updated", &[("body", "Paso cuatro: llega a la prensa"), ("severity", "high")]),
        ("updates", "inc_updated", &[("body", "Paso cinco: remite"), ("severity", "low")]),
        ("resolve", "inc_resolved", &[("summary", "Paso seis: bases corregidas")]),
    ];
    for (i, (action, notice, fields)) in steps.iter().enumerate() {
        // The agency adds the first update; the oversight team does the rest.
        let session = if i == 0 { &agency } else { &lead };
        let (status, location, body) = session.post_form(&format!("{path}/{action}"), fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{action}: {body}");
        assert_eq!(location.as_deref(), Some(format!("{path}?notice={notice}").as_str()));
    }

    let stored = w.incident(id).await;
    assert_eq!(stored["status"], "resolved");
    assert_eq!(stored["severity"], "low");
    let kinds: Vec<&str> = stored["timeline"].as_array().unwrap().iter().map(|u| u["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["opened", "note", "acknowledged", "note", "severity_changed", "note", "severity_changed", "resolved"]
    );

    let (status, page) = agency.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    let shown = timeline(&page);
    let order =
        ["Paso uno", "Paso dos", "Paso tres", "Paso cuatro", "Media → Alta", "Paso cinco", "Alta → Baja", "Paso seis"];
    let positions: Vec<usize> =
        order.iter().map(|text| shown.find(text).unwrap_or_else(|| panic!("{text} not on:\n{shown}"))).collect();
    assert!(positions.windows(2).all(|p| p[0] < p[1]), "in order: {positions:?}");
    assert_eq!(shown.matches("<li").count(), 8);
    assert!(shown.contains("lucia") && shown.contains("javier"), "who wrote each entry");
    assert!(page.contains("Resuelta"));
    assert!(!page.contains("/updates\""), "a resolved incident takes no more updates");
}

#[tokio::test]
async fn other_agencies_see_nothing_and_change_nothing() {
    let w = world().await;
    let incident = w.open_api(&w.agency, "Caída de la tienda", "low").await;
    let alert = w.alert_of(incident).await;
    let other = WebSession::login(&w.app, OTHER).await;
    let before = w.snapshot().await;

    let path = format!("/incidents/{incident}");
    let (status, page) = other.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!page.contains("Caída de la tienda"));
    let (status, list) = other.get("/incidents").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list.contains("Caída de la tienda"), "not in their list");
    assert_eq!(other.get(&format!("/incidents?engagement_id={}", w.engagement)).await.0, StatusCode::NOT_FOUND);
    let engagement = w.engagement.to_string();
    let writes: [Post; 6] = [
        (
            "/incidents/new".into(),
            vec![("engagement_id", &engagement), ("title", "Intruso"), ("severity", "low"), ("description", "x")],
        ),
        (format!("{path}/updates"), vec![("body", "Intruso")]),
        (format!("{path}/acknowledge"), vec![]),
        (format!("{path}/resolve"), vec![("summary", "Intruso")]),
        (format!("/alerts/{}/acknowledge", alert.id), vec![]),
        (
            "/alerts/silences".into(),
            vec![
                ("rule", "incident_opened"),
                ("engagement_id", &engagement),
                ("until", "2099-01-01T10:00"),
                ("reason", "x"),
            ],
        ),
    ];
    for (path, fields) in &writes {
        let (status, _, _) = other.post_form(path, fields).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(other.get("/alerts").await.0, StatusCode::FORBIDDEN, "alerts are the company's");
    assert_eq!(other.get("/incidents/not-an-id").await.0, StatusCode::NOT_FOUND);
    assert_eq!(w.snapshot().await, before, "nothing changed");
}

#[tokio::test]
async fn a_lead_acknowledges_a_firing_alert_through_the_form() {
    let w = world().await;
    let incident = w.open_api(&w.agency, "Caída de la tienda", "high").await;
    let alert = w.alert_of(incident).await;
    assert_eq!((alert.state, alert.acknowledged_at), (AlertState::Firing, None));
    let lead = WebSession::login(&w.app, LEAD).await;

    let (status, page) = lead.get(&format!("/alerts?engagement_id={}&state=firing", w.engagement)).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.replace("&#x2f;", "/");
    assert!(page.contains("Incidencia abierta") && page.contains("Activa") && page.contains("Crítica"));
    assert!(page.contains("Caída de la tienda"), "the facts are shown");
    assert!(page.contains(&format!("href=\"/incidents/{incident}\"")), "the page to act on");
    let action = format!("/alerts/{}/acknowledge", alert.id);
    assert!(page.contains(&action), "a firing alert has the button");

    let engagement = w.engagement.to_string();
    let (status, location, _) = lead.post_form(&action, &[("engagement_id", &engagement), ("state", "firing")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.unwrap(), format!("/alerts?engagement_id={engagement}&state=firing&notice=alert_acknowledged"));
    let stored = w.alert_of(incident).await;
    assert!(stored.acknowledged_at.is_some());
    let lead_id = w.lead.id;
    assert_eq!(stored.acknowledged_by, Some(lead_id));

    let (_, page) = lead.get("/alerts").await;
    assert!(page.contains("Atendida") && page.contains("javier"), "who acknowledged it");
    assert!(!page.contains(&action), "no button once acknowledged");
    let (status, _, _) = lead.post_form(&action, &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "acknowledged already");
}

#[tokio::test]
async fn a_lead_silences_a_rule_through_the_form() {
    let w = world().await;
    let lead = WebSession::login(&w.app, LEAD).await;
    let (_, page) = lead.get(&format!("/alerts?engagement_id={}&rule=kpi_breach", w.engagement)).await;
    assert!(page.contains("class=\"card silence-form\""), "a lead may silence");
    assert!(page.contains("<option value=\"kpi_breach\" selected>"), "the form starts from the filters");

    let engagement = w.engagement.to_string();
    let until = in_two_days();
    let (status, location, _) = lead
        .post_form(
            "/alerts/silences",
            &[
                ("rule", "kpi_breach"),
                ("engagement_id", &engagement),
                ("until", &until),
                ("reason", "Campaña de rebajas"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.unwrap(), format!("/alerts?engagement_id={engagement}&rule=kpi_breach&notice=alert_silenced"));
    let silences = w.silences().await;
    assert_eq!(silences.len(), 1);
    let s = &silences[0];
    assert_eq!(
        (s.rule, s.engagement_id, s.reason.as_str()),
        (AlertRule::KpiBreach, Some(w.engagement), "Campaña de rebajas")
    );
    assert_eq!(s.created_by, Some(w.lead.id));
    // The form's time is the lead's (Europe/Madrid), stored as an instant.
    let local = s.until.with_timezone(&chrono_tz::Europe::Madrid).format("%Y-%m-%dT%H:%M").to_string();
    let utc = s.until.format("%Y-%m-%dT%H:%M").to_string();
    assert_eq!(local, until);
    assert_ne!(utc, until);

    let (_, page) = lead.get("/alerts").await;
    assert!(page.contains("KPI fuera de objetivo") && page.contains("Campaña de rebajas"), "the silence is listed");

    // Everywhere is the admins' choice.
    let (status, _, _) =
        lead.post_form("/alerts/silences", &[("rule", "kpi_breach"), ("until", &until), ("reason", "Todo")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = WebSession::login(&w.app, ADMIN).await;
    let (status, _, _) =
        admin.post_form("/alerts/silences", &[("rule", "kpi_breach"), ("until", &until), ("reason", "Todo")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(w.silences().await.iter().filter(|s| s.engagement_id.is_none()).count(), 1);
}

#[tokio::test]
async fn forms_without_the_csrf_token_change_nothing() {
    let w = world().await;
    let incident = w.open_api(&w.agency, "Caída de la tienda", "medium").await;
    let alert = w.alert_of(incident).await;
    let lead = WebSession::login(&w.app, LEAD).await;
    let before = w.snapshot().await;
    let engagement = w.engagement.to_string();
    let until = in_two_days();
    let path = format!("/incidents/{incident}");
    let writes: [Post; 6] = [
        (
            "/incidents/new".into(),
            vec![("engagement_id", &engagement), ("title", "Sin token"), ("severity", "low"), ("description", "x")],
        ),
        (format!("{path}/updates"), vec![("body", "Sin token")]),
        (format!("{path}/acknowledge"), vec![]),
        (format!("{path}/resolve"), vec![("summary", "Sin token")]),
        (format!("/alerts/{}/acknowledge", alert.id), vec![]),
        (
            "/alerts/silences".into(),
            vec![("rule", "kpi_breach"), ("engagement_id", &engagement), ("until", &until), ("reason", "x")],
        ),
    ];
    for (path, fields) in &writes {
        let (status, _, page) = lead.post_raw(path, fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.contains("El formulario había caducado"), "{path}");
        let mut wrong = fields.clone();
        wrong.push(("_csrf", "not-the-token"));
        assert_eq!(lead.post_raw(path, &wrong).await.0, StatusCode::FORBIDDEN, "{path} with a wrong token");
    }
    assert_eq!(w.snapshot().await, before, "nothing changed");
}

/// What each role gets, in the order of the matrix's actions.
const ACTIONS: [&str; 9] = [
    "view list",
    "view incident",
    "open",
    "update",
    "view alerts",
    "acknowledge alert",
    "silence",
    "acknowledge",
    "resolve",
];

#[tokio::test]
async fn who_may_do_what_with_incidents_and_alerts() {
    let w = world().await;
    let engagement = w.engagement.to_string();
    let until = in_two_days();
    let matrix: [(&str, [u16; 9]); 5] = [
        (ADMIN, [200, 200, 303, 303, 200, 303, 303, 303, 303]),
        (LEAD, [200, 200, 303, 303, 200, 303, 303, 303, 303]),
        (EXEC, [200, 200, 303, 303, 200, 403, 403, 403, 403]),
        (AGENCY, [200, 200, 303, 303, 403, 403, 403, 403, 403]),
        (OTHER, [200, 404, 404, 404, 403, 404, 404, 404, 404]),
    ];
    for (email, expected) in matrix {
        let title = format!("Incidencia para {email}");
        let incident = w.open_api(&w.lead, &title, "medium").await;
        let alert = w.alert_of(incident).await;
        let session = WebSession::login(&w.app, email).await;
        let path = format!("/incidents/{incident}");
        let mut got = Vec::new();

        let (status, list) = session.get("/incidents").await;
        assert_eq!(list.contains(&title), status == StatusCode::OK && email != OTHER, "{email} list");
        got.push(status);
        let (status, page) = session.get(&path).await;
        assert_eq!(page.contains(&title), status == StatusCode::OK, "{email} incident");
        got.push(status);
        let writes: [Post; 2] = [
            (
                "/incidents/new".into(),
                vec![("engagement_id", &engagement), ("title", "Otra"), ("severity", "low"), ("description", "x")],
            ),
            (format!("{path}/updates"), vec![("body", "Novedad")]),
        ];
        for (target, fields) in &writes {
            got.push(write(&w, &session, target, fields).await);
        }
        got.push(session.get("/alerts").await.0);
        let handles: [Post; 4] = [
            (format!("/alerts/{}/acknowledge", alert.id), vec![]),
            (
                "/alerts/silences".into(),
                vec![("rule", "kpi_breach"), ("engagement_id", &engagement), ("until", &until), ("reason", "x")],
            ),
            (format!("{path}/acknowledge"), vec![]),
            (format!("{path}/resolve"), vec![("summary", "Resuelta")]),
        ];
        for (target, fields) in &handles {
            got.push(write(&w, &session, target, fields).await);
        }
        let got: Vec<u16> = got.iter().map(StatusCode::as_u16).collect();
        for ((action, got), expected) in ACTIONS.iter().zip(&got).zip(expected) {
            assert_eq!(*got, expected, "{email}: {action}");
        }
    }
}

/// Posts a form; a refused one must have changed nothing.
async fn write(w: &World, session: &WebSession, path: &str, fields: &[(&str, &str)]) -> StatusCode {
    let before = w.snapshot().await;
    let (status, _, _) = session.post_form(path, fields).await;
    if status != StatusCode::SEE_OTHER {
        assert_eq!(w.snapshot().await, before, "{path} refused ({status}) but changed something");
    }
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_acknowledges_an_alert_then_adds_to_an_incident_in_a_browser() {
    let app = demo_app().await;
    let Some(b) = Browser::start(&app).await else { return };
    let (email, password) = DEMO[1];
    b.login(email, password).await;

    b.goto("/alerts").await;
    let firing = b.find("form.ack-alert").await;
    let action = firing.attr("action").await.unwrap().expect("the form has an action");
    let alert: Uuid = action.trim_start_matches("/alerts/").trim_end_matches("/acknowledge").parse().unwrap();
    b.click("form.ack-alert button[type=submit]").await;
    b.find(".notice").await;
    assert!(b.main_text().await.contains("La alerta está atendida"));
    assert!(b.path().await.starts_with("/alerts?notice=alert_acknowledged"));
    let stored = entity::alert::Entity::find_by_id(alert).one(&app.state.db).await.unwrap().unwrap();
    assert!(stored.acknowledged_at.is_some(), "acknowledged in the store");
    b.screenshot("alerts").await;

    b.goto("/incidents").await;
    b.click("table.incidents th a").await;
    b.find("form.update-form").await;
    let path = b.path().await;
    b.fill("#f-body", "Legal confirma la ampliación del sorteo a las islas").await;
    b.click("form.update-form button[type=submit]").await;
    b.find(".notice").await;
    assert_eq!(b.path().await, format!("{path}?notice=inc_updated"));
    let last = b.find("ol.timeline > li:last-child").await.text().await.unwrap();
    assert!(last.contains("Legal confirma la ampliación del sorteo a las islas"), "{last}");
    assert!(last.contains("Javier Soler"), "{last}");
    let script = "document.querySelector('ol.timeline > li:last-child').scrollIntoView({block: 'center'})";
    b.client.execute(script, vec![]).await.expect("scroll to the new entry");
    b.screenshot("incident-timeline").await;
    b.logout().await;
    b.close().await;
}
