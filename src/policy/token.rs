//! API tokens: everyone manages their own; admins may see and revoke anyone's.

use uuid::Uuid;

use crate::{
    domain::{confidentiality::Viewer, enums::Role},
    error::{AppError, AppResult},
};

/// Whose tokens a listing shows: everyone's (`None`) for admins, otherwise the caller's.
pub fn list_scope(viewer: &Viewer) -> Option<Uuid> {
    (viewer.role != Role::Admin).then_some(viewer.user_id)
}

pub fn manage(viewer: &Viewer, owner_id: Uuid) -> AppResult<()> {
    if viewer.role == Role::Admin || viewer.user_id == owner_id { Ok(()) } else { Err(AppError::NotFound) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_matrix() {
        let me = Uuid::from_u128(1);
        let v = |role| Viewer { user_id: me, role, vendor_id: None };
        assert!(manage(&v(Role::Vendor), me).is_ok());
        assert!(matches!(manage(&v(Role::Lead), Uuid::nil()), Err(AppError::NotFound)));
        assert!(manage(&v(Role::Admin), Uuid::nil()).is_ok());
        assert_eq!(list_scope(&v(Role::Executive)), Some(me));
        assert_eq!(list_scope(&v(Role::Admin)), None);
    }
}
