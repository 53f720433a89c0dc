//! Names by id, for the "who" of lists and timelines: one query however many pages and
//! surfaces show them.

use std::collections::{BTreeSet, HashMap};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::entity::{user, vendor};
use crate::error::AppResult;

/// People's names by id; ids that name nobody are left out.
/// The ids are collected before the query starts, so that the future holds no iterator.
pub fn users<'a, C: ConnectionTrait>(
    db: &'a C,
    ids: impl IntoIterator<Item = Uuid>,
) -> impl Future<Output = AppResult<HashMap<Uuid, String>>> + Send + 'a {
    let ids: BTreeSet<Uuid> = ids.into_iter().collect();
    async move {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let found = user::Entity::find().filter(user::Column::Id.is_in(ids)).all(db).await?;
        Ok(found.into_iter().map(|u| (u.id, u.name)).collect())
    }
}

/// Agencies' names by id; `None`: every agency.
pub async fn vendors<C: ConnectionTrait>(db: &C, ids: Option<Vec<Uuid>>) -> AppResult<HashMap<Uuid, String>> {
    let mut query = vendor::Entity::find();
    if let Some(ids) = ids {
        query = query.filter(vendor::Column::Id.is_in(ids));
    }
    Ok(query.all(db).await?.into_iter().map(|v| (v.id, v.name)).collect())
}
