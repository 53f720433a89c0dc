//! Who may see an engagement, and how much of it (SPEC §1.5, §2).
//!
//! | level        | admin | lead                | executive     | vendor user of the engagement's vendor |
//! |--------------|-------|---------------------|---------------|-----------------------------------------|
//! | public       | full  | full                | if on team    | vendor view                             |
//! | internal     | full  | full                | if on team    | vendor view                             |
//! | confidential | full  | full                | if on team    | vendor view if on team                  |
//! | secret       | full  | if on team          | if on team    | vendor view if on team                  |
//!
//! "On team" includes being the internal owner. The vendor view leaves out what only the
//! company should know (the budget of the requirements brief). Users of another vendor never
//! see the engagement. Anything hidden answers 404, never 403, so existence does not leak.

use uuid::Uuid;

use super::enums::{Confidentiality, Role};

/// The person asking, as far as visibility is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: Uuid,
    pub role: Role,
    pub vendor_id: Option<Uuid>,
}

/// The facts about an engagement that decide its visibility to one viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngagementAccess {
    pub vendor_id: Uuid,
    pub confidentiality: Confidentiality,
    pub owner_id: Option<Uuid>,
    /// Whether the viewer is on the engagement's oversight team.
    pub viewer_on_team: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Visibility {
    Hidden,
    VendorView,
    Full,
}

impl Visibility {
    /// Company-only fields (the brief's budget) are shown only in the full view.
    pub fn shows_internal_fields(self) -> bool {
        self == Visibility::Full
    }
}

pub fn visibility(viewer: &Viewer, engagement: &EngagementAccess) -> Visibility {
    let insider = engagement.viewer_on_team || engagement.owner_id == Some(viewer.user_id);
    match viewer.role {
        Role::Admin => Visibility::Full,
        Role::Lead if engagement.confidentiality == Confidentiality::Secret && !insider => Visibility::Hidden,
        Role::Lead => Visibility::Full,
        Role::Executive if insider => Visibility::Full,
        Role::Executive => Visibility::Hidden,
        Role::Vendor if viewer.vendor_id != Some(engagement.vendor_id) => Visibility::Hidden,
        Role::Vendor if engagement.confidentiality <= Confidentiality::Internal || insider => Visibility::VendorView,
        Role::Vendor => Visibility::Hidden,
    }
}

/// The same rule as [`visibility`], in a form a database query can express for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListingScope {
    All,
    /// Every engagement below `secret`, plus those where the viewer is an insider.
    NotSecretOrInsider(Uuid),
    /// Only engagements where the viewer is an insider.
    InsiderOnly(Uuid),
    /// Engagements of this vendor at the open levels, or where the viewer is an insider.
    Vendor {
        user_id: Uuid,
        vendor_id: Uuid,
        open_levels: Vec<Confidentiality>,
    },
    Nothing,
}

pub fn listing_scope(viewer: &Viewer) -> ListingScope {
    match (viewer.role, viewer.vendor_id) {
        (Role::Admin, _) => ListingScope::All,
        (Role::Lead, _) => ListingScope::NotSecretOrInsider(viewer.user_id),
        (Role::Executive, _) => ListingScope::InsiderOnly(viewer.user_id),
        (Role::Vendor, Some(vendor_id)) => ListingScope::Vendor {
            user_id: viewer.user_id,
            vendor_id,
            open_levels: vec![Confidentiality::Public, Confidentiality::Internal],
        },
        (Role::Vendor, None) => ListingScope::Nothing,
    }
}

impl ListingScope {
    /// Whether a listing with this scope includes the engagement; used to prove the scope
    /// agrees with [`visibility`].
    pub fn admits(&self, engagement: &EngagementAccess) -> bool {
        let insider = |user_id: &Uuid| engagement.viewer_on_team || engagement.owner_id == Some(*user_id);
        match self {
            ListingScope::All => true,
            ListingScope::NotSecretOrInsider(user) => {
                engagement.confidentiality != Confidentiality::Secret || insider(user)
            }
            ListingScope::InsiderOnly(user) => insider(user),
            ListingScope::Vendor { user_id, vendor_id, open_levels } => {
                engagement.vendor_id == *vendor_id
                    && (open_levels.contains(&engagement.confidentiality) || insider(user_id))
            }
            ListingScope::Nothing => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    fn ids() -> (Uuid, Uuid, Uuid) {
        (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3))
    }

    #[test]
    fn listing_scope_agrees_with_visibility_for_every_combination() {
        let (me, my_vendor, other_vendor) = ids();
        for role in Role::iter() {
            for viewer_vendor in [None, Some(my_vendor)] {
                let viewer = Viewer { user_id: me, role, vendor_id: viewer_vendor };
                for level in Confidentiality::iter() {
                    for vendor_id in [my_vendor, other_vendor] {
                        for owner_id in [None, Some(me), Some(other_vendor)] {
                            for viewer_on_team in [false, true] {
                                let e =
                                    EngagementAccess { vendor_id, confidentiality: level, owner_id, viewer_on_team };
                                assert_eq!(
                                    listing_scope(&viewer).admits(&e),
                                    visibility(&viewer, &e) != Visibility::Hidden,
                                    "{viewer:?} {e:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn secret_engagements_are_for_the_team_and_admins_only() {
        let (me, vendor, _) = ids();
        let secret = EngagementAccess {
            vendor_id: vendor,
            confidentiality: Confidentiality::Secret,
            owner_id: None,
            viewer_on_team: false,
        };
        for role in Role::iter() {
            let viewer = Viewer { user_id: me, role, vendor_id: Some(vendor) };
            let expected = if role == Role::Admin { Visibility::Full } else { Visibility::Hidden };
            assert_eq!(visibility(&viewer, &secret), expected, "{role}");
            let on_team = EngagementAccess { viewer_on_team: true, ..secret };
            assert_ne!(visibility(&viewer, &on_team), Visibility::Hidden, "{role} on team");
        }
    }

    #[test]
    fn vendors_see_only_their_own_vendor_and_never_internal_fields() {
        let (me, vendor, other) = ids();
        let viewer = Viewer { user_id: me, role: Role::Vendor, vendor_id: Some(vendor) };
        let mine = EngagementAccess {
            vendor_id: vendor,
            confidentiality: Confidentiality::Internal,
            owner_id: None,
            viewer_on_team: false,
        };
        assert_eq!(visibility(&viewer, &mine), Visibility::VendorView);
        assert!(!visibility(&viewer, &mine).shows_internal_fields());
        let theirs = EngagementAccess { vendor_id: other, viewer_on_team: true, ..mine };
        assert_eq!(visibility(&viewer, &theirs), Visibility::Hidden);
        let confidential = EngagementAccess { confidentiality: Confidentiality::Confidential, ..mine };
        assert_eq!(visibility(&viewer, &confidential), Visibility::Hidden);
    }

    #[test]
    fn executives_see_what_they_oversee() {
        let (me, vendor, _) = ids();
        let viewer = Viewer { user_id: me, role: Role::Executive, vendor_id: None };
        let public = EngagementAccess {
            vendor_id: vendor,
            confidentiality: Confidentiality::Public,
            owner_id: None,
            viewer_on_team: false,
        };
        assert_eq!(visibility(&viewer, &public), Visibility::Hidden);
        assert_eq!(visibility(&viewer, &EngagementAccess { viewer_on_team: true, ..public }), Visibility::Full);
    }
}
