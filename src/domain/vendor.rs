//! Vendors (the agencies) and their contact people.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{FieldError, Violations, text};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// What the contact does at the agency, e.g. "Account director".
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorInput {
    pub name: String,
    #[serde(default)]
    pub legal_name: Option<String>,
    #[serde(default)]
    pub tax_id: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorPatch {
    pub name: Option<String>,
    pub legal_name: Option<String>,
    pub tax_id: Option<String>,
    pub website: Option<String>,
    pub contacts: Option<Vec<Contact>>,
    pub notes: Option<String>,
}

impl VendorPatch {
    pub fn apply(self, current: VendorInput) -> VendorInput {
        VendorInput {
            name: self.name.unwrap_or(current.name),
            legal_name: self.legal_name.or(current.legal_name),
            tax_id: self.tax_id.or(current.tax_id),
            website: self.website.or(current.website),
            contacts: self.contacts.unwrap_or(current.contacts),
            notes: self.notes.or(current.notes),
        }
    }
}

impl VendorInput {
    pub fn validate(mut self) -> Result<VendorInput, Violations> {
        let mut v = Violations::new();
        if let Some(name) = v.check(text::required("name", &self.name, 200)) {
            self.name = name;
        }
        if let Some(x) = v.check(text::optional("legal_name", self.legal_name.as_deref(), 200)) {
            self.legal_name = x;
        }
        if let Some(x) = v.check(text::optional("tax_id", self.tax_id.as_deref(), 64)) {
            self.tax_id = x;
        }
        if let Some(x) = v.check(text::optional_paragraphs("notes", self.notes.as_deref(), 10_000)) {
            self.notes = x;
        }
        self.website = match self.website.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
            None => None,
            Some(w) => v.check(text::http_url("website", w)),
        };
        if self.contacts.len() > 50 {
            v.push(FieldError::new("contacts", "too_many", "at most 50 contacts").with("max", 50));
        }
        for (i, c) in self.contacts.iter_mut().enumerate() {
            if let Some(name) = v.check(text::required(&format!("contacts[{i}].name"), &c.name, 200)) {
                c.name = name;
            }
            if let Some(email) = v.check(text::email(&format!("contacts[{i}].email"), &c.email)) {
                c.email = email;
            }
            if let Some(phone) = v.check(text::optional(&format!("contacts[{i}].phone"), c.phone.as_deref(), 40)) {
                c.phone = phone;
            }
            if let Some(role) = v.check(text::optional(&format!("contacts[{i}].role"), c.role.as_deref(), 120)) {
                c.role = role;
            }
        }
        v.finish(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendors_are_checked_field_by_field() {
        let input = VendorInput {
            name: " Marea Digital ".into(),
            legal_name: Some("Marea Digital S.L.".into()),
            tax_id: Some("B12345678".into()),
            website: Some("https://marea.example".into()),
            contacts: vec![Contact {
                name: "Lucía".into(),
                email: "Lucia@Marea.example".into(),
                phone: None,
                role: None,
            }],
            notes: None,
        };
        let valid = input.clone().validate().unwrap();
        assert_eq!((valid.name.as_str(), valid.contacts[0].email.as_str()), ("Marea Digital", "lucia@marea.example"));
        let bad = VendorInput {
            website: Some("marea".into()),
            contacts: vec![Contact { name: "".into(), email: "x".into(), phone: None, role: None }],
            ..input
        };
        let fields: Vec<_> = bad.validate().unwrap_err().0.into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["website", "contacts[0].name", "contacts[0].email"]);
    }
}
