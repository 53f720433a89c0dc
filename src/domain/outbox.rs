//! Where a queued message stands, as the outbox stores it.

use super::enums::string_enum;

string_enum! {
    /// Where a message stands: waiting (maybe for a retry), claimed by a worker, delivered,
    /// or given up.
    NotificationStatus { Pending, Sending, Sent, Failed }
}
