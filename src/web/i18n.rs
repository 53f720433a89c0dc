//! The pages' words in Spanish and English, and which of the two a visitor gets.
//!
//! Messages live in `templates/pages/i18n/<area>.json`, one file per area of the site, each
//! mapping a key to its `en` and `es` text (with `{name}` placeholders). Keeping both
//! languages of a message side by side makes a missing translation visible in review; the
//! catalogue refuses at start-up a key that lacks either language, and rendering refuses a
//! key that does not exist, so a typo is a failing test rather than a blank on a page.

use std::{collections::HashMap, sync::LazyLock};

use serde::Deserialize;

use crate::domain::enums::Language;

/// The catalogue files, compiled in.
const FILES: [(&str, &str); 11] = [
    ("common", include_str!("../../templates/pages/i18n/common.json")),
    ("home", include_str!("../../templates/pages/i18n/home.json")),
    ("engagement", include_str!("../../templates/pages/i18n/engagement.json")),
    ("reports", include_str!("../../templates/pages/i18n/reports.json")),
    ("approvals", include_str!("../../templates/pages/i18n/approvals.json")),
    ("content", include_str!("../../templates/pages/i18n/content.json")),
    ("incidents", include_str!("../../templates/pages/i18n/incidents.json")),
    ("alerts", include_str!("../../templates/pages/i18n/alerts.json")),
    ("digests", include_str!("../../templates/pages/i18n/digests.json")),
    ("admin", include_str!("../../templates/pages/i18n/admin.json")),
    ("audit", include_str!("../../templates/pages/i18n/audit.json")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Message {
    en: String,
    es: String,
}

static CATALOG: LazyLock<Result<Catalog, String>> = LazyLock::new(|| Catalog::load().map_err(|e| format!("{e:#}")));

/// The catalogue, read once per process: templates (`t()`) and Rust code (chart captions,
/// translated field errors) share it.
pub fn catalog() -> anyhow::Result<&'static Catalog> {
    CATALOG.as_ref().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Every message, by key.
#[derive(Debug)]
pub struct Catalog {
    messages: HashMap<String, Message>,
}

impl Catalog {
    /// Reads the compiled-in files; a malformed file, a duplicate key or an empty text is an
    /// error (and a failing unit test).
    pub fn load() -> anyhow::Result<Self> {
        let mut messages = HashMap::new();
        for (area, source) in FILES {
            let parsed: HashMap<String, Message> =
                serde_json::from_str(source).map_err(|e| anyhow::anyhow!("i18n/{area}.json: {e}"))?;
            for (key, message) in parsed {
                if message.en.trim().is_empty() || message.es.trim().is_empty() {
                    anyhow::bail!("i18n/{area}.json: {key} has an empty translation");
                }
                if messages.insert(key.clone(), message).is_some() {
                    anyhow::bail!("i18n/{area}.json: {key} is defined twice");
                }
            }
        }
        Ok(Self { messages })
    }

    /// The text of `key` in `language`, if the key exists.
    pub fn get(&self, key: &str, language: Language) -> Option<&str> {
        self.messages.get(key).map(|m| match language {
            Language::En => m.en.as_str(),
            Language::Es => m.es.as_str(),
        })
    }

    /// Whether `key` exists.
    pub fn has(&self, key: &str) -> bool {
        self.messages.contains_key(key)
    }
}

/// The first supported language of an `Accept-Language` header, by quality then order;
/// Spanish, the product's home language, when nothing matches.
pub fn negotiate(accept_language: Option<&str>) -> Language {
    let Some(header) = accept_language else { return Language::Es };
    let mut best: Option<(f32, usize, Language)> = None;
    for (i, item) in header.split(',').enumerate() {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality =
            parts.filter_map(|p| p.trim().strip_prefix("q=")).find_map(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        let language = match primary {
            "es" => Language::Es,
            "en" => Language::En,
            _ => continue,
        };
        if quality <= 0.0 {
            continue;
        }
        let better = best.is_none_or(|(q, j, _)| quality > q || (quality == q && i < j));
        if better {
            best = Some((quality, i, language));
        }
    }
    best.map_or(Language::Es, |(_, _, l)| l)
}

/// Replaces `{name}` placeholders with the given values.
pub fn fill(text: &str, values: &[(&str, String)]) -> String {
    let mut out = text.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_loads_and_every_key_has_both_languages() {
        let catalog = Catalog::load().unwrap();
        assert!(catalog.has("nav.home"));
        assert_eq!(catalog.get("nav.home", Language::Es), Some("Inicio"));
        assert_eq!(catalog.get("nav.home", Language::En), Some("Home"));
        assert_eq!(catalog.get("no.such.key", Language::En), None);
    }

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(negotiate(None), Language::Es);
        assert_eq!(negotiate(Some("en-GB,en;q=0.9")), Language::En);
        assert_eq!(negotiate(Some("fr-FR, es;q=0.5, en;q=0.8")), Language::En);
        assert_eq!(negotiate(Some("fr, de")), Language::Es);
        assert_eq!(negotiate(Some("es-CO")), Language::Es);
        assert_eq!(negotiate(Some("en;q=0, es;q=0.1")), Language::Es);
        assert_eq!(negotiate(Some("en, es")), Language::En);
        assert_eq!(negotiate(Some("*")), Language::Es);
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(fill("{n} late of {total}", &[("n", "2".into()), ("total", "5".into())]), "2 late of 5");
    }
}
