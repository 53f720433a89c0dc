//! Veedor: governance of outsourced social-media and community management.

pub mod clock;
pub mod config;
pub mod domain;
