//! Digest subscriptions. Digests are for the company's oversight: each company user manages
//! their own, admins manage everyone's and may run the digests now; agency users have none
//! (they see their engagements in the portal). Another user's subscription is invisible (404)
//! to anyone but admins.

use uuid::Uuid;

use crate::{
    domain::{confidentiality::Viewer, enums::Role},
    error::{AppError, AppResult},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read, create, change, delete, preview a subscription.
    Manage,
    /// Run every due digest now.
    Run,
}

/// Whether the viewer may do `action` on a subscription of `owner` (for a new subscription,
/// its recipient).
pub fn authorize(viewer: &Viewer, action: Action, owner: Uuid) -> AppResult<()> {
    // Visibility first: refusing another user's subscription for what the caller is (403)
    // while a random id answers 404 would tell that the subscription exists.
    match (viewer.role, action) {
        (Role::Admin, _) => Ok(()),
        (_, Action::Manage) if owner != viewer.user_id => Err(AppError::NotFound),
        (Role::Vendor, _) => Err(AppError::forbidden("digests are for the company's users")),
        (_, Action::Run) => Err(AppError::forbidden("only admins run the digests")),
        (_, Action::Manage) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    #[test]
    fn own_subscriptions_for_company_users_everything_for_admins_nothing_for_the_agency() {
        let me = Uuid::now_v7();
        let other = Uuid::now_v7();
        for role in Role::iter() {
            let viewer = Viewer { user_id: me, role, vendor_id: None };
            for (action, owner) in [(Action::Manage, me), (Action::Manage, other), (Action::Run, me)] {
                let got = authorize(&viewer, action, owner);
                let expected = match (role, action) {
                    (Role::Admin, _) => "ok",
                    (_, Action::Manage) if owner != me => "404",
                    (Role::Vendor, _) => "403",
                    (_, Action::Run) => "403",
                    _ if owner == me => "ok",
                    _ => "404",
                };
                let seen = match got {
                    Ok(()) => "ok",
                    Err(AppError::Forbidden(_)) => "403",
                    Err(AppError::NotFound) => "404",
                    Err(_) => "other",
                };
                assert_eq!(seen, expected, "{role:?} {action:?} own={}", owner == me);
            }
        }
    }
}
