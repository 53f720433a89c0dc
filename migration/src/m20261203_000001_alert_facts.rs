//! Alerts keep typed facts, not sentences or links: every stored alert's `facts` become the
//! typed parameters of its rule (tagged by `rule`: periods and due dates as dates, deadlines
//! as instants, values with the KPI's unit and the contract's currency, growth factors as
//! numbers), and the English `summary` and the hand-written `link` columns go. The sentence
//! and the link are made when an alert is shown, in the reader's language, from the router's
//! paths.

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value as DbValue};
use sea_orm_migration::prelude::*;
use serde_json::{Map, Value, json};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let backend = db.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT a.id, a.rule, a.severity, a.engagement_id, a.facts, k.unit, e.currency \
                 FROM alerts a LEFT JOIN kpis k ON k.id = a.subject_id \
                 LEFT JOIN engagements e ON e.id = a.engagement_id",
            ))
            .await?;
        for row in rows {
            let id: uuid::Uuid = row.try_get("", "id")?;
            let rule: String = row.try_get("", "rule")?;
            let severity: String = row.try_get("", "severity")?;
            let engagement_id: Option<uuid::Uuid> = row.try_get("", "engagement_id")?;
            let facts: Value = row.try_get("", "facts")?;
            let unit: Option<String> = row.try_get("", "unit")?;
            let currency: Option<String> = row.try_get("", "currency")?;
            let mut context = Legacy { severity, unit, currency, period_end: None };
            if rule == "kpi_breach"
                && let (Some(e), Some(start)) = (engagement_id, facts.get("period").and_then(Value::as_str))
            {
                context.period_end = report_end(db, backend, e, start).await?;
            }
            let typed = convert(&rule, &facts, &context);
            let marks = if backend == DbBackend::Postgres { "$1::jsonb" } else { "?" };
            let id_mark = if backend == DbBackend::Postgres { "$2" } else { "?" };
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                format!("UPDATE alerts SET facts = {marks} WHERE id = {id_mark}"),
                [DbValue::from(typed.to_string()), DbValue::from(id)],
            ))
            .await?;
        }
        for column in ["summary", "link"] {
            m.alter_table(Table::alter().table("alerts").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The columns come back empty: the sentences were never worth keeping.
        m.alter_table(
            Table::alter()
                .table("alerts")
                .add_column(ColumnDef::new("summary").text().not_null().default(""))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("alerts")
                .add_column(ColumnDef::new("link").string_len(500).not_null().default(""))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}

/// The last day of the engagement's report that starts on `start`, if there is one.
async fn report_end<C: ConnectionTrait>(
    db: &C,
    backend: DbBackend,
    engagement: uuid::Uuid,
    start: &str,
) -> Result<Option<String>, DbErr> {
    let sql = match backend {
        DbBackend::Postgres => "SELECT period_end FROM reports WHERE engagement_id = $1 AND period_start = $2::date",
        _ => "SELECT period_end FROM reports WHERE engagement_id = ? AND period_start = ?",
    };
    let Ok(day) = start.parse::<chrono::NaiveDate>() else { return Ok(None) };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [DbValue::from(engagement), DbValue::from(day)]))
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<chrono::NaiveDate>("", "period_end").ok().map(|d| d.to_string()),
        None => None,
    })
}

/// What an old alert row tells besides its facts.
struct Legacy {
    severity: String,
    unit: Option<String>,
    currency: Option<String>,
    period_end: Option<String>,
}

fn text(facts: &Value, key: &str) -> Value {
    json!(facts.get(key).and_then(Value::as_str).unwrap_or_default())
}

/// `2026-01-01 – 2026-01-31` as its two dates.
fn span(facts: &Value, key: &str) -> (Value, Value) {
    let raw = facts.get(key).and_then(Value::as_str).unwrap_or_default();
    match raw.split_once(" – ") {
        Some((start, end)) => (json!(start.trim()), json!(end.trim())),
        None => (json!(raw), json!(raw)),
    }
}

/// `2026-02-01 10:00 UTC` as an RFC 3339 instant.
fn instant(facts: &Value, key: &str) -> Value {
    let raw = facts.get(key).and_then(Value::as_str).unwrap_or_default();
    let trimmed = raw.trim_end_matches(" UTC");
    match trimmed.split_once(' ') {
        Some((day, time)) => json!(format!("{day}T{time}:00Z")),
        None => json!(raw),
    }
}

/// The first number in a sentence (`implica multiplicar por 83.3 el valor de partida`).
fn number_in(sentence: &str) -> Option<f64> {
    sentence
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .find_map(|w| w.trim_matches('.').parse().ok())
}

/// The typed facts of an old alert row.
fn convert(rule: &str, old: &Value, legacy: &Legacy) -> Value {
    if old.get("rule").is_some() {
        return old.clone();
    }
    let mut new = Map::new();
    new.insert("rule".into(), json!(rule));
    let mut put = |k: &str, v: Value| {
        new.insert(k.into(), v);
    };
    match rule {
        "report_missing" => {
            let (start, end) = span(old, "period");
            put("period_start", start);
            put("period_end", end);
            put("due_date", text(old, "due"));
            put("count", json!(old.get("count").and_then(Value::as_u64).unwrap_or(1)));
        }
        "kpi_breach" => {
            let start = text(old, "period");
            put("kpi", text(old, "kpi"));
            put("value", json!(old.get("value").and_then(Value::as_f64).unwrap_or_default()));
            put("target", json!(old.get("target").and_then(Value::as_f64).unwrap_or_default()));
            put("unit", json!(legacy.unit.as_deref().unwrap_or("count")));
            put("currency", json!(legacy.currency.as_deref().unwrap_or("EUR")));
            put("period_end", legacy.period_end.as_ref().map_or_else(|| start.clone(), |e| json!(e)));
            put("period_start", start);
            put("status", json!(old.get("status").and_then(Value::as_str).unwrap_or("red")));
        }
        "approval_overdue" => {
            put("title", text(old, "title"));
            put("stage", text(old, "stage"));
            put("due_at", instant(old, "due"));
        }
        "contract_expiring" => {
            put("end_date", text(old, "end_date"));
            for k in ["days", "accepted", "late", "missing", "breaches", "incidents"] {
                put(k, json!(old.get(k).and_then(Value::as_i64).unwrap_or_default()));
            }
        }
        "incident_opened" | "incident_unacknowledged" => {
            put("title", text(old, "title"));
            put("severity", json!(old.get("severity").and_then(Value::as_str).unwrap_or("medium")));
            put("ack_due_at", instant(old, "due"));
        }
        "high_severity_signal" => {
            let (start, end) = span(old, "period");
            put("category", json!(old.get("category").and_then(Value::as_str).unwrap_or("risk")));
            put("severity", json!(if legacy.severity == "critical" { "critical" } else { "high" }));
            put("description", text(old, "description"));
            put("period_start", start);
            put("period_end", end);
        }
        "implausible_target" => {
            let code = old.get("code").and_then(Value::as_str).unwrap_or("implausible_growth");
            let factor = old.get("reason_es").and_then(Value::as_str).and_then(number_in);
            put("kpi", text(old, "kpi"));
            put("issue", json!(if code == "no_baseline" { "no_baseline" } else { "implausible_growth" }));
            put("factor", json!(factor));
        }
        "delivery_failed" => {
            put("to", text(old, "to"));
            put("reply", text(old, "reply"));
            put("subject", text(old, "subject"));
        }
        _ => {
            put("to", text(old, "to"));
            put("error", text(old, "error"));
        }
    }
    if let Some(phase) = old.get("phase") {
        put("phase", phase.clone());
    }
    Value::Object(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legacy(severity: &str) -> Legacy {
        Legacy {
            severity: severity.into(),
            unit: Some("percent".into()),
            currency: Some("EUR".into()),
            period_end: None,
        }
    }

    #[test]
    fn old_facts_become_typed_parameters() {
        let old = json!({ "period": "2026-01-01 – 2026-01-31", "due": "2026-02-05", "count": 3, "others": 2, "phase": "2026-01-01" });
        assert_eq!(
            convert("report_missing", &old, &legacy("warning")),
            json!({ "rule": "report_missing", "period_start": "2026-01-01", "period_end": "2026-01-31",
                    "due_date": "2026-02-05", "count": 3, "phase": "2026-01-01" })
        );
        let old = json!({ "kpi": "Alcance", "value": 5.5, "target": 2.0, "period": "2026-11-01", "status": "red", "status_es": "rojo" });
        let new = convert("kpi_breach", &old, &Legacy { period_end: Some("2026-11-30".into()), ..legacy("warning") });
        assert_eq!(new["unit"], "percent");
        assert_eq!(
            (new["period_start"].as_str(), new["period_end"].as_str()),
            (Some("2026-11-01"), Some("2026-11-30"))
        );
        assert!(new.get("status_es").is_none());
        let old = json!({ "title": "Alta", "stage": "Dirección", "due": "2026-02-01 10:00 UTC", "phase": 1 });
        assert_eq!(convert("approval_overdue", &old, &legacy("warning"))["due_at"], "2026-02-01T10:00:00Z");
        let old = json!({ "kpi": "Seguidores", "reason": "x", "reason_es": "implica multiplicar por 83.3 el valor de partida", "code": "implausible_growth" });
        assert_eq!(convert("implausible_target", &old, &legacy("warning"))["factor"], 83.3);
        let old = json!({ "category": "risk", "category_es": "riesgo", "description": "d", "period": "2026-01-01 – 2026-01-31" });
        assert_eq!(convert("high_severity_signal", &old, &legacy("critical"))["severity"], "critical");
        let typed = json!({ "rule": "digest_failed", "to": "a", "error": "b" });
        assert_eq!(convert("digest_failed", &typed, &legacy("critical")), typed, "already typed: unchanged");
    }
}
