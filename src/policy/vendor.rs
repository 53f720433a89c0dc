//! Vendors: the company sees every agency; an agency's people see only their own.

use uuid::Uuid;

use crate::{
    domain::{confidentiality::Viewer, enums::Role},
    error::{AppError, AppResult},
};

/// Which vendors a listing may include: all (`None`) or only one.
pub fn list_scope(viewer: &Viewer) -> AppResult<Option<Uuid>> {
    match viewer.role {
        Role::Admin | Role::Lead | Role::Executive => Ok(None),
        Role::Vendor => viewer.vendor_id.map(Some).ok_or(AppError::NotFound),
    }
}

pub fn read(viewer: &Viewer, vendor_id: Uuid) -> AppResult<()> {
    match viewer.role {
        Role::Admin | Role::Lead | Role::Executive => Ok(()),
        Role::Vendor if viewer.vendor_id == Some(vendor_id) => Ok(()),
        Role::Vendor => Err(AppError::NotFound),
    }
}

/// Creating (`vendor_id` is `None`) or changing a vendor.
pub fn write(viewer: &Viewer, vendor_id: Option<Uuid>) -> AppResult<()> {
    if let Some(id) = vendor_id {
        read(viewer, id)?;
    }
    match viewer.role {
        Role::Admin | Role::Lead => Ok(()),
        _ => Err(AppError::forbidden("only admins and leads manage vendors")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_matrix() {
        let (mine, theirs) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let v = |role, vendor_id| Viewer { user_id: Uuid::from_u128(9), role, vendor_id };
        assert!(read(&v(Role::Vendor, Some(mine)), mine).is_ok());
        assert!(matches!(read(&v(Role::Vendor, Some(mine)), theirs), Err(AppError::NotFound)));
        assert!(matches!(write(&v(Role::Vendor, Some(mine)), Some(mine)), Err(AppError::Forbidden(_))));
        assert!(matches!(write(&v(Role::Vendor, Some(mine)), Some(theirs)), Err(AppError::NotFound)));
        assert!(matches!(write(&v(Role::Executive, None), None), Err(AppError::Forbidden(_))));
        assert!(write(&v(Role::Lead, None), Some(theirs)).is_ok());
        assert_eq!(list_scope(&v(Role::Vendor, Some(mine))).unwrap(), Some(mine));
        assert_eq!(list_scope(&v(Role::Executive, None)).unwrap(), None);
    }
}
