//! Users: the shape of a valid account and the password policy.

use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    FieldError, Violations,
    enums::{Language, Role},
    text,
};

pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 128;

#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserInput {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Required for vendor users, refused for everyone else.
    #[serde(default)]
    pub vendor_id: Option<Uuid>,
    #[serde(default = "default_language")]
    pub language: Language,
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Leave out to have a strong password generated and returned once.
    #[serde(default)]
    pub password: Option<String>,
}

fn default_language() -> Language {
    Language::Es
}

fn default_timezone() -> String {
    "Europe/Madrid".into()
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "super::engagement::double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub vendor_id: Option<Option<Uuid>>,
    pub language: Option<Language>,
    pub timezone: Option<String>,
    /// `false` disables the account: its sessions and tokens stop working.
    pub active: Option<bool>,
}

pub fn password(field: &str, value: &str, email: &str) -> Result<(), FieldError> {
    let chars = value.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(FieldError::new(field, "too_short", format!("must be at least {PASSWORD_MIN_CHARS} characters"))
            .with("min", PASSWORD_MIN_CHARS));
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(FieldError::new(field, "too_long", format!("must be at most {PASSWORD_MAX_CHARS} characters"))
            .with("max", PASSWORD_MAX_CHARS));
    }
    if value.eq_ignore_ascii_case(email) {
        return Err(FieldError::new(field, "same_as_email", "must not be the e-mail address"));
    }
    Ok(())
}

/// Vendor users belong to exactly one vendor; company users to none.
pub fn role_vendor(role: Role, vendor_id: Option<Uuid>) -> Result<(), FieldError> {
    match (role, vendor_id) {
        (Role::Vendor, None) => Err(FieldError::new("vendor_id", "required", "a vendor user must belong to a vendor")),
        (Role::Vendor, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(FieldError::new("vendor_id", "not_applicable", "only vendor users belong to a vendor")),
    }
}

impl NewUserInput {
    pub fn validate(mut self) -> Result<NewUserInput, Violations> {
        let mut v = Violations::new();
        if let Some(email) = v.check(text::email("email", &self.email)) {
            self.email = email;
        }
        if let Some(name) = v.check(text::required("name", &self.name, 200)) {
            self.name = name;
        }
        v.check(role_vendor(self.role, self.vendor_id));
        if let Some(tz) = v.check(text::timezone("timezone", &self.timezone)) {
            self.timezone = tz;
        }
        if let Some(p) = &self.password {
            v.check(password("password", p, &self.email));
        }
        v.finish(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert!(password("p", "correct horse battery", "a@b.co").is_ok());
        assert_eq!(password("p", "short", "a@b.co").unwrap_err().code, "too_short");
        assert_eq!(password("p", &"x".repeat(129), "a@b.co").unwrap_err().code, "too_long");
        assert_eq!(password("p", "Ana@Example.com", "ana@example.com").unwrap_err().code, "same_as_email");
    }

    #[test]
    fn vendor_users_and_only_they_have_a_vendor() {
        let v = Some(Uuid::from_u128(1));
        assert!(role_vendor(Role::Vendor, v).is_ok());
        assert!(role_vendor(Role::Vendor, None).is_err());
        assert!(role_vendor(Role::Lead, v).is_err());
        assert!(role_vendor(Role::Executive, None).is_ok());
    }

    #[test]
    fn new_users_are_normalised_and_every_problem_named() {
        let input = NewUserInput {
            email: " Ana@Brisa.EXAMPLE ".into(),
            name: "Ana".into(),
            role: Role::Lead,
            vendor_id: None,
            language: Language::Es,
            timezone: "Europe/Madrid".into(),
            password: None,
        };
        assert_eq!(input.clone().validate().unwrap().email, "ana@brisa.example");
        let bad = NewUserInput {
            email: "nope".into(),
            name: "".into(),
            timezone: "X".into(),
            password: Some("x".into()),
            ..input
        };
        let fields: Vec<_> = bad.validate().unwrap_err().0.into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["email", "name", "timezone", "password"]);
    }
}
