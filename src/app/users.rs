//! User accounts: creation, changes, password changes.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, Func},
};
use uuid::Uuid;

use crate::auth::token::TokenCache;
use crate::{
    app::audit::{self, Actor, AuditEntry},
    db::{
        entity::{session, user, vendor},
        pagination::{PageRequest, Paged, numbered},
    },
};
use crate::{
    auth::password,
    domain::{
        Violations,
        enums::Role,
        text,
        user::{NewUserInput, UserPatch, role_vendor},
    },
    error::{AppError, AppResult},
    views::{Page, UserView},
};

pub struct CreatedUser {
    pub user: user::Model,
    /// Set when the password was generated: shown once, never stored in clear.
    pub generated_password: Option<String>,
}

pub async fn create(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    input: NewUserInput,
) -> AppResult<CreatedUser> {
    let input = input.validate()?;
    let mut v = Violations::new();
    if let Some(vendor_id) = input.vendor_id
        && vendor::Entity::find_by_id(vendor_id).one(db).await?.is_none()
    {
        v.add("vendor_id", "unknown", "no such vendor");
    }
    if find_by_email(db, &input.email).await?.is_some() {
        return Err(AppError::conflict("email", "duplicate", "a user with this e-mail already exists"));
    }
    v.finish(())?;
    let generated_password = input.password.is_none().then(password::generate);
    let clear = input.password.clone().or_else(|| generated_password.clone()).unwrap_or_default();
    let password_hash = password::hash(clear).await?;
    let txn = crate::db::begin_write(db).await?;
    let user = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(input.email),
        name: Set(input.name),
        role: Set(input.role),
        vendor_id: Set(input.vendor_id),
        language: Set(input.language),
        timezone: Set(input.timezone),
        password_hash: Set(password_hash),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let view = UserView::try_from(&user)?;
    audit::record(&txn, now, actor, AuditEntry::new("user.create", "user", user.id).after(&view)).await?;
    txn.commit().await?;
    Ok(CreatedUser { user, generated_password })
}

pub async fn find_by_email<C: ConnectionTrait>(db: &C, email: &str) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find().filter(user::Column::Email.eq(email.trim().to_lowercase())).one(db).await?)
}

/// The ids of every active admin: who decides or hears of what nobody else can.
pub async fn active_admin_ids<C: ConnectionTrait>(db: &C) -> AppResult<Vec<Uuid>> {
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::Active.eq(true))
        .into_tuple()
        .all(db)
        .await?)
}

pub async fn get<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<user::Model> {
    user::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound)
}

pub async fn list(db: &DatabaseConnection, page: PageRequest, role: Option<Role>) -> AppResult<Page<UserView>> {
    let mut query = user::Entity::find().order_by_asc(user::Column::Id).limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(user::Column::Id.gt(after));
    }
    if let Some(role) = role {
        query = query.filter(user::Column::Role.eq(role));
    }
    let rows = query.all(db).await?;
    Ok(page.page(rows, |u| u.id, |u| UserView::try_from(u))?)
}

/// Page `page` of the accounts (of one role, or all) by name, for the admin's list.
pub async fn by_name(
    db: &DatabaseConnection,
    role: Option<Role>,
    page: Option<usize>,
    per_page: usize,
) -> AppResult<Paged<UserView>> {
    let mut query = user::Entity::find();
    if let Some(role) = role {
        query = query.filter(user::Column::Role.eq(role));
    }
    let query = query
        .order_by_asc(Func::lower(Expr::col(user::Column::Name)))
        .order_by_asc(user::Column::Email)
        .order_by_asc(user::Column::Id);
    Ok(numbered(db, query, page, per_page).await?.try_map(|u| UserView::try_from(&u))?)
}

/// Who a person picker offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pickable {
    /// Every account, active or not (the audit log's "who" filter).
    Everyone,
    /// Active company accounts (whom a digest may be sent to).
    ActiveCompany,
}

/// A person as a picker shows them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Choice {
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

/// The people a picker offers, by name: one query of three columns.
pub async fn choices(db: &DatabaseConnection, who: Pickable) -> AppResult<Vec<Choice>> {
    let mut query =
        user::Entity::find().select_only().columns([user::Column::Id, user::Column::Name, user::Column::Email]);
    if who == Pickable::ActiveCompany {
        query = query.filter(user::Column::Active.eq(true)).filter(user::Column::Role.ne(Role::Vendor));
    }
    let rows: Vec<(Uuid, String, String)> = query
        .order_by_asc(Func::lower(Expr::col(user::Column::Name)))
        .order_by_asc(user::Column::Email)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, name, email)| Choice { id, name, email }).collect())
}

pub async fn update(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    id: Uuid,
    patch: UserPatch,
    tokens: &TokenCache,
) -> AppResult<user::Model> {
    let txn = crate::db::begin_write(db).await?;
    let current = get(&txn, id).await?;
    let before = UserView::try_from(&current)?;
    let mut v = Violations::new();
    let role = patch.role.unwrap_or(before.identity.role);
    let vendor_id = patch.vendor_id.unwrap_or(current.vendor_id);
    v.check(role_vendor(role, vendor_id));
    if let Some(vendor_id) = vendor_id
        && patch.vendor_id.is_some()
        && vendor::Entity::find_by_id(vendor_id).one(&txn).await?.is_none()
    {
        v.add("vendor_id", "unknown", "no such vendor");
    }
    let name = match patch.name.as_deref() {
        Some(n) => v.check(text::required("name", n, 200)),
        None => Some(current.name.clone()),
    };
    let timezone = match patch.timezone.as_deref() {
        Some(tz) => v.check(text::timezone("timezone", tz)),
        None => Some(current.timezone.clone()),
    };
    if actor.id == Some(id) && patch.active == Some(false) {
        v.add("active", "self_lockout", "admins cannot disable their own account");
    }
    if actor.id == Some(id) && role != before.identity.role {
        v.add("role", "self_lockout", "admins cannot change their own role");
    }
    v.finish(())?;
    let active_flag = patch.active.unwrap_or(current.active);
    let mut active: user::ActiveModel = current.into();
    active.name = Set(name.unwrap_or_default());
    active.role = Set(role);
    active.vendor_id = Set(vendor_id);
    active.language = Set(patch.language.unwrap_or(before.identity.language));
    active.timezone = Set(timezone.unwrap_or_default());
    active.active = Set(active_flag);
    active.updated_at = Set(now);
    let updated = active.update(&txn).await?;
    if !updated.active || role != before.identity.role {
        session::Entity::delete_many().filter(session::Column::UserId.eq(id)).exec(&txn).await?;
    }
    let after = UserView::try_from(&updated)?;
    audit::record(&txn, now, actor, AuditEntry::new("user.update", "user", id).before(&before).after(&after)).await?;
    txn.commit().await?;
    // Role or status changes must not wait for cached tokens to expire on this replica.
    tokens.invalidate_all();
    Ok(updated)
}

/// Changes the caller's own password after checking the current one; every other session
/// of the user ends.
pub async fn change_password(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    user_id: Uuid,
    keep_session: Option<&str>,
    current_password: String,
    new_password: String,
) -> AppResult<()> {
    let current = get(db, user_id).await?;
    if !password::verify(current_password, Some(current.password_hash.clone())).await? {
        return Err(AppError::invalid("current_password", "wrong_password", "is not the current password"));
    }
    crate::domain::user::password("new_password", &new_password, &current.email)
        .map_err(|e| AppError::Invalid(vec![e]))?;
    let hash = password::hash(new_password).await?;
    let txn = crate::db::begin_write(db).await?;
    let mut active: user::ActiveModel = current.into();
    active.password_hash = Set(hash);
    active.updated_at = Set(now);
    active.update(&txn).await?;
    let mut others = session::Entity::delete_many().filter(session::Column::UserId.eq(user_id));
    if let Some(keep) = keep_session {
        others = others.filter(session::Column::Id.ne(keep));
    }
    others.exec(&txn).await?;
    audit::record(&txn, now, actor, AuditEntry::new("user.password_change", "user", user_id)).await?;
    txn.commit().await?;
    Ok(())
}
