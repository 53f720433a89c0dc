//! The audit log is for the company's admins and leads; leads do not see an entry that
//! references any secret engagement they are not part of (an entry is visible only to whoever
//! may see every engagement it references).

use crate::{
    domain::{confidentiality::Viewer, enums::Role},
    error::{AppError, AppResult},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditScope {
    Everything,
    /// Everything except entries referencing a secret engagement where the viewer is no insider.
    WithoutForeignSecrets,
}

pub fn read(viewer: &Viewer) -> AppResult<AuditScope> {
    match viewer.role {
        Role::Admin => Ok(AuditScope::Everything),
        Role::Lead => Ok(AuditScope::WithoutForeignSecrets),
        _ => Err(AppError::forbidden("only admins and leads read the audit log")),
    }
}
