//! The approval subjects beyond content: amendments to an active engagement (held as pending,
//! applied all at once on the last approval, kept as history), engagement activation and
//! report acceptance.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::domain::enums::Role;

use crate::helpers::{Caller, TestApp, id_of, kpi_body, scope_body};

/// An active engagement (owner Javier; Marta a second lead on the team; an executive) with
/// one KPI, and a submitted January report valued 2.8 against a target of 3.0 (amber).
struct World {
    app: TestApp,
    lead: Caller,
    marta: Caller,
    exec: Caller,
    agency: Caller,
    engagement: Uuid,
    kpi: Uuid,
    report: Uuid,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    app.clock.set("2026-01-10T10:00:00Z".parse().unwrap());
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let lead = app.actor("javier@brisa.example", Role::Lead, None).await;
    let marta = app.actor("marta@brisa.example", Role::Lead, None).await;
    let exec = app.actor("elena@brisa.example", Role::Executive, None).await;
    let agency = app.actor("lucia@marea.example", Role::Vendor, Some(vendor)).await;
    let mut body = crate::helpers::engagement_body(vendor, "internal", Some(lead.id));
    body["start_date"] = json!("2026-01-01");
    body["end_date"] = json!("2026-12-31");
    let (_, e) = app.post(&lead, "/api/v1/engagements", body).await;
    let engagement = id_of(&e);
    let base = format!("/api/v1/engagements/{engagement}");
    app.post(&lead, &format!("{base}/scope"), scope_body()).await;
    let kpi = id_of(&app.post(&lead, &format!("{base}/kpis"), kpi_body("Tasa de engagement")).await.1);
    for (who, role) in [(&lead, "lead"), (&marta, "lead"), (&exec, "executive"), (&agency, "agency_contact")] {
        let (status, body) =
            app.post(&lead, &format!("{base}/team"), json!({ "user_id": who.id, "team_role": role })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    app.activate(&lead, engagement).await;
    app.clock.set("2026-02-02T10:00:00Z".parse().unwrap());
    let report = json!({
        "period_start": "2026-01-01",
        "values": [{ "kpi_id": kpi, "value": 2.8, "breakdown": { "instagram": 2.8 } }],
        "submit": true,
    });
    let (status, created) = app.post(&agency, &format!("{base}/reports"), report).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    World { app, lead, marta, exec, agency, engagement, kpi, report: id_of(&created) }
}

impl World {
    async fn value_status(&self) -> String {
        let (_, detail) = self.app.get(&self.lead, &format!("/api/v1/reports/{}", self.report)).await;
        detail["versions"][0]["values"][0]["status"].as_str().unwrap_or_else(|| panic!("no status in {detail}")).into()
    }

    async fn propose(&self, who: &Caller, body: Value) -> (StatusCode, Value) {
        self.app.post(who, &format!("/api/v1/engagements/{}/amendments", self.engagement), body).await
    }

    async fn decide(&self, who: &Caller, approval: &str, decision: &str) -> (StatusCode, Value) {
        let body = json!({ "stage": 0, "decision": decision, "comment": "Motivo" });
        self.app.post(who, &format!("/api/v1/approvals/{approval}/decisions"), body).await
    }
}

fn revised_kpi() -> Value {
    let mut k = kpi_body("Tasa de engagement");
    k["target"] = json!(2.5);
    k["warning_threshold"] = json!(2.3);
    k["critical_threshold"] = json!(2.0);
    k
}

#[tokio::test]
async fn an_amendment_changes_nothing_until_approved_then_everything_with_history() {
    let w = world().await;
    let app = &w.app;
    let base = format!("/api/v1/engagements/{}", w.engagement);
    assert_eq!(w.value_status().await, "amber");
    let amendment = json!({
        "reason": "Ampliación a TikTok y objetivo revisado",
        "terms": { "monthly_fee_minor": 720_000, "end_date": "2027-03-31" },
        "scope": { "add": [{ "function": "customer_care", "description": "Atención en TikTok" }] },
        "kpis": {
            "replace": [{ "id": w.kpi, "kpi": revised_kpi() }],
            "add": [kpi_body("Visualizaciones TikTok")],
        },
    });
    let (status, proposed) = w.propose(&w.lead, amendment).await;
    assert_eq!(status, StatusCode::CREATED, "{proposed}");
    assert_eq!(proposed["status"], "pending");
    let approval = proposed["approval_id"].as_str().unwrap().to_string();

    // Pending: the engagement, its scope, KPIs and judged values are as before.
    let (_, e) = app.get(&w.lead, &base).await;
    assert_eq!((e["monthly_fee_minor"].as_i64(), e["end_date"].as_str()), (Some(650_000), Some("2026-12-31")));
    assert_eq!(app.get(&w.lead, &format!("{base}/kpis")).await.1.as_array().unwrap().len(), 1);
    assert_eq!(app.get(&w.lead, &format!("{base}/scope")).await.1.as_array().unwrap().len(), 1);
    assert_eq!(w.value_status().await, "amber");

    // The default amendment workflow: a lead other than the author, then the executive.
    let (_, a) = app.get(&w.exec, &format!("/api/v1/approvals/{approval}")).await;
    assert_eq!((a["subject_kind"].as_str(), a["current_approvers"].clone()), (Some("amendment"), json!([w.marta.id])));
    assert_eq!(w.decide(&w.lead, &approval, "approve").await.0, StatusCode::FORBIDDEN, "the author never decides");
    assert_eq!(w.decide(&w.marta, &approval, "approve").await.0, StatusCode::OK);
    assert_eq!(app.get(&w.lead, &format!("{base}/kpis")).await.1.as_array().unwrap().len(), 1, "one stage to go");
    let body = json!({ "stage": 1, "decision": "approve" });
    let (status, done) = app.post(&w.exec, &format!("/api/v1/approvals/{approval}/decisions"), body).await;
    assert_eq!((status, done["status"].as_str()), (StatusCode::OK, Some("approved")), "{done}");

    // Applied: every change at once, the value judged again against the new target.
    let (_, e) = app.get(&w.lead, &base).await;
    assert_eq!((e["monthly_fee_minor"].as_i64(), e["end_date"].as_str()), (Some(720_000), Some("2027-03-31")));
    let (_, kpis) = app.get(&w.lead, &format!("{base}/kpis")).await;
    let names: Vec<&str> = kpis.as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Tasa de engagement", "Visualizaciones TikTok"]);
    assert_eq!(kpis[0]["target"], json!(2.5));
    assert_eq!(app.get(&w.lead, &format!("{base}/scope")).await.1.as_array().unwrap().len(), 2);
    assert_eq!(w.value_status().await, "green");

    // The history keeps the proposal and what it changed, before and after.
    let (status, history) = app.get(&w.exec, &format!("{base}/amendments")).await;
    assert_eq!(status, StatusCode::OK);
    let applied = &history[0];
    assert_eq!(applied["status"], "applied");
    assert_eq!(applied["changes"]["terms"]["monthly_fee_minor"], json!(720_000));
    assert_eq!(applied["applied"]["terms"]["before"]["monthly_fee_minor"], json!(650_000));
    assert_eq!(applied["applied"]["terms"]["after"]["monthly_fee_minor"], json!(720_000));
    assert_eq!(applied["applied"]["kpis"]["replaced"][0]["before"]["target"], json!(3.0));
    assert_eq!(applied["applied"]["kpis"]["replaced"][0]["after"]["target"], json!(2.5));
    assert_eq!(applied["applied"]["values_rejudged"], json!(1));
    let (_, audit) =
        app.get(&w.lead, &format!("/api/v1/audit?object_type=amendment&object_id={}", id_of(applied))).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["amendment.apply", "amendment.propose"]);
    // The agency does not read the company's contract history.
    assert_eq!(app.get(&w.agency, &format!("{base}/amendments")).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_amendments_are_refused_naming_the_field_and_change_nothing() {
    let w = world().await;
    let app = &w.app;
    let base = format!("/api/v1/engagements/{}", w.engagement);
    let mut taken = kpi_body("Tasa de Engagement");
    taken["unit"] = json!("count");
    let mut nameless = kpi_body("x");
    nameless["name"] = json!(" ");
    for who in [&w.lead, &w.exec, &w.agency] {
        app.get(who, "/api/v1/me").await; // tokens record their last use: use each before the snapshot
    }
    let before = app.snapshot().await;
    let cases = [
        (json!({ "reason": "Nada" }), StatusCode::UNPROCESSABLE_ENTITY, "terms"),
        (json!({ "reason": " ", "terms": { "monthly_fee_minor": 1 } }), StatusCode::UNPROCESSABLE_ENTITY, "reason"),
        (
            json!({ "reason": "Tarifa", "terms": { "monthly_fee_minor": -5 } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "terms.monthly_fee_minor",
        ),
        (
            json!({ "reason": "Fin", "terms": { "end_date": "2025-06-30" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "terms.end_date",
        ),
        (
            json!({ "reason": "KPI", "kpis": { "add": [nameless] } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "kpis.add[0].name",
        ),
        (
            json!({ "reason": "KPI", "kpis": { "replace": [{ "id": Uuid::now_v7(), "kpi": revised_kpi() }] } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "kpis.replace[0].id",
        ),
        (json!({ "reason": "KPI", "kpis": { "add": [taken] } }), StatusCode::CONFLICT, "kpis.add[0].name"),
        (json!({ "reason": "KPI", "kpis": { "remove": [w.kpi] } }), StatusCode::CONFLICT, "kpis.remove[0]"),
        (
            json!({ "reason": "Alcance", "scope": { "remove": [Uuid::now_v7()] } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "scope.remove[0]",
        ),
        (
            json!({ "reason": "Tarifa", "terms": { "cadence": "weekly" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "terms.cadence",
        ),
    ];
    for (body, status, field) in cases {
        let (got, problem) = w.propose(&w.lead, body.clone()).await;
        assert_eq!(got, status, "{body}: {problem}");
        let fields: Vec<&str> =
            problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&field), "{body}: expected {field} in {problem}");
    }
    let valid = json!({ "reason": "Tarifa", "terms": { "monthly_fee_minor": 700_000 } });
    assert_eq!(w.propose(&w.agency, valid.clone()).await.0, StatusCode::FORBIDDEN);
    assert_eq!(w.propose(&w.exec, valid.clone()).await.0, StatusCode::FORBIDDEN);
    // Terms that cut the reporting periods never change once active.
    let (status, problem) =
        app.call(Some(&w.lead), Method::PATCH, &base, Some(json!({ "start_date": "2026-02-01" }))).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (StatusCode::CONFLICT, Some("not_amendable")));
    assert_eq!(app.snapshot().await, before, "refused amendments change nothing");

    // A draft engagement changes directly, not by amendment.
    let vendor = app.get(&w.lead, &base).await.1["vendor_id"].as_str().unwrap().parse().unwrap();
    let draft = app.engagement(&w.lead, vendor, "internal", Some(w.lead.id)).await;
    let (status, problem) = app.post(&w.lead, &format!("/api/v1/engagements/{draft}/amendments"), valid).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (StatusCode::CONFLICT, Some("not_active")));
}

#[tokio::test]
async fn amendments_sent_back_are_revised_withdrawn_or_rejected_without_applying() {
    let w = world().await;
    let app = &w.app;
    let base = format!("/api/v1/engagements/{}", w.engagement);
    let (_, first) = w.propose(&w.lead, json!({ "reason": "Tarifa", "terms": { "monthly_fee_minor": 700_000 } })).await;
    let path = format!("/api/v1/amendments/{}", id_of(&first));
    let approval = first["approval_id"].as_str().unwrap().to_string();
    let (status, _) = w.decide(&w.marta, &approval, "request_changes").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get(&w.lead, &path).await.1["status"], "changes_requested");

    let revised = json!({ "reason": "Tarifa revisada", "terms": { "monthly_fee_minor": 680_000 } });
    let (status, again) = app.call(Some(&w.lead), Method::PUT, &path, Some(revised)).await;
    assert_eq!((status, again["status"].as_str()), (StatusCode::OK, Some("pending")), "{again}");
    let newer = again["approval_id"].as_str().unwrap().to_string();
    assert_ne!(newer, approval, "a revision is decided afresh");
    let (status, rejected) = w.decide(&w.marta, &newer, "reject").await;
    assert_eq!((status, rejected["status"].as_str()), (StatusCode::OK, Some("rejected")));
    assert_eq!(app.get(&w.lead, &path).await.1["status"], "rejected");
    let (status, _) = app.post(&w.lead, &format!("{path}/withdraw"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a rejected amendment is closed");

    let (_, second) = w.propose(&w.lead, json!({ "reason": "Prórroga", "terms": { "end_date": "2027-06-30" } })).await;
    let second_path = format!("/api/v1/amendments/{}", id_of(&second));
    let (status, withdrawn) = app.post(&w.lead, &format!("{second_path}/withdraw"), json!({})).await;
    assert_eq!((status, withdrawn["status"].as_str()), (StatusCode::OK, Some("withdrawn")));
    let approval = second["approval_id"].as_str().unwrap();
    assert_eq!(app.get(&w.lead, &format!("/api/v1/approvals/{approval}")).await.1["status"], "withdrawn");
    assert_eq!(w.decide(&w.marta, approval, "approve").await.0, StatusCode::CONFLICT);

    let (_, e) = app.get(&w.lead, &base).await;
    assert_eq!((e["monthly_fee_minor"].as_i64(), e["end_date"].as_str()), (Some(650_000), Some("2026-12-31")));
    let (_, history) = app.get(&w.lead, &format!("{base}/amendments")).await;
    let statuses: Vec<&str> = history.as_array().unwrap().iter().map(|a| a["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["withdrawn", "rejected"]);
}

#[tokio::test]
async fn reports_are_accepted_through_their_approval() {
    let w = world().await;
    let app = &w.app;
    // The submission opened an acceptance approval waiting on the engagement's leads.
    let (_, waiting) = app.get(&w.marta, "/api/v1/approvals?view=waiting_on_me").await;
    let approval = waiting
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["subject_kind"] == "report" && a["subject_id"] == json!(w.report))
        .unwrap_or_else(|| panic!("no report approval in {waiting}"))
        .clone();
    assert_eq!(approval["author_id"], json!(w.agency.id));
    assert_eq!(w.decide(&w.exec, approval["id"].as_str().unwrap(), "approve").await.0, StatusCode::FORBIDDEN);

    // Sent back through the queue, corrected, resubmitted, accepted through the review screen.
    let (status, _) = w.decide(&w.marta, approval["id"].as_str().unwrap(), "request_changes").await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/api/v1/reports/{}", w.report);
    let (_, report) = app.get(&w.agency, &path).await;
    assert_eq!(report["status"], "changes_requested");
    assert_eq!(report["reviews"][0]["comment"], "Motivo");
    let fixed = json!({ "narrative": "Corregido", "values": [{ "kpi_id": w.kpi, "value": 2.9, "breakdown": { "instagram": 2.9 } }] });
    assert_eq!(app.call(Some(&w.agency), Method::PUT, &path, Some(fixed)).await.0, StatusCode::OK);
    assert_eq!(app.post(&w.agency, &format!("{path}/submit"), json!({})).await.0, StatusCode::OK);
    let (status, accepted) = app.post(&w.lead, &format!("{path}/review"), json!({ "decision": "accept" })).await;
    assert_eq!((status, accepted["status"].as_str()), (StatusCode::OK, Some("accepted")), "{accepted}");
    let (_, all) = app.get(&w.lead, "/api/v1/approvals?view=all").await;
    let reports: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["subject_id"] == json!(w.report))
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(reports, ["approved", "changes_requested"], "newest first");
    // Accepted is final: no decision reopens it.
    let (status, _) = app.post(&w.marta, &format!("{path}/review"), json!({ "decision": "accept" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_activation_sent_back_returns_the_engagement_to_draft() {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let lead = app.actor("javier@brisa.example", Role::Lead, None).await;
    let marta = app.actor("marta@brisa.example", Role::Lead, None).await;
    let id = app.engagement(&lead, vendor, "internal", Some(lead.id)).await;
    let base = format!("/api/v1/engagements/{id}");
    app.post(&lead, &format!("{base}/scope"), scope_body()).await;
    app.post(&lead, &format!("{base}/kpis"), kpi_body("Alcance")).await;
    app.post(&lead, &format!("{base}/team"), json!({ "user_id": marta.id, "team_role": "lead" })).await;
    let (_, submitted) = app.post(&lead, &format!("{base}/transitions"), json!({ "action": "submit" })).await;
    let approval = submitted["approval_id"].as_str().unwrap().to_string();
    let body = json!({ "stage": 0, "decision": "request_changes", "comment": "Falta el plan de crisis" });
    let (status, _) = app.post(&marta, &format!("/api/v1/approvals/{approval}/decisions"), body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get(&lead, &base).await.1["status"], "draft");

    // Withdrawing a second submission closes its approval as withdrawn.
    let (_, again) = app.post(&lead, &format!("{base}/transitions"), json!({ "action": "submit" })).await;
    let (status, _) = app.post(&lead, &format!("{base}/transitions"), json!({ "action": "withdraw" })).await;
    assert_eq!(status, StatusCode::OK);
    let second = again["approval_id"].as_str().unwrap();
    assert_eq!(app.get(&lead, &format!("/api/v1/approvals/{second}")).await.1["status"], "withdrawn");
    assert_eq!(app.get(&lead, &base).await.1["status"], "draft");
}
