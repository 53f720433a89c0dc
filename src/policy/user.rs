//! Users: admins manage accounts; leads may look people up (to build teams); everyone sees
//! themselves.

use uuid::Uuid;

use crate::{
    domain::{confidentiality::Viewer, enums::Role},
    error::{AppError, AppResult},
};

pub fn list(viewer: &Viewer) -> AppResult<()> {
    match viewer.role {
        Role::Admin | Role::Lead => Ok(()),
        _ => Err(AppError::forbidden("only admins and leads list users")),
    }
}

pub fn read(viewer: &Viewer, user_id: Uuid) -> AppResult<()> {
    match viewer.role {
        Role::Admin | Role::Lead => Ok(()),
        _ if viewer.user_id == user_id => Ok(()),
        _ => Err(AppError::NotFound),
    }
}

/// Creating (`user_id` is `None`) or changing an account.
pub fn write(viewer: &Viewer, user_id: Option<Uuid>) -> AppResult<()> {
    if let Some(id) = user_id {
        read(viewer, id)?;
    }
    match viewer.role {
        Role::Admin => Ok(()),
        _ => Err(AppError::forbidden("only admins manage user accounts")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_matrix() {
        let me = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let v = |role| Viewer { user_id: me, role, vendor_id: None };
        assert!(read(&v(Role::Executive), me).is_ok());
        assert!(matches!(read(&v(Role::Executive), other), Err(AppError::NotFound)));
        assert!(read(&v(Role::Lead), other).is_ok());
        assert!(matches!(write(&v(Role::Lead), Some(other)), Err(AppError::Forbidden(_))));
        assert!(matches!(write(&v(Role::Vendor), Some(other)), Err(AppError::NotFound)));
        assert!(write(&v(Role::Admin), None).is_ok());
        assert!(list(&v(Role::Vendor)).is_err());
    }
}
