//! One word per thing: the name of every closed vocabulary's value (a KPI status, a trend, a
//! severity, a channel, an alert rule …) in a language, from `templates/i18n/vocabulary.json`.
//! Templates write `t("status." ~ status)`; Rust code writes `word(&status, lang)`. Either way
//! the key is `<kind>.<snake_case value>`, so a status is named the same on a page, in an
//! email, in a digest and in a chart's description.

use strum::IntoEnumIterator;

use super::catalog::text;
use crate::domain::{
    alert::{AlertRule, AlertSeverity, AlertState},
    approval::{ApprovalStatus, Decision, StagePreset, SubjectKind},
    content::ContentStatus,
    enums::{
        Aggregation, Cadence, Channel, Confidentiality, EngagementStatus, KpiDirection, KpiUnit, Language, Role,
        ScopeFunction, TeamRole,
    },
    evaluation::{Status, Trend},
    incident::{IncidentSeverity, IncidentStatus},
    report::{ReportStatus, Severity, SignalCategory},
};

/// A closed vocabulary whose values have names in the catalogue.
pub trait Word {
    /// The catalogue prefix: `status` for `status.red`.
    const KIND: &'static str;
    /// The value's stable code, as stored and sent (`red`).
    fn code(&self) -> String;

    /// The catalogue key of this value.
    fn key(&self) -> String {
        format!("{}.{}", Self::KIND, self.code())
    }
}

/// The name of `value` in `language`.
pub fn word<W: Word>(value: &W, language: Language) -> String {
    text(&value.key(), language, &[])
}

macro_rules! words {
    ($($kind:literal => $ty:ty),+ $(,)?) => {
        $(impl Word for $ty {
            const KIND: &'static str = $kind;
            fn code(&self) -> String {
                serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
            }
        })+

        /// Every key the vocabulary must hold: one per value of every kind.
        pub fn all_keys() -> Vec<String> {
            let mut keys = Vec::new();
            $(keys.extend(<$ty>::iter().map(|v| v.key()));)+
            keys
        }
    };
}

words! {
    "status" => Status,
    "trend" => Trend,
    "alert_severity" => AlertSeverity,
    "alert_state" => AlertState,
    "rule" => AlertRule,
    "severity" => Severity,
    "severity" => IncidentSeverity,
    "signal_category" => SignalCategory,
    "channel" => Channel,
    "unit" => KpiUnit,
    "team_role" => TeamRole,
    "role" => Role,
    "engagement_status" => EngagementStatus,
    "report_status" => ReportStatus,
    "approval_status" => ApprovalStatus,
    "content_status" => ContentStatus,
    "incident_status" => IncidentStatus,
    "subject_kind" => SubjectKind,
    "stage" => StagePreset,
    "decision" => Decision,
    "cadence" => Cadence,
    "confidentiality" => Confidentiality,
    "function" => ScopeFunction,
    "direction" => KpiDirection,
    "aggregation" => Aggregation,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::present::catalog::catalog;

    #[test]
    fn every_value_of_every_vocabulary_has_a_word_in_both_languages() {
        let catalog = catalog().unwrap();
        let missing: Vec<String> = all_keys().into_iter().filter(|k| !catalog.has(k)).collect();
        assert!(missing.is_empty(), "missing from vocabulary.json: {missing:?}");
        assert_eq!(word(&Status::Red, Language::Es), "Fuera de objetivo");
        assert_eq!(word(&Status::Red, Language::En), "Off track");
        assert_eq!(word(&TeamRole::Lead, Language::Es), "Responsable de comunidad");
    }
}
