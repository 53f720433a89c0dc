//! The alerts email: each alert worded and linked for its reader (`present::alerts`), the
//! firing ones before the resolved ones, under a subject that names the most pressing one.
//! `app::alerts` decides who hears of what, when; this module only composes.

use chrono_tz::Tz;
use serde::Serialize;
use serde_json::json;

use crate::{
    db::entity::alert,
    domain::{
        alert::{AlertRule, AlertSeverity, Facts, Notify},
        enums::Language,
    },
    error::AppResult,
    mail::{Templates, templates::Rendered},
    present::{
        self,
        alerts::{Occasion, Worded},
        links::paths,
    },
};

/// One alert as an email shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EmailAlert {
    rule: AlertRule,
    severity: AlertSeverity,
    engagement: String,
    /// Rule, object and engagement.
    title: String,
    /// What happened.
    what: String,
    since: String,
    resolved_at: String,
    link: String,
    repeat: bool,
}

/// One alert as an email shows it: worded and linked for the reader.
pub fn email_alert(
    templates: &Templates,
    a: &alert::Model,
    engagement: Option<&str>,
    lang: Language,
    tz: Tz,
    kind: Notify,
) -> AppResult<EmailAlert> {
    let base = &templates.brand().base_url;
    let worded = worded(a, engagement, lang, tz)?;
    Ok(EmailAlert {
        rule: a.rule,
        severity: a.severity,
        engagement: engagement.map_or_else(|| templates.brand().name.clone(), str::to_string),
        title: worded.heading,
        what: worded.text,
        since: present::format::datetime(a.started_at, tz, lang),
        resolved_at: a.resolved_at.map(|t| present::format::datetime(t, tz, lang)).unwrap_or_default(),
        link: format!("{base}{}", worded.link),
        repeat: kind == Notify::Repeat,
    })
}

/// The alerts email for one reader: the firing alerts, then the resolved ones; its subject
/// names the first alert (a firing one before a resolved one) and counts the others.
pub fn render_alerts(
    templates: &Templates,
    name: &str,
    lang: Language,
    tz: Tz,
    shown: &[(EmailAlert, Notify)],
) -> AppResult<Rendered> {
    let firing: Vec<&EmailAlert> = shown.iter().filter(|(_, k)| *k != Notify::Resolved).map(|(a, _)| a).collect();
    let resolved: Vec<&EmailAlert> = shown.iter().filter(|(_, k)| *k == Notify::Resolved).map(|(a, _)| a).collect();
    // The most pressing first: a critical firing alert, then any firing one, then a resolution.
    let lead = shown
        .iter()
        .filter(|(_, k)| *k != Notify::Resolved)
        .min_by_key(|(a, _)| a.severity != AlertSeverity::Critical)
        .or_else(|| shown.first());
    let subject = lead.map_or_else(String::new, |(a, kind)| {
        let occasion = match kind {
            Notify::Fired => Occasion::Fired,
            Notify::Repeat => Occasion::Reminder,
            Notify::Resolved => Occasion::Resolved,
        };
        let severity =
            if a.severity == AlertSeverity::Critical { AlertSeverity::Critical } else { AlertSeverity::Warning };
        present::alerts::subject(&a.title, severity, occasion, shown.len() - 1, lang)
    });
    let context = json!({
        "recipient": { "name": name }, "subject": subject, "firing": firing, "resolved": resolved,
        "settings_link": format!("{}{}", templates.brand().base_url, paths::NOTIFICATIONS),
    });
    Ok(templates.render("alerts", lang, tz, &context)?)
}

/// An alert row in words for one reader.
pub fn worded(a: &alert::Model, engagement: Option<&str>, lang: Language, tz: Tz) -> AppResult<Worded> {
    let facts = Facts::read(&a.facts).map_err(|e| anyhow::anyhow!("alert {}: facts: {e}", a.id))?;
    let rule: AlertRule = a.rule;
    Ok(Worded::of(&facts, rule, (a.engagement_id, a.subject_id), engagement, lang, tz))
}
