//! Splitting long lists into pages for the browser (`?page=N`), with the links to the
//! neighbouring pages rendered by the `pager` macro of `_macros.html`. The page itself is
//! `db::pagination::Paged`: read by the database for stored lists, cut in memory for lists
//! a use case computes.

pub use crate::db::pagination::Paged;

/// How many rows a page shows unless a list says otherwise.
pub const PER_PAGE: usize = 25;
