//! The integration tests: one binary, each test with its own server and database.

mod alerts;
mod amendments;
mod approvals;
mod audit;
mod auth;
mod browser;
mod cli;
mod demo;
mod digests;
mod digests_processes;
mod engagements;
mod helpers;
mod incidents;
mod mailsink;
mod matrix;
mod ops;
mod reports;
mod slots;
mod validation;
mod web_approvals;
mod web_pages;
mod webkit;
