//! Splitting long lists into pages for the browser (`?page=N`), with the links to the
//! neighbouring pages rendered by the `pager` macro of `_macros.html`.

use serde::Serialize;

/// How many rows a page shows unless a list says otherwise.
pub const PER_PAGE: usize = 25;

/// One page of a list, plus what the pager needs.
#[derive(Debug, Clone, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// 1-based.
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    /// 1-based index of the first row shown (0 when the list is empty).
    pub first: usize,
    pub last: usize,
}

impl<T> Paged<T> {
    /// Page `page` (1-based; out of range is clamped) of `all`.
    pub fn of(all: Vec<T>, page: Option<usize>, per_page: usize) -> Self {
        let per_page = per_page.max(1);
        let total = all.len();
        let pages = total.div_ceil(per_page).max(1);
        let page = page.unwrap_or(1).clamp(1, pages);
        let start = (page - 1) * per_page;
        let items: Vec<T> = all.into_iter().skip(start).take(per_page).collect();
        let (first, last) = if items.is_empty() { (0, 0) } else { (start + 1, start + items.len()) };
        Self { items, page, pages, total, first, last }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_clamped_and_counted() {
        let p = Paged::of((1..=60).collect::<Vec<_>>(), Some(3), 25);
        assert_eq!((p.page, p.pages, p.total, p.first, p.last), (3, 3, 60, 51, 60));
        assert_eq!(p.items.len(), 10);
        let p = Paged::of((1..=60).collect::<Vec<_>>(), Some(9), 25);
        assert_eq!(p.page, 3);
        let p = Paged::of(Vec::<u8>::new(), None, 25);
        assert_eq!((p.page, p.pages, p.first, p.last), (1, 1, 0, 0));
    }
}
