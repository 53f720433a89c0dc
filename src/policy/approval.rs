//! Approvals, workflows and content items. Everyone who sees an engagement reads its content
//! calendar; the agency proposes and changes content, as do the company's leads and admins;
//! approvals are read by the company, and by agency users only for subjects they authored;
//! deciding is for company users (the approval itself then checks that the caller is one of
//! the stage's approvers and not the author); workflows are the company's to read and its
//! leads' and admins' to change.

use crate::{
    domain::{
        confidentiality::{Viewer, Visibility},
        enums::Role,
    },
    error::{AppError, AppResult},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ReadContent,
    /// Propose, edit, withdraw or mark published.
    WriteContent,
    /// Read an approval; `authored` says whether the caller authored its subject.
    ReadApproval {
        authored: bool,
    },
    Decide,
    ReadWorkflow,
    ManageWorkflow,
}

/// Decides on an object of an engagement the viewer sees as `seen`.
pub fn authorize(viewer: &Viewer, action: Action, seen: Visibility) -> AppResult<()> {
    if seen == Visibility::Hidden {
        return Err(AppError::NotFound);
    }
    let company = seen == Visibility::Full && viewer.role != Role::Vendor;
    let allowed = match action {
        Action::ReadContent => true,
        Action::WriteContent => {
            viewer.role == Role::Vendor || (company && matches!(viewer.role, Role::Admin | Role::Lead))
        }
        Action::ReadApproval { authored } => company || authored,
        Action::Decide | Action::ReadWorkflow => company,
        Action::ManageWorkflow => company && matches!(viewer.role, Role::Admin | Role::Lead),
    };
    match (allowed, action) {
        (true, _) => Ok(()),
        // An agency user does not learn that approvals of others exist.
        (false, Action::ReadApproval { .. }) => Err(AppError::NotFound),
        (false, Action::Decide) => Err(AppError::forbidden("agency users never decide approvals")),
        (false, Action::WriteContent) => {
            Err(AppError::forbidden("content is proposed by the agency, leads and admins"))
        }
        (false, _) => Err(AppError::forbidden("your role may not do this on this engagement")),
    }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn approval_and_content_matrix() {
        for role in Role::iter() {
            let viewer = Viewer { user_id: Uuid::nil(), role, vendor_id: None };
            let seen = if role == Role::Vendor { Visibility::VendorView } else { Visibility::Full };
            let company = role != Role::Vendor;
            let manager = matches!(role, Role::Admin | Role::Lead);
            let ok = |a| authorize(&viewer, a, seen).is_ok();
            assert!(ok(Action::ReadContent), "{role}");
            assert_eq!(ok(Action::WriteContent), manager || role == Role::Vendor, "{role}");
            assert_eq!(ok(Action::ReadApproval { authored: false }), company, "{role}");
            assert!(ok(Action::ReadApproval { authored: true }), "{role}");
            assert_eq!(ok(Action::Decide), company, "{role}");
            assert_eq!(ok(Action::ReadWorkflow), company, "{role}");
            assert_eq!(ok(Action::ManageWorkflow), manager, "{role}");
            for action in [Action::ReadContent, Action::Decide, Action::ReadApproval { authored: true }] {
                assert!(matches!(authorize(&viewer, action, Visibility::Hidden), Err(AppError::NotFound)));
            }
        }
    }
}
