//! The core schema: users, vendors, engagements with scope, team and KPIs, authentication
//! state (sessions, API tokens, login attempts) and the append-only audit log.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("vendors")
                .col(pk_uuid("id"))
                .col(string_len("name", 200))
                .col(string_len("name_key", 200))
                .col(string_len_null("legal_name", 200))
                .col(string_len_null("tax_id", 64))
                .col(string_len_null("website", 500))
                .col(json_binary("contacts"))
                .col(text_null("notes"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("vendors", &["name_key"], true)).await?;

        m.create_table(
            Table::create()
                .table("users")
                .col(pk_uuid("id"))
                .col(string_len("email", 320))
                .col(string_len("name", 200))
                .col(string_len("role", 16))
                .col(uuid_null("vendor_id"))
                .col(string_len("language", 8))
                .col(string_len("timezone", 64))
                .col(string_len("password_hash", 200))
                .col(boolean("active"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("users", "vendor_id", "vendors"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("users", &["email"], true)).await?;
        m.create_index(index("users", &["vendor_id"], false)).await?;

        m.create_table(
            Table::create()
                .table("engagements")
                .col(pk_uuid("id"))
                .col(uuid("vendor_id"))
                .col(string_len("title", 200))
                .col(text("brief_want"))
                .col(text("brief_feasible"))
                .col(big_integer_null("brief_budget_minor"))
                .col(string_len("confidentiality", 16))
                .col(big_integer("monthly_fee_minor"))
                .col(string_len("currency", 3))
                .col(date("start_date"))
                .col(date("end_date"))
                .col(string_len("timezone", 64))
                .col(string_len("cadence", 16))
                .col(integer("due_offset_days"))
                .col(uuid_null("owner_id"))
                .col(string_len("status", 24))
                .col(timestamp_with_time_zone("status_changed_at"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("engagements", "vendor_id", "vendors"))
                .foreign_key(&mut fk("engagements", "owner_id", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("engagements", &["vendor_id"], false)).await?;
        m.create_index(index("engagements", &["owner_id"], false)).await?;

        m.create_table(
            Table::create()
                .table("scope_items")
                .col(pk_uuid("id"))
                .col(uuid("engagement_id"))
                .col(string_len("function", 32))
                .col(text("description"))
                .col(json_binary("deliverables"))
                .col(integer_null("quantity_per_period"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("scope_items", "engagement_id", "engagements"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("scope_items", &["engagement_id"], false)).await?;

        m.create_table(
            Table::create()
                .table("team_members")
                .col(pk_uuid("id"))
                .col(uuid("engagement_id"))
                .col(uuid("user_id"))
                .col(string_len("team_role", 32))
                .col(timestamp_with_time_zone("added_at"))
                .foreign_key(&mut fk("team_members", "engagement_id", "engagements"))
                .foreign_key(&mut fk("team_members", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("team_members", &["engagement_id", "user_id"], true)).await?;
        m.create_index(index("team_members", &["user_id"], false)).await?;

        m.create_table(
            Table::create()
                .table("kpis")
                .col(pk_uuid("id"))
                .col(uuid("engagement_id"))
                .col(string_len("name", 120))
                .col(string_len("name_key", 120))
                .col(text("objective"))
                .col(string_len("unit", 16))
                .col(string_len("direction", 24))
                .col(double_null("baseline"))
                .col(double("target"))
                .col(double_null("target_upper"))
                .col(double("warning_threshold"))
                .col(double("critical_threshold"))
                .col(string_len("aggregation", 16))
                .col(json_binary("channels"))
                .col(boolean("allow_negative"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("kpis", "engagement_id", "engagements"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("kpis", &["engagement_id", "name_key"], true)).await?;

        m.create_table(
            Table::create()
                .table("sessions")
                .col(string_len("id", 64).primary_key())
                .col(uuid("user_id"))
                .col(string_len("csrf_token", 64))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("last_seen_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(string_len_null("ip", 64))
                .col(string_len_null("user_agent", 300))
                .foreign_key(&mut fk("sessions", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("sessions", &["user_id"], false)).await?;

        m.create_table(
            Table::create()
                .table("api_tokens")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string_len("name", 120))
                .col(string_len("token_hash", 64))
                .col(string_len("prefix", 16))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("last_used_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(&mut fk("api_tokens", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("api_tokens", &["token_hash"], true)).await?;
        m.create_index(index("api_tokens", &["user_id"], false)).await?;

        m.create_table(
            Table::create()
                .table("login_attempts")
                .col(pk_uuid("id"))
                .col(string_len("email_key", 320))
                .col(string_len("ip", 64))
                .col(boolean("succeeded"))
                .col(timestamp_with_time_zone("at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("login_attempts", &["email_key", "at"], false)).await?;
        m.create_index(index("login_attempts", &["ip", "at"], false)).await?;

        m.create_table(
            Table::create()
                .table("audit_events")
                .col(pk_uuid("id"))
                .col(timestamp_with_time_zone("at"))
                .col(uuid_null("actor_id"))
                .col(string_len("actor_label", 320))
                .col(string_len("action", 64))
                .col(string_len("object_type", 32))
                .col(string_len("object_id", 64))
                .col(uuid_null("engagement_id"))
                .col(json_binary_null("before"))
                .col(json_binary_null("after"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("audit_events", &["object_type", "object_id"], false)).await?;
        m.create_index(index("audit_events", &["actor_id"], false)).await?;
        m.create_index(index("audit_events", &["engagement_id"], false)).await?;

        // The audit log is append-only: the database itself refuses to change or delete a row.
        let db = m.get_connection();
        match m.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql;",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events \
                     FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events \
                     FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();",
                )
                .await?;
            }
            _ => {
                for op in ["UPDATE", "DELETE"] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER audit_events_no_{op} BEFORE {op} ON audit_events \
                         BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "audit_events",
            "login_attempts",
            "api_tokens",
            "sessions",
            "kpis",
            "team_members",
            "scope_items",
            "engagements",
            "users",
            "vendors",
        ] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        if m.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            m.get_connection().execute_unprepared("DROP FUNCTION IF EXISTS audit_events_append_only()").await?;
        }
        Ok(())
    }
}
