//! The one vocabulary of everything a person reads: the catalogue of messages in Spanish and
//! English, the name of every status and kind, numbers, money, percentages, KPI values with
//! their unit, dates, periods and due dates in the reader's language, plurals, and the links
//! to pages built from the page router's own paths.
//!
//! Pages, emails, digests and charts render through this module and nowhere else, so a status
//! has one name and a date one format on every surface. Nothing here reads the database or
//! knows HTTP: plain values in, text out.

pub mod alerts;
pub mod assets;
pub mod catalog;
pub mod errors;
pub mod findings;
pub mod format;
pub mod jinja;
pub mod links;
pub mod pages;
pub mod titles;
pub mod words;

pub use catalog::{Catalog, catalog, negotiate, text};
pub use pages::Pages;
pub use words::{Word, word};
