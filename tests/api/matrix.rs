//! The authorization matrix: every API route × every role × (own object, another vendor's
//! object), plus anonymous callers. The route list is checked against the OpenAPI document,
//! so a route added without a row here fails the test.
//!
//! Every route with an id is also asked with random ids in their place: that must answer 404
//! (or the very refusal the foreign object got, for what the caller is), and a foreign object
//! the role may not read must answer exactly as the random ids (status and body), so that no
//! answer tells an existing object from a missing one.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::{
    app::{amendments, approvals::CrisisRules, content, crisis, engagements, incidents, kpis, reports, scope, team},
    db::{audit::Actor, entity},
    domain::{
        engagement::EngagementInput,
        enums::{Role, TeamRole},
        report::ReportContent,
        team::TeamMemberInput,
    },
};

use crate::helpers::{Caller, PASSWORD, TestApp, engagement_body, kpi_body, read, scope_body};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Admin,
    Lead,
    Executive,
    Vendor,
}

const ROLES: [Who; 4] = [Who::Admin, Who::Lead, Who::Executive, Who::Vendor];

/// One row: the route and the status each role gets for (own object, foreign object).
struct Row {
    method: Method,
    path: &'static str,
    /// Admin, lead, executive, vendor.
    expect: [(u16, u16); 4],
    /// What an anonymous caller gets.
    anonymous: u16,
}

fn row(method: Method, path: &'static str, expect: [(u16, u16); 4]) -> Row {
    Row { method, path, expect, anonymous: 401 }
}

/// Reads of an engagement's parts: everyone on the own engagement; only admins on the
/// foreign (another vendor's, secret) one.
const READ: [(u16, u16); 4] = [(200, 200), (200, 404), (200, 404), (200, 404)];
const MANAGE: [(u16, u16); 4] = [(200, 200), (200, 404), (403, 404), (403, 404)];
const MANAGE_CREATE: [(u16, u16); 4] = [(201, 201), (201, 404), (403, 404), (403, 404)];
const MANAGE_DELETE: [(u16, u16); 4] = [(204, 204), (204, 404), (403, 404), (403, 404)];
const EVERYONE: [(u16, u16); 4] = [(200, 200); 4];
const ADMIN_ONLY: [(u16, u16); 4] = [(200, 200), (403, 403), (403, 403), (403, 403)];
/// Reports are written by the agency (and admins), never by company leads or executives.
const WRITE_REPORT: [(u16, u16); 4] = [(200, 200), (403, 404), (403, 404), (200, 404)];
const WRITE_REPORT_CREATE: [(u16, u16); 4] = [(201, 201), (403, 404), (403, 404), (201, 404)];
/// Company users read approvals; agency users only those of subjects they authored.
const COMPANY_READ: [(u16, u16); 4] = [(200, 200), (200, 404), (200, 404), (404, 404)];
/// Company users only; the agency sees the engagement but not this.
const COMPANY_ONLY: [(u16, u16); 4] = [(200, 200), (200, 404), (200, 404), (403, 404)];
/// Content is written by the agency, leads and admins.
const WRITE_CONTENT: [(u16, u16); 4] = [(200, 200), (200, 404), (403, 404), (200, 404)];
/// Incidents are reported by everyone who sees the engagement, the agency included.
const REPORT_INCIDENT: [(u16, u16); 4] = [(201, 201), (201, 404), (201, 404), (201, 404)];

fn matrix() -> Vec<Row> {
    use Method as M;
    vec![
        Row { anonymous: 200, ..row(M::POST, "/api/v1/auth/login", EVERYONE) },
        row(M::POST, "/api/v1/auth/logout", [(204, 204); 4]),
        row(M::GET, "/api/v1/me", EVERYONE),
        row(M::POST, "/api/v1/me/password", [(204, 204); 4]),
        row(M::GET, "/api/v1/users", [(200, 200), (200, 200), (403, 403), (403, 403)]),
        row(M::POST, "/api/v1/users", [(201, 201), (403, 403), (403, 403), (403, 403)]),
        row(M::GET, "/api/v1/users/{id}", [(200, 200), (200, 200), (200, 404), (200, 404)]),
        row(M::PATCH, "/api/v1/users/{id}", [(200, 200), (403, 403), (403, 404), (403, 404)]),
        row(M::GET, "/api/v1/tokens", EVERYONE),
        row(M::POST, "/api/v1/tokens", [(201, 201); 4]),
        row(M::DELETE, "/api/v1/tokens/{id}", [(204, 204), (204, 404), (204, 404), (204, 404)]),
        row(M::GET, "/api/v1/vendors", EVERYONE),
        row(M::POST, "/api/v1/vendors", [(201, 201), (201, 201), (403, 403), (403, 403)]),
        row(M::GET, "/api/v1/vendors/{id}", [(200, 200), (200, 200), (200, 200), (200, 404)]),
        row(M::PATCH, "/api/v1/vendors/{id}", [(200, 200), (200, 200), (403, 403), (403, 404)]),
        row(M::GET, "/api/v1/engagements", EVERYONE),
        row(M::GET, "/api/v1/portfolio", EVERYONE),
        row(M::POST, "/api/v1/engagements", [(201, 201), (201, 201), (403, 403), (403, 403)]),
        row(M::GET, "/api/v1/engagements/{id}", READ),
        row(M::PATCH, "/api/v1/engagements/{id}", MANAGE),
        row(M::POST, "/api/v1/engagements/{id}/transitions", MANAGE),
        row(M::GET, "/api/v1/engagements/{id}/governance", [(200, 200), (200, 404), (200, 404), (403, 404)]),
        row(M::GET, "/api/v1/engagements/{id}/scope", READ),
        row(M::POST, "/api/v1/engagements/{id}/scope", MANAGE_CREATE),
        row(M::PUT, "/api/v1/engagements/{id}/scope/{item_id}", MANAGE),
        row(M::DELETE, "/api/v1/engagements/{id}/scope/{item_id}", MANAGE_DELETE),
        row(M::GET, "/api/v1/engagements/{id}/team", READ),
        row(M::POST, "/api/v1/engagements/{id}/team", MANAGE_CREATE),
        row(M::DELETE, "/api/v1/engagements/{id}/team/{user_id}", MANAGE_DELETE),
        row(M::GET, "/api/v1/engagements/{id}/periods", READ),
        row(M::GET, "/api/v1/engagements/{id}/dashboard", READ),
        row(M::GET, "/api/v1/engagements/{id}/kpis", READ),
        row(M::POST, "/api/v1/engagements/{id}/kpis", MANAGE_CREATE),
        row(M::GET, "/api/v1/engagements/{id}/kpis/{kpi_id}", READ),
        row(M::PUT, "/api/v1/engagements/{id}/kpis/{kpi_id}", MANAGE),
        row(M::DELETE, "/api/v1/engagements/{id}/kpis/{kpi_id}", MANAGE_DELETE),
        row(M::GET, "/api/v1/engagements/{id}/reports", READ),
        row(M::POST, "/api/v1/engagements/{id}/reports", WRITE_REPORT_CREATE),
        row(M::GET, "/api/v1/engagements/{id}/reports/template", READ),
        row(M::POST, "/api/v1/engagements/{id}/reports/import", WRITE_REPORT_CREATE),
        row(M::GET, "/api/v1/reports/{id}", READ),
        row(M::PUT, "/api/v1/reports/{id}", WRITE_REPORT),
        row(M::POST, "/api/v1/reports/{id}/submit", WRITE_REPORT),
        // Reviewing decides the report's approval: its approvers are the own engagement's lead
        // (team role) and, on the foreign one, its owner (the admin).
        row(M::POST, "/api/v1/reports/{id}/review", [(403, 200), (200, 404), (403, 404), (403, 404)]),
        row(M::GET, "/api/v1/alerts", [(200, 200), (200, 200), (200, 200), (403, 403)]),
        // An incident on the engagement fires an alert to acknowledge.
        row(M::POST, "/api/v1/alerts/{id}/acknowledge", MANAGE),
        row(M::GET, "/api/v1/alerts/silences", [(200, 200), (200, 200), (200, 200), (403, 403)]),
        row(M::POST, "/api/v1/alerts/silences", MANAGE_CREATE),
        row(M::POST, "/api/v1/alerts/evaluate", ADMIN_ONLY),
        row(M::GET, "/api/v1/notifications", ADMIN_ONLY),
        row(M::POST, "/api/v1/notifications/resend", ADMIN_ONLY),
        // Any queued message, sent or not: resending one that did not fail changes nothing.
        row(M::POST, "/api/v1/notifications/{id}/resend", ADMIN_ONLY),
        // Digest subscriptions: the own one is the caller's, the foreign one another lead's.
        row(M::GET, "/api/v1/digests", [(200, 200), (200, 200), (200, 200), (403, 403)]),
        row(M::POST, "/api/v1/digests", [(201, 201), (201, 403), (201, 403), (403, 403)]),
        row(M::GET, "/api/v1/digests/{id}", [(200, 200), (200, 404), (200, 404), (403, 404)]),
        row(M::PUT, "/api/v1/digests/{id}", [(200, 200), (200, 404), (200, 404), (403, 404)]),
        row(M::DELETE, "/api/v1/digests/{id}", [(204, 204), (204, 404), (204, 404), (403, 404)]),
        row(M::GET, "/api/v1/digests/preview", [(200, 200), (200, 404), (200, 404), (403, 404)]),
        row(M::POST, "/api/v1/digests/run", ADMIN_ONLY),
        row(M::GET, "/api/v1/me/notification-preferences", EVERYONE),
        row(M::PUT, "/api/v1/me/notification-preferences", EVERYONE),
        row(M::GET, "/api/v1/engagements/{id}/amendments", COMPANY_ONLY),
        row(M::POST, "/api/v1/engagements/{id}/amendments", MANAGE_CREATE),
        row(M::GET, "/api/v1/amendments/{id}", COMPANY_ONLY),
        row(M::PUT, "/api/v1/amendments/{id}", MANAGE),
        row(M::POST, "/api/v1/amendments/{id}/withdraw", MANAGE),
        row(M::GET, "/api/v1/audit", [(200, 200), (200, 200), (403, 403), (403, 403)]),
        row(M::GET, "/api/v1/engagements/{id}/incidents", READ),
        row(M::POST, "/api/v1/engagements/{id}/incidents", REPORT_INCIDENT),
        row(M::GET, "/api/v1/incidents", EVERYONE),
        row(M::GET, "/api/v1/incidents/{id}", READ),
        row(M::POST, "/api/v1/incidents/{id}/updates", REPORT_INCIDENT),
        row(M::POST, "/api/v1/incidents/{id}/acknowledge", MANAGE),
        row(M::POST, "/api/v1/incidents/{id}/resolve", MANAGE),
        row(M::GET, "/api/v1/engagements/{id}/crisis", READ),
        row(M::POST, "/api/v1/engagements/{id}/crisis", MANAGE),
        row(M::POST, "/api/v1/engagements/{id}/crisis/end", MANAGE),
        row(M::GET, "/api/v1/approvals", EVERYONE),
        row(M::GET, "/api/v1/approvals/{id}", COMPANY_READ),
        // Deciders: the own engagement's lead (team role); on the foreign one nobody holds
        // the role, so its owner (the admin) decides. Agency users never see others' approvals.
        row(M::POST, "/api/v1/approvals/{id}/decisions", [(403, 200), (200, 404), (403, 404), (404, 404)]),
        row(M::GET, "/api/v1/engagements/{id}/workflows", COMPANY_ONLY),
        row(M::GET, "/api/v1/engagements/{id}/workflows/{kind}", COMPANY_ONLY),
        row(M::PUT, "/api/v1/engagements/{id}/workflows/{kind}", MANAGE),
        row(M::GET, "/api/v1/content", EVERYONE),
        row(M::POST, "/api/v1/engagements/{id}/content", [(201, 201), (201, 404), (403, 404), (201, 404)]),
        row(M::GET, "/api/v1/content/{id}", READ),
        row(M::PUT, "/api/v1/content/{id}", WRITE_CONTENT),
        row(M::POST, "/api/v1/content/{id}/transitions", WRITE_CONTENT),
    ]
}

/// The people and vendors of the matrix. "Own" objects belong to vendor A, whose engagement
/// has the lead, the executive and vendor A's user on its team; "foreign" objects belong to
/// vendor B, whose engagement is secret and has none of them.
struct Fixture {
    app: TestApp,
    callers: Vec<(Who, Caller, &'static str)>,
    vendor_a: Uuid,
    vendor_b: Uuid,
    vendor_b_user: Uuid,
    member: Uuid,
    spare: Uuid,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let vendor_a = app.vendor(&admin, "Marea Digital").await;
    let vendor_b = app.vendor(&admin, "Otra Agencia").await;
    let lead = app.actor("lead@brisa.example", Role::Lead, None).await;
    let exec = app.actor("exec@brisa.example", Role::Executive, None).await;
    let agency = app.actor("lucia@marea.example", Role::Vendor, Some(vendor_a)).await;
    let vendor_b_user = app.user("pablo@otra.example", Role::Vendor, Some(vendor_b)).await;
    let member = app.user("legal@brisa.example", Role::Lead, None).await;
    let spare = app.user("spare@brisa.example", Role::Lead, None).await;
    let callers = vec![
        (Who::Admin, admin, "admin@brisa.example"),
        (Who::Lead, lead, "lead@brisa.example"),
        (Who::Executive, exec, "exec@brisa.example"),
        (Who::Vendor, agency, "lucia@marea.example"),
    ];
    Fixture { app, callers, vendor_a, vendor_b, vendor_b_user, member, spare }
}

/// Fresh objects for one cell, so that no cell depends on what another one did.
struct Target {
    engagement: Uuid,
    kpi: Uuid,
    item: Uuid,
    period_start: chrono::NaiveDate,
}

async fn target(f: &Fixture, own: bool) -> Target {
    let db = &f.app.state.db;
    let now = f.app.clock_now();
    let system = Actor::system("matrix");
    let caller = |who: Who| f.callers.iter().find(|(w, _, _)| *w == who).map(|(_, c, _)| c.id).unwrap();
    let (vendor, level, owner) =
        if own { (f.vendor_a, "internal", caller(Who::Lead)) } else { (f.vendor_b, "secret", caller(Who::Admin)) };
    let input: EngagementInput = serde_json::from_value(engagement_body(vendor, level, Some(owner))).unwrap();
    let e = engagements::create(db, now, &system, input).await.unwrap();
    let mut seats = vec![(f.member, TeamRole::Member)];
    if own {
        seats.extend([
            (caller(Who::Lead), TeamRole::Lead),
            (caller(Who::Executive), TeamRole::Executive),
            (caller(Who::Vendor), TeamRole::AgencyContact),
        ]);
    }
    for (user_id, team_role) in seats {
        team::add(db, now, &system, &e, TeamMemberInput { user_id, team_role }).await.unwrap();
    }
    let kpi = kpis::system::create(db, now, &system, &e, serde_json::from_value(kpi_body("Base")).unwrap(), 3.0)
        .await
        .unwrap();
    let item = scope::create(db, now, &system, &e, serde_json::from_value(scope_body()).unwrap()).await.unwrap();
    Target { engagement: e.id, kpi: kpi.id, item: item.id, period_start: e.start_date }
}

fn amendment_body() -> Value {
    json!({ "reason": "Más presupuesto para vídeo", "terms": { "monthly_fee_minor": 500_000 } })
}

/// The concrete request of a cell: its path and body.
async fn request(f: &Fixture, row: &Row, who: Who, caller: &Caller, own: bool) -> (String, Option<Value>) {
    let unique = Uuid::now_v7().simple().to_string();
    let mut path = row.path.to_string();
    let mut period_start = None;
    let mut silenced = None;
    if path == "/api/v1/alerts/silences" && row.method == Method::POST {
        silenced = Some(target(f, own).await.engagement);
    } else if path.starts_with("/api/v1/alerts/{id}") || path.starts_with("/api/v1/notifications/{id}") {
        let t = target(f, own).await;
        let (db, now, system) = (&f.app.state.db, f.app.clock_now(), Actor::system("matrix"));
        let e = veedor::demo::activate(db, now, t.engagement, None, &f.app.state.rules).await.unwrap();
        let input = json!({ "title": "Caída", "severity": "low", "description": "Sin servicio" });
        incidents::system::open(db, now, &system, &e, serde_json::from_value(input).unwrap(), &f.app.state.rules)
            .await
            .unwrap();
        let alert = entity::alert::Entity::find()
            .filter(entity::alert::Column::EngagementId.eq(t.engagement))
            .one(db)
            .await
            .unwrap()
            .expect("the incident fired an alert");
        let id = if path.starts_with("/api/v1/notifications") {
            entity::notification::Entity::find()
                .filter(entity::notification::Column::UserId.is_not_null())
                .one(db)
                .await
                .unwrap()
                .expect("the alert queued an email")
                .id
        } else {
            alert.id
        };
        path = path.replace("{id}", &id.to_string());
    } else if path.contains("/reports") {
        // Reports need an active engagement; report routes need a report (submitted, to review).
        let t = target(f, own).await;
        let (db, now, system) = (&f.app.state.db, f.app.clock_now(), Actor::system("matrix"));
        veedor::demo::activate(db, now, t.engagement, None, &f.app.state.rules).await.unwrap();
        period_start = Some(t.period_start);
        if path.starts_with("/api/v1/reports/") {
            let content = ReportContent { narrative: String::new(), values: vec![], signals: vec![] };
            let submit = path.ends_with("/review");
            let submit = submit.then_some(&f.app.state.rules);
            let r =
                reports::system::create(db, now, &system, t.engagement, t.period_start, content, submit).await.unwrap();
            path = path.replace("{id}", &r.report.id.to_string());
        } else {
            path = path.replace("{id}", &t.engagement.to_string());
        }
    } else if path.starts_with("/api/v1/content/{id}")
        || path.starts_with("/api/v1/approvals/{id}")
        || path.ends_with("/{id}/content")
    {
        // Content needs an active engagement; content and approval routes need an item.
        let t = target(f, own).await;
        let (db, now, system) = (&f.app.state.db, f.app.clock_now(), Actor::system("matrix"));
        veedor::demo::activate(db, now, t.engagement, None, &f.app.state.rules).await.unwrap();
        if path.ends_with("/content") {
            path = path.replace("{id}", &t.engagement.to_string());
        } else {
            let rules = CrisisRules { approver_roles: vec![], sla_factor: 0.5 };
            let input = serde_json::from_value(content_body(now)).unwrap();
            let item = content::system::propose(db, now, &system, t.engagement, input, &rules).await.unwrap();
            let id = if path.starts_with("/api/v1/approvals") { item.approval_id.unwrap() } else { item.id };
            path = path.replace("{id}", &id.to_string());
        }
    } else if path.starts_with("/api/v1/incidents/{id}") {
        let t = target(f, own).await;
        let (db, now, system) = (&f.app.state.db, f.app.clock_now(), Actor::system("matrix"));
        let e = entity::engagement::Entity::find_by_id(t.engagement).one(db).await.unwrap().unwrap();
        let input =
            serde_json::from_value(json!({ "title": "Caída", "severity": "low", "description": "Sin servicio" }));
        let i = incidents::system::open(db, now, &system, &e, input.unwrap(), &f.app.state.rules).await.unwrap();
        path = path.replace("{id}", &i.incident.id.to_string());
    } else if path.contains("amendments") {
        // Amendments need an active engagement; amendment routes need a pending amendment.
        let t = target(f, own).await;
        let (db, now, system) = (&f.app.state.db, f.app.clock_now(), Actor::system("matrix"));
        let rules = f.app.state.rules.clone();
        veedor::demo::activate(db, now, t.engagement, None, &rules).await.unwrap();
        let id = if path.starts_with("/api/v1/amendments/{id}") {
            let input = serde_json::from_value(amendment_body()).unwrap();
            amendments::system::propose(db, now, &system, t.engagement, input, &rules).await.unwrap().id
        } else {
            t.engagement
        };
        path = path.replace("{id}", &id.to_string());
    } else if path.contains("/engagements/{id}") {
        let t = target(f, own).await;
        if path.ends_with("/crisis/end") {
            let (db, now, system) = (&f.app.state.db, f.app.clock_now(), Actor::system("matrix"));
            crisis::start(db, now, &system, t.engagement, "Matrix").await.unwrap();
        }
        path = path
            .replace("{id}", &t.engagement.to_string())
            .replace("{kpi_id}", &t.kpi.to_string())
            .replace("{item_id}", &t.item.to_string())
            .replace("{kind}", "content")
            .replace("{user_id}", &f.member.to_string());
    } else if path.starts_with("/api/v1/digests/{id}") || path == "/api/v1/digests/preview" {
        let owner = if own { caller.id } else { f.spare };
        let id = subscription_of(f, owner).await;
        path = if path == "/api/v1/digests/preview" {
            format!("{path}?subscription_id={id}")
        } else {
            path.replace("{id}", &id.to_string())
        };
    } else if path.starts_with("/api/v1/users/") {
        path = path.replace("{id}", &(if own { caller.id } else { f.vendor_b_user }).to_string());
    } else if path.starts_with("/api/v1/vendors/") {
        path = path.replace("{id}", &(if own { f.vendor_a } else { f.vendor_b }).to_string());
    } else if path.starts_with("/api/v1/tokens/") {
        let owner = if own { caller.id } else { f.vendor_b_user };
        let (_, list) =
            f.app.get(&Caller { id: owner, token: f.app.token_for(owner).await }, "/api/v1/tokens?limit=200").await;
        let newest = list["items"].as_array().unwrap().last().unwrap()["id"].as_str().unwrap().to_string();
        path = path.replace("{id}", &newest);
    }
    let email = f.callers.iter().find(|(w, _, _)| *w == who).map(|(_, _, e)| *e).unwrap_or("anonymous@brisa.example");
    let body = match (row.method.as_str(), row.path) {
        ("POST", "/api/v1/auth/login") => Some(json!({ "email": email, "password": PASSWORD })),
        ("POST", "/api/v1/me/password") => Some(json!({ "current_password": PASSWORD, "new_password": PASSWORD })),
        ("POST", "/api/v1/users") => {
            Some(json!({ "email": format!("{unique}@brisa.example"), "name": "Nuevo", "role": "lead" }))
        }
        ("PATCH", "/api/v1/users/{id}") => Some(json!({ "name": "Renombrado" })),
        ("POST", "/api/v1/tokens") => Some(json!({ "name": "matrix" })),
        ("POST", "/api/v1/vendors") => Some(json!({ "name": format!("Agencia {unique}") })),
        ("PATCH", "/api/v1/vendors/{id}") => Some(json!({ "notes": "revisado" })),
        ("POST", "/api/v1/engagements") => {
            Some(engagement_body(if own { f.vendor_a } else { f.vendor_b }, "internal", None))
        }
        ("PATCH", "/api/v1/engagements/{id}") => Some(json!({ "title": "Nuevo título" })),
        ("POST", "/api/v1/engagements/{id}/transitions") => Some(json!({ "action": "submit" })),
        ("POST" | "PUT", "/api/v1/engagements/{id}/scope" | "/api/v1/engagements/{id}/scope/{item_id}") => {
            Some(scope_body())
        }
        ("POST", "/api/v1/engagements/{id}/team") => Some(json!({ "user_id": f.spare, "team_role": "member" })),
        ("POST", "/api/v1/engagements/{id}/kpis") => Some(kpi_body("Nuevo")),
        ("PUT", "/api/v1/engagements/{id}/kpis/{kpi_id}") => Some(kpi_body("Base revisada")),
        ("POST", "/api/v1/engagements/{id}/reports" | "/api/v1/engagements/{id}/reports/import") => {
            Some(json!({ "period_start": period_start }))
        }
        ("PUT", "/api/v1/reports/{id}") => Some(json!({ "narrative": "Informe" })),
        ("POST", "/api/v1/reports/{id}/submit") => Some(json!({})),
        ("POST", "/api/v1/reports/{id}/review") => Some(json!({ "decision": "accept" })),
        ("POST", "/api/v1/digests") => Some(json!({
            "user_id": if own { caller.id } else { f.spare }, "cadence": { "every": "daily" }, "local_time": "07:30",
        })),
        ("POST", "/api/v1/notifications/resend") => Some(json!({})),
        ("PUT", "/api/v1/digests/{id}") => Some(json!({ "cadence": { "every": "weekly", "weekday": "fri" } })),
        ("POST", "/api/v1/alerts/silences") => Some(json!({
            "rule": "kpi_breach", "engagement_id": silenced, "reason": "Campaña de lanzamiento",
            "until": (f.app.clock_now() + chrono::Duration::days(3)).to_rfc3339(),
        })),
        ("PUT", "/api/v1/me/notification-preferences") => {
            Some(json!({ "quiet_start": "22:00", "quiet_end": "07:00", "muted_rules": ["kpi_breach"] }))
        }
        ("POST", "/api/v1/engagements/{id}/amendments") | ("PUT", "/api/v1/amendments/{id}") => Some(amendment_body()),
        ("POST", "/api/v1/engagements/{id}/incidents") => {
            Some(json!({ "title": "Caída", "severity": "low", "description": "Sin servicio" }))
        }
        ("POST", "/api/v1/incidents/{id}/updates") => Some(json!({ "body": "Nota" })),
        ("POST", "/api/v1/incidents/{id}/acknowledge") => Some(json!({})),
        ("POST", "/api/v1/incidents/{id}/resolve") => Some(json!({ "summary": "Resuelto" })),
        ("POST", "/api/v1/approvals/{id}/decisions") => Some(json!({ "stage": 0, "decision": "approve" })),
        ("PUT", "/api/v1/engagements/{id}/workflows/{kind}") => Some(json!({ "stages": [
            { "name": "Legal", "approvers": [{ "kind": "team_role", "team_role": "legal" }], "quorum": "any", "sla_hours": 24 }
        ] })),
        ("POST", "/api/v1/engagements/{id}/content") | ("PUT", "/api/v1/content/{id}") => {
            Some(content_body(f.app.clock_now()))
        }
        ("POST", "/api/v1/content/{id}/transitions") => Some(json!({ "action": "withdraw" })),
        ("POST", "/api/v1/engagements/{id}/crisis" | "/api/v1/engagements/{id}/crisis/end") => {
            Some(json!({ "reason": "Matrix" }))
        }
        _ => None,
    };
    (path, body)
}

/// A subscription of `owner`, written straight to the table (an agency user cannot
/// subscribe, but the matrix needs one to be refused).
async fn subscription_of(f: &Fixture, owner: Uuid) -> Uuid {
    use sea_orm::ActiveModelTrait;
    let now = f.app.clock_now();
    let settings = veedor::app::digests::subscriptions::NewSubscription {
        user_id: owner,
        cadence: veedor::domain::digest::DigestCadence::Daily,
        local_time: "08:00".into(),
        timezone: "Europe/Madrid".into(),
        language: veedor::domain::enums::Language::Es,
        engagement_ids: None,
        skip_unchanged: false,
        active: true,
    };
    settings.row(now + chrono::Duration::days(1), now).insert(&f.app.state.db).await.unwrap().id
}

fn content_body(now: chrono::DateTime<chrono::Utc>) -> Value {
    json!({ "channel": "instagram", "body": "Novedades", "planned_at": now + chrono::Duration::days(7) })
}

/// Sends a cell's request: JSON, or for the import a multipart form with a one-row file.
async fn send(f: &Fixture, caller: Option<&Caller>, row: &Row, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().request(row.method.clone(), f.app.url(path));
    if let Some(c) = caller {
        req = req.bearer_auth(&c.token);
    }
    req = match body {
        Some(b) if row.path.ends_with("/reports/import") => {
            let file = reqwest::multipart::Part::bytes(b"kpi;value\nBase;1\n".to_vec()).file_name("cifras.csv");
            let period = b["period_start"].as_str().unwrap_or_default().to_string();
            req.multipart(reqwest::multipart::Form::new().text("period_start", period).part("file", file))
        }
        Some(b) => req.json(&b),
        None => req,
    };
    read(req.send().await.unwrap()).await
}

async fn check_role(who: Who) {
    let f = fixture().await;
    let caller = &f.callers.iter().find(|(w, _, _)| *w == who).unwrap().1;
    let index = ROLES.iter().position(|r| *r == who).unwrap();
    let mut failures = Vec::new();
    let rows = matrix();
    for row in &rows {
        for own in [true, false] {
            let (path, body) = request(&f, row, who, caller, own).await;
            let (status, answer) = send(&f, Some(caller), row, &path, body.clone()).await;
            let expected = if own { row.expect[index].0 } else { row.expect[index].1 };
            if status.as_u16() != expected {
                let side = if own { "own" } else { "foreign" };
                failures.push(format!(
                    "{who:?} {} {} ({side}): expected {expected}, got {status} {answer}",
                    row.method, row.path
                ));
            }
            let random = with_random_ids(&path);
            if own || random == path {
                continue;
            }
            let (random_status, random_answer) = send(&f, Some(caller), row, &random, body).await;
            let same = (status, &answer) == (random_status, &random_answer);
            // A refusal for what the caller is (the same 403 whatever the id) tells nothing.
            let same_refusal = same && !status.is_success();
            if random_status != StatusCode::NOT_FOUND && !same_refusal {
                failures.push(format!(
                    "{who:?} {} {} (random ids): expected 404, got {random_status} {random_answer}",
                    row.method, row.path
                ));
            }
            let readable = readable_by(&rows, row, index);
            if !status.is_success() && !readable && !same {
                failures.push(format!(
                    "{who:?} {} {}: a foreign object it may not read answers {status} {answer}, \
                     a random id {random_status} {random_answer}",
                    row.method, row.path
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether the role reads the foreign object of `row` (then a 403 for what it may not do
/// tells nothing new): the `GET` row of its path, or of the nearest parent path with an id.
fn readable_by(rows: &[Row], row: &Row, index: usize) -> bool {
    let mut path = row.path;
    while path.contains('{') {
        if let Some(read) = rows.iter().find(|r| r.method == Method::GET && r.path == path) {
            return (200..300).contains(&read.expect[index].1);
        }
        path = path.rsplit_once('/').map_or("", |(parent, _)| parent);
    }
    false
}

/// `path` with every id (in the path or the query) replaced by a random one.
fn with_random_ids(path: &str) -> String {
    const LEN: usize = 36;
    let mut out = String::new();
    let mut rest = path;
    while !rest.is_empty() {
        match rest.get(..LEN).filter(|c| Uuid::parse_str(c).is_ok()) {
            Some(_) => {
                out.push_str(&Uuid::now_v7().to_string());
                rest = &rest[LEN..];
            }
            None => {
                let c = rest.chars().next().unwrap_or_default();
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

#[tokio::test]
async fn matrix_admin() {
    check_role(Who::Admin).await;
}

#[tokio::test]
async fn matrix_lead() {
    check_role(Who::Lead).await;
}

#[tokio::test]
async fn matrix_executive() {
    check_role(Who::Executive).await;
}

#[tokio::test]
async fn matrix_vendor() {
    check_role(Who::Vendor).await;
}

#[tokio::test]
async fn matrix_anonymous() {
    let f = fixture().await;
    let admin = &f.callers[0].1;
    for row in matrix() {
        for own in [true, false] {
            let (path, body) = request(&f, &row, Who::Admin, admin, own).await;
            let (status, answer) = send(&f, None, &row, &path, body).await;
            assert_eq!(
                status,
                StatusCode::from_u16(row.anonymous).unwrap(),
                "anonymous {} {path}: {answer}",
                row.method
            );
        }
    }
}

#[tokio::test]
async fn every_route_is_in_the_matrix() {
    let app = TestApp::spawn().await;
    let doc: Value = app.client.get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
        .filter(|(m, _)| ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()))
        .collect();
    let covered: BTreeSet<(String, String)> =
        matrix().iter().map(|r| (r.method.to_string(), r.path.to_string())).collect();
    let missing: Vec<_> = documented.difference(&covered).collect();
    let stale: Vec<_> = covered.difference(&documented).collect();
    assert!(missing.is_empty(), "routes without a row in the authorization matrix: {missing:?}");
    assert!(stale.is_empty(), "matrix rows for routes that do not exist: {stale:?}");
}
