//! Engagements and what hangs off them (scope, team, KPIs, governance).

use crate::{
    domain::{
        confidentiality::{EngagementAccess, Viewer, Visibility, visibility},
        enums::Role,
    },
    error::{AppError, AppResult},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the engagement, its scope, team and KPIs.
    Read,
    /// Read the governance assessment (company only).
    ReadGovernance,
    /// Change fields, scope, team or KPIs, or move the status.
    Manage,
}

/// Admins and leads open engagements.
pub fn create(viewer: &Viewer) -> AppResult<()> {
    match viewer.role {
        Role::Admin | Role::Lead => Ok(()),
        _ => Err(AppError::forbidden("only admins and leads create engagements")),
    }
}

pub fn authorize(viewer: &Viewer, action: Action, engagement: &EngagementAccess) -> AppResult<Visibility> {
    let seen = visibility(viewer, engagement);
    if seen == Visibility::Hidden {
        return Err(AppError::NotFound);
    }
    let allowed = match action {
        Action::Read => true,
        Action::ReadGovernance => seen == Visibility::Full,
        Action::Manage => seen == Visibility::Full && matches!(viewer.role, Role::Admin | Role::Lead),
    };
    if allowed { Ok(seen) } else { Err(AppError::forbidden("your role may not do this on this engagement")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::enums::Confidentiality;
    use strum::IntoEnumIterator;
    use uuid::Uuid;

    #[test]
    fn only_company_leads_and_admins_manage_and_vendors_never_see_governance() {
        let vendor = Uuid::from_u128(9);
        let access = EngagementAccess {
            vendor_id: vendor,
            confidentiality: Confidentiality::Internal,
            owner_id: None,
            viewer_on_team: true,
        };
        for role in Role::iter() {
            let viewer = Viewer { user_id: Uuid::from_u128(1), role, vendor_id: Some(vendor) };
            assert!(authorize(&viewer, Action::Read, &access).is_ok(), "{role}");
            let manage = authorize(&viewer, Action::Manage, &access).is_ok();
            assert_eq!(manage, matches!(role, Role::Admin | Role::Lead), "{role}");
            let governance = authorize(&viewer, Action::ReadGovernance, &access).is_ok();
            assert_eq!(governance, role != Role::Vendor, "{role}");
            assert_eq!(create(&viewer).is_ok(), matches!(role, Role::Admin | Role::Lead));
        }
    }

    #[test]
    fn hidden_engagements_answer_not_found() {
        let access = EngagementAccess {
            vendor_id: Uuid::from_u128(9),
            confidentiality: Confidentiality::Secret,
            owner_id: None,
            viewer_on_team: false,
        };
        let lead = Viewer { user_id: Uuid::from_u128(1), role: Role::Lead, vendor_id: None };
        assert!(matches!(authorize(&lead, Action::Manage, &access), Err(AppError::NotFound)));
    }
}
