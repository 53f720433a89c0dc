//! Incidents and crisis mode: the agency reports, the oversight team acknowledges and
//! resolves, the acknowledgement SLA per severity, crisis mode (by hand and by a critical
//! incident), bad input, and other agencies.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use reqwest::{Method, StatusCode};
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::{db::entity, domain::enums::Role};

use crate::helpers::{Caller, TestApp, assert_problem, id_of};

struct World {
    app: TestApp,
    admin: Caller,
    lead: Caller,
    agency: Caller,
    engagement: Uuid,
    /// The clock at the start, in whole seconds.
    start: DateTime<Utc>,
}

/// An internal engagement of Marea Digital, owned by the lead; the agency's user sees it.
async fn world() -> World {
    let app = TestApp::spawn().await;
    let start = app.clock_now().trunc_subsecs(0);
    app.clock.set(start);
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let lead = app.actor("javier@brisa.example", Role::Lead, None).await;
    let agency = app.actor("lucia@marea.example", Role::Vendor, Some(vendor)).await;
    let engagement = app.engagement(&lead, vendor, "internal", Some(lead.id)).await;
    // A token's first use is recorded; done here so that snapshots compare only the rest.
    for caller in [&admin, &lead, &agency] {
        assert_eq!(app.get(caller, "/api/v1/me").await.0, StatusCode::OK);
    }
    World { app, admin, lead, agency, engagement, start }
}

fn incident(title: &str, severity: &str) -> Value {
    json!({ "title": title, "severity": severity, "description": "Cientos de quejas en Instagram por un envío" })
}

impl World {
    fn incidents_path(&self) -> String {
        format!("/api/v1/engagements/{}/incidents", self.engagement)
    }

    fn crisis_path(&self) -> String {
        format!("/api/v1/engagements/{}/crisis", self.engagement)
    }

    async fn open(&self, by: &Caller, title: &str, severity: &str) -> Value {
        let (status, body) = self.app.post(by, &self.incidents_path(), incident(title, severity)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Every business row, incidents and crisis periods included.
    async fn snapshot(&self) -> Value {
        let db = &self.app.state.db;
        let mut all = self.app.snapshot().await;
        let incidents =
            entity::incident::Entity::find().order_by_asc(entity::incident::Column::Id).into_json().all(db).await;
        let updates = entity::incident_update::Entity::find()
            .order_by_asc(entity::incident_update::Column::Id)
            .into_json()
            .all(db)
            .await;
        let crisis = entity::crisis_period::Entity::find()
            .order_by_asc(entity::crisis_period::Column::Id)
            .into_json()
            .all(db)
            .await;
        all["incident"] = Value::Array(incidents.unwrap());
        all["incident_update"] = Value::Array(updates.unwrap());
        all["crisis_period"] = Value::Array(crisis.unwrap());
        all
    }

    /// Sends a request that must be refused with a problem naming `field`, and checks that
    /// nothing changed.
    async fn refused(&self, by: &Caller, method: Method, path: &str, body: Option<Value>, status: u16, field: &str) {
        let before = self.snapshot().await;
        let mut request = reqwest::Client::new().request(method.clone(), self.app.url(path)).bearer_auth(&by.token);
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.unwrap();
        assert_problem(response, StatusCode::from_u16(status).unwrap(), field).await;
        assert_eq!(self.snapshot().await, before, "{method} {path}: the database changed");
    }
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}")).parse().unwrap()
}

fn kinds(detail: &Value) -> Vec<&str> {
    detail["timeline"].as_array().unwrap().iter().map(|u| u["kind"].as_str().unwrap()).collect()
}

fn ids(page: &Value) -> Vec<Uuid> {
    page["items"].as_array().unwrap().iter().map(id_of).collect()
}

#[tokio::test]
async fn the_agency_reports_and_the_lead_acknowledges_and_resolves() {
    let w = world().await;
    let app = &w.app;
    let opened = w.open(&w.agency, " Quejas masivas por envíos ", "high").await;
    let id = id_of(&opened);
    assert_eq!(opened["title"], "Quejas masivas por envíos");
    assert_eq!((opened["status"].as_str(), opened["severity"].as_str()), (Some("open"), Some("high")));
    assert_eq!(opened["opened_by"], json!(w.agency.id));
    assert_eq!(time(&opened["ack_due_at"]), w.start + Duration::hours(4));
    assert_eq!(opened["ack_overdue"], false);
    assert_eq!(opened["description"], "Cientos de quejas en Instagram por un envío");
    assert_eq!(kinds(&opened), ["opened"]);
    assert_eq!(opened["crisis_period"], Value::Null);

    let path = format!("/api/v1/incidents/{id}");
    app.clock.advance(Duration::minutes(10));
    let (status, noted) =
        app.post(&w.agency, &format!("{path}/updates"), json!({ "body": "Respondemos uno a uno" })).await;
    assert_eq!(status, StatusCode::CREATED, "{noted}");
    assert_eq!(kinds(&noted), ["opened", "note"]);

    // The agency reports; the company acknowledges.
    let (status, _) = app.post(&w.agency, &format!("{path}/acknowledge"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.clock.advance(Duration::minutes(20));
    let (status, acked) = app.post(&w.lead, &format!("{path}/acknowledge"), json!({ "note": "Lo vemos" })).await;
    assert_eq!(status, StatusCode::OK, "{acked}");
    assert_eq!(acked["status"], "acknowledged");
    assert_eq!(acked["acknowledged_by"], json!(w.lead.id));
    assert_eq!(time(&acked["acknowledged_at"]), w.start + Duration::minutes(30));

    app.clock.advance(Duration::hours(5));
    let (status, later) = app.post(&w.agency, &format!("{path}/updates"), json!({ "body": "Envío repuesto" })).await;
    assert_eq!(status, StatusCode::CREATED, "{later}");
    assert_eq!(later["ack_overdue"], false, "acknowledged in time: never overdue");
    assert_eq!(
        app.post(&w.agency, &format!("{path}/resolve"), json!({ "summary": "x" })).await.0,
        StatusCode::FORBIDDEN
    );

    app.clock.advance(Duration::hours(1));
    let (status, resolved) =
        app.post(&w.lead, &format!("{path}/resolve"), json!({ "summary": " Envío repuesto y disculpas " })).await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(
        (resolved["status"].as_str(), resolved["resolution"].as_str()),
        (Some("resolved"), Some("Envío repuesto y disculpas"))
    );
    assert_eq!(time(&resolved["resolved_at"]), w.start + Duration::minutes(30) + Duration::hours(6));

    // The timeline, oldest first, with authors and times.
    let (status, detail) = app.get(&w.agency, &path).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(kinds(&detail), ["opened", "note", "acknowledged", "note", "resolved"]);
    let timeline = detail["timeline"].as_array().unwrap();
    let times: Vec<DateTime<Utc>> = timeline.iter().map(|u| time(&u["at"])).collect();
    assert!(times.windows(2).all(|t| t[0] < t[1]), "{times:?}");
    let authors: Vec<&Value> = timeline.iter().map(|u| &u["author_id"]).collect();
    let (agency, lead) = (json!(w.agency.id), json!(w.lead.id));
    assert_eq!(authors, [&agency, &agency, &lead, &agency, &lead]);
    assert_eq!(timeline[2]["body"], "Lo vemos");
    assert_eq!(timeline[4]["body"], "Envío repuesto y disculpas");

    // Listed for the engagement and across engagements.
    let (_, listed) = app.get(&w.agency, &w.incidents_path()).await;
    assert_eq!(ids(&listed), [id]);
    let (_, resolved_only) = app.get(&w.lead, "/api/v1/incidents?status=resolved").await;
    assert_eq!(ids(&resolved_only), [id]);
    let (_, open_only) = app.get(&w.lead, "/api/v1/incidents?status=open").await;
    assert_eq!(ids(&open_only), Vec::<Uuid>::new());

    // Each step is in the audit log.
    let (_, audit) = app.get(&w.admin, &format!("/api/v1/audit?object_type=incident&object_id={id}")).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["incident.resolve", "incident.update", "incident.acknowledge", "incident.update", "incident.open"]
    );
}

#[tokio::test]
async fn resolving_an_open_incident_acknowledges_it_too() {
    let w = world().await;
    let id = id_of(&w.open(&w.agency, "Falsa alarma", "medium").await);
    w.app.clock.advance(Duration::minutes(5));
    let (status, resolved) =
        w.app.post(&w.lead, &format!("/api/v1/incidents/{id}/resolve"), json!({ "summary": "No era nada" })).await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["acknowledged_at"], resolved["resolved_at"]);
    assert_eq!(resolved["acknowledged_by"], json!(w.lead.id));
    assert_eq!(kinds(&resolved), ["opened", "resolved"]);
}

#[tokio::test]
async fn the_acknowledgement_sla_follows_the_severity() {
    let w = world().await;
    let app = &w.app;
    let low = id_of(&w.open(&w.agency, "Comentario fuera de tono", "low").await);
    let medium = id_of(&w.open(&w.agency, "Respuesta tardía", "medium").await);
    let high = id_of(&w.open(&w.agency, "Tienda caída", "high").await);
    let lead = &w.lead;
    let get = |id: Uuid| async move { app.get(lead, &format!("/api/v1/incidents/{id}")).await.1 };
    for (id, hours) in [(low, 72), (medium, 24), (high, 4)] {
        assert_eq!(time(&get(id).await["ack_due_at"]), w.start + Duration::hours(hours));
    }
    let overdue = || async { ids(&app.get(&w.lead, "/api/v1/incidents?overdue=true").await.1) };
    assert_eq!(overdue().await, Vec::<Uuid>::new());

    // Just before the high SLA nothing is overdue; at it, the high incident is.
    app.clock.set(w.start + Duration::hours(4) - Duration::seconds(1));
    assert_eq!(overdue().await, Vec::<Uuid>::new());
    app.clock.set(w.start + Duration::hours(4));
    assert_eq!(overdue().await, [high]);
    assert_eq!(get(high).await["ack_overdue"], true);
    assert_eq!(get(medium).await["ack_overdue"], false);
    let (_, not_overdue) = app.get(&w.lead, &format!("{}?overdue=false", w.incidents_path())).await;
    assert_eq!(ids(&not_overdue), [medium, low]);
    let (_, high_only) = app.get(&w.agency, &format!("{}?overdue=true&severity=high", w.incidents_path())).await;
    assert_eq!(ids(&high_only), [high]);

    // Acknowledging ends the wait, even late.
    app.post(&w.lead, &format!("/api/v1/incidents/{high}/acknowledge"), json!({})).await;
    assert_eq!(overdue().await, Vec::<Uuid>::new());
    assert_eq!(get(high).await["ack_overdue"], false);

    app.clock.set(w.start + Duration::hours(25));
    assert_eq!(overdue().await, [medium]);
    app.clock.set(w.start + Duration::hours(72));
    assert_eq!(overdue().await, [medium, low]);
}

#[tokio::test]
async fn severity_changes_move_the_deadline_and_only_the_company_lowers_it() {
    let w = world().await;
    let app = &w.app;
    let id = id_of(&w.open(&w.agency, "Rumor en X", "low").await);
    let path = format!("/api/v1/incidents/{id}/updates");
    app.clock.advance(Duration::hours(2));
    let (status, raised) = app.post(&w.agency, &path, json!({ "body": "Se extiende", "severity": "high" })).await;
    assert_eq!(status, StatusCode::CREATED, "{raised}");
    assert_eq!(raised["severity"], "high");
    assert_eq!(time(&raised["ack_due_at"]), w.start + Duration::hours(6), "the high SLA runs from the change");
    assert_eq!(kinds(&raised), ["opened", "note", "severity_changed"]);
    assert_eq!(raised["timeline"][2]["body"], "low → high");

    let before = w.snapshot().await;
    let (status, _) = app.post(&w.agency, &path, json!({ "body": "Menos", "severity": "medium" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the agency raises but never lowers");
    assert_eq!(w.snapshot().await, before);
    let (status, lowered) = app.post(&w.lead, &path, json!({ "body": "Controlado", "severity": "medium" })).await;
    assert_eq!(status, StatusCode::CREATED, "{lowered}");
    assert_eq!(time(&lowered["ack_due_at"]), w.start + Duration::hours(24), "relaxed to the medium SLA");
    // The same severity again is a plain note.
    let (_, same) = app.post(&w.agency, &path, json!({ "body": "Sigue", "severity": "medium" })).await;
    assert_eq!(kinds(&same).last(), Some(&"note"));
}

#[tokio::test]
async fn a_critical_incident_switches_crisis_mode_on_once() {
    let w = world().await;
    let app = &w.app;
    let first = w.open(&w.agency, "Vídeo viral contra la marca", "critical").await;
    let first_id = id_of(&first);
    assert_eq!(time(&first["ack_due_at"]), w.start + Duration::hours(1));
    assert_eq!(first["crisis_period"]["incident_id"], json!(first_id));
    let (status, crisis) = app.get(&w.agency, &w.crisis_path()).await;
    assert_eq!(status, StatusCode::OK, "{crisis}");
    assert_eq!(crisis["active"]["incident_id"], json!(first_id));
    assert_eq!(crisis["active"]["reason"], "Vídeo viral contra la marca", "the incident's title, no English around it");
    assert_eq!(crisis["active"]["started_by"], json!(w.agency.id));

    // A second critical incident while the crisis runs opens no second period.
    app.clock.advance(Duration::minutes(5));
    let second = w.open(&w.agency, "Boicot convocado", "critical").await;
    assert_eq!(second["crisis_period"], Value::Null);
    let (_, crisis) = app.get(&w.lead, &w.crisis_path()).await;
    assert_eq!(crisis["history"].as_array().unwrap().len(), 1);
    assert_eq!(crisis["active"]["incident_id"], json!(first_id));

    // Once it has ended, escalating an incident to critical starts a new one.
    let (status, ended) =
        app.post(&w.lead, &format!("{}/end", w.crisis_path()), json!({ "reason": "Controlada" })).await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(ended["active"], Value::Null);
    app.clock.advance(Duration::minutes(5));
    let third = id_of(&w.open(&w.agency, "Caída de la app", "high").await);
    let (status, escalated) = app
        .post(
            &w.agency,
            &format!("/api/v1/incidents/{third}/updates"),
            json!({ "body": "Afecta a todos", "severity": "critical" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{escalated}");
    assert_eq!(escalated["crisis_period"]["incident_id"], json!(third));
    let (_, crisis) = app.get(&w.lead, &w.crisis_path()).await;
    let history = crisis["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(crisis["active"]["incident_id"], json!(third));
    assert_eq!(history[1]["end_reason"], "Controlada");
    let (_, audit) =
        app.get(&w.admin, &format!("/api/v1/audit?object_type=engagement&object_id={}", w.engagement)).await;
    let starts = audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "crisis.start").count();
    assert_eq!(starts, 2);
}

#[tokio::test]
async fn leads_switch_crisis_mode_on_and_off_with_reasons() {
    let w = world().await;
    let app = &w.app;
    let end_path = format!("{}/end", w.crisis_path());
    let (_, idle) = app.get(&w.agency, &w.crisis_path()).await;
    assert_eq!((idle["active"].clone(), idle["history"].clone()), (Value::Null, json!([])));
    assert_eq!(app.post(&w.agency, &w.crisis_path(), json!({ "reason": "Pánico" })).await.0, StatusCode::FORBIDDEN);

    let (status, on) = app.post(&w.lead, &w.crisis_path(), json!({ "reason": " Campaña en contra " })).await;
    assert_eq!(status, StatusCode::OK, "{on}");
    assert_eq!(on["active"]["reason"], "Campaña en contra");
    assert_eq!(on["active"]["incident_id"], Value::Null);
    assert_eq!(time(&on["active"]["started_at"]), w.start);
    w.refused(&w.lead, Method::POST, &w.crisis_path(), Some(json!({ "reason": "Otra" })), 409, "engagement").await;

    app.clock.advance(Duration::hours(30));
    assert_eq!(app.post(&w.agency, &end_path, json!({ "reason": "Fin" })).await.0, StatusCode::FORBIDDEN);
    let (status, off) = app.post(&w.lead, &end_path, json!({ "reason": "Aguas calmadas" })).await;
    assert_eq!(status, StatusCode::OK, "{off}");
    assert_eq!(off["active"], Value::Null);
    let period = &off["history"][0];
    assert_eq!(
        (period["reason"].as_str(), period["end_reason"].as_str()),
        (Some("Campaña en contra"), Some("Aguas calmadas"))
    );
    assert_eq!(time(&period["ended_at"]), w.start + Duration::hours(30));
    assert_eq!(period["ended_by"], json!(w.lead.id));
    w.refused(&w.lead, Method::POST, &end_path, Some(json!({ "reason": "Otra vez" })), 409, "engagement").await;

    app.clock.advance(Duration::hours(1));
    app.post(&w.admin, &w.crisis_path(), json!({ "reason": "Segunda ola" })).await;
    let (_, history) = app.get(&w.agency, &w.crisis_path()).await;
    let reasons: Vec<&str> =
        history["history"].as_array().unwrap().iter().map(|p| p["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["Segunda ola", "Campaña en contra"]);
}

#[tokio::test]
async fn bad_input_is_named_and_changes_nothing() {
    let w = world().await;
    let app = &w.app;
    let open_path = w.incidents_path();
    let mut missing_title = incident("x", "low");
    missing_title.as_object_mut().unwrap().remove("title");
    w.refused(&w.agency, Method::POST, &open_path, Some(missing_title), 422, "title").await;
    w.refused(&w.agency, Method::POST, &open_path, Some(incident("  ", "low")), 422, "title").await;
    w.refused(&w.agency, Method::POST, &open_path, Some(incident(&"t".repeat(201), "low")), 422, "title").await;
    w.refused(&w.agency, Method::POST, &open_path, Some(incident("Caída", "catastrophic")), 422, "severity").await;
    let mut blank = incident("Caída", "low");
    blank["description"] = json!("");
    w.refused(&w.agency, Method::POST, &open_path, Some(blank), 422, "description").await;
    let mut extra = incident("Caída", "low");
    extra["owner"] = json!("yo");
    w.refused(&w.agency, Method::POST, &open_path, Some(extra), 422, "owner").await;
    w.refused(&w.agency, Method::GET, &format!("{open_path}?overdue=maybe"), None, 422, "overdue").await;
    w.refused(&w.agency, Method::GET, "/api/v1/incidents?severity=huge", None, 422, "severity").await;
    w.refused(&w.agency, Method::GET, "/api/v1/incidents/not-a-uuid", None, 400, "id").await;

    let id = id_of(&w.open(&w.agency, "Caída", "low").await);
    let path = format!("/api/v1/incidents/{id}");
    w.refused(&w.agency, Method::POST, &format!("{path}/updates"), Some(json!({ "body": " " })), 422, "body").await;
    w.refused(&w.lead, Method::POST, &format!("{path}/resolve"), Some(json!({ "summary": "" })), 422, "summary").await;
    w.refused(&w.lead, Method::POST, &format!("{path}/resolve"), Some(json!({})), 422, "summary").await;
    w.refused(&w.lead, Method::POST, &w.crisis_path(), Some(json!({ "reason": "" })), 422, "reason").await;
    w.refused(&w.lead, Method::POST, &w.crisis_path(), Some(json!({})), 422, "reason").await;

    app.post(&w.lead, &format!("{path}/acknowledge"), json!({})).await;
    w.refused(&w.lead, Method::POST, &format!("{path}/acknowledge"), Some(json!({})), 409, "status").await;
    let (status, _) = app.post(&w.lead, &format!("{path}/resolve"), json!({ "summary": "Hecho" })).await;
    assert_eq!(status, StatusCode::OK);
    w.refused(&w.lead, Method::POST, &format!("{path}/resolve"), Some(json!({ "summary": "Otra vez" })), 409, "status")
        .await;
    w.refused(&w.lead, Method::POST, &format!("{path}/acknowledge"), Some(json!({})), 409, "status").await;
    let note = json!({ "body": "Tarde", "severity": "critical" });
    w.refused(&w.agency, Method::POST, &format!("{path}/updates"), Some(note), 409, "status").await;
    w.refused(
        &w.lead,
        Method::POST,
        &format!("{}/end", w.crisis_path()),
        Some(json!({ "reason": " " })),
        422,
        "reason",
    )
    .await;
}

#[tokio::test]
async fn another_agency_sees_nothing() {
    let w = world().await;
    let app = &w.app;
    let id = id_of(&w.open(&w.agency, "Caída", "critical").await);
    let other_vendor = app.vendor(&w.admin, "Otra Agencia").await;
    let outsider = app.actor("pablo@otra.example", Role::Vendor, Some(other_vendor)).await;
    let path = format!("/api/v1/incidents/{id}");
    for p in [path.clone(), w.incidents_path(), w.crisis_path()] {
        assert_eq!(app.get(&outsider, &p).await.0, StatusCode::NOT_FOUND, "{p}");
    }
    let (status, all) = app.get(&outsider, "/api/v1/incidents").await;
    assert_eq!((status, ids(&all)), (StatusCode::OK, vec![]));
    let (_, mine) = app.get(&w.agency, "/api/v1/incidents").await;
    assert_eq!(ids(&mine), [id]);
    let before = w.snapshot().await;
    for (p, body) in [
        (w.incidents_path(), incident("Intruso", "low")),
        (format!("{path}/updates"), json!({ "body": "Hola" })),
        (format!("{path}/acknowledge"), json!({})),
        (format!("{path}/resolve"), json!({ "summary": "Cerrado" })),
        (w.crisis_path(), json!({ "reason": "Nada" })),
        (format!("{}/end", w.crisis_path()), json!({ "reason": "Nada" })),
    ] {
        let (status, body) = app.post(&outsider, &p, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{p}: {body}");
    }
    assert_eq!(w.snapshot().await, before);
}
