//! The use cases: each authorizes through `policy`, applies the domain rules, writes the
//! change, appends its audit entry and queues its side effects (alerts reconciled, emails in
//! the outbox) in one transaction. Persistence (entities, transactions, pagination) is in
//! `db`, below; the surfaces (`http`, `web`, `scheduler`) call one use case each.

pub mod alerts;
pub mod amendments;
pub mod approvals;
pub mod audit;
pub mod content;
pub mod context;
pub mod crisis;
pub mod dashboard;
pub mod decisions;
pub mod digests;
pub mod engagements;
pub mod evaluation;
pub mod housekeeping;
pub mod incidents;
pub mod kpis;
pub mod outbox;
pub mod portfolio;
pub mod reports;
pub mod scope;
pub mod sessions;
pub mod team;
pub mod tokens;
pub mod users;
pub mod vendors;

pub use context::Ctx;

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
