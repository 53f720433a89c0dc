//! The words of every page and email in Spanish and English, and which of the two a visitor
//! gets.
//!
//! Messages live in `templates/i18n/<area>.json`: `vocabulary.json` holds the words shared by
//! every surface (statuses, trends, severities, channels, units, rules, audit actions,
//! plurals), `errors.json` the sentence of every validation code (see `present::errors`),
//! `email.json` the emails' sentences, and one file per area of the site the pages' own
//! texts. Each key maps to its `en` and `es` text, with `{name}` placeholders; a
//! text may instead be `{"one": …, "other": …}`, chosen by the `n` parameter. Keeping both
//! languages of a message side by side makes a missing translation visible in review; the
//! catalogue refuses at start-up a key that lacks either language, and rendering refuses a
//! key that does not exist, so a typo is a failing test rather than a blank on a page.

use std::{collections::HashMap, sync::LazyLock};

use serde::Deserialize;

use crate::domain::enums::Language;

/// The catalogue files, compiled in.
const FILES: [(&str, &str); 16] = [
    ("vocabulary", include_str!("../../templates/i18n/vocabulary.json")),
    ("errors", include_str!("../../templates/i18n/errors.json")),
    ("email", include_str!("../../templates/i18n/email.json")),
    ("email_alerts", include_str!("../../templates/i18n/email_alerts.json")),
    ("email_digest", include_str!("../../templates/i18n/email_digest.json")),
    ("common", include_str!("../../templates/i18n/common.json")),
    ("home", include_str!("../../templates/i18n/home.json")),
    ("engagement", include_str!("../../templates/i18n/engagement.json")),
    ("reports", include_str!("../../templates/i18n/reports.json")),
    ("approvals", include_str!("../../templates/i18n/approvals.json")),
    ("content", include_str!("../../templates/i18n/content.json")),
    ("incidents", include_str!("../../templates/i18n/incidents.json")),
    ("alerts", include_str!("../../templates/i18n/alerts.json")),
    ("digests", include_str!("../../templates/i18n/digests.json")),
    ("admin", include_str!("../../templates/i18n/admin.json")),
    ("audit", include_str!("../../templates/i18n/audit.json")),
];

/// One language's text of a message: plain, or by number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Text {
    Plain(String),
    /// Spanish and English both use `one` for exactly 1 and `other` for everything else
    /// (0, 2, 1,5 …).
    Plural {
        one: String,
        other: String,
    },
}

impl Text {
    fn pick(&self, n: Option<f64>) -> &str {
        match (self, n) {
            (Text::Plain(s), _) => s,
            (Text::Plural { one, .. }, Some(1.0)) => one,
            (Text::Plural { other, .. }, _) => other,
        }
    }

    fn parts(&self) -> Vec<&str> {
        match self {
            Text::Plain(s) => vec![s],
            Text::Plural { one, other } => vec![one, other],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Message {
    en: Text,
    es: Text,
}

static CATALOG: LazyLock<Result<Catalog, String>> = LazyLock::new(|| Catalog::load().map_err(|e| format!("{e:#}")));

/// The catalogue, read once per process: page and email templates (`t()`) and Rust code
/// (chart captions, translated field errors) share it.
pub fn catalog() -> anyhow::Result<&'static Catalog> {
    CATALOG.as_ref().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Every message, by key.
#[derive(Debug)]
pub struct Catalog {
    messages: HashMap<String, Message>,
}

impl Catalog {
    /// Reads the compiled-in files; a malformed file, a duplicate key, an empty text or a
    /// placeholder present in one language only is an error (and a failing unit test).
    pub fn load() -> anyhow::Result<Self> {
        let mut messages = HashMap::new();
        for (area, source) in FILES {
            let parsed: HashMap<String, Message> =
                serde_json::from_str(source).map_err(|e| anyhow::anyhow!("i18n/{area}.json: {e}"))?;
            for (key, message) in parsed {
                let texts = [message.en.parts(), message.es.parts()].concat();
                if texts.iter().any(|t| t.trim().is_empty()) {
                    anyhow::bail!("i18n/{area}.json: {key} has an empty translation");
                }
                let (en, es) = (placeholders(&message.en), placeholders(&message.es));
                if en != es {
                    anyhow::bail!("i18n/{area}.json: {key} has placeholders {en:?} in English but {es:?} in Spanish");
                }
                if messages.insert(key.clone(), message).is_some() {
                    anyhow::bail!("i18n/{area}.json: {key} is defined twice");
                }
            }
        }
        Ok(Self { messages })
    }

    /// The text of `key` in `language`, if the key exists (the `other` form of a plural).
    pub fn get(&self, key: &str, language: Language) -> Option<&str> {
        self.get_n(key, language, None)
    }

    /// The text of `key` in `language` for the number `n` (plural messages pick their form).
    pub fn get_n(&self, key: &str, language: Language, n: Option<f64>) -> Option<&str> {
        self.messages.get(key).map(|m| match language {
            Language::En => m.en.pick(n),
            Language::Es => m.es.pick(n),
        })
    }

    /// Whether `key` exists.
    pub fn has(&self, key: &str) -> bool {
        self.messages.contains_key(key)
    }

    /// Every key with its texts in `language` (all forms of plurals), for the tests that
    /// look for untranslated words.
    pub fn texts(&self, language: Language) -> impl Iterator<Item = (&str, Vec<&str>)> {
        self.messages.iter().map(move |(k, m)| {
            let text = match language {
                Language::En => &m.en,
                Language::Es => &m.es,
            };
            (k.as_str(), text.parts())
        })
    }
}

/// The `{name}` placeholders of a text, sorted and deduplicated over its forms.
fn placeholders(text: &Text) -> Vec<String> {
    let mut names: Vec<String> = text
        .parts()
        .iter()
        .flat_map(|t| t.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string())))
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    names.sort();
    names.dedup();
    names
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

/// The message `key` in `language` with its placeholders filled (`n`, when given, also picks
/// the plural form); the key itself if it is missing, which the catalogue tests rule out for
/// every key used from Rust.
pub fn text(key: &str, language: Language, values: &[(&str, String)]) -> String {
    let n = values.iter().find(|(k, _)| *k == "n").and_then(|(_, v)| super::format::read_number(v));
    catalog().ok().and_then(|c| c.get_n(key, language, n)).map_or_else(|| key.to_string(), |t| fill(t, values))
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
    fn plurals_follow_the_number() {
        let catalog = Catalog::load().unwrap();
        assert_eq!(catalog.get_n("count.engagements", Language::Es, Some(1.0)), Some("{n} contrato"));
        assert_eq!(catalog.get_n("count.engagements", Language::Es, Some(0.0)), Some("{n} contratos"));
        assert_eq!(catalog.get_n("count.engagements", Language::En, Some(2.0)), Some("{n} engagements"));
        assert_eq!(text("count.engagements", Language::Es, &[("n", "1".into())]), "1 contrato");
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
    fn placeholders_are_filled_and_checked_across_languages() {
        assert_eq!(fill("{n} late of {total}", &[("n", "2".into()), ("total", "5".into())]), "2 late of 5");
        let t = Text::Plural { one: "{n} día".into(), other: "{n} días desde {date}".into() };
        assert_eq!(placeholders(&t), ["date", "n"]);
    }
}
