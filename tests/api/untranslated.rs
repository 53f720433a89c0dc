//! Finds English on Spanish pages and emails: the words of the catalogue's English side that
//! no Spanish text uses (so "Instagram" or "KPI" never count), looked for in what a reader
//! sees or hears (text, and `alt`, `title`, `aria-label`, `placeholder`), outside the words
//! the demo's people typed (`src/demo.rs`).

use std::collections::BTreeSet;

use veedor::domain::enums::Language;

/// Words that are the same in both languages or are names, never a translation miss.
/// "English" is the language switch's own name for English, as "Español" is for Spanish.
const SHARED: [&str; 13] =
    ["veedor", "kpi", "kpis", "email", "online", "marketing", "blog", "ratio", "web", "api", "csv", "xlsx", "english"];

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphabetic()).filter(|w| w.chars().count() >= 3).map(str::to_lowercase)
}

/// The catalogue's texts without their `{placeholders}`.
fn without_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The English-only words of the catalogue.
pub fn english_only() -> BTreeSet<String> {
    let catalog = veedor::present::catalog().expect("catalogue");
    let collect = |lang| -> BTreeSet<String> {
        catalog
            .texts(lang)
            .flat_map(|(_, texts)| texts.into_iter().flat_map(|t| words(&without_placeholders(t)).collect::<Vec<_>>()))
            .collect()
    };
    let spanish = collect(Language::Es);
    let typed = demo_words();
    collect(Language::En)
        .into_iter()
        .filter(|w| !spanish.contains(w) && !typed.contains(w) && !SHARED.contains(&w.as_str()))
        .collect()
}

/// Every word of the demo's string literals: what its people typed.
fn demo_words() -> BTreeSet<String> {
    let source = include_str!("../../src/demo.rs");
    let mut out = BTreeSet::new();
    let mut rest = source;
    while let Some(start) = rest.find('"') {
        let Some(len) = rest[start + 1..].find('"') else { break };
        out.extend(words(&rest[start + 1..start + 1 + len]));
        rest = &rest[start + len + 2..];
    }
    out
}

/// What a reader of `html` sees or hears: its text and its accessible attributes, without
/// scripts and styles.
pub fn readable(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push(' ');
        let Some(close) = rest[open..].find('>') else { break };
        let tag = &rest[open + 1..open + close];
        for attr in ["alt=\"", "title=\"", "aria-label=\"", "placeholder=\""] {
            let mut t = tag;
            while let Some(i) = t.find(attr) {
                let value = &t[i + attr.len()..];
                let end = value.find('"').unwrap_or(value.len());
                out.push(' ');
                out.push_str(&value[..end]);
                out.push(' ');
                t = &value[end..];
            }
        }
        let lower = tag.to_ascii_lowercase();
        rest = &rest[open + close + 1..];
        for skipped in ["script", "style"] {
            if lower.starts_with(skipped) {
                let end = rest.find(&format!("</{skipped}")).unwrap_or(rest.len());
                rest = &rest[end..];
            }
        }
    }
    out.push_str(rest);
    let decoded = out.replace("&amp;", "&").replace("&#x27;", "'").replace("&quot;", "\"").replace("&#x2f;", "/");
    // Addresses and time-zone names (`America/New_York`) are not words of either language.
    decoded.split_whitespace().filter(|w| !w.contains('/')).collect::<Vec<_>>().join(" ")
}

/// Catalogue keys printed as text: a message looked up under a name that does not exist.
pub fn keys_in(text: &str) -> Vec<String> {
    let catalog = veedor::present::catalog().expect("catalogue");
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '_' && c != '.'))
        .filter(|w| {
            w.contains('.')
                && w.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        })
        .filter(|w| w.split('.').count() >= 2 && (catalog.has(w) || w.split('.').count() >= 3))
        .map(str::to_string)
        .collect()
}

/// The English-only words found in `text`, with a little context each.
pub fn english_in(text: &str, english: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    // Tokens with digits in them (identifiers such as `6add3330f71e`) are not words.
    let words = text.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.chars().any(|c| c.is_ascii_digit()));
    for (i, w) in words.enumerate() {
        let lower = w.to_lowercase();
        if english.contains(&lower) {
            let start = text.find(w).unwrap_or(0).saturating_sub(40);
            let context: String = text[text.floor_char_boundary(start)..].chars().take(90).collect();
            found.push(format!("{w} (#{i}): …{}…", context.split_whitespace().collect::<Vec<_>>().join(" ")));
        }
    }
    found
}

#[test]
fn english_only_words_leave_out_names_and_shared_words() {
    let english = english_only();
    assert!(english.contains("reports") && english.contains("missing"), "{english:?}");
    for shared in ["instagram", "kpi", "veedor", "tiktok"] {
        assert!(!english.contains(shared), "{shared}");
    }
    let found = english_in(&readable("<p title=\"Late reports\">Informes</p><script>var missing;</script>"), &english);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(english_in("Contenido 01a23d45-b75a-7374-85b3-6add3330f71e", &english).is_empty(), "an id is no word");
    assert_eq!(keys_in("Unidad eng.unit.count, 1.234,5 y status.red"), ["eng.unit.count", "status.red"]);
}
