//! Incidents (SPEC §1.7, §3 Incident): a reputation crisis or service failure on an
//! engagement, opened by anyone on it (the agency included), with a severity that sets how
//! soon the company's oversight team must acknowledge it, a timeline of updates, and a
//! resolution with a summary.
//!
//! The life cycle is `open → acknowledged → resolved`:
//!
//! | from           | acknowledge          | note | change severity | resolve  |
//! |----------------|----------------------|------|-----------------|----------|
//! | `open`         | `acknowledged`       | same | same            | resolved |
//! | `acknowledged` | refused (already)    | same | same            | resolved |
//! | `resolved`     | refused (final)      | refused | refused      | refused  |
//!
//! Resolving straight from `open` is allowed: an oversight lead may close a false alarm or an
//! incident already handled by phone at once. Resolving implies having seen the incident, so
//! the store records the acknowledgement at the same instant when there was none. A resolved
//! incident is final; a recurrence is a new incident.
//!
//! The acknowledgement deadline is `opened_at` plus the SLA of the severity. A severity change
//! before acknowledgement moves it: raising it never postpones the deadline, and restarts the
//! stricter SLA from the change when that is sooner; lowering it relaxes the deadline to what
//! the lower severity would have given from the opening, never tightening it.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{Violations, enums::string_enum, text};

string_enum! {
    /// How bad an incident is, from least to most severe; it sets the acknowledgement SLA.
    /// A critical incident switches its engagement into crisis mode.
    IncidentSeverity { Low, Medium, High, Critical }
}

string_enum! {
    IncidentStatus { Open, Acknowledged, Resolved }
}

string_enum! {
    /// What one entry of an incident's timeline records.
    UpdateKind { Opened, Note, Acknowledged, SeverityChanged, Resolved }
}

string_enum! {
    /// What may happen to an incident once it is open.
    IncidentAction { Acknowledge, Note, ChangeSeverity, Resolve }
}

pub const MAX_TITLE: usize = 200;
pub const MAX_TEXT: usize = 5_000;

/// A new incident.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentInput {
    pub title: String,
    pub severity: IncidentSeverity,
    /// What happened, as far as known; the first entry of the timeline.
    pub description: String,
}

impl IncidentInput {
    pub fn validate(mut self) -> Result<IncidentInput, Violations> {
        let mut v = Violations::new();
        if let Some(t) = v.check(text::required("title", &self.title, MAX_TITLE)) {
            self.title = t;
        }
        if let Some(d) = v.check(text::paragraphs("description", &self.description, MAX_TEXT)) {
            self.description = d;
        }
        v.finish(self)
    }
}

/// An update to the timeline: a note, optionally changing the severity.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInput {
    pub body: String,
    /// The new severity, if it changes. Raising it is open to everyone who may add updates;
    /// lowering it is the oversight team's (admins and leads).
    #[serde(default)]
    pub severity: Option<IncidentSeverity>,
}

impl UpdateInput {
    pub fn validate(mut self) -> Result<UpdateInput, Violations> {
        let mut v = Violations::new();
        if let Some(b) = v.check(text::paragraphs("body", &self.body, MAX_TEXT)) {
            self.body = b;
        }
        v.finish(self)
    }
}

/// Acknowledging, with an optional note for the timeline.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeInput {
    #[serde(default)]
    pub note: Option<String>,
}

impl AcknowledgeInput {
    pub fn validate(mut self) -> Result<AcknowledgeInput, Violations> {
        let mut v = Violations::new();
        self.note = v.check(text::optional_paragraphs("note", self.note.as_deref(), MAX_TEXT)).flatten();
        v.finish(self)
    }
}

/// Resolving, with the summary of what happened and what was done.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    pub summary: String,
}

impl ResolveInput {
    pub fn validate(mut self) -> Result<ResolveInput, Violations> {
        let mut v = Violations::new();
        if let Some(s) = v.check(text::paragraphs("summary", &self.summary, MAX_TEXT)) {
            self.summary = s;
        }
        v.finish(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IncidentRefused {
    #[error("the incident is already acknowledged")]
    AlreadyAcknowledged,
    #[error("the incident is resolved and takes no more changes; open a new incident")]
    Resolved,
}

/// The status an incident takes when `action` happens to it in `status`.
pub fn transition(status: IncidentStatus, action: IncidentAction) -> Result<IncidentStatus, IncidentRefused> {
    use IncidentAction as A;
    use IncidentStatus as S;
    match (status, action) {
        (S::Resolved, _) => Err(IncidentRefused::Resolved),
        (S::Open, A::Acknowledge) => Ok(S::Acknowledged),
        (S::Acknowledged, A::Acknowledge) => Err(IncidentRefused::AlreadyAcknowledged),
        (s, A::Note | A::ChangeSeverity) => Ok(s),
        (_, A::Resolve) => Ok(S::Resolved),
    }
}

/// Hours within which an incident of each severity must be acknowledged (configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckHours {
    pub low: i64,
    pub medium: i64,
    pub high: i64,
    pub critical: i64,
}

impl AckHours {
    pub fn for_severity(&self, severity: IncidentSeverity) -> i64 {
        match severity {
            IncidentSeverity::Low => self.low,
            IncidentSeverity::Medium => self.medium,
            IncidentSeverity::High => self.high,
            IncidentSeverity::Critical => self.critical,
        }
    }
}

/// When an incident opened at `opened_at` must be acknowledged by.
pub fn ack_due_at(opened_at: DateTime<Utc>, severity: IncidentSeverity, hours: &AckHours) -> DateTime<Utc> {
    opened_at + Duration::hours(hours.for_severity(severity))
}

/// The acknowledgement deadline after the severity changes from `from` to `to` at
/// `changed_at` (see the module documentation). Unchanged when the severity is the same.
pub fn rescheduled_ack_due_at(
    opened_at: DateTime<Utc>,
    current_due: DateTime<Utc>,
    changed_at: DateTime<Utc>,
    from: IncidentSeverity,
    to: IncidentSeverity,
    hours: &AckHours,
) -> DateTime<Utc> {
    use std::cmp::Ordering;
    match to.cmp(&from) {
        Ordering::Equal => current_due,
        Ordering::Greater => current_due.min(ack_due_at(changed_at, to, hours)),
        Ordering::Less => current_due.max(ack_due_at(opened_at, to, hours)),
    }
}

/// Whether an incident still waits for its acknowledgement at or after its deadline.
pub fn is_unacknowledged_overdue(status: IncidentStatus, ack_due_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    status == IncidentStatus::Open && now >= ack_due_at
}

/// Whether a change of severity switches the engagement into crisis mode: becoming critical.
pub fn starts_crisis(from: Option<IncidentSeverity>, to: IncidentSeverity) -> bool {
    to == IncidentSeverity::Critical && from != Some(IncidentSeverity::Critical)
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    const HOURS: AckHours = AckHours { low: 72, medium: 24, high: 4, critical: 1 };

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn every_status_and_action() {
        use IncidentAction as A;
        use IncidentStatus as S;
        for status in S::iter() {
            for action in A::iter() {
                let expected = match (status, action) {
                    (S::Open, A::Acknowledge) => Ok(S::Acknowledged),
                    (S::Open, A::Note | A::ChangeSeverity) => Ok(S::Open),
                    (S::Open, A::Resolve) => Ok(S::Resolved),
                    (S::Acknowledged, A::Acknowledge) => Err(IncidentRefused::AlreadyAcknowledged),
                    (S::Acknowledged, A::Note | A::ChangeSeverity) => Ok(S::Acknowledged),
                    (S::Acknowledged, A::Resolve) => Ok(S::Resolved),
                    (S::Resolved, _) => Err(IncidentRefused::Resolved),
                };
                assert_eq!(transition(status, action), expected, "{status} {action}");
            }
        }
    }

    #[test]
    fn the_deadline_follows_the_severity() {
        let opened = at("2027-03-27T10:00:00Z");
        let expected = [(IncidentSeverity::Low, 72), (IncidentSeverity::Medium, 24), (IncidentSeverity::High, 4)];
        for (severity, h) in expected {
            assert_eq!(ack_due_at(opened, severity, &HOURS), opened + Duration::hours(h));
        }
        assert_eq!(ack_due_at(opened, IncidentSeverity::Critical, &HOURS), at("2027-03-27T11:00:00Z"));
        // Stricter severities never get a later deadline with the default configuration.
        let dues: Vec<_> = IncidentSeverity::iter().map(|s| ack_due_at(opened, s, &HOURS)).collect();
        assert!(dues.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn overdue_only_while_open_from_the_deadline_on() {
        let due = at("2027-03-27T11:00:00Z");
        for status in IncidentStatus::iter() {
            let open = status == IncidentStatus::Open;
            assert!(!is_unacknowledged_overdue(status, due, due - Duration::seconds(1)), "{status}");
            assert_eq!(is_unacknowledged_overdue(status, due, due), open, "{status}");
            assert_eq!(is_unacknowledged_overdue(status, due, due + Duration::days(30)), open, "{status}");
        }
    }

    #[test]
    fn severity_changes_move_the_deadline_in_the_safe_direction() {
        use IncidentSeverity::*;
        let opened = at("2027-03-27T10:00:00Z");
        let low_due = ack_due_at(opened, Low, &HOURS);
        // Raised after 2 hours: the critical SLA runs from the change.
        let changed = opened + Duration::hours(2);
        assert_eq!(
            rescheduled_ack_due_at(opened, low_due, changed, Low, Critical, &HOURS),
            changed + Duration::hours(1)
        );
        // Raised when the current deadline is sooner than the new SLA: the deadline stays.
        let high_due = ack_due_at(opened, High, &HOURS);
        let late = opened + Duration::hours(3) + Duration::minutes(30);
        assert_eq!(rescheduled_ack_due_at(opened, high_due, late, High, Critical, &HOURS), high_due);
        // Lowered: relaxed to the lower severity's deadline from the opening, never tightened.
        let crit_due = ack_due_at(opened, Critical, &HOURS);
        assert_eq!(
            rescheduled_ack_due_at(opened, crit_due, changed, Critical, Medium, &HOURS),
            opened + Duration::hours(24)
        );
        let odd = AckHours { low: 1, ..HOURS };
        assert_eq!(
            rescheduled_ack_due_at(opened, crit_due + Duration::hours(5), changed, High, Low, &odd),
            crit_due + Duration::hours(5)
        );
        // The same severity changes nothing.
        for s in IncidentSeverity::iter() {
            assert_eq!(rescheduled_ack_due_at(opened, low_due, changed, s, s, &HOURS), low_due);
        }
    }

    #[test]
    fn only_becoming_critical_starts_a_crisis() {
        for to in IncidentSeverity::iter() {
            assert_eq!(starts_crisis(None, to), to == IncidentSeverity::Critical, "{to}");
            for from in IncidentSeverity::iter() {
                let expected = to == IncidentSeverity::Critical && from != IncidentSeverity::Critical;
                assert_eq!(starts_crisis(Some(from), to), expected, "{from} → {to}");
            }
        }
    }

    fn fields<T>(r: Result<T, Violations>) -> Vec<String> {
        r.err().map(|v| v.0.into_iter().map(|f| f.field).collect()).unwrap_or_default()
    }

    #[test]
    fn inputs_are_trimmed_and_checked_by_field() {
        let ok = IncidentInput {
            title: " Caída de la tienda ".into(),
            severity: IncidentSeverity::High,
            description: " Checkout falla ".into(),
        };
        let valid = ok.clone().validate().unwrap();
        assert_eq!((valid.title.as_str(), valid.description.as_str()), ("Caída de la tienda", "Checkout falla"));
        let bad = IncidentInput { title: " ".into(), description: "x".repeat(MAX_TEXT + 1), ..ok.clone() };
        assert_eq!(fields(bad.validate()), ["title", "description"]);
        let long_title = IncidentInput { title: "t".repeat(MAX_TITLE + 1), ..ok };
        assert_eq!(fields(long_title.validate()), ["title"]);

        assert_eq!(UpdateInput { body: " Nota ".into(), severity: None }.validate().unwrap().body, "Nota");
        assert_eq!(fields(UpdateInput { body: "".into(), severity: Some(IncidentSeverity::Low) }.validate()), ["body"]);

        assert_eq!(AcknowledgeInput { note: Some("  ".into()) }.validate().unwrap().note, None);
        assert_eq!(
            AcknowledgeInput { note: Some(" Visto ".into()) }.validate().unwrap().note.as_deref(),
            Some("Visto")
        );
        assert_eq!(fields(AcknowledgeInput { note: Some("n".repeat(MAX_TEXT + 1)) }.validate()), ["note"]);

        assert_eq!(fields(ResolveInput { summary: "\n".into() }.validate()), ["summary"]);
        assert_eq!(ResolveInput { summary: " Hecho ".into() }.validate().unwrap().summary, "Hecho");
    }
}
