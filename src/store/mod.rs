//! Persistence: entities, and the use cases that change them. Each use case runs in one
//! transaction that applies the domain rules, writes the change and appends its audit entry.

pub mod alerts;
pub mod amendments;
pub mod approvals;
pub mod audit;
pub mod content;
pub mod crisis;
pub mod dashboard;
pub mod digests;
pub mod engagements;
pub mod entity;
pub mod evaluation;
pub mod housekeeping;
pub mod idempotency;
pub mod incidents;
pub mod kpis;
pub mod outbox;
pub mod pagination;
pub mod portfolio;
pub mod reports;
pub mod scope;
pub mod slots;
pub mod team;
pub mod tokens;
pub mod users;
pub mod vendors;

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Starts a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`IMMEDIATE`), so concurrent writers wait out the busy timeout instead of failing at once
/// when a read is upgraded to a write. Other databases ignore the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// What writes need besides the database: crisis mode's rules for the approvals they open,
/// the realism limit the activation check applies, and the notifier that turns the alerts a
/// write raises into emails in the same transaction. Built once at startup.
#[derive(Debug, Clone)]
pub struct WriteRules {
    pub crisis: approvals::CrisisRules,
    pub max_yearly_growth: f64,
    pub notifier: alerts::Notifier,
    /// Hours within which an incident of each severity must be acknowledged.
    pub ack_hours: crate::domain::incident::AckHours,
    /// What the plausibility checks on a submitted report allow.
    pub plausibility: reports::PlausibilityLimits,
}

impl WriteRules {
    /// Reads the rules from the configuration and loads the email templates (a broken
    /// override template stops here).
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<WriteRules> {
        Ok(WriteRules {
            crisis: approvals::CrisisRules {
                approver_roles: config.crisis_approver_roles.clone(),
                sla_factor: config.crisis_sla_factor,
            },
            max_yearly_growth: config.realism_max_yearly_growth,
            notifier: alerts::Notifier::from_config(config)?,
            ack_hours: crate::domain::incident::AckHours {
                low: config.incident_ack_hours_low,
                medium: config.incident_ack_hours_medium,
                high: config.incident_ack_hours_high,
                critical: config.incident_ack_hours_critical,
            },
            plausibility: reports::PlausibilityLimits {
                jump_factor: config.plausibility_jump_factor,
                ratio_tolerance: config.plausibility_ratio_tolerance,
            },
        })
    }
}
