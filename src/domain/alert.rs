//! Alerts (SPEC §3 Alert, §4): the rules' vocabulary and the lifecycle decisions, modelled
//! on Prometheus Alertmanager. An alert is identified by a dedup key (one per thing that can
//! go wrong: a period's missing report, a KPI's breach, an approval's overdue stage); it
//! fires, may be acknowledged or silenced, and resolves when its condition no longer holds.
//! Notifications go out when it fires, again every repeat interval while it fires
//! unacknowledged, and once when it resolves. Who receives them is decided here too, from
//! the engagement's team roles, the signal's category and the escalation ladder; the store
//! turns the audiences into people.
//!
//! Everything here is pure: times and facts in, decisions out.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    enums::{KpiUnit, TeamRole, string_enum},
    evaluation::Status,
    incident::IncidentSeverity,
    kpi::RealismIssue,
    report::{Severity, SignalCategory},
};

string_enum! {
    /// The rules of SPEC §4, plus the admins' alerts of a message that could not be delivered,
    /// of a digest that could not be built and of digests skipped after downtime.
    AlertRule {
        ReportMissing, KpiBreach, ApprovalOverdue, ContractExpiring, IncidentOpened,
        IncidentUnacknowledged, HighSeveritySignal, ImplausibleTarget, DeliveryFailed, DigestFailed,
        DigestSkipped,
    }
}

string_enum! {
    /// Critical alerts ignore quiet hours and opt-outs.
    AlertSeverity { Warning, Critical }
}

string_enum! {
    AlertState { Firing, Resolved }
}

impl AlertRule {
    /// Rules whose alerts exist while a condition holds, so that each evaluation finds the
    /// ones that fire and resolves the others. `DeliveryFailed` is raised by the delivery
    /// worker and `DigestSkipped` by the digest run, each about something that happened
    /// once; both are resolved by hand (acknowledging them).
    pub fn is_reconciled(self) -> bool {
        !self.resolves_on_acknowledgement()
    }

    /// Alerts about an event rather than a condition: nothing else would resolve them, so
    /// acknowledging one resolves it.
    pub fn resolves_on_acknowledgement(self) -> bool {
        matches!(self, AlertRule::DeliveryFailed | AlertRule::DigestSkipped)
    }

    /// The admins' rules about Veedor itself rather than an engagement.
    pub fn is_operational(self) -> bool {
        matches!(self, AlertRule::DeliveryFailed | AlertRule::DigestFailed | AlertRule::DigestSkipped)
    }
}

/// What an alert is about, as typed parameters in no language: stored as JSON in
/// `alerts.facts` (tagged by `rule`), and worded at view time in the reader's language by
/// `crate::present::alerts`. Neither a sentence nor a link is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Facts {
    /// The latest missing period, its due date and how many periods are missing in all.
    ReportMissing {
        period_start: NaiveDate,
        period_end: NaiveDate,
        due_date: NaiveDate,
        count: u32,
    },
    /// A KPI's latest value against its target, in the KPI's unit.
    KpiBreach {
        kpi: String,
        value: f64,
        target: f64,
        unit: KpiUnit,
        currency: String,
        period_start: NaiveDate,
        period_end: NaiveDate,
        status: Status,
    },
    /// An approval waiting past its stage's deadline.
    ApprovalOverdue {
        /// What the approval is about (its title is worded from it); absent in alerts stored
        /// before approvals kept their subject, which carry the stored `title` instead.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<super::approval::SubjectLabel>,
        #[serde(default)]
        title: String,
        /// The stage's typed name, or empty with `preset` for a stage Veedor names.
        stage: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preset: Option<super::approval::StagePreset>,
        due_at: DateTime<Utc>,
    },
    /// A contract about to end with no renewal decided, and how its term went.
    ContractExpiring {
        end_date: NaiveDate,
        days: i64,
        accepted: i64,
        late: i64,
        missing: i64,
        breaches: i64,
        incidents: i64,
    },
    IncidentOpened {
        title: String,
        severity: IncidentSeverity,
        ack_due_at: DateTime<Utc>,
    },
    IncidentUnacknowledged {
        title: String,
        severity: IncidentSeverity,
        ack_due_at: DateTime<Utc>,
    },
    HighSeveritySignal {
        category: SignalCategory,
        severity: Severity,
        description: String,
        period_start: NaiveDate,
        period_end: NaiveDate,
    },
    /// A target the baseline cannot plausibly reach: the growth factor it implies, if known.
    ImplausibleTarget {
        kpi: String,
        issue: RealismIssue,
        factor: Option<f64>,
    },
    /// `reply` is the mail server's own words.
    DeliveryFailed {
        to: String,
        reply: String,
        subject: String,
    },
    /// `error` is the builder's own words, for the admins.
    DigestFailed {
        to: String,
        error: String,
    },
    /// `count` sends of a subscription missed while Veedor was down and not made (the first
    /// and the last due at `first_due_at` and `last_due_at`).
    DigestSkipped {
        to: String,
        cadence: super::digest::CadenceKind,
        count: u32,
        first_due_at: DateTime<Utc>,
        last_due_at: DateTime<Utc>,
    },
}

impl Facts {
    pub fn rule(&self) -> AlertRule {
        match self {
            Facts::ReportMissing { .. } => AlertRule::ReportMissing,
            Facts::KpiBreach { .. } => AlertRule::KpiBreach,
            Facts::ApprovalOverdue { .. } => AlertRule::ApprovalOverdue,
            Facts::ContractExpiring { .. } => AlertRule::ContractExpiring,
            Facts::IncidentOpened { .. } => AlertRule::IncidentOpened,
            Facts::IncidentUnacknowledged { .. } => AlertRule::IncidentUnacknowledged,
            Facts::HighSeveritySignal { .. } => AlertRule::HighSeveritySignal,
            Facts::ImplausibleTarget { .. } => AlertRule::ImplausibleTarget,
            Facts::DeliveryFailed { .. } => AlertRule::DeliveryFailed,
            Facts::DigestFailed { .. } => AlertRule::DigestFailed,
            Facts::DigestSkipped { .. } => AlertRule::DigestSkipped,
        }
    }

    /// The facts as stored, with the dedup `phase` beside them (a new phase is news).
    pub fn stored(&self, phase: Option<serde_json::Value>) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let (Some(map), Some(phase)) = (value.as_object_mut(), phase) {
            map.insert("phase".into(), phase);
        }
        value
    }

    /// The facts of a stored alert (the `phase` and any other key are ignored).
    pub fn read(stored: &serde_json::Value) -> Result<Facts, serde_json::Error> {
        serde_json::from_value(stored.clone())
    }
}

/// An alert as a rule finds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub key: String,
    pub rule: AlertRule,
    pub severity: AlertSeverity,
    pub engagement_id: Option<Uuid>,
    pub subject_id: Option<Uuid>,
    pub facts: Facts,
    /// What makes a change of the same alert news (a newly missing period, a stage, a
    /// warning threshold): stored beside the facts as `phase`.
    pub phase: Option<serde_json::Value>,
}

impl Candidate {
    /// The `facts` column of this candidate.
    pub fn stored_facts(&self) -> serde_json::Value {
        self.facts.stored(self.phase.clone())
    }
}

/// Why a notification is due now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    Fired,
    Repeat,
    Resolved,
}

/// What the lifecycle needs to know about a stored alert.
#[derive(Debug, Clone, Copy)]
pub struct Lifecycle {
    pub state: AlertState,
    pub last_notified_at: Option<DateTime<Utc>>,
    pub acknowledged: bool,
    pub silenced: bool,
    pub resolution_pending: bool,
}

/// Whether the alert is to be notified now: when it first fires, every `repeat` while it
/// fires unacknowledged, and once when it resolves (if it was ever notified). A silenced
/// alert is not notified.
pub fn notification_due(a: &Lifecycle, now: DateTime<Utc>, repeat: Duration) -> Option<Notify> {
    if a.silenced {
        return None;
    }
    match a.state {
        AlertState::Resolved => a.resolution_pending.then_some(Notify::Resolved),
        AlertState::Firing => match a.last_notified_at {
            None => Some(Notify::Fired),
            Some(last) if !a.acknowledged && now >= last + repeat => Some(Notify::Repeat),
            Some(_) => None,
        },
    }
}

/// A resolution is worth telling only to those who were told the alert fired.
pub fn resolution_to_notify(last_notified_at: Option<DateTime<Utc>>) -> bool {
    last_notified_at.is_some()
}

/// Who should hear about an alert, before people are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Audience {
    /// Everyone holding this team role on the engagement.
    Role(TeamRole),
    /// The engagement's internal owner.
    Owner,
    /// The current approvers of the approval concerned.
    Approvers,
    /// Every active admin.
    Admins,
}

/// Rungs of the escalation ladder: the agency contact, then the internal owner, then the
/// executive (each rung keeps the previous ones).
pub const LADDER: [Audience; 3] =
    [Audience::Role(TeamRole::AgencyContact), Audience::Owner, Audience::Role(TeamRole::Executive)];

/// The rung an alert that has fired since `started_at` has reached, one per `step`.
pub fn ladder_level(started_at: DateTime<Utc>, now: DateTime<Utc>, step: Duration) -> usize {
    if step <= Duration::zero() || now <= started_at {
        return 0;
    }
    let steps = (now - started_at).num_seconds() / step.num_seconds().max(1);
    usize::try_from(steps).unwrap_or(0).min(LADDER.len() - 1)
}

/// The audiences of an alert: by rule, by severity, by the signal's category and, for
/// overdue approvals and unacknowledged incidents, by the ladder's rung.
pub fn audiences(
    rule: AlertRule,
    severity: AlertSeverity,
    signal: Option<SignalCategory>,
    level: usize,
) -> Vec<Audience> {
    use Audience as A;
    use TeamRole as R;
    let mut out = match rule {
        AlertRule::ReportMissing => vec![A::Role(R::AgencyContact), A::Role(R::Lead), A::Owner],
        AlertRule::KpiBreach => vec![A::Role(R::Lead), A::Owner],
        AlertRule::ApprovalOverdue => vec![A::Approvers],
        AlertRule::ContractExpiring => vec![A::Owner, A::Role(R::Lead), A::Role(R::Executive)],
        AlertRule::IncidentOpened => vec![A::Role(R::Lead), A::Owner, A::Role(R::Communications)],
        AlertRule::IncidentUnacknowledged => vec![A::Role(R::Lead)],
        AlertRule::HighSeveritySignal => {
            let mut by_category = match signal {
                Some(SignalCategory::Criticism) => vec![A::Role(R::CustomerCare)],
                Some(SignalCategory::Opportunity) | Some(SignalCategory::Leader) => vec![A::Role(R::Marketing)],
                Some(SignalCategory::Risk) => vec![A::Role(R::Communications), A::Role(R::Legal)],
                None => vec![],
            };
            by_category.push(A::Role(R::Lead));
            by_category
        }
        AlertRule::ImplausibleTarget => vec![A::Owner, A::Role(R::Lead)],
        AlertRule::DeliveryFailed | AlertRule::DigestFailed | AlertRule::DigestSkipped => vec![A::Admins],
    };
    if matches!(rule, AlertRule::ApprovalOverdue | AlertRule::IncidentUnacknowledged) {
        out.extend(LADDER.iter().take(level.min(LADDER.len() - 1) + 1));
    }
    if severity == AlertSeverity::Critical && !rule.is_operational() {
        out.push(A::Role(R::Executive));
    }
    out.sort();
    out.dedup();
    out
}

/// A user's quiet hours: local times, possibly across midnight (22:00–07:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// Parses "HH:MM" pairs; both or neither must be given, and they must differ.
    pub fn parse(start: Option<&str>, end: Option<&str>) -> Result<Option<QuietHours>, &'static str> {
        match (start, end) {
            (None, None) => Ok(None),
            (Some(s), Some(e)) => {
                let parse = |t: &str| match t.as_bytes() {
                    [h1, h2, b':', m1, m2] if [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()) => {
                        NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| "times are HH:MM")
                    }
                    _ => Err("times are HH:MM"),
                };
                let (start, end) = (parse(s)?, parse(e)?);
                if start == end {
                    return Err("start and end must differ");
                }
                Ok(Some(QuietHours { start, end }))
            }
            _ => Err("give both the start and the end of quiet hours"),
        }
    }

    fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end { t >= self.start && t < self.end } else { t >= self.start || t < self.end }
    }

    /// When a non-critical message may go out: `now` when outside quiet hours, else the
    /// instant they end in the user's time zone (the first valid instant when the end falls
    /// in a daylight-saving gap).
    pub fn release_at(&self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = now.with_timezone(&tz);
        if !self.contains(local.time()) {
            return now;
        }
        let mut day = local.date_naive();
        if local.time() >= self.end {
            day = day.succ_opt().unwrap_or(day);
        }
        for offset_minutes in 0..=120 {
            let candidate = day.and_time(self.end) + Duration::minutes(offset_minutes);
            if let Some(at) = tz.from_local_datetime(&candidate).earliest() {
                return at.with_timezone(&Utc).max(now);
            }
        }
        now
    }
}

/// How long to wait before retrying a message after `attempts` transient failures:
/// exponential from 30 s, capped at one hour, with jitter (`jitter` in [0, 1)) that spreads
/// retries over the upper half of the interval so that workers do not retry in step.
pub fn retry_delay(attempts: i32, jitter: f64) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    let base = 30_i64.saturating_mul(2_i64.saturating_pow(exponent)).min(3_600);
    let jitter = jitter.clamp(0.0, 1.0);
    Duration::milliseconds(((base * 1_000) as f64 * (0.5 + 0.5 * jitter)) as i64)
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn firing(last: Option<&str>) -> Lifecycle {
        Lifecycle {
            state: AlertState::Firing,
            last_notified_at: last.map(at),
            acknowledged: false,
            silenced: false,
            resolution_pending: false,
        }
    }

    #[test]
    fn fires_repeats_after_the_interval_and_resolves_once() {
        let day = Duration::hours(24);
        let now = at("2026-03-02T10:00:00Z");
        assert_eq!(notification_due(&firing(None), now, day), Some(Notify::Fired));
        assert_eq!(notification_due(&firing(Some("2026-03-01T10:00:01Z")), now, day), None);
        assert_eq!(notification_due(&firing(Some("2026-03-01T10:00:00Z")), now, day), Some(Notify::Repeat));
        let acked = Lifecycle { acknowledged: true, ..firing(Some("2026-02-01T10:00:00Z")) };
        assert_eq!(notification_due(&acked, now, day), None, "acknowledged: no repeats");
        let silenced = Lifecycle { silenced: true, ..firing(None) };
        assert_eq!(notification_due(&silenced, now, day), None);
        let resolved =
            Lifecycle { state: AlertState::Resolved, resolution_pending: true, ..firing(Some("2026-03-01T00:00:00Z")) };
        assert_eq!(notification_due(&resolved, now, day), Some(Notify::Resolved));
        let told = Lifecycle { resolution_pending: false, ..resolved };
        assert_eq!(notification_due(&told, now, day), None);
        assert!(!resolution_to_notify(None));
    }

    #[test]
    fn the_ladder_climbs_one_rung_per_step_and_stops_at_the_executive() {
        let start = at("2026-03-01T00:00:00Z");
        let step = Duration::hours(24);
        assert_eq!(ladder_level(start, start, step), 0);
        assert_eq!(ladder_level(start, start + Duration::hours(23), step), 0);
        assert_eq!(ladder_level(start, start + Duration::hours(24), step), 1);
        assert_eq!(ladder_level(start, start + Duration::days(30), step), 2);
        let overdue = |level| audiences(AlertRule::ApprovalOverdue, AlertSeverity::Warning, None, level);
        assert_eq!(overdue(0), [Audience::Role(TeamRole::AgencyContact), Audience::Approvers]);
        assert_eq!(overdue(1), [Audience::Role(TeamRole::AgencyContact), Audience::Owner, Audience::Approvers]);
        assert!(overdue(2).contains(&Audience::Role(TeamRole::Executive)));
    }

    #[test]
    fn signals_reach_the_team_role_of_their_category() {
        let to = |c| audiences(AlertRule::HighSeveritySignal, AlertSeverity::Warning, Some(c), 0);
        assert!(to(SignalCategory::Criticism).contains(&Audience::Role(TeamRole::CustomerCare)));
        assert!(to(SignalCategory::Opportunity).contains(&Audience::Role(TeamRole::Marketing)));
        assert!(to(SignalCategory::Risk).contains(&Audience::Role(TeamRole::Legal)));
        for c in SignalCategory::iter() {
            assert!(to(c).contains(&Audience::Role(TeamRole::Lead)), "{c}");
        }
    }

    #[test]
    fn every_rule_reaches_someone_and_critical_ones_the_executive() {
        for rule in AlertRule::iter() {
            assert!(!audiences(rule, AlertSeverity::Warning, None, 0).is_empty(), "{rule}");
            if !rule.is_operational() {
                let critical = audiences(rule, AlertSeverity::Critical, None, 0);
                assert!(critical.contains(&Audience::Role(TeamRole::Executive)), "{rule}");
            }
        }
        assert_eq!(audiences(AlertRule::DeliveryFailed, AlertSeverity::Critical, None, 0), [Audience::Admins]);
    }

    #[test]
    fn quiet_hours_hold_messages_until_they_end_in_the_users_zone() {
        let madrid: Tz = "Europe/Madrid".parse().unwrap();
        let night = QuietHours::parse(Some("22:00"), Some("07:00")).unwrap().unwrap();
        // 23:30 in Madrid (winter, UTC+1) → 07:00 the next morning.
        assert_eq!(night.release_at(at("2026-01-15T22:30:00Z"), madrid), at("2026-01-16T06:00:00Z"));
        // 03:00 local → 07:00 the same day.
        assert_eq!(night.release_at(at("2026-01-16T02:00:00Z"), madrid), at("2026-01-16T06:00:00Z"));
        // Outside: now.
        assert_eq!(night.release_at(at("2026-01-16T12:00:00Z"), madrid), at("2026-01-16T12:00:00Z"));
        // The night clocks go forward (29 March 2026, 02:00 → 03:00): 07:00 is UTC+2.
        assert_eq!(night.release_at(at("2026-03-29T00:30:00Z"), madrid), at("2026-03-29T05:00:00Z"));
        // The night they go back (25 October 2026): 07:00 is UTC+1 again.
        assert_eq!(night.release_at(at("2026-10-25T00:30:00Z"), madrid), at("2026-10-25T06:00:00Z"));
        // A quiet end inside the spring gap (02:30 does not exist) releases at 03:00.
        let gap = QuietHours::parse(Some("01:00"), Some("02:30")).unwrap().unwrap();
        assert_eq!(gap.release_at(at("2026-03-29T00:15:00Z"), madrid), at("2026-03-29T01:00:00Z"));
        // Daytime quiet hours (no wrap).
        let siesta = QuietHours::parse(Some("14:00"), Some("16:00")).unwrap().unwrap();
        let bogota: Tz = "America/Bogota".parse().unwrap();
        assert_eq!(siesta.release_at(at("2026-06-01T19:30:00Z"), bogota), at("2026-06-01T21:00:00Z"));
    }

    #[test]
    fn quiet_hours_are_both_or_neither() {
        assert_eq!(QuietHours::parse(None, None), Ok(None));
        assert!(QuietHours::parse(Some("22:00"), None).is_err());
        assert!(QuietHours::parse(Some("25:00"), Some("07:00")).is_err());
        assert!(QuietHours::parse(Some("07:00"), Some("07:00")).is_err());
        // Exactly the form the OpenAPI document declares: two digits, a colon, two digits.
        for loose in ["7:00", "07:5", " 7:00", "07:00 ", "0700"] {
            assert!(QuietHours::parse(Some(loose), Some("08:00")).is_err(), "{loose}");
        }
    }

    #[test]
    fn retries_back_off_exponentially_with_bounded_jitter() {
        assert_eq!(retry_delay(1, 1.0), Duration::seconds(30));
        assert_eq!(retry_delay(1, 0.0), Duration::seconds(15));
        assert_eq!(retry_delay(2, 1.0), Duration::seconds(60));
        assert_eq!(retry_delay(8, 1.0), Duration::seconds(3_600), "capped at one hour");
        assert_eq!(retry_delay(50, 1.0), Duration::seconds(3_600));
        for attempt in 1..10 {
            assert!(
                retry_delay(attempt, 0.3) < retry_delay(attempt + 1, 0.3)
                    || retry_delay(attempt, 1.0) == Duration::seconds(3_600)
            );
        }
    }
}
