//! Vendor reports: the agency writes and submits the reports of its own engagements; the
//! company's leads and admins review them; everyone who sees the engagement reads them.

use crate::{
    domain::{
        confidentiality::{Viewer, Visibility},
        enums::Role,
    },
    error::{AppError, AppResult},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    /// Create, edit, submit.
    Write,
    Review,
}

/// Decides on a report of an engagement the viewer sees as `seen` (never `Hidden`: that
/// case answered 404 when the engagement was loaded).
pub fn authorize(viewer: &Viewer, action: Action, seen: Visibility) -> AppResult<()> {
    let allowed = match action {
        Action::Read => seen != Visibility::Hidden,
        Action::Write => matches!(viewer.role, Role::Vendor | Role::Admin) && seen != Visibility::Hidden,
        Action::Review => matches!(viewer.role, Role::Admin | Role::Lead) && seen == Visibility::Full,
    };
    if allowed {
        Ok(())
    } else if seen == Visibility::Hidden {
        Err(AppError::NotFound)
    } else {
        Err(AppError::forbidden(match action {
            Action::Write => "reports are written by the agency",
            _ => "only admins and leads review reports",
        }))
    }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn report_matrix() {
        for role in Role::iter() {
            let viewer = Viewer { user_id: Uuid::nil(), role, vendor_id: None };
            let seen = if role == Role::Vendor { Visibility::VendorView } else { Visibility::Full };
            assert!(authorize(&viewer, Action::Read, seen).is_ok());
            assert_eq!(
                authorize(&viewer, Action::Write, seen).is_ok(),
                matches!(role, Role::Vendor | Role::Admin),
                "{role}"
            );
            assert_eq!(
                authorize(&viewer, Action::Review, seen).is_ok(),
                matches!(role, Role::Admin | Role::Lead),
                "{role}"
            );
            assert!(matches!(authorize(&viewer, Action::Read, Visibility::Hidden), Err(AppError::NotFound)));
        }
    }
}
