//! Approval workflows and content items: stages, quorum, separation of duties, races between
//! approvers, SLA and escalation, crisis mode, and bad input.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::domain::enums::Role;

use crate::helpers::{Caller, TestApp, assert_problem, id_of, kpi_body, scope_body};

/// An active engagement with a second lead (Marta, on the team as lead), an executive and a
/// legal counsel on the team, and the agency.
struct World {
    app: TestApp,
    lead: Caller,
    marta: Caller,
    exec: Caller,
    legal: Caller,
    agency: Caller,
    engagement: Uuid,
}

async fn world() -> World {
    world_with(|_| {}).await
}

async fn world_with(adjust: impl FnOnce(&mut veedor::config::Config)) -> World {
    let app = TestApp::spawn_with(adjust).await;
    app.clock.set("2027-03-01T09:00:00Z".parse().unwrap());
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let lead = app.actor("javier@brisa.example", Role::Lead, None).await;
    let marta = app.actor("marta@brisa.example", Role::Lead, None).await;
    let exec = app.actor("direccion@brisa.example", Role::Executive, None).await;
    let legal = app.actor("legal@brisa.example", Role::Lead, None).await;
    let agency = app.actor("lucia@marea.example", Role::Vendor, Some(vendor)).await;
    let mut body = crate::helpers::engagement_body(vendor, "internal", Some(lead.id));
    body["start_date"] = json!("2027-01-01");
    body["end_date"] = json!("2027-12-31");
    let (_, e) = app.post(&lead, "/api/v1/engagements", body).await;
    let engagement = id_of(&e);
    let base = format!("/api/v1/engagements/{engagement}");
    app.post(&lead, &format!("{base}/scope"), scope_body()).await;
    app.post(&lead, &format!("{base}/kpis"), kpi_body("Tasa de engagement")).await;
    for (who, role) in [(&lead, "lead"), (&marta, "lead"), (&exec, "executive"), (&legal, "legal")] {
        let (status, body) =
            app.post(&lead, &format!("{base}/team"), json!({ "user_id": who.id, "team_role": role })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    app.activate(&lead, engagement).await;
    World { app, lead, marta, exec, legal, agency, engagement }
}

fn post_body(planned: &str) -> Value {
    json!({
        "channel": "instagram",
        "body": "Nueva colección de primavera: ya en tiendas 🌸",
        "media_url": "https://cdn.brisa.example/primavera.jpg",
        "planned_at": planned,
    })
}

impl World {
    fn base(&self) -> String {
        format!("/api/v1/engagements/{}", self.engagement)
    }

    async fn propose(&self, by: &Caller, planned: &str) -> Value {
        let (status, item) = self.app.post(by, &format!("{}/content", self.base()), post_body(planned)).await;
        assert_eq!(status, StatusCode::CREATED, "{item}");
        item
    }

    async fn approval(&self, by: &Caller, item: &Value) -> Value {
        let (status, a) =
            self.app.get(by, &format!("/api/v1/approvals/{}", item["approval_id"].as_str().unwrap())).await;
        assert_eq!(status, StatusCode::OK, "{a}");
        a
    }

    async fn decide(&self, by: &Caller, approval: &Value, stage: i64, decision: &str) -> (StatusCode, Value) {
        let body = json!({ "stage": stage, "decision": decision, "comment": "Revisado" });
        self.app.post(by, &format!("/api/v1/approvals/{}/decisions", approval["id"].as_str().unwrap()), body).await
    }

    async fn set_content_workflow(&self, stages: Value) -> (StatusCode, Value) {
        self.app
            .call(
                Some(&self.lead),
                Method::PUT,
                &format!("{}/workflows/content", self.base()),
                Some(json!({ "stages": stages })),
            )
            .await
    }
}

fn two_stages() -> Value {
    json!([
        { "name": "Community", "approvers": [{ "kind": "team_role", "team_role": "lead" }], "quorum": "any", "sla_hours": 24,
          "escalation": { "kind": "team_role", "team_role": "executive" } },
        { "name": "Dirección", "approvers": [{ "kind": "team_role", "team_role": "executive" }], "quorum": "all", "sla_hours": 48 },
    ])
}

#[tokio::test]
async fn content_goes_through_two_stages_and_is_published() {
    let w = world().await;
    let app = &w.app;
    let (status, wf) = w.set_content_workflow(two_stages()).await;
    assert_eq!((status, wf["default"].as_bool()), (StatusCode::OK, Some(false)), "{wf}");
    let item = w.propose(&w.agency, "2027-03-05T10:00:00Z").await;
    assert_eq!(item["status"], "pending_approval");
    let a = w.approval(&w.agency, &item).await;
    assert_eq!((a["current_stage"].as_i64(), a["stages"].as_array().unwrap().len()), (Some(0), 2));
    let mut approvers: Vec<Value> = a["current_approvers"].as_array().unwrap().clone();
    approvers.sort_by_key(|v| v.to_string());
    let mut leads = vec![json!(w.lead.id), json!(w.marta.id)];
    leads.sort_by_key(|v| v.to_string());
    assert_eq!(approvers, leads, "team role resolved to both leads");
    assert_eq!(a["stage_due_at"], "2027-03-02T09:00:00Z");

    // The queue: waiting on the leads, submitted by the agency, not waiting on the executive.
    let ids = |v: &Value| v.as_array().unwrap().iter().map(|a| a["id"].clone()).collect::<Vec<_>>();
    let (_, waiting) = app.get(&w.marta, "/api/v1/approvals?view=waiting_on_me").await;
    assert_eq!(ids(&waiting), [a["id"].clone()]);
    let (_, waiting) = app.get(&w.exec, "/api/v1/approvals?view=waiting_on_me").await;
    assert!(ids(&waiting).is_empty());
    let (_, mine) = app.get(&w.agency, "/api/v1/approvals?view=submitted_by_me").await;
    assert_eq!(ids(&mine), [a["id"].clone()]);

    // The agency never decides; a lead approves stage 0, the executive stage 1.
    assert_eq!(w.decide(&w.agency, &a, 0, "approve").await.0, StatusCode::FORBIDDEN);
    let (status, after) = w.decide(&w.marta, &a, 0, "approve").await;
    assert_eq!((status, after["current_stage"].as_i64()), (StatusCode::OK, Some(1)), "{after}");
    assert_eq!(after["current_approvers"], json!([w.exec.id]));
    assert_eq!(w.decide(&w.lead, &a, 0, "approve").await.0, StatusCode::CONFLICT, "stage 0 is decided");
    assert_eq!(w.decide(&w.lead, &a, 1, "approve").await.0, StatusCode::FORBIDDEN, "not an approver of stage 1");
    let (status, done) = w.decide(&w.exec, &a, 1, "approve").await;
    assert_eq!((status, done["status"].as_str()), (StatusCode::OK, Some("approved")), "{done}");
    assert_eq!(done["decisions"].as_array().unwrap().len(), 2);
    let (_, item_now) = app.get(&w.agency, &format!("/api/v1/content/{}", id_of(&item))).await;
    assert_eq!(item_now["status"], "approved");
    assert_eq!(w.decide(&w.exec, &a, 1, "approve").await.0, StatusCode::CONFLICT, "closed");

    let (status, published) = app
        .post(&w.agency, &format!("/api/v1/content/{}/transitions", id_of(&item)), json!({ "action": "publish" }))
        .await;
    assert_eq!((status, published["status"].as_str()), (StatusCode::OK, Some("published")));
    let (_, calendar) = app.get(&w.exec, "/api/v1/content?from=2027-03-05T00:00:00Z&to=2027-03-06T00:00:00Z").await;
    assert_eq!(ids(&calendar), [item["id"].clone()]);
    let (_, calendar) = app.get(&w.exec, "/api/v1/content?from=2027-03-06T00:00:00Z").await;
    assert!(ids(&calendar).is_empty());
}

#[tokio::test]
async fn nobody_approves_their_own_subject_and_editing_sends_content_back() {
    let w = world().await;
    let app = &w.app;
    // A lead proposes: the other lead must approve.
    let item = w.propose(&w.lead, "2027-03-05T10:00:00Z").await;
    let a = w.approval(&w.lead, &item).await;
    assert_eq!(w.decide(&w.lead, &a, 0, "approve").await.0, StatusCode::FORBIDDEN);
    let (status, body) = w.decide(&w.marta, &a, 0, "approve").await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("approved")), "default: one stage");

    // Editing an approved item supersedes its approval and opens a new one.
    let mut changed = post_body("2027-03-06T10:00:00Z");
    changed["body"] = json!("Texto corregido");
    let (status, edited) =
        app.call(Some(&w.lead), Method::PUT, &format!("/api/v1/content/{}", id_of(&item)), Some(changed)).await;
    assert_eq!((status, edited["status"].as_str()), (StatusCode::OK, Some("pending_approval")), "{edited}");
    assert_ne!(edited["approval_id"], item["approval_id"]);
    let (_, old) = app.get(&w.lead, &format!("/api/v1/approvals/{}", a["id"].as_str().unwrap())).await;
    assert_eq!(old["status"], "approved", "a closed approval stays as it was");
    let fresh = w.approval(&w.lead, &edited).await;
    // Changes requested, then the agency cannot decide and the item waits for an edit.
    let (status, body) = w.decide(&w.marta, &fresh, 0, "request_changes").await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("changes_requested")));
    let (_, now) = app.get(&w.lead, &format!("/api/v1/content/{}", id_of(&item))).await;
    assert_eq!(now["status"], "changes_requested");
    // Edited while pending: the pending approval is superseded.
    let again = app
        .call(
            Some(&w.lead),
            Method::PUT,
            &format!("/api/v1/content/{}", id_of(&item)),
            Some(post_body("2027-03-07T10:00:00Z")),
        )
        .await
        .1;
    let (_, newer) = app
        .call(
            Some(&w.lead),
            Method::PUT,
            &format!("/api/v1/content/{}", id_of(&item)),
            Some(post_body("2027-03-08T10:00:00Z")),
        )
        .await;
    let (_, superseded) =
        app.get(&w.lead, &format!("/api/v1/approvals/{}", again["approval_id"].as_str().unwrap())).await;
    assert_eq!(superseded["status"], "superseded");
    assert_eq!(w.decide(&w.marta, &superseded, 0, "approve").await.0, StatusCode::CONFLICT);
    assert_eq!(w.approval(&w.lead, &newer).await["status"], "pending");
}

#[tokio::test]
async fn two_approvers_racing_on_one_stage_make_one_transition() {
    let w = world().await;
    let decides = |snapshot: Value| {
        snapshot["audit_event"].as_array().unwrap().iter().filter(|e| e["action"] == "approval.decide").count()
    };
    let activation = decides(w.app.snapshot().await);
    for round in 0..4 {
        let item = w.propose(&w.agency, &format!("2027-03-0{}T10:00:00Z", 5 + round)).await;
        let a = w.approval(&w.agency, &item).await;
        let (first, second) = tokio::join!(w.decide(&w.lead, &a, 0, "approve"), w.decide(&w.marta, &a, 0, "approve"));
        let mut statuses = [first.0, second.0];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "{first:?} {second:?}");
        let done = w.approval(&w.agency, &item).await;
        assert_eq!((done["status"].as_str(), done["decisions"].as_array().unwrap().len()), (Some("approved"), 1));
    }
    assert_eq!(decides(w.app.snapshot().await) - activation, 4, "one recorded transition per approval");
}

#[tokio::test]
async fn overdue_stages_escalate_once() {
    let w = world().await;
    let app = &w.app;
    w.set_content_workflow(two_stages()).await;
    let item = w.propose(&w.agency, "2027-03-10T10:00:00Z").await;
    let a = w.approval(&w.agency, &item).await;
    app.clock.set("2027-03-02T09:00:01Z".parse().unwrap());
    let (_, overdue) = app.get(&w.lead, "/api/v1/approvals?overdue=true").await;
    assert_eq!(overdue[0]["id"], a["id"]);
    assert_eq!(overdue[0]["overdue"], true);
    let now = app.clock_now();
    assert_eq!(veedor::app::approvals::escalate_overdue(&app.state.db, now).await.unwrap(), 1);
    assert_eq!(veedor::app::approvals::escalate_overdue(&app.state.db, now).await.unwrap(), 0, "once per stage");
    let escalated = w.approval(&w.lead, &item).await;
    assert!(escalated["current_approvers"].as_array().unwrap().contains(&json!(w.exec.id)), "{escalated}");
    assert!(escalated["escalated_at"].is_string());
    // The executive, added by escalation, may now decide stage 0.
    let (status, body) = w.decide(&w.exec, &escalated, 0, "approve").await;
    assert_eq!((status, body["current_stage"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
}

/// The scheduler (tokio-cron-scheduler, which needs a multi-threaded runtime) runs the sweep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_sweeps_overdue_stages_by_itself() {
    let w = world_with(|c| {
        c.escalation_interval_secs = 1;
        c.scheduler_tick_secs = 1;
    })
    .await;
    w.set_content_workflow(two_stages()).await;
    let item = w.propose(&w.agency, "2027-03-10T10:00:00Z").await;
    assert!(w.approval(&w.lead, &item).await["escalated_at"].is_null());
    w.app.clock.set("2027-03-02T09:00:01Z".parse().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let a = w.approval(&w.lead, &item).await;
        if a["escalated_at"].is_string() {
            assert!(a["current_approvers"].as_array().unwrap().contains(&json!(w.exec.id)), "{a}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not escalated within 10 s: {a}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn crisis_mode_adds_the_crisis_approvers_and_shortens_slas() {
    let w = world().await;
    let app = &w.app;
    let actor = veedor::db::audit::Actor { id: Some(w.lead.id), label: "javier".into() };
    veedor::app::crisis::start(&app.state.db, app.clock_now(), &actor, w.engagement, "Rumor viral sobre despidos")
        .await
        .unwrap();
    let item = w.propose(&w.agency, "2027-03-05T10:00:00Z").await;
    let a = w.approval(&w.agency, &item).await;
    assert_eq!(a["crisis"], true);
    let stages = a["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 2, "{a}");
    assert_eq!(stages[1]["preset"], "crisis_review", "Veedor's own stage: a kind, not an English name");
    assert_eq!(stages[1]["name"], "");
    assert_eq!(a["stage_due_at"], "2027-03-01T21:00:00Z", "24 h halved");
    let (_, next) = w.decide(&w.lead, &a, 0, "approve").await;
    assert_eq!(next["current_approvers"], json!([w.legal.id]));
    let (status, done) = w.decide(&w.legal, &a, 1, "approve").await;
    assert_eq!((status, done["status"].as_str()), (StatusCode::OK, Some("approved")), "{done}");
}

#[tokio::test]
async fn bad_workflows_decisions_and_content_change_nothing() {
    let w = world().await;
    let app = &w.app;
    let client = reqwest::Client::new();
    let put = |stages: Value| {
        client
            .put(app.url(&format!("{}/workflows/content", w.base())))
            .bearer_auth(&w.lead.token)
            .json(&json!({ "stages": stages }))
    };
    let stage = |approvers: Value, sla: i64| json!({ "name": "Legal", "approvers": approvers, "quorum": "any", "sla_hours": sla });
    app.get(&w.agency, "/api/v1/me").await; // its token's first use is recorded
    let before = app.snapshot().await;
    for (stages, field) in [
        (json!([stage(json!([{ "kind": "user", "user_id": Uuid::now_v7() }]), 24)]), "stages[0].approvers[0].user_id"),
        (json!([stage(json!([{ "kind": "user", "user_id": w.agency.id }]), 24)]), "stages[0].approvers[0].user_id"),
        (json!([stage(json!([]), 24)]), "stages[0].approvers"),
        (json!([stage(json!([{ "kind": "team_role", "team_role": "legal" }]), -3)]), "stages[0].sla_hours"),
        (json!([]), "stages"),
    ] {
        assert_problem(put(stages).send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, field).await;
    }
    let agency_put = client
        .put(app.url(&format!("{}/workflows/content", w.base())))
        .bearer_auth(&w.agency.token)
        .json(&json!({ "stages": two_stages() }));
    assert_eq!(agency_put.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let content = client.post(app.url(&format!("{}/content", w.base()))).bearer_auth(&w.agency.token);
    let past = content.try_clone().unwrap().json(&post_body("2027-03-01T08:00:00Z"));
    assert_problem(past.send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "planned_at").await;
    let mut bad = post_body("2027-03-05T10:00:00Z");
    bad["channel"] = json!("myspace");
    assert_problem(content.json(&bad).send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "channel").await;
    assert_eq!(app.snapshot().await, before, "nothing stored");

    let item = w.propose(&w.agency, "2027-03-05T10:00:00Z").await;
    let a = w.approval(&w.agency, &item).await;
    let decisions = app.url(&format!("/api/v1/approvals/{}/decisions", a["id"].as_str().unwrap()));
    let before = app.snapshot().await;
    let decide = |body: Value| client.post(&decisions).bearer_auth(&w.lead.token).json(&body);
    assert_problem(
        decide(json!({ "stage": 0, "decision": "reject" })).send().await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "comment",
    )
    .await;
    assert_problem(
        decide(json!({ "stage": 0, "decision": "maybe" })).send().await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "decision",
    )
    .await;
    assert_problem(
        decide(json!({ "stage": 3, "decision": "approve" })).send().await.unwrap(),
        StatusCode::CONFLICT,
        "stage",
    )
    .await;
    assert_eq!(app.snapshot().await, before, "nothing decided");

    // Past the planned time, approving is too late.
    app.clock.set("2027-03-05T10:00:00Z".parse().unwrap());
    assert_problem(
        decide(json!({ "stage": 0, "decision": "approve" })).send().await.unwrap(),
        StatusCode::CONFLICT,
        "planned_at",
    )
    .await;
    assert_eq!(app.snapshot().await, before, "nothing decided");
}
