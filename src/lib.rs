//! Veedor: governance of outsourced social-media and community management.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod http;
pub mod mail;
pub mod policy;
pub mod present;
pub mod request;
pub mod scheduler;
pub mod security_headers;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod views;
pub mod web;
