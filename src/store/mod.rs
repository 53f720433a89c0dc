//! Persistence: entities, and the use cases that change them. Each use case runs in one
//! transaction that applies the domain rules, writes the change and appends its audit entry.

pub mod audit;
pub mod engagements;
pub mod entity;
pub mod kpis;
pub mod pagination;
pub mod scope;
pub mod team;
pub mod tokens;
pub mod users;
pub mod vendors;
