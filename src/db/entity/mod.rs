//! sea-orm entities, one per table, kept free of behaviour: rules live in `domain`, queries
//! in the store modules.

pub mod alert;
pub mod alert_silence;
pub mod amendment;
pub mod api_token;
pub mod approval;
pub mod approval_decision;
pub mod approval_workflow;
pub mod audit_event;
pub mod audit_event_engagement;
pub mod content_item;
pub mod crisis_period;
pub mod digest_subscription;
pub mod engagement;
pub mod idempotency_key;
pub mod incident;
pub mod incident_update;
pub mod job_slot;
pub mod kpi;
pub mod login_attempt;
pub mod mail_image;
pub mod notification;
pub mod notification_attempt;
pub mod notification_preference;
pub mod report;
pub mod report_review;
pub mod report_signal;
pub mod report_value;
pub mod report_version;
pub mod scope_item;
pub mod session;
pub mod team_member;
pub mod user;
pub mod vendor;
