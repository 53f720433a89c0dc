//! KPI digests (SPEC §3, §6): what an executive receives at their local hour about the
//! engagements they oversee. [`subscriptions`] keeps who receives which digest when,
//! [`content`] reads and shapes each engagement's section (its charts drawn by
//! `mail::chart`), and [`run`] takes the due subscriptions and queues each digest exactly once.

pub mod content;
pub mod preview;
pub mod run;
pub mod subscriptions;
