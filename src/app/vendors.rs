//! Vendors (agencies).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::{
    app::audit::{self, Actor, AuditEntry},
    db::{entity::vendor, pagination::PageRequest},
};
use crate::{
    domain::{
        enums::Role,
        text,
        vendor::{VendorInput, VendorPatch},
    },
    error::{AppError, AppResult},
    views::{Page, VendorView},
};

pub async fn create(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    input: VendorInput,
) -> AppResult<vendor::Model> {
    let input = input.validate()?;
    let txn = crate::db::begin_write(db).await?;
    ensure_name_free(&txn, &input.name, None).await?;
    let model = vendor::ActiveModel {
        id: Set(Uuid::now_v7()),
        name_key: Set(text::name_key(&input.name)),
        name: Set(input.name),
        legal_name: Set(input.legal_name),
        tax_id: Set(input.tax_id),
        website: Set(input.website),
        contacts: Set(serde_json::to_value(&input.contacts).map_err(anyhow::Error::from)?),
        notes: Set(input.notes),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let view = VendorView::try_from(&model)?;
    audit::record(&txn, now, actor, AuditEntry::new("vendor.create", "vendor", model.id).after(&view)).await?;
    txn.commit().await?;
    Ok(model)
}

async fn ensure_name_free<C: ConnectionTrait>(db: &C, name: &str, except: Option<Uuid>) -> AppResult<()> {
    let mut query = vendor::Entity::find().filter(vendor::Column::NameKey.eq(text::name_key(name)));
    if let Some(id) = except {
        query = query.filter(vendor::Column::Id.ne(id));
    }
    if query.one(db).await?.is_some() {
        return Err(AppError::conflict("name", "duplicate", "a vendor with this name already exists"));
    }
    Ok(())
}

/// The vendor with this name, compared as names are compared for uniqueness.
pub async fn find_by_name<C: ConnectionTrait>(db: &C, name: &str) -> AppResult<Option<vendor::Model>> {
    Ok(vendor::Entity::find().filter(vendor::Column::NameKey.eq(text::name_key(name))).one(db).await?)
}

pub async fn get<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<vendor::Model> {
    vendor::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)
}

/// Lists vendors, all of them or only `only`.
pub async fn list(
    db: &DatabaseConnection,
    page: PageRequest,
    only: Option<Uuid>,
    role: Role,
) -> AppResult<Page<VendorView>> {
    let mut query = vendor::Entity::find().order_by_asc(vendor::Column::Id).limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(vendor::Column::Id.gt(after));
    }
    if let Some(id) = only {
        query = query.filter(vendor::Column::Id.eq(id));
    }
    let rows = query.all(db).await?;
    Ok(page.page(rows, |v| v.id, |v| VendorView::for_role(v, role))?)
}

pub async fn update(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    id: Uuid,
    patch: VendorPatch,
) -> AppResult<vendor::Model> {
    let txn = crate::db::begin_write(db).await?;
    let current = get(&txn, id).await?;
    let before = VendorView::try_from(&current)?;
    let merged = patch
        .apply(VendorInput {
            name: before.name.clone(),
            legal_name: before.legal_name.clone(),
            tax_id: before.tax_id.clone(),
            website: before.website.clone(),
            contacts: before.contacts.clone(),
            notes: before.notes.clone(),
        })
        .validate()?;
    ensure_name_free(&txn, &merged.name, Some(id)).await?;
    let mut active: vendor::ActiveModel = current.into();
    active.name_key = Set(text::name_key(&merged.name));
    active.name = Set(merged.name);
    active.legal_name = Set(merged.legal_name);
    active.tax_id = Set(merged.tax_id);
    active.website = Set(merged.website);
    active.contacts = Set(serde_json::to_value(&merged.contacts).map_err(anyhow::Error::from)?);
    active.notes = Set(merged.notes);
    active.updated_at = Set(now);
    let updated = active.update(&txn).await?;
    let after = VendorView::try_from(&updated)?;
    audit::record(&txn, now, actor, AuditEntry::new("vendor.update", "vendor", id).before(&before).after(&after))
        .await?;
    txn.commit().await?;
    Ok(updated)
}
