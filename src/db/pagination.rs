//! Pagination. The API pages by cursor over time-ordered (UUID v7) primary keys: stable
//! under inserts, and a page costs one indexed range scan however deep it is. The pages show
//! numbered pages ("page 2 of 5") of a list the database sorts: one count and one
//! `LIMIT`/`OFFSET` read ([`numbered`]); [`Paged::of`] pages a list already in memory.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{domain::FieldError, error::AppError};

/// A page of a list, with the cursor of the next page when there is one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Opaque cursor from the previous page's `next_cursor`.
    #[param(pattern = "^([A-Za-z0-9_-]{21}[AQgw])?$")]
    pub cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// A checked page request: the key to start after and how many items to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub limit: u64,
}

impl PageRequest {
    pub fn parse(cursor: Option<&str>, limit: Option<u64>) -> Result<Self, AppError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            let error = FieldError::new("limit", "out_of_range", format!("must be between 1 and {MAX_LIMIT}"));
            return Err(AppError::Invalid(vec![error.with("min", 1).with("max", MAX_LIMIT)]));
        }
        let after =
            match cursor {
                None | Some("") => None,
                Some(c) => Some(decode(c).ok_or_else(|| {
                    AppError::invalid("cursor", "invalid_cursor", "is not a cursor this server issued")
                })?),
            };
        Ok(Self { after, limit })
    }

    /// Builds the page from up to `limit + 1` rows fetched in key order.
    pub fn page<T, R>(
        &self,
        mut rows: Vec<R>,
        key: impl Fn(&R) -> Uuid,
        view: impl Fn(&R) -> anyhow::Result<T>,
    ) -> anyhow::Result<Page<T>> {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more { rows.last().map(|r| encode(key(r))) } else { None };
        Ok(Page { items: rows.iter().map(view).collect::<anyhow::Result<_>>()?, next_cursor })
    }
}

impl TryFrom<&PageQuery> for PageRequest {
    type Error = AppError;
    fn try_from(q: &PageQuery) -> Result<Self, AppError> {
        PageRequest::parse(q.cursor.as_deref(), q.limit)
    }
}

fn encode(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode(cursor: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// One numbered page of a list, plus what a pager needs.
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
        let (page, start) = clamp(page, total, per_page);
        let items: Vec<T> = all.into_iter().skip(start).take(per_page).collect();
        Self::framed(items, page, total, per_page, start)
    }

    fn framed(items: Vec<T>, page: usize, total: usize, per_page: usize, start: usize) -> Self {
        let (first, last) = if items.is_empty() { (0, 0) } else { (start + 1, start + items.len()) };
        Self { items, page, pages: total.div_ceil(per_page).max(1), total, first, last }
    }

    /// The same page with each item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        let items = self.items.into_iter().map(f).collect();
        Paged { items, page: self.page, pages: self.pages, total: self.total, first: self.first, last: self.last }
    }

    /// The same page with each item converted, or the first conversion's error.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Paged<U>, E> {
        let items = self.items.into_iter().map(f).collect::<Result<Vec<U>, E>>()?;
        Ok(Paged { items, page: self.page, pages: self.pages, total: self.total, first: self.first, last: self.last })
    }
}

/// The page shown (clamped to the existing ones) and the index of its first row.
fn clamp(page: Option<usize>, total: usize, per_page: usize) -> (usize, usize) {
    let pages = total.div_ceil(per_page).max(1);
    let page = page.unwrap_or(1).clamp(1, pages);
    (page, (page - 1) * per_page)
}

/// Page `page` (1-based; out of range is clamped) of a select the caller has sorted: one
/// `COUNT` and one `LIMIT`/`OFFSET` read, however long the list.
pub async fn numbered<E, C>(
    db: &C,
    select: sea_orm::Select<E>,
    page: Option<usize>,
    per_page: usize,
) -> Result<Paged<E::Model>, sea_orm::DbErr>
where
    E: sea_orm::EntityTrait,
    E::Model: Send + Sync,
    C: sea_orm::ConnectionTrait,
{
    use sea_orm::{PaginatorTrait, QuerySelect};
    let per_page = per_page.max(1);
    let total = usize::try_from(select.clone().count(db).await?).unwrap_or(usize::MAX);
    let (page, start) = clamp(page, total, per_page);
    let (offset, limit) = (u64::try_from(start).unwrap_or(u64::MAX), u64::try_from(per_page).unwrap_or(u64::MAX));
    let items = select.offset(offset).limit(limit).all(db).await?;
    Ok(Paged::framed(items, page, total, per_page, start))
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

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = Uuid::now_v7();
        assert_eq!(PageRequest::parse(Some(&encode(id)), None).unwrap().after, Some(id));
        assert!(PageRequest::parse(Some("!!"), None).is_err());
        assert!(PageRequest::parse(None, Some(0)).is_err());
        assert!(PageRequest::parse(None, Some(201)).is_err());
    }

    /// The form `PageQuery` declares for `cursor` in the OpenAPI document.
    fn declared_form(cursor: &str) -> bool {
        let b = cursor.as_bytes();
        cursor.is_empty()
            || (b.len() == 22
                && b[..21].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
                && matches!(b[21], b'A' | b'Q' | b'g' | b'w'))
    }

    #[test]
    fn every_cursor_of_the_declared_form_is_taken() {
        let id = Uuid::now_v7();
        assert!(declared_form(&encode(id)));
        for cursor in [encode(id), "AAAAAAAAAAAAAAAAAAAAAA".into(), "_-zZ09AAAAAAAAAAAAAAAw".into(), String::new()] {
            assert!(declared_form(&cursor));
            assert!(PageRequest::parse(Some(&cursor), None).is_ok(), "{cursor}");
        }
        for cursor in ["AAAAAAAAAAAAAAAAAAAAAB", "AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAA="] {
            assert!(!declared_form(cursor));
            assert!(PageRequest::parse(Some(cursor), None).is_err(), "{cursor}");
        }
    }

    #[test]
    fn pages_stop_at_the_limit_and_point_past_it() {
        let ids: Vec<Uuid> = (1..=3).map(Uuid::from_u128).collect();
        let request = PageRequest { after: None, limit: 2 };
        let page = request.page(ids.clone(), |id| *id, |id| Ok(*id)).unwrap();
        assert_eq!(page.items, ids[..2]);
        assert_eq!(page.next_cursor, Some(encode(ids[1])));
        let last = request.page(ids[..2].to_vec(), |id| *id, |id| Ok(*id)).unwrap();
        assert_eq!(last.next_cursor, None);
    }

    proptest::proptest! {
        #[test]
        fn every_id_survives_a_cursor_round_trip(bytes in proptest::array::uniform16(proptest::num::u8::ANY)) {
            let id = Uuid::from_bytes(bytes);
            proptest::prop_assert_eq!(decode(&encode(id)), Some(id));
        }
    }
}
