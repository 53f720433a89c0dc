//! sea-orm entities, one per table, kept free of behaviour: rules live in `domain`, queries
//! in the store modules.

pub mod api_token;
pub mod audit_event;
pub mod engagement;
pub mod idempotency_key;
pub mod kpi;
pub mod login_attempt;
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
