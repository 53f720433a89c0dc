//! Approval workflows, content items, incidents and crisis mode (SPEC §1.7, §3): workflow
//! definitions per engagement and subject kind, approvals with their decisions, the agency's
//! proposed publications, incidents with their timeline, and the periods an engagement spent
//! in crisis mode.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("approval_workflows")
                .col(pk_uuid("id"))
                .col(uuid("engagement_id"))
                .col(string_len("subject_kind", 16))
                .col(json_binary("stages"))
                .col(uuid_null("updated_by"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("approval_workflows", "engagement_id", "engagements"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("approval_workflows", &["engagement_id", "subject_kind"], true)).await?;

        m.create_table(
            Table::create()
                .table("approvals")
                .col(pk_uuid("id"))
                .col(uuid("engagement_id"))
                .col(string_len("subject_kind", 16))
                .col(uuid("subject_id"))
                .col(string_len("title", 200))
                .col(uuid_null("author_id"))
                .col(string_len("status", 24))
                // The workflow's stages when the approval was opened, crisis stage included.
                .col(json_binary("stages"))
                .col(integer("current_stage"))
                // The users who may decide at the current stage (team roles resolved).
                .col(json_binary("stage_approvers"))
                .col(timestamp_with_time_zone("stage_started_at"))
                .col(timestamp_with_time_zone("stage_due_at"))
                .col(timestamp_with_time_zone_null("escalated_at"))
                .col(boolean("crisis"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                // Compare-and-set counter: every transition bumps it.
                .col(integer("revision"))
                .foreign_key(&mut fk("approvals", "engagement_id", "engagements"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("approvals", &["subject_kind", "subject_id"], false)).await?;
        m.create_index(index("approvals", &["engagement_id", "status"], false)).await?;
        m.create_index(index("approvals", &["status", "stage_due_at"], false)).await?;

        m.create_table(
            Table::create()
                .table("approval_decisions")
                .col(pk_uuid("id"))
                .col(uuid("approval_id"))
                .col(integer("stage"))
                .col(uuid("decider_id"))
                .col(string_len("decision", 24))
                .col(text("comment"))
                .col(timestamp_with_time_zone("decided_at"))
                .foreign_key(&mut fk("approval_decisions", "approval_id", "approvals"))
                .to_owned(),
        )
        .await?;
        // One decision per person and stage, whatever races.
        m.create_index(index("approval_decisions", &["approval_id", "stage", "decider_id"], true)).await?;

        m.create_table(
            Table::create()
                .table("content_items")
                .col(pk_uuid("id"))
                .col(uuid("engagement_id"))
                .col(string_len("channel", 16))
                .col(text("body"))
                .col(string_len_null("media_url", 500))
                .col(timestamp_with_time_zone("planned_at"))
                .col(string_len("status", 24))
                .col(uuid_null("approval_id"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("published_at"))
                .foreign_key(&mut fk("content_items", "engagement_id", "engagements"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("content_items", &["engagement_id", "planned_at"], false)).await?;

        m.create_table(
            Table::create()
                .table("incidents")
                .col(pk_uuid("id"))
                .col(uuid("engagement_id"))
                .col(string_len("title", 200))
                .col(string_len("severity", 16))
                .col(string_len("status", 16))
                .col(uuid_null("opened_by"))
                .col(timestamp_with_time_zone("opened_at"))
                .col(timestamp_with_time_zone("ack_due_at"))
                .col(uuid_null("acknowledged_by"))
                .col(timestamp_with_time_zone_null("acknowledged_at"))
                .col(uuid_null("resolved_by"))
                .col(timestamp_with_time_zone_null("resolved_at"))
                .col(text_null("resolution"))
                .foreign_key(&mut fk("incidents", "engagement_id", "engagements"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("incidents", &["engagement_id", "opened_at"], false)).await?;
        m.create_index(index("incidents", &["status", "ack_due_at"], false)).await?;

        m.create_table(
            Table::create()
                .table("incident_updates")
                .col(pk_uuid("id"))
                .col(uuid("incident_id"))
                .col(string_len("kind", 24))
                .col(text("body"))
                .col(uuid_null("author_id"))
                .col(timestamp_with_time_zone("at"))
                .foreign_key(&mut fk("incident_updates", "incident_id", "incidents"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("incident_updates", &["incident_id", "at"], false)).await?;

        m.create_table(
            Table::create()
                .table("crisis_periods")
                .col(pk_uuid("id"))
                .col(uuid("engagement_id"))
                .col(text("reason"))
                .col(uuid_null("incident_id"))
                .col(uuid_null("started_by"))
                .col(timestamp_with_time_zone("started_at"))
                .col(uuid_null("ended_by"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .col(text_null("end_reason"))
                .foreign_key(&mut fk("crisis_periods", "engagement_id", "engagements"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("crisis_periods", &["engagement_id", "started_at"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "crisis_periods",
            "incident_updates",
            "incidents",
            "content_items",
            "approval_decisions",
            "approvals",
            "approval_workflows",
        ] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
