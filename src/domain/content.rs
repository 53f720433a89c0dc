//! Content items (SPEC §3): publications the agency proposes, each approved through the
//! content workflow before its planned time. Editing an item sends it back for approval.
//!
//! ```text
//! pending_approval ──approve──▶ approved ──publish──▶ published
//!   │  ▲     │                     │
//!   │  │     └─reject─▶ rejected   │ edit
//!   │  └──────edit───────────────◀─┘
//!   └─request changes─▶ changes_requested ──edit──▶ pending_approval
//! withdraw: from pending_approval, changes_requested or approved
//! ```

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    Violations,
    approval::Outcome,
    enums::{Channel, string_enum},
    text,
};

string_enum! {
    ContentStatus { PendingApproval, ChangesRequested, Approved, Rejected, Published, Withdrawn }
}

pub const BODY_MAX: usize = 5_000;

#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentInput {
    pub channel: Channel,
    /// The text to publish.
    pub body: String,
    #[serde(default)]
    pub media_url: Option<String>,
    /// When the agency means to publish it; it must be approved before then.
    pub planned_at: DateTime<Utc>,
}

impl ContentInput {
    pub fn validate(mut self, now: DateTime<Utc>) -> Result<ContentInput, Violations> {
        let mut v = Violations::new();
        if let Some(body) = v.check(text::paragraphs("body", &self.body, BODY_MAX)) {
            self.body = body;
        }
        if let Some(url) = self.media_url.as_deref().filter(|u| !u.trim().is_empty()) {
            self.media_url = v.check(text::http_url("media_url", url));
        } else {
            self.media_url = None;
        }
        if self.planned_at <= now {
            v.add("planned_at", "in_the_past", "must be in the future");
        }
        v.finish(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} content that is {from}")]
pub struct ContentRefused {
    pub from: ContentStatus,
    pub action: &'static str,
}

/// Editing sends the item (back) for approval.
pub fn edit(from: ContentStatus) -> Result<ContentStatus, ContentRefused> {
    match from {
        ContentStatus::PendingApproval | ContentStatus::ChangesRequested | ContentStatus::Approved => {
            Ok(ContentStatus::PendingApproval)
        }
        _ => Err(ContentRefused { from, action: "edit" }),
    }
}

pub fn withdraw(from: ContentStatus) -> Result<ContentStatus, ContentRefused> {
    match from {
        ContentStatus::PendingApproval | ContentStatus::ChangesRequested | ContentStatus::Approved => {
            Ok(ContentStatus::Withdrawn)
        }
        _ => Err(ContentRefused { from, action: "withdraw" }),
    }
}

pub fn publish(from: ContentStatus) -> Result<ContentStatus, ContentRefused> {
    match from {
        ContentStatus::Approved => Ok(ContentStatus::Published),
        _ => Err(ContentRefused { from, action: "publish" }),
    }
}

/// What the item becomes after a decision on its approval (`None`: it waits).
pub fn after_decision(outcome: Outcome) -> Option<ContentStatus> {
    match outcome {
        Outcome::Recorded | Outcome::NextStage(_) => None,
        Outcome::Approved => Some(ContentStatus::Approved),
        Outcome::Rejected => Some(ContentStatus::Rejected),
        Outcome::ChangesRequested => Some(ContentStatus::ChangesRequested),
    }
}

/// An approval that would come after the planned time is too late: the agency must plan
/// the item again.
pub fn may_still_approve(planned_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now < planned_at
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    #[test]
    fn every_transition_from_every_status() {
        use ContentStatus as S;
        for from in S::iter() {
            let open = matches!(from, S::PendingApproval | S::ChangesRequested | S::Approved);
            assert_eq!(edit(from).is_ok(), open, "edit from {from}");
            assert_eq!(withdraw(from).is_ok(), open, "withdraw from {from}");
            assert_eq!(publish(from).is_ok(), from == S::Approved, "publish from {from}");
        }
        assert_eq!(edit(S::Approved), Ok(S::PendingApproval), "an edited approved item goes back");
        assert_eq!(publish(S::Approved), Ok(S::Published));
        assert_eq!(after_decision(Outcome::Recorded), None);
        assert_eq!(after_decision(Outcome::NextStage(1)), None);
        assert_eq!(after_decision(Outcome::Approved), Some(S::Approved));
        assert_eq!(after_decision(Outcome::Rejected), Some(S::Rejected));
        assert_eq!(after_decision(Outcome::ChangesRequested), Some(S::ChangesRequested));
    }

    #[test]
    fn input_rules() {
        let now: DateTime<Utc> = "2027-03-01T10:00:00Z".parse().unwrap();
        let input = |body: &str, media: Option<&str>, planned: &str| ContentInput {
            channel: Channel::Instagram,
            body: body.into(),
            media_url: media.map(Into::into),
            planned_at: planned.parse().unwrap(),
        };
        let ok = input(" Nueva colección ", Some(" "), "2027-03-02T09:00:00Z").validate(now).unwrap();
        assert_eq!((ok.body.as_str(), ok.media_url), ("Nueva colección", None));
        let fields: Vec<String> = input("", Some("ftp://x"), "2027-03-01T10:00:00Z")
            .validate(now)
            .unwrap_err()
            .0
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, ["body", "media_url", "planned_at"]);
        assert!(may_still_approve("2027-03-01T10:00:01Z".parse().unwrap(), now));
        assert!(!may_still_approve(now, now));
    }
}
