//! An alert in words: the one place that turns an alert's typed facts into the sentence that
//! says what happened, the heading that names it (rule and object: "KPI fuera de objetivo:
//! Tasa de respuesta — Gestión de comunidad Brisa") and an email's subject, in the reader's
//! language and time zone. The alerts page, the alert emails, the digest and the API all word
//! alerts through here; the texts are `alert.*` keys of `templates/i18n/email_alerts.json`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{catalog::text, format, words::word};
use uuid::Uuid;

use crate::domain::{
    alert::{AlertRule, AlertSeverity, Facts},
    enums::Language,
    kpi::RealismIssue,
};

/// How long the object of a heading may be before it is cut (a signal's description).
const OBJECT_CHARS: usize = 60;

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn shorten(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

fn when(at: DateTime<Utc>, tz: Tz, lang: Language) -> String {
    format::datetime(at, tz, lang)
}

/// What happened, in one or two sentences, with every number, date and period formatted for
/// `lang` (instants in `tz`).
pub fn sentence(facts: &Facts, lang: Language, tz: Tz) -> String {
    let t = |key: &str, values: &[(&str, String)]| text(key, lang, values);
    match facts {
        Facts::ReportMissing { period_start, period_end, due_date, count } => {
            let first = t(
                "alert.what.report_missing",
                &[("period", format::period(*period_start, *period_end, lang)), ("due", format::date(*due_date, lang))],
            );
            match count.saturating_sub(1) {
                0 => first,
                others => format!("{first} {}", t("alert.what.report_missing_others", &[("n", others.to_string())])),
            }
        }
        Facts::KpiBreach { kpi, value, target, unit, currency, period_start, period_end, status } => t(
            "alert.what.kpi_breach",
            &[
                ("kpi", kpi.clone()),
                ("status", lower_first(&word(status, lang))),
                ("value", format::kpi_value(*value, *unit, currency, lang)),
                ("target", format::kpi_value(*target, *unit, currency, lang)),
                ("period", format::period(*period_start, *period_end, lang)),
            ],
        ),
        Facts::ApprovalOverdue { due_at, .. } => t(
            "alert.what.approval_overdue",
            &[
                ("title", approval_title(facts, lang)),
                ("stage", approval_stage(facts, lang)),
                ("due", when(*due_at, tz, lang)),
            ],
        ),
        Facts::ContractExpiring { end_date, days, accepted, late, missing, breaches, incidents } => {
            let ends =
                t("alert.what.contract_expiring", &[("date", format::date(*end_date, lang)), ("n", days.to_string())]);
            let n = |v: &i64| format::number(*v as f64, 0, lang);
            let balance = t(
                "alert.what.contract_balance",
                &[
                    ("accepted", n(accepted)),
                    ("late", n(late)),
                    ("missing", n(missing)),
                    ("breaches", n(breaches)),
                    ("incidents", n(incidents)),
                ],
            );
            format!("{ends} {balance}")
        }
        Facts::IncidentOpened { title, severity, ack_due_at } => t(
            "alert.what.incident_opened",
            &[
                ("title", title.clone()),
                ("severity", lower_first(&word(severity, lang))),
                ("due", when(*ack_due_at, tz, lang)),
            ],
        ),
        Facts::IncidentUnacknowledged { title, severity, ack_due_at } => t(
            "alert.what.incident_unacknowledged",
            &[
                ("title", title.clone()),
                ("severity", lower_first(&word(severity, lang))),
                ("due", when(*ack_due_at, tz, lang)),
            ],
        ),
        Facts::HighSeveritySignal { category, severity, description, period_start, period_end } => t(
            "alert.what.high_severity_signal",
            &[
                ("category", lower_first(&word(category, lang))),
                ("severity", lower_first(&word(severity, lang))),
                ("period", format::period(*period_start, *period_end, lang)),
                ("description", description.trim().to_string()),
            ],
        ),
        Facts::ImplausibleTarget { kpi, issue, factor } => match (issue, factor) {
            (RealismIssue::ImplausibleGrowth, Some(f)) => {
                t("alert.what.implausible_target", &[("kpi", kpi.clone()), ("factor", format::number(*f, 1, lang))])
            }
            _ => t("alert.what.implausible_target_no_baseline", &[("kpi", kpi.clone())]),
        },
        Facts::DeliveryFailed { to, reply, subject } => t(
            "alert.what.delivery_failed",
            &[("to", to.clone()), ("subject", subject.clone()), ("reply", reply.trim().to_string())],
        ),
        Facts::DigestFailed { to, error } => {
            t("alert.what.digest_failed", &[("to", to.clone()), ("error", error.trim().to_string())])
        }
        Facts::DigestSkipped { to, cadence, count, first_due_at, last_due_at } => {
            let kind = lower_first(&text(&format!("digest.kind.{cadence}"), lang, &[]));
            let key = if count > &1 { "alert.what.digest_skipped_many" } else { "alert.what.digest_skipped" };
            t(
                key,
                &[
                    ("kind", kind),
                    ("to", to.clone()),
                    ("count", format::number(f64::from(*count), 0, lang)),
                    ("first", when(*first_due_at, tz, lang)),
                    ("last", when(*last_due_at, tz, lang)),
                ],
            )
        }
    }
}

/// What the alert is about, short: the KPI, the period, the approval, the incident …
pub fn object(facts: &Facts, lang: Language) -> String {
    match facts {
        Facts::ReportMissing { period_start, period_end, .. } => format::period(*period_start, *period_end, lang),
        Facts::KpiBreach { kpi, .. } | Facts::ImplausibleTarget { kpi, .. } => kpi.clone(),
        Facts::ApprovalOverdue { .. } => shorten(&approval_title(facts, lang), OBJECT_CHARS),
        Facts::IncidentOpened { title, .. } | Facts::IncidentUnacknowledged { title, .. } => {
            shorten(title, OBJECT_CHARS)
        }
        Facts::ContractExpiring { end_date, .. } => {
            text("alert.object.contract_ends", lang, &[("date", format::date(*end_date, lang))])
        }
        Facts::HighSeveritySignal { description, .. } => shorten(description, OBJECT_CHARS),
        Facts::DeliveryFailed { to, .. } | Facts::DigestFailed { to, .. } | Facts::DigestSkipped { to, .. } => {
            to.clone()
        }
    }
}

/// An overdue approval's title, worded from its subject (as stored before: its title).
fn approval_title(facts: &Facts, lang: Language) -> String {
    match facts {
        Facts::ApprovalOverdue { subject: Some(label), .. } => super::titles::approval(label, lang),
        Facts::ApprovalOverdue { title, .. } => title.clone(),
        _ => String::new(),
    }
}

/// An overdue approval's stage: its typed name, or the preset's word.
fn approval_stage(facts: &Facts, lang: Language) -> String {
    match facts {
        Facts::ApprovalOverdue { stage, preset: Some(preset), .. } if stage.trim().is_empty() => word(preset, lang),
        Facts::ApprovalOverdue { stage, .. } => stage.clone(),
        _ => String::new(),
    }
}

/// The alert's name: its rule and its object (`KPI fuera de objetivo: Tasa de respuesta`).
pub fn title(facts: &Facts, lang: Language) -> String {
    text("alert.heading", lang, &[("rule", word(&facts.rule(), lang)), ("object", object(facts, lang))])
}

/// The name with the engagement it is on, when it is on one (`… — Gestión de comunidad Brisa`).
pub fn heading(facts: &Facts, engagement: Option<&str>, lang: Language) -> String {
    match engagement {
        Some(e) => text("alert.heading_on", lang, &[("title", title(facts, lang)), ("engagement", e.to_string())]),
        None => title(facts, lang),
    }
}

/// Why an alert is in an email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occasion {
    Fired,
    Reminder,
    Resolved,
}

/// The subject of an email about `first` (its heading), and `others` more alerts: what
/// happened, so that two emails about two incidents, or a resolution and a new alert, can be
/// told apart in a list.
pub fn subject(heading: &str, severity: AlertSeverity, occasion: Occasion, others: usize, lang: Language) -> String {
    let key = match (occasion, severity) {
        (Occasion::Resolved, _) => "alert.subject.resolved",
        (Occasion::Reminder, AlertSeverity::Critical) => "alert.subject.critical_reminder",
        (Occasion::Reminder, AlertSeverity::Warning) => "alert.subject.reminder",
        (Occasion::Fired, AlertSeverity::Critical) => "alert.subject.critical",
        (Occasion::Fired, AlertSeverity::Warning) => "alert.subject.fired",
    };
    let main = text(key, lang, &[("title", heading.to_string())]);
    match others {
        0 => main,
        n => format!("{main} {}", text("alert.subject.more", lang, &[("n", n.to_string())])),
    }
}

/// An alert in words for one reader, as the alerts page, the API, the emails and the digest
/// show it.
pub struct Worded {
    /// Rule and object, with the engagement: `KPI fuera de objetivo: Alcance — Comunidad`.
    pub heading: String,
    /// Rule and object: `KPI fuera de objetivo: Alcance`.
    pub title: String,
    /// What happened, with its numbers and dates formatted.
    pub text: String,
    /// The page to act on, relative to the base URL, built from the page router's paths.
    pub link: String,
}

impl Worded {
    /// `engagement` is the engagement's title, when the heading should name it; the link
    /// goes to the page where the alert's subject is acted on.
    pub fn of(
        facts: &Facts,
        rule: AlertRule,
        (engagement_id, subject_id): (Option<Uuid>, Option<Uuid>),
        engagement: Option<&str>,
        lang: Language,
        tz: Tz,
    ) -> Worded {
        Worded {
            heading: heading(facts, engagement, lang),
            title: title(facts, lang),
            text: sentence(facts, lang, tz),
            link: super::links::for_alert(rule, engagement_id, subject_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use strum::IntoEnumIterator;

    use super::*;
    use crate::domain::{
        alert::AlertRule,
        approval::{StagePreset, SubjectLabel},
        digest::CadenceKind,
        enums::{Channel, KpiUnit},
        evaluation::Status,
        incident::IncidentSeverity,
        report::{Severity, SignalCategory},
    };

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// One sample of every rule's facts.
    fn samples() -> Vec<Facts> {
        let at: DateTime<Utc> = "2026-02-01T09:00:00Z".parse().unwrap();
        vec![
            Facts::ReportMissing {
                period_start: d("2026-11-01"),
                period_end: d("2026-11-30"),
                due_date: d("2026-12-05"),
                count: 3,
            },
            Facts::KpiBreach {
                kpi: "Tasa de respuesta".into(),
                value: 5.5,
                target: 2.0,
                unit: KpiUnit::Percent,
                currency: "EUR".into(),
                period_start: d("2026-11-01"),
                period_end: d("2026-11-30"),
                status: Status::Red,
            },
            Facts::ApprovalOverdue {
                subject: Some(SubjectLabel::Content { channel: Channel::Instagram, excerpt: "Rebajas".into() }),
                title: "Rebajas".into(),
                stage: String::new(),
                preset: Some(StagePreset::ExecutiveSponsor),
                due_at: at,
            },
            Facts::ContractExpiring {
                end_date: d("2026-12-31"),
                days: 30,
                accepted: 1234,
                late: 1,
                missing: 0,
                breaches: 3,
                incidents: 2,
            },
            Facts::IncidentOpened { title: "Caída del chat".into(), severity: IncidentSeverity::High, ack_due_at: at },
            Facts::IncidentUnacknowledged {
                title: "Caída del chat".into(),
                severity: IncidentSeverity::High,
                ack_due_at: at,
            },
            Facts::HighSeveritySignal {
                category: SignalCategory::Criticism,
                severity: Severity::High,
                description: "Quejas por envíos".into(),
                period_start: d("2026-11-01"),
                period_end: d("2026-11-30"),
            },
            Facts::ImplausibleTarget {
                kpi: "Seguidores".into(),
                issue: RealismIssue::ImplausibleGrowth,
                factor: Some(83.333),
            },
            Facts::DeliveryFailed { to: "ana@brisa.example".into(), reply: "550 rejected".into(), subject: "x".into() },
            Facts::DigestFailed { to: "ana@brisa.example".into(), error: "no such table".into() },
            Facts::DigestSkipped {
                to: "ana@brisa.example".into(),
                cadence: CadenceKind::Weekly,
                count: 2,
                first_due_at: "2026-11-23T07:00:00Z".parse().unwrap(),
                last_due_at: "2026-11-30T07:00:00Z".parse().unwrap(),
            },
        ]
    }

    #[test]
    fn every_rule_has_a_sample() {
        let rules: Vec<AlertRule> = samples().iter().map(Facts::rule).collect();
        assert_eq!(rules, AlertRule::iter().collect::<Vec<_>>());
    }

    #[test]
    fn facts_are_worded_with_formatted_numbers_dates_and_periods() {
        let tz = chrono_tz::Europe::Madrid;
        let all = samples();
        let es: Vec<String> = all.iter().map(|f| sentence(f, Language::Es, tz)).collect();
        assert_eq!(
            es[0],
            "Falta el informe de noviembre de 2026; vencía el 05/12/2026. Hay 2 periodos más sin informe."
        );
        assert_eq!(
            es[1],
            "«Tasa de respuesta» está fuera de objetivo: 5,5\u{a0}% frente a un objetivo de 2\u{a0}% (noviembre de 2026)."
        );
        assert!(es[2].contains("vencía el 01/02/2026 10:00"), "{}", es[2]);
        assert!(es[3].contains("31/12/2026") && es[3].contains("1.234"), "{}", es[3]);
        assert!(es[7].contains("multiplicar por 83,3"), "{}", es[7]);
        assert!(es[10].starts_with("2 envíos del resumen semanal para ana@brisa.example"), "{}", es[10]);
        assert!(es[10].contains("entre el 23/11/2026 08:00 y el 30/11/2026 08:00"), "{}", es[10]);
        let en: Vec<String> = all.iter().map(|f| sentence(f, Language::En, tz)).collect();
        assert!(en[0].contains("November 2026") && en[0].contains("Dec 5, 2026"), "{}", en[0]);
        assert!(en[1].contains("5.5%") && en[1].contains("off track"), "{}", en[1]);
        for s in &es {
            assert!(!s.contains("83.3") && !s.contains("5.5"), "an English decimal point in {s}");
        }
        for s in es.iter().chain(&en) {
            for raw in ["2026-", " UTC"] {
                assert!(!s.contains(raw), "unformatted {raw:?} in {s}");
            }
            assert!(!s.contains("alert."), "a catalogue key shown: {s}");
        }
    }

    #[test]
    fn headings_name_the_rule_and_the_object_and_subjects_tell_alerts_apart() {
        let all = samples();
        let kpi = heading(&all[1], Some("Gestión de comunidad Brisa"), Language::Es);
        assert_eq!(kpi, "KPI fuera de objetivo: Tasa de respuesta — Gestión de comunidad Brisa");
        let subjects: Vec<String> = all
            .iter()
            .map(|f| {
                subject(
                    &heading(f, Some("Brisa"), Language::Es),
                    AlertSeverity::Warning,
                    Occasion::Fired,
                    0,
                    Language::Es,
                )
            })
            .collect();
        let distinct: std::collections::HashSet<&String> = subjects.iter().collect();
        assert_eq!(distinct.len(), subjects.len(), "{subjects:?}");
        let fired = subject(&kpi, AlertSeverity::Warning, Occasion::Fired, 0, Language::Es);
        let resolved = subject(&kpi, AlertSeverity::Warning, Occasion::Resolved, 0, Language::Es);
        assert_ne!(fired, resolved);
        assert!(resolved.starts_with("Resuelta: KPI fuera de objetivo"), "{resolved}");
        let more = subject(&kpi, AlertSeverity::Critical, Occasion::Fired, 2, Language::En);
        assert!(more.contains("and 2 more"), "{more}");
    }

    /// Every status, in both languages, has one name: the word the pages print
    /// (`t("status." ~ s)`), the alert email's sentence and the digest's status column.
    #[test]
    fn every_status_has_one_name_on_every_surface() {
        let catalog = crate::present::catalog().unwrap();
        let mut pages = minijinja::Environment::new();
        crate::present::jinja::install(&mut pages, catalog);
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        for lang in Language::iter() {
            for status in Status::iter() {
                let word = word(&status, lang);
                let page = pages
                    .render_str(
                        "{{ t('status.' ~ s) }}",
                        minijinja::context! { s => status.to_string(), lang => lang.to_string() },
                    )
                    .unwrap();
                assert_eq!(page, word, "{status} in {lang} on a page");
                let breach = Facts::KpiBreach {
                    kpi: "Seguidores".into(),
                    value: 1.0,
                    target: 2.0,
                    unit: KpiUnit::Count,
                    currency: "EUR".into(),
                    period_start: d("2026-11-01"),
                    period_end: d("2026-11-30"),
                    status,
                };
                let email = sentence(&breach, lang, chrono_tz::Europe::Madrid);
                assert!(email.contains(&lower_first(&word)), "{status} in {lang} in an alert email: {email}");
            }
        }
    }
}
