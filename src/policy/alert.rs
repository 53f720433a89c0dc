//! Alerts and the outbox. Alerts are the company's oversight: company users read those of the
//! engagements they see, leads and admins acknowledge and silence them; alerts of no
//! engagement (a message that could not be delivered) and the outbox itself are the admins'.
//! Agency users get the emails meant for them, not this view.

use crate::{
    domain::{confidentiality::Viewer, enums::Role},
    error::{AppError, AppResult},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    /// Acknowledge or silence.
    Handle,
    /// Run the evaluation now, read the outbox.
    Operate,
}

/// Whether the viewer may do `action` on alerts; `global` says the alert (or silence)
/// concerns no single engagement. Per-engagement visibility is checked by the caller.
pub fn authorize(viewer: &Viewer, action: Action, global: bool) -> AppResult<()> {
    let allowed = match (viewer.role, action) {
        (Role::Admin, _) => true,
        (_, Action::Operate) => false,
        (Role::Lead, _) => !global,
        (Role::Executive, Action::Read) => !global,
        _ => false,
    };
    if allowed {
        Ok(())
    } else if viewer.role == Role::Vendor {
        Err(AppError::forbidden("alerts are the company's oversight; the agency receives its emails"))
    } else {
        Err(AppError::forbidden("your role may not do this with alerts"))
    }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn alert_matrix() {
        for role in Role::iter() {
            let viewer = Viewer { user_id: Uuid::nil(), role, vendor_id: None };
            let ok = |a, g| authorize(&viewer, a, g).is_ok();
            let company = role != Role::Vendor;
            let manager = matches!(role, Role::Admin | Role::Lead);
            assert_eq!(ok(Action::Read, false), company, "{role}");
            assert_eq!(ok(Action::Handle, false), manager, "{role}");
            assert_eq!(ok(Action::Read, true), role == Role::Admin, "{role}");
            assert_eq!(ok(Action::Handle, true), role == Role::Admin, "{role}");
            assert_eq!(ok(Action::Operate, false), role == Role::Admin, "{role}");
        }
    }
}
