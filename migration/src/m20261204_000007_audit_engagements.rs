//! Every engagement an audit entry references, one row each, so that the log can hide an
//! entry from whoever may not see all of them (a digest subscription naming a secret
//! engagement, not only an entry *about* that engagement). Existing entries are back-filled
//! from their `engagement_id` and from the `engagement_id`/`engagement_ids` their before and
//! after carry; `audit_events` itself stays untouched (it is append-only).

use std::collections::BTreeSet;

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DatabaseBackend, JsonValue as Value, Statement, Value as DbValue, prelude::Uuid},
};

use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "audit_event_engagements";
const BATCH: u64 = 500;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(TABLE)
                .col(uuid("audit_event_id"))
                .col(uuid("engagement_id"))
                .primary_key(Index::create().col("audit_event_id").col("engagement_id"))
                .foreign_key(&mut fk(TABLE, "audit_event_id", "audit_events"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(TABLE, &["engagement_id"], false)).await?;
        backfill(m).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(TABLE).if_exists().to_owned()).await
    }
}

async fn backfill(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let backend = m.get_database_backend();
    let mut after: Option<Uuid> = None;
    loop {
        let (sql, values) = match after {
            Some(id) => (
                format!(
                    "SELECT id, engagement_id, before, after FROM audit_events WHERE id > {} ORDER BY id LIMIT {BATCH}",
                    placeholder(backend, 1)
                ),
                vec![DbValue::from(id)],
            ),
            None => {
                (format!("SELECT id, engagement_id, before, after FROM audit_events ORDER BY id LIMIT {BATCH}"), vec![])
            }
        };
        let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        let Some(last) = rows.last() else { return Ok(()) };
        after = Some(last.try_get::<Uuid>("", "id")?);
        for row in &rows {
            let id: Uuid = row.try_get("", "id")?;
            let mut refs = BTreeSet::new();
            if let Some(e) = row.try_get::<Option<Uuid>>("", "engagement_id")? {
                refs.insert(e);
            }
            for column in ["before", "after"] {
                if let Some(value) = row.try_get::<Option<Value>>("", column)? {
                    collect(&value, &mut refs);
                }
            }
            for e in refs {
                let sql = format!(
                    "INSERT INTO {TABLE} (audit_event_id, engagement_id) VALUES ({}, {})",
                    placeholder(backend, 1),
                    placeholder(backend, 2)
                );
                db.execute_raw(Statement::from_sql_and_values(backend, sql, [id.into(), e.into()])).await?;
            }
        }
    }
}

fn placeholder(backend: DatabaseBackend, n: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".into(),
    }
}

/// The engagement ids a value names under `engagement_id` or `engagement_ids`, at any depth
/// (the same rule as `veedor::store::audit` applies when it writes an entry).
fn collect(value: &Value, into: &mut BTreeSet<Uuid>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("engagement_id", Value::String(s)) => into.extend(s.parse::<Uuid>().ok()),
                    ("engagement_ids", Value::Array(ids)) => {
                        into.extend(ids.iter().filter_map(|i| i.as_str()?.parse::<Uuid>().ok()))
                    }
                    _ => collect(v, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect(i, into)),
        _ => {}
    }
}
