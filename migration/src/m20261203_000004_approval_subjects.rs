//! Approvals keep what they are about as a kind and parameters, not as an English title.
//!
//! Before this migration an approval's `title` was a sentence written in English when it was
//! opened ("Report 2026-11-01 – 2026-11-30", "Activation: …", "instagram: …"), and the
//! default workflows' stages were named "Community lead", "Executive sponsor" and "Crisis
//! review". Now `subject_label` holds the subject's kind and parameters (the period of a
//! report, a post's channel and excerpt, an engagement's title, an amendment's reason), the
//! title is worded in the reader's language when it is shown, `title` keeps only what people
//! typed, and Veedor's own stages carry a `preset` instead of a name. Existing rows are
//! rewritten from their subjects.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, JsonValue, Statement, Value, prelude::Uuid},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Stage names Veedor wrote, and the preset that names them now.
const PRESETS: [(&str, &str); 3] = [
    ("Community lead", "community_lead"),
    ("Executive sponsor", "executive_sponsor"),
    ("Crisis review", "crisis_review"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("approvals")
                .add_column(ColumnDef::new("subject_label").json_binary().null())
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        let backend = db.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, subject_kind, subject_id, title, stages FROM approvals",
            ))
            .await?;
        for row in rows {
            let id: Uuid = row.try_get("", "id")?;
            let kind: String = row.try_get("", "subject_kind")?;
            let subject: Uuid = row.try_get("", "subject_id")?;
            let old_title: String = row.try_get("", "title")?;
            let stages: JsonValue = row.try_get("", "stages")?;
            let label = label(db, backend, &kind, subject, &old_title).await?;
            let typed: String = label
                .get("engagement")
                .or_else(|| label.get("reason"))
                .or_else(|| label.get("excerpt"))
                .and_then(JsonValue::as_str)
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                placeholders(backend, "UPDATE approvals SET subject_label = ?, title = ?, stages = ? WHERE id = ?"),
                [label.into(), typed.into(), presets(stages).into(), id.into()],
            ))
            .await?;
        }
        let workflows =
            db.query_all_raw(Statement::from_string(backend, "SELECT id, stages FROM approval_workflows")).await?;
        for row in workflows {
            let id: Uuid = row.try_get("", "id")?;
            let stages: JsonValue = row.try_get("", "stages")?;
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                placeholders(backend, "UPDATE approval_workflows SET stages = ? WHERE id = ?"),
                [presets(stages).into(), id.into()],
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("approvals").drop_column("subject_label").to_owned()).await
    }
}

/// `?` placeholders as the back end writes them.
fn placeholders(backend: sea_orm_migration::sea_orm::DatabaseBackend, sql: &str) -> String {
    if backend != sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
        return sql.to_string();
    }
    let mut out = String::new();
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// One value of the subject's row, as text.
async fn one(
    db: &SchemaManagerConnection<'_>,
    backend: sea_orm_migration::sea_orm::DatabaseBackend,
    sql: &str,
    id: Uuid,
) -> Result<Option<sea_orm_migration::sea_orm::QueryResult>, DbErr> {
    db.query_one_raw(Statement::from_sql_and_values(backend, placeholders(backend, sql), [Value::from(id)])).await
}

/// The label of an approval, read from its subject (the old title when the subject is gone).
async fn label(
    db: &SchemaManagerConnection<'_>,
    backend: sea_orm_migration::sea_orm::DatabaseBackend,
    kind: &str,
    subject: Uuid,
    old_title: &str,
) -> Result<JsonValue, DbErr> {
    let after_colon = old_title.split_once(": ").map_or(old_title, |(_, rest)| rest).to_string();
    Ok(match kind {
        "activation" => {
            let title = match one(db, backend, "SELECT title FROM engagements WHERE id = ?", subject).await? {
                Some(row) => row.try_get::<String>("", "title")?,
                None => after_colon,
            };
            serde_json::json!({ "kind": "activation", "engagement": title })
        }
        "amendment" => {
            let reason = match one(db, backend, "SELECT reason FROM amendments WHERE id = ?", subject).await? {
                Some(row) => row.try_get::<String>("", "reason")?,
                None => after_colon,
            };
            serde_json::json!({ "kind": "amendment", "reason": reason })
        }
        "report" => {
            let row = one(db, backend, "SELECT period_start, period_end FROM reports WHERE id = ?", subject)
                .await?
                .ok_or_else(|| DbErr::Custom(format!("the report of approval of {subject} is gone")))?;
            let start: chrono::NaiveDate = row.try_get("", "period_start")?;
            let end: chrono::NaiveDate = row.try_get("", "period_end")?;
            serde_json::json!({ "kind": "report", "period_start": start, "period_end": end })
        }
        _ => {
            let (channel, excerpt) =
                match one(db, backend, "SELECT channel, body FROM content_items WHERE id = ?", subject).await? {
                    Some(row) => {
                        let body: String = row.try_get("", "body")?;
                        let mut excerpt: String = body.chars().take(80).collect();
                        if body.chars().count() > 80 {
                            excerpt.push('…');
                        }
                        (row.try_get::<String>("", "channel")?, excerpt)
                    }
                    None => ("other".to_string(), after_colon),
                };
            serde_json::json!({ "kind": "content", "channel": channel, "excerpt": excerpt })
        }
    })
}

/// The stages with Veedor's own names replaced by presets.
fn presets(mut stages: JsonValue) -> JsonValue {
    if let Some(list) = stages.as_array_mut() {
        for stage in list.iter_mut().filter_map(JsonValue::as_object_mut) {
            let name = stage.get("name").and_then(JsonValue::as_str).unwrap_or_default().to_string();
            if let Some((_, preset)) = PRESETS.iter().find(|(english, _)| *english == name) {
                stage.insert("name".into(), JsonValue::String(String::new()));
                stage.insert("preset".into(), JsonValue::String((*preset).into()));
            }
        }
    }
    stages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veedors_stage_names_become_presets_and_typed_names_stay() {
        let stages =
            serde_json::json!([{ "name": "Community lead" }, { "name": "Legal" }, { "name": "Crisis review" }]);
        let out = presets(stages);
        assert_eq!(out[0], serde_json::json!({ "name": "", "preset": "community_lead" }));
        assert_eq!(out[1], serde_json::json!({ "name": "Legal" }));
        assert_eq!(out[2]["preset"], "crisis_review");
    }

    #[test]
    fn postgres_placeholders_are_numbered() {
        let pg = sea_orm_migration::sea_orm::DatabaseBackend::Postgres;
        assert_eq!(
            placeholders(pg, "UPDATE t SET a = ?, b = ? WHERE id = ?"),
            "UPDATE t SET a = $1, b = $2 WHERE id = $3"
        );
    }
}
