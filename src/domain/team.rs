//! Who may hold which place in an engagement's oversight team.

use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    Violations,
    enums::{Role, TeamRole},
};

#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamMemberInput {
    pub user_id: Uuid,
    pub team_role: TeamRole,
}

/// The facts about the candidate member that the rule needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub role: Role,
    pub vendor_id: Option<Uuid>,
    pub active: bool,
}

/// Agency people join only as the agency contact of their own vendor's engagements; company
/// people never as agency contact; the executive seat needs an executive.
pub fn check_member(team_role: TeamRole, candidate: &Candidate, engagement_vendor: Uuid) -> Result<(), Violations> {
    let mut v = Violations::new();
    if !candidate.active {
        v.add("user_id", "user_inactive", "the user's account is disabled");
    }
    match (candidate.role, team_role) {
        (Role::Vendor, TeamRole::AgencyContact) if candidate.vendor_id != Some(engagement_vendor) => {
            v.add("user_id", "foreign_vendor", "the user belongs to another vendor")
        }
        (Role::Vendor, TeamRole::AgencyContact) => {}
        (Role::Vendor, _) => v.add("team_role", "vendor_role", "agency users can only be agency_contact"),
        (_, TeamRole::AgencyContact) => {
            v.add("team_role", "internal_user", "agency_contact is for users of the engagement's vendor")
        }
        (role, TeamRole::Executive) if role != Role::Executive => {
            v.add("team_role", "not_executive", "the executive seat needs a user with the executive role")
        }
        _ => {}
    }
    v.finish(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VENDOR: Uuid = Uuid::from_u128(5);

    fn candidate(role: Role, vendor_id: Option<Uuid>) -> Candidate {
        Candidate { role, vendor_id, active: true }
    }

    #[test]
    fn team_rules() {
        assert!(check_member(TeamRole::AgencyContact, &candidate(Role::Vendor, Some(VENDOR)), VENDOR).is_ok());
        assert!(check_member(TeamRole::AgencyContact, &candidate(Role::Vendor, Some(Uuid::nil())), VENDOR).is_err());
        assert!(check_member(TeamRole::Lead, &candidate(Role::Vendor, Some(VENDOR)), VENDOR).is_err());
        assert!(check_member(TeamRole::AgencyContact, &candidate(Role::Lead, None), VENDOR).is_err());
        assert!(check_member(TeamRole::Executive, &candidate(Role::Lead, None), VENDOR).is_err());
        assert!(check_member(TeamRole::Executive, &candidate(Role::Executive, None), VENDOR).is_ok());
        assert!(check_member(TeamRole::Legal, &candidate(Role::Admin, None), VENDOR).is_ok());
        let disabled = Candidate { active: false, ..candidate(Role::Lead, None) };
        assert_eq!(check_member(TeamRole::Lead, &disabled, VENDOR).unwrap_err().0[0].code, "user_inactive");
    }
}
