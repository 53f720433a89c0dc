//! Authorization, one module per resource, deny by default. Each decides from the caller and
//! the object's facts, and answers 404 when the caller may not even see the object, 403 when
//! they may see it but not do this.

pub mod alert;
pub mod approval;
pub mod audit;
pub mod digest;
pub mod engagement;
pub mod incident;
pub mod report;
pub mod token;
pub mod user;
pub mod vendor;
