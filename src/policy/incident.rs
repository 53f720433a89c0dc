//! Incidents (SPEC §1.7): everyone who sees an engagement, the agency's users included, may
//! report an incident on it and add to its timeline; the company's oversight team handles
//! it. Acknowledging means "the company has seen it and owns it", which is what the
//! acknowledgement SLA measures, so only company users who manage the engagement (admins and
//! leads with the full view) acknowledge, resolve, or lower a severity. Raising a severity is
//! part of reporting: whoever sees the situation worsen may say so.

use crate::{
    domain::{
        confidentiality::{Viewer, Visibility},
        enums::Role,
    },
    error::{AppError, AppResult},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// List and read incidents and their timeline.
    Read,
    /// Open an incident, add a note, raise the severity.
    Report,
    /// Acknowledge, resolve, lower the severity.
    Handle,
}

/// Decides on an incident of an engagement the viewer sees as `seen` (`Hidden` answers 404).
pub fn authorize(viewer: &Viewer, action: Action, seen: Visibility) -> AppResult<()> {
    if seen == Visibility::Hidden {
        return Err(AppError::NotFound);
    }
    let allowed = match action {
        Action::Read | Action::Report => true,
        Action::Handle => seen == Visibility::Full && matches!(viewer.role, Role::Admin | Role::Lead),
    };
    if allowed {
        Ok(())
    } else {
        Err(AppError::forbidden("incidents are acknowledged and resolved by the company's admins and leads"))
    }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn incident_matrix() {
        for role in Role::iter() {
            let viewer = Viewer { user_id: Uuid::nil(), role, vendor_id: None };
            for seen in [Visibility::VendorView, Visibility::Full] {
                assert!(authorize(&viewer, Action::Read, seen).is_ok(), "{role}");
                assert!(authorize(&viewer, Action::Report, seen).is_ok(), "{role}");
                let handle = authorize(&viewer, Action::Handle, seen);
                let expected = seen == Visibility::Full && matches!(role, Role::Admin | Role::Lead);
                assert_eq!(handle.is_ok(), expected, "{role} {seen:?}");
                if !expected {
                    assert!(matches!(handle, Err(AppError::Forbidden(_))));
                }
            }
            for action in [Action::Read, Action::Report, Action::Handle] {
                assert!(matches!(authorize(&viewer, action, Visibility::Hidden), Err(AppError::NotFound)));
            }
        }
    }
}
