//! E-mail: rendering messages from templates, and handing them to an SMTP server (or to
//! `.eml` files when no server is configured). Nothing here decides *whether* to send: the
//! outbox (`app::outbox`) owns that, so that every message is first a database row.

pub mod alerts;
pub mod chart;
pub mod delivery;
pub mod relay;
pub mod templates;
pub mod transport;

pub use templates::{Rendered, Templates};
pub use transport::{Email, InlineImage, Mailer, SendOutcome};
