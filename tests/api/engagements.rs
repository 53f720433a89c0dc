//! Engagements end to end: scope, KPIs, team, governance, status machine, visibility.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::domain::enums::Role;

use crate::helpers::{Caller, TestApp, id_of, kpi_body, scope_body};

struct World {
    app: TestApp,
    admin: Caller,
    lead: Caller,
    exec: Caller,
    agency: Caller,
    vendor: Uuid,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let lead = app.actor("javier@brisa.example", Role::Lead, None).await;
    let exec = app.actor("elena@brisa.example", Role::Executive, None).await;
    let agency = app.actor("lucia@marea.example", Role::Vendor, Some(vendor)).await;
    World { app, admin, lead, exec, agency, vendor }
}

async fn transition(app: &TestApp, who: &Caller, id: Uuid, action: &str) -> (StatusCode, Value) {
    app.post(who, &format!("/api/v1/engagements/{id}/transitions"), json!({ "action": action })).await
}

fn codes(body: &Value, key: &str) -> Vec<String> {
    body[key].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn an_engagement_from_draft_to_end() {
    let w = world().await;
    let app = &w.app;
    let id = app.engagement(&w.lead, w.vendor, "internal", Some(w.lead.id)).await;
    let base = format!("/api/v1/engagements/{id}");
    assert_eq!(app.post(&w.lead, &format!("{base}/scope"), scope_body()).await.0, StatusCode::CREATED);
    for name in ["Tasa de engagement", "Alcance"] {
        assert_eq!(app.post(&w.lead, &format!("{base}/kpis"), kpi_body(name)).await.0, StatusCode::CREATED);
    }
    for (user, role) in [(w.lead.id, "lead"), (w.exec.id, "executive"), (w.agency.id, "agency_contact")] {
        let (status, body) =
            app.post(&w.lead, &format!("{base}/team"), json!({ "user_id": user, "team_role": role })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, governance) = app.get(&w.lead, &format!("{base}/governance")).await;
    assert_eq!(governance, json!({ "blockers": [], "warnings": [] }));

    let (status, body) = transition(app, &w.lead, id, "submit").await;
    assert_eq!((status, body["engagement"]["status"].as_str()), (StatusCode::OK, Some("pending_approval")));
    let approval_id: Uuid = body["approval_id"].as_str().unwrap().parse().unwrap();
    // Activation is the approval's to apply, never a request.
    let (status, body) = transition(app, &w.lead, id, "activate").await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (StatusCode::CONFLICT, Some("approval_required")));
    // The lead who submitted cannot approve: the stage falls to an admin, then the executive.
    let (_, approval) = app.get(&w.admin, &format!("/api/v1/approvals/{approval_id}")).await;
    assert_eq!(approval["subject_kind"], "activation");
    assert_eq!(approval["current_approvers"], json!([w.admin.id]), "{approval}");
    let (status, _) = app
        .post(
            &w.lead,
            &format!("/api/v1/approvals/{approval_id}/decisions"),
            json!({ "stage": 0, "decision": "approve" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the author never approves");
    let ended = app.approve_all(approval_id).await;
    let deciders: Vec<&str> =
        ended["decisions"].as_array().unwrap().iter().map(|d| d["decider_id"].as_str().unwrap()).collect();
    assert_eq!(deciders, [w.admin.id.to_string(), w.exec.id.to_string()]);
    let (_, body) = app.get(&w.lead, &base).await;
    assert_eq!(body["status"], "active");

    // Contract terms, scope and KPIs of an active engagement change only by amendment.
    let before = app.snapshot().await;
    let (status, body) = app.call(Some(&w.lead), Method::PATCH, &base, Some(json!({ "monthly_fee_minor": 1 }))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        (body["errors"][0]["field"].as_str(), body["errors"][0]["code"].as_str()),
        (Some("monthly_fee_minor"), Some("amendment_required"))
    );
    assert_eq!(app.post(&w.lead, &format!("{base}/kpis"), kpi_body("Otro")).await.0, StatusCode::CONFLICT);
    assert_eq!(app.post(&w.lead, &format!("{base}/scope"), scope_body()).await.0, StatusCode::CONFLICT);
    let (status, body) = app.call(Some(&w.lead), Method::PATCH, &base, Some(json!({ "owner_id": null }))).await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("owner_required"))
    );
    let (status, body) =
        app.call(Some(&w.lead), Method::PATCH, &base, Some(json!({ "timezone": "America/Bogota" }))).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (StatusCode::CONFLICT, Some("timezone")));
    assert_eq!(app.snapshot().await, before);
    let (status, body) =
        app.call(Some(&w.lead), Method::PATCH, &base, Some(json!({ "title": "Comunidad 2027" }))).await;
    assert_eq!((status, body["title"].as_str()), (StatusCode::OK, Some("Comunidad 2027")));

    for (action, expected) in [("suspend", "suspended"), ("resume", "active"), ("end", "ended")] {
        let (status, body) = transition(app, &w.lead, id, action).await;
        assert_eq!((status, body["engagement"]["status"].as_str()), (StatusCode::OK, Some(expected)));
    }
    let (status, body) = transition(app, &w.lead, id, "submit").await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (StatusCode::CONFLICT, Some("invalid_transition")));
    assert_eq!(
        app.call(Some(&w.lead), Method::PATCH, &base, Some(json!({ "title": "x" }))).await.0,
        StatusCode::CONFLICT
    );
    let seat = format!("{base}/team/{}", w.exec.id);
    assert_eq!(
        app.call(Some(&w.lead), Method::DELETE, &seat, None).await.0,
        StatusCode::CONFLICT,
        "an ended team is record"
    );
}

#[tokio::test]
async fn activation_requires_an_owner_scope_and_kpis() {
    let w = world().await;
    let app = &w.app;
    let id = app.engagement(&w.lead, w.vendor, "internal", None).await;
    let before = app.snapshot().await;
    let (status, body) = transition(app, &w.lead, id, "submit").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&body, "errors"), ["owner_required", "scope_required", "kpi_required"]);
    assert_eq!(app.snapshot().await, before, "a refused submission changes nothing");

    // The owner must be a lead or an admin.
    let base = format!("/api/v1/engagements/{id}");
    let (status, body) = app.call(Some(&w.lead), Method::PATCH, &base, Some(json!({ "owner_id": w.exec.id }))).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("owner_id")));
    assert_eq!(
        app.call(Some(&w.lead), Method::PATCH, &base, Some(json!({ "owner_id": w.lead.id }))).await.0,
        StatusCode::OK
    );
    app.post(&w.lead, &format!("{base}/scope"), scope_body()).await;
    app.post(&w.lead, &format!("{base}/kpis"), kpi_body("Alcance")).await;

    // No executive on the team, and nobody in the team roles the approval stages ask for,
    // only warn.
    let (status, body) = transition(app, &w.lead, id, "submit").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(codes(&body, "warnings"), ["no_executive", "stage_role_empty", "stage_role_empty"]);
    assert_eq!(body["warnings"][1]["params"]["team_role"], "lead");
    app.approve_all(body["approval_id"].as_str().unwrap().parse().unwrap()).await;
    let (_, audit) = app.get(&w.admin, &format!("/api/v1/audit?object_type=engagement&object_id={id}")).await;
    let activation = &audit["items"][0];
    assert_eq!(activation["action"], "engagement.activate");
    assert_eq!(activation["after"]["warnings"][0]["code"], "no_executive");
    // The submission records the warnings it raised, as kinds and parameters, no sentence.
    let submission = audit["items"].as_array().unwrap().iter().find(|a| a["action"] == "engagement.submit").unwrap();
    assert_eq!(codes(&submission["after"], "warnings"), ["no_executive", "stage_role_empty", "stage_role_empty"]);
    assert_eq!(submission["after"]["warnings"][2]["params"]["team_role"], "executive");
    assert!(submission["after"]["warnings"][0].get("message").is_none(), "{submission}");
}

#[tokio::test]
async fn implausible_targets_are_flagged_not_refused() {
    let w = world().await;
    let app = &w.app;
    let id = app.engagement(&w.lead, w.vendor, "internal", Some(w.lead.id)).await;
    let mut magic = kpi_body("Seguidores");
    magic["unit"] = json!("count");
    magic["baseline"] = json!(10_000);
    magic["target"] = json!(1_000_000);
    magic["warning_threshold"] = json!(900_000);
    magic["critical_threshold"] = json!(500_000);
    let (status, kpi) = app.post(&w.lead, &format!("/api/v1/engagements/{id}/kpis"), magic).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(kpi["realism"]["issue"], "implausible_growth");
    assert_eq!(kpi["realism"]["implied_factor"], 100.0);
    let (_, plausible) = app.post(&w.lead, &format!("/api/v1/engagements/{id}/kpis"), kpi_body("Engagement")).await;
    assert!(plausible["realism"].is_null());
    let (_, governance) = app.get(&w.lead, &format!("/api/v1/engagements/{id}/governance")).await;
    assert!(codes(&governance, "warnings").contains(&"implausible_target".to_string()));
    assert_eq!(
        governance["warnings"].as_array().unwrap().iter().find(|w| w["code"] == "implausible_target").unwrap()["field"],
        "kpis[0].target"
    );
}

#[tokio::test]
async fn every_kpi_names_its_objective() {
    let w = world().await;
    let id = w.app.engagement(&w.lead, w.vendor, "internal", None).await;
    let path = format!("/api/v1/engagements/{id}/kpis");
    for objective in [json!(null), json!("   ")] {
        let mut body = kpi_body("Alcance");
        match objective {
            Value::Null => {
                body.as_object_mut().unwrap().remove("objective");
            }
            blank => body["objective"] = blank,
        }
        let (status, problem) = w.app.post(&w.lead, &path, body).await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("objective"))
        );
    }
}

#[tokio::test]
async fn visibility_follows_vendor_and_confidentiality() {
    let w = world().await;
    let app = &w.app;
    let other_vendor = app.vendor(&w.admin, "Otra Agencia").await;
    let internal = app.engagement(&w.lead, w.vendor, "internal", None).await;
    let confidential = app.engagement(&w.lead, w.vendor, "confidential", None).await;
    let foreign = app.engagement(&w.lead, other_vendor, "public", None).await;
    let secret = app.engagement(&w.admin, w.vendor, "secret", Some(w.admin.id)).await;
    let listed = |body: Value| -> Vec<Uuid> { body["items"].as_array().unwrap().iter().map(id_of).collect() };

    // The agency sees its own vendor's open engagements, without the company's budget.
    let (_, list) = app.get(&w.agency, "/api/v1/engagements").await;
    assert_eq!(listed(list), [internal]);
    let (status, e) = app.get(&w.agency, &format!("/api/v1/engagements/{internal}")).await;
    assert_eq!((status, e["brief"]["budget_minor"].clone()), (StatusCode::OK, Value::Null));
    for hidden in [confidential, foreign, secret] {
        assert_eq!(app.get(&w.agency, &format!("/api/v1/engagements/{hidden}")).await.0, StatusCode::NOT_FOUND);
    }
    // The company's notes about the agency stay with the company.
    let notes = json!({ "notes": "Revisar tarifas en la renovación" });
    app.call(Some(&w.lead), Method::PATCH, &format!("/api/v1/vendors/{}", w.vendor), Some(notes)).await;
    let (_, own_vendor) = app.get(&w.agency, &format!("/api/v1/vendors/{}", w.vendor)).await;
    assert_eq!(own_vendor["notes"], Value::Null);
    let (_, vendors) = app.get(&w.agency, "/api/v1/vendors").await;
    assert_eq!(vendors["items"][0]["notes"], Value::Null);
    let (_, for_lead) = app.get(&w.lead, &format!("/api/v1/vendors/{}", w.vendor)).await;
    assert_eq!(for_lead["notes"], "Revisar tarifas en la renovación");

    // On the team, the agency contact sees the confidential one too.
    let team = json!({ "user_id": w.agency.id, "team_role": "agency_contact" });
    assert_eq!(
        app.post(&w.lead, &format!("/api/v1/engagements/{confidential}/team"), team).await.0,
        StatusCode::CREATED
    );
    assert_eq!(app.get(&w.agency, &format!("/api/v1/engagements/{confidential}")).await.0, StatusCode::OK);

    // Leads see everything but secrets they are not part of; executives only their teams'.
    let (_, list) = app.get(&w.lead, "/api/v1/engagements").await;
    assert_eq!(listed(list), [internal, confidential, foreign]);
    let (status, e) = app.get(&w.lead, &format!("/api/v1/engagements/{internal}")).await;
    assert_eq!((status, e["brief"]["budget_minor"].as_i64()), (StatusCode::OK, Some(700_000)));
    assert_eq!(app.get(&w.lead, &format!("/api/v1/engagements/{secret}")).await.0, StatusCode::NOT_FOUND);
    let (_, list) = app.get(&w.exec, "/api/v1/engagements").await;
    assert!(listed(list).is_empty());
    for (who, role) in [(&w.lead, "lead"), (&w.exec, "executive")] {
        let body = json!({ "user_id": who.id, "team_role": role });
        assert_eq!(
            app.post(&w.admin, &format!("/api/v1/engagements/{secret}/team"), body).await.0,
            StatusCode::CREATED
        );
    }
    assert_eq!(app.get(&w.lead, &format!("/api/v1/engagements/{secret}")).await.0, StatusCode::OK);
    let (_, list) = app.get(&w.exec, "/api/v1/engagements").await;
    assert_eq!(listed(list), [secret]);
    let (_, list) = app.get(&w.admin, &format!("/api/v1/engagements?vendor_id={other_vendor}")).await;
    assert_eq!(listed(list), [foreign]);
}

#[tokio::test]
async fn team_seats_follow_the_rules() {
    let w = world().await;
    let app = &w.app;
    let other_vendor = app.vendor(&w.admin, "Otra Agencia").await;
    let outsider = app.actor("pablo@otra.example", Role::Vendor, Some(other_vendor)).await;
    let id = app.engagement(&w.lead, w.vendor, "internal", None).await;
    let path = format!("/api/v1/engagements/{id}/team");
    let before = app.snapshot().await;
    for (user, role, field) in [
        (outsider.id, "agency_contact", "user_id"),
        (w.agency.id, "marketing", "team_role"),
        (w.lead.id, "executive", "team_role"),
        (w.lead.id, "agency_contact", "team_role"),
        (Uuid::now_v7(), "lead", "user_id"),
    ] {
        let (status, body) = app.post(&w.lead, &path, json!({ "user_id": user, "team_role": role })).await;
        assert_eq!(
            (status, body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{role}"
        );
    }
    assert_eq!(app.snapshot().await, before);
    let seat = json!({ "user_id": w.lead.id, "team_role": "lead" });
    assert_eq!(app.post(&w.lead, &path, seat.clone()).await.0, StatusCode::CREATED);
    let (status, body) = app.post(&w.lead, &path, seat).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (StatusCode::CONFLICT, Some("user_id")));
    let (_, team) = app.get(&w.agency, &path).await;
    assert_eq!(team.as_array().unwrap().len(), 1);
    assert_eq!(
        app.call(Some(&w.lead), Method::DELETE, &format!("{path}/{}", w.lead.id), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call(Some(&w.lead), Method::DELETE, &format!("{path}/{}", w.lead.id), None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn kpis_and_scope_can_be_replaced_and_removed_while_draft() {
    let w = world().await;
    let app = &w.app;
    let id = app.engagement(&w.lead, w.vendor, "internal", None).await;
    let (_, kpi) = app.post(&w.lead, &format!("/api/v1/engagements/{id}/kpis"), kpi_body("Alcance")).await;
    let kpi_path = format!("/api/v1/engagements/{id}/kpis/{}", id_of(&kpi));
    let mut changed = kpi_body("Alcance total");
    changed["target"] = json!(3.5);
    let (status, body) = app.call(Some(&w.lead), Method::PUT, &kpi_path, Some(changed)).await;
    assert_eq!(
        (status, body["name"].as_str(), body["target"].as_f64()),
        (StatusCode::OK, Some("Alcance total"), Some(3.5))
    );
    let (_, dup) = app.post(&w.lead, &format!("/api/v1/engagements/{id}/kpis"), kpi_body("ALCANCE  total")).await;
    assert_eq!(dup["errors"][0]["code"], "duplicate");
    assert_eq!(app.call(Some(&w.lead), Method::DELETE, &kpi_path, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&w.lead, &kpi_path).await.0, StatusCode::NOT_FOUND);

    let (_, item) = app.post(&w.lead, &format!("/api/v1/engagements/{id}/scope"), scope_body()).await;
    let item_path = format!("/api/v1/engagements/{id}/scope/{}", id_of(&item));
    let mut changed = scope_body();
    changed["function"] = json!("customer_care");
    let (status, body) = app.call(Some(&w.lead), Method::PUT, &item_path, Some(changed)).await;
    assert_eq!((status, body["function"].as_str()), (StatusCode::OK, Some("customer_care")));
    assert_eq!(app.call(Some(&w.lead), Method::DELETE, &item_path, None).await.0, StatusCode::NO_CONTENT);
    let (_, scope) = app.get(&w.lead, &format!("/api/v1/engagements/{id}/scope")).await;
    assert_eq!(scope, json!([]));
}

#[tokio::test]
async fn concurrent_submissions_give_exactly_one_transition() {
    let w = world().await;
    let app = &w.app;
    let id = app.engagement(&w.lead, w.vendor, "internal", Some(w.lead.id)).await;
    app.post(&w.lead, &format!("/api/v1/engagements/{id}/scope"), scope_body()).await;
    app.post(&w.lead, &format!("/api/v1/engagements/{id}/kpis"), kpi_body("Alcance")).await;
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let request = reqwest::Client::new()
            .post(app.url(&format!("/api/v1/engagements/{id}/transitions")))
            .bearer_auth(&w.lead.token)
            .json(&json!({ "action": "submit" }));
        attempts.spawn(async move { request.send().await.unwrap().status() });
    }
    let statuses = attempts.join_all().await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let conflicts = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    assert_eq!((ok, conflicts), (1, 5), "{statuses:?}");
    let (_, audit) = app.get(&w.admin, &format!("/api/v1/audit?object_id={id}&object_type=engagement")).await;
    let submissions = audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "engagement.submit").count();
    assert_eq!(submissions, 1);
    let (_, queue) = app.get(&w.admin, &format!("/api/v1/approvals?engagement_id={id}")).await;
    assert_eq!(queue.as_array().unwrap().len(), 1, "one activation approval: {queue}");
}

#[tokio::test]
async fn lists_page_with_cursors() {
    let w = world().await;
    for i in 0..4 {
        w.app.vendor(&w.admin, &format!("Agencia {i}")).await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/vendors?limit=2".to_string();
    loop {
        let (status, page) = w.app.get(&w.lead, &path).await;
        assert_eq!(status, StatusCode::OK);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(id_of));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/vendors?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    seen.dedup();
    assert_eq!(seen.len(), 5);
}

#[tokio::test]
async fn periods_follow_the_contract_calendar() {
    let w = world().await;
    let app = &w.app;
    let mut body = crate::helpers::engagement_body(w.vendor, "internal", None);
    body["start_date"] = json!("2026-01-15");
    body["end_date"] = json!("2026-04-10");
    body["timezone"] = json!("America/Bogota");
    let (_, e) = app.post(&w.lead, "/api/v1/engagements", body).await;
    let id = id_of(&e);
    app.clock.set("2026-02-20T12:00:00Z".parse().unwrap());
    let (status, periods) = app.get(&w.agency, &format!("/api/v1/engagements/{id}/periods")).await;
    assert_eq!(status, StatusCode::OK);
    let spans: Vec<(&str, &str, &str)> = periods
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["start_date"].as_str().unwrap(), p["end_date"].as_str().unwrap(), p["due_date"].as_str().unwrap()))
        .collect();
    assert_eq!(
        spans,
        [
            ("2026-01-15", "2026-01-31", "2026-02-05"),
            ("2026-02-01", "2026-02-28", "2026-03-05"),
            // The ten days of April (less than half the month) join March.
            ("2026-03-01", "2026-04-10", "2026-04-15"),
        ]
    );
    assert_eq!(periods[0]["starts_at"], "2026-01-15T05:00:00Z", "local midnight in Bogotá");
    // The due date is a calendar date; no instant that reads as the next day is given.
    assert!(periods[0].get("due_at").is_none(), "{}", periods[0]);
    let flags: Vec<(bool, bool)> = periods
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["started"].as_bool().unwrap(), p["due_passed"].as_bool().unwrap()))
        .collect();
    assert_eq!(flags, [(true, true), (true, false), (false, false)]);
}
