//! The audit log records every write with actor, before and after, and cannot be rewritten.

use reqwest::{Method, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::json;
use veedor::domain::enums::Role;

use crate::helpers::{TestApp, id_of};

#[tokio::test]
async fn writes_are_recorded_with_actor_before_and_after() {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let lead = app.actor("javier@brisa.example", Role::Lead, None).await;
    let vendor = app.vendor(&lead, "Marea Digital").await;
    let patch = json!({ "website": "https://marea.example" });
    assert_eq!(
        app.call(Some(&lead), Method::PATCH, &format!("/api/v1/vendors/{vendor}"), Some(patch)).await.0,
        StatusCode::OK
    );

    let (status, page) = app.get(&admin, &format!("/api/v1/audit?object_type=vendor&object_id={vendor}")).await;
    assert_eq!(status, StatusCode::OK);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let (update, create) = (&items[0], &items[1]);
    assert_eq!((update["action"].as_str(), create["action"].as_str()), (Some("vendor.update"), Some("vendor.create")));
    assert_eq!(update["actor_id"], json!(lead.id));
    assert_eq!(update["actor_label"], "javier@brisa.example");
    assert_eq!(update["before"]["website"], json!(null));
    assert_eq!(update["after"]["website"], "https://marea.example");
    assert_eq!(create["before"], json!(null));
    assert_eq!(create["after"]["name"], "Marea Digital");

    let (_, by_actor) = app.get(&admin, &format!("/api/v1/audit?actor_id={}", lead.id)).await;
    assert!(by_actor["items"].as_array().unwrap().iter().all(|e| e["actor_id"] == json!(lead.id)));
    assert_eq!(by_actor["items"].as_array().unwrap().len(), 2, "vendor create and update");
    let (_, first) = app.get(&admin, "/api/v1/audit?limit=1").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = app.get(&admin, &format!("/api/v1/audit?limit=1&cursor={cursor}")).await;
    assert!(id_of(&second["items"][0]) < id_of(&first["items"][0]), "newest first");
}

#[tokio::test]
async fn only_admins_and_leads_read_it_and_leads_miss_foreign_secrets() {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let lead = app.actor("javier@brisa.example", Role::Lead, None).await;
    let exec = app.actor("elena@brisa.example", Role::Executive, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let agency = app.actor("lucia@marea.example", Role::Vendor, Some(vendor)).await;
    let secret = app.engagement(&admin, vendor, "secret", Some(admin.id)).await;
    let open = app.engagement(&lead, vendor, "internal", None).await;
    for who in [&exec, &agency] {
        assert_eq!(app.get(who, "/api/v1/audit").await.0, StatusCode::FORBIDDEN);
    }
    let engagements_seen = |page: serde_json::Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().filter_map(|e| e["engagement_id"].as_str().map(String::from)).collect()
    };
    let (_, all) = app.get(&admin, "/api/v1/audit?object_type=engagement").await;
    assert_eq!(engagements_seen(all), [open.to_string(), secret.to_string()]);
    let (_, for_lead) = app.get(&lead, "/api/v1/audit?object_type=engagement").await;
    assert_eq!(engagements_seen(for_lead), [open.to_string()]);
    let seat = json!({ "user_id": lead.id, "team_role": "lead" });
    app.post(&admin, &format!("/api/v1/engagements/{secret}/team"), seat).await;
    let (_, for_lead) = app.get(&lead, "/api/v1/audit?object_type=engagement").await;
    assert_eq!(engagements_seen(for_lead), [open.to_string(), secret.to_string()]);
}

#[tokio::test]
async fn the_database_refuses_to_rewrite_history() {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    app.vendor(&admin, "Marea Digital").await;
    let db = &app.state.db;
    assert!(db.execute_unprepared("UPDATE audit_events SET actor_label = 'someone else'").await.is_err());
    assert!(db.execute_unprepared("DELETE FROM audit_events").await.is_err());
    let (_, page) = app.get(&admin, "/api/v1/audit").await;
    assert!(page["items"].as_array().unwrap().iter().all(|e| e["actor_label"] != "someone else"));
    assert!(!page["items"].as_array().unwrap().is_empty());
}
