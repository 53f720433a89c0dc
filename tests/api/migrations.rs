//! Migrations that rewrite what an earlier version stored: run on a database as that version
//! left it, through the real migrator, on SQLite and PostgreSQL alike.

use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value as DbValue};
use serde_json::{Value, json};

use crate::helpers::{Caller, TestApp};

/// `?` placeholders as the back end writes them.
fn sql(backend: DatabaseBackend, text: &str) -> String {
    let mut n = 0;
    text.chars()
        .map(|c| match (c, backend) {
            ('?', DatabaseBackend::Postgres) => {
                n += 1;
                format!("${n}")
            }
            _ => c.to_string(),
        })
        .collect()
}

/// How many migrations to roll back to undo `name` and every later one.
fn since(name: &str) -> u32 {
    let all = migration::Migrator::migrations();
    let from_end = all.iter().rev().position(|m| m.name() == name).expect("the migration exists");
    u32::try_from(from_end + 1).unwrap()
}

#[tokio::test]
async fn english_titles_and_stage_names_stored_before_become_kinds() {
    let app = TestApp::spawn().await;
    veedor::demo::load(&app.state.db, app.clock_now(), &app.state.rules).await.unwrap();
    let db = &app.state.db;
    let backend = db.get_database_backend();
    migration::Migrator::down(db, Some(since("m20261203_000004_approval_subjects"))).await.unwrap();

    // The rows as the version before wrote them: English titles and stage names.
    let rows = db
        .query_all_raw(Statement::from_string(backend, "SELECT id, subject_kind, stages FROM approvals"))
        .await
        .unwrap();
    assert!(rows.len() >= 4, "the demo opens approvals of every kind");
    for row in &rows {
        let id: uuid::Uuid = row.try_get("", "id").unwrap();
        let kind: String = row.try_get("", "subject_kind").unwrap();
        let mut stages: Value = row.try_get("", "stages").unwrap();
        for stage in stages.as_array_mut().unwrap() {
            let english = match stage["preset"].as_str() {
                Some("community_lead") => "Community lead",
                Some("executive_sponsor") => "Executive sponsor",
                Some(_) => "Crisis review",
                None => continue,
            };
            stage.as_object_mut().unwrap().remove("preset");
            stage["name"] = json!(english);
        }
        let title = match kind.as_str() {
            "report" => "Report 2026-11-01 – 2026-11-30".to_string(),
            "content" => "instagram: Rebajas de invierno".to_string(),
            "amendment" => "Amendment: more posts".to_string(),
            _ => "Activation: Comunidad Brisa".to_string(),
        };
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            sql(backend, "UPDATE approvals SET title = ?, stages = ? WHERE id = ?"),
            [DbValue::from(title), DbValue::from(stages), DbValue::from(id)],
        ))
        .await
        .unwrap();
    }

    migration::Migrator::up(db, None).await.unwrap();

    let titles =
        db.query_all_raw(Statement::from_string(backend, "SELECT title, stages FROM approvals")).await.unwrap();
    for row in titles {
        let title: String = row.try_get("", "title").unwrap();
        let stages: Value = row.try_get("", "stages").unwrap();
        let english = ["Report ", "Activation: ", "Amendment: ", "instagram: "];
        assert!(!english.iter().any(|e| title.starts_with(e)), "only typed text is kept: {title}");
        assert!(!stages.to_string().contains("Community lead"), "{stages}");
    }
    let lead = veedor::app::users::find_by_email(db, "lead@brisa.example").await.unwrap().unwrap();
    let lead = Caller { id: lead.id, token: app.token_for(lead.id).await };
    let (_, queue) = app.get(&lead, "/api/v1/approvals").await;
    let queue = queue.as_array().unwrap();
    let report = queue.iter().find(|a| a["subject_kind"] == "report").expect("a report approval");
    assert_eq!(report["subject"]["kind"], "report");
    assert!(report["title"].as_str().unwrap().starts_with("Informe de "), "{report}");
    let activation = queue.iter().find(|a| a["subject_kind"] == "activation").expect("an activation");
    assert!(activation["title"].as_str().unwrap().starts_with("Activación: "), "{activation}");
    assert_eq!(activation["stages"][0]["preset"], "community_lead");
}

#[tokio::test]
async fn audit_entries_written_before_keep_their_engagements_out_of_foreign_sight() {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", veedor::domain::enums::Role::Admin, None).await;
    let lead = app.actor("javier@brisa.example", veedor::domain::enums::Role::Lead, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let secret = app.engagement(&admin, vendor, "secret", Some(admin.id)).await;
    let body = json!({ "cadence": { "every": "daily" }, "engagement_ids": [secret] });
    assert_eq!(app.post(&admin, "/api/v1/digests", body).await.0, reqwest::StatusCode::CREATED);
    let db = &app.state.db;
    // The version before kept no references: the entry is about no engagement at all.
    migration::Migrator::down(db, Some(since("m20261204_000007_audit_engagements"))).await.unwrap();

    migration::Migrator::up(db, None).await.unwrap();

    let (_, everything) = app.get(&admin, "/api/v1/audit?object_type=digest_subscription").await;
    assert_eq!(everything["items"].as_array().unwrap().len(), 1, "{everything}");
    let (_, for_lead) = app.get(&lead, "/api/v1/audit?limit=200").await;
    assert!(!for_lead.to_string().contains(&secret.to_string()), "{for_lead}");
    assert!(!for_lead["items"].as_array().unwrap().is_empty(), "the lead still reads the rest: {for_lead}");
}
