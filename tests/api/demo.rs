//! The demo data set loads through the same code paths as the API, and only once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

#[tokio::test]
async fn the_demo_loads_once_and_can_be_used() {
    let app = TestApp::spawn().await;
    let now = app.clock_now();
    let first = veedor::demo::load(&app.state.db, now, &app.state.rules).await.unwrap();
    assert!(first.contains("lead@brisa.example"), "{first}");
    let snapshot = app.snapshot().await;
    let again = veedor::demo::load(&app.state.db, now, &app.state.rules).await.unwrap();
    assert!(again.contains("already loaded"));
    assert_eq!(app.snapshot().await, snapshot, "loading twice changes nothing");

    let login = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": "lead@brisa.example", "password": "veedor-demo-lead" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let lead = veedor::app::users::find_by_email(&app.state.db, "lead@brisa.example").await.unwrap().unwrap();
    let caller = crate::helpers::Caller { id: lead.id, token: app.token_for(lead.id).await };
    let (_, list) = app.get(&caller, "/api/v1/engagements").await;
    let items = list["items"].as_array().unwrap();
    let statuses: Vec<&str> = items.iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["active", "pending_approval"]);
    let mut kpis = 0;
    for e in items {
        let (_, list) = app.get(&caller, &format!("/api/v1/engagements/{}/kpis", e["id"].as_str().unwrap())).await;
        kpis += list.as_array().unwrap().len();
        assert!(list.as_array().unwrap().iter().all(|k| !k["objective"].as_str().unwrap().is_empty()));
    }
    assert_eq!(kpis, 11);
    // Eleven months of reports: one late, the last sent back, first-response time gone red.
    let community = items[0]["id"].as_str().unwrap();
    let (_, dash) = app.get(&caller, &format!("/api/v1/engagements/{community}/dashboard")).await;
    let periods = dash["periods"].as_array().unwrap();
    let reported: Vec<&Value> = periods.iter().filter(|p| p["report_id"].is_string()).collect();
    assert_eq!(reported.len(), 11, "{dash}");
    assert_eq!(reported.iter().filter(|p| p["late"] == true).count(), 1);
    assert_eq!(reported[10]["report_status"], "changes_requested");
    assert!(reported[..10].iter().all(|p| p["report_status"] == "accepted"));
    let statuses: Vec<&str> =
        dash["kpis"].as_array().unwrap().iter().map(|k| k["latest_status"].as_str().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "red").count(), 1, "{statuses:?}");
    assert_eq!(dash["kpis"][2]["latest_status"], "red");
    assert_eq!(dash["kpis"][2]["trend"], "worsening");
    assert_eq!(dash["signals"].as_array().unwrap().len(), 3);
    assert_eq!(crate::helpers::assert_portfolio_matches_dashboards(&app, &caller).await, 2);
    let crisis = items[1]["id"].as_str().unwrap();
    let (_, governance) = app.get(&caller, &format!("/api/v1/engagements/{crisis}/governance")).await;
    let warnings: Vec<&str> =
        governance["warnings"].as_array().unwrap().iter().map(|w| w["code"].as_str().unwrap()).collect();
    assert!(warnings.contains(&"no_executive") && warnings.contains(&"implausible_target"), "{warnings:?}");
}
