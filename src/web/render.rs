//! Renders page templates (`templates/pages/`, compiled in by `build.rs`) with minijinja, in
//! the visitor's language: `t("key", name=value)` looks up the catalogue, and the filters
//! write numbers, money, percentages and dates as that language does (`1.234,5 €`).
//!
//! Every template reads `lang` (and `tz` for times) from its context, set by
//! [`super::session::Frame`]; HTML is auto-escaped.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, NaiveDate, Utc};
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior, Value, value::Kwargs};

use super::i18n::{self, Catalog};
use crate::domain::{enums::Language, locale};

/// The page templates and the catalogue, shared by every request.
#[derive(Clone)]
pub struct Pages {
    env: Arc<Environment<'static>>,
    /// Templates rendered so far, as `name:lang`: lets the tests prove that every template
    /// was rendered in both languages.
    rendered: Arc<Mutex<BTreeSet<String>>>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages").finish_non_exhaustive()
    }
}

impl Pages {
    pub fn load() -> anyhow::Result<Self> {
        let catalog = i18n::catalog()?;
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        minijinja_embed::load_templates!(&mut env);
        env.add_function("t", move |state: &State, key: &str, kwargs: Kwargs| translate(catalog, state, key, kwargs));
        env.add_function("has_t", move |key: &str| catalog.has(key));
        env.add_filter("num", num);
        env.add_filter("money", money);
        env.add_filter("pct", pct);
        env.add_filter("kpi_value", kpi_value);
        env.add_filter("date", date);
        env.add_filter("datetime", datetime);
        env.add_filter("urlencode_query", urlencode_query);
        env.add_global("assets_version", super::assets::VERSION.as_str());
        // Every template must compile now rather than on its first request.
        for (name, template) in env.templates() {
            template.undeclared_variables(false);
            tracing::trace!(name, "page template loaded");
        }
        Ok(Self { env: Arc::new(env), rendered: Arc::new(Mutex::new(BTreeSet::new())) })
    }

    /// Renders `name` with `context`.
    pub fn render(&self, name: &str, context: Value) -> Result<String, Error> {
        let lang = context.get_attr("lang").ok().map(|l| l.to_string()).unwrap_or_default();
        let html = self.env.get_template(name)?.render(context)?;
        let key = format!("{name}:{lang}");
        if let Ok(mut seen) = self.rendered.lock()
            && !seen.contains(&key)
        {
            seen.insert(key);
        }
        Ok(html)
    }

    /// The page templates: partials (names starting with `_`) and the layout excluded.
    pub fn names(&self) -> BTreeSet<String> {
        self.env
            .templates()
            .map(|(name, _)| name.to_string())
            .filter(|n| n != "base.html" && !n.rsplit('/').next().unwrap_or(n).starts_with('_'))
            .collect()
    }

    /// The templates rendered since start, as `name:lang`.
    pub fn rendered(&self) -> BTreeSet<String> {
        self.rendered.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// The language a template renders in, from its `lang` variable.
fn language(state: &State) -> Language {
    match state.lookup("lang").as_ref().and_then(Value::as_str) {
        Some("en") => Language::En,
        _ => Language::Es,
    }
}

fn translate(catalog: &Catalog, state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let lang = language(state);
    let Some(text) = catalog.get(key, lang) else {
        return Err(Error::new(ErrorKind::UndefinedError, format!("no message {key:?} in the catalogue")));
    };
    let mut values = Vec::new();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        let shown = match value.as_i64() {
            Some(n) if value.is_integer() => locale::number(n as f64, 0, lang),
            _ => value.to_string(),
        };
        values.push((name, shown));
    }
    kwargs.assert_all_used()?;
    Ok(i18n::fill(text, &values))
}

fn number_of(value: &Value) -> Option<f64> {
    if value.is_none() || value.is_undefined() {
        return None;
    }
    f64::try_from(value.clone()).ok()
}

/// `1.234,5` / `1,234.5`; an empty value stays empty.
fn num(state: &State, value: Value, decimals: Option<usize>) -> String {
    number_of(&value).map(|v| locale::number(v, decimals.unwrap_or(1), language(state))).unwrap_or_default()
}

/// An amount of money: `1.234,5 €` / `€1,234.5`.
pub fn format_money(amount: f64, currency: &str, lang: Language) -> String {
    let symbol = match currency {
        "EUR" => "€",
        "USD" => "US$",
        "GBP" => "£",
        other => other,
    };
    let n = locale::number(amount, 2, lang);
    match lang {
        Language::Es => format!("{n}\u{a0}{symbol}"),
        Language::En if symbol.len() > 3 || symbol.chars().all(|c| c.is_ascii_uppercase()) => {
            format!("{symbol}\u{a0}{n}")
        }
        Language::En => format!("{symbol}{n}"),
    }
}

fn money(state: &State, value: Value, currency: Option<String>) -> String {
    number_of(&value)
        .map(|v| format_money(v, currency.as_deref().unwrap_or("EUR"), language(state)))
        .unwrap_or_default()
}

/// A percentage already in percent units: `12,5 %` / `12.5%`.
fn pct(state: &State, value: Value) -> String {
    let lang = language(state);
    number_of(&value)
        .map(|v| match lang {
            Language::Es => format!("{}\u{a0}%", locale::number(v, 1, lang)),
            Language::En => format!("{}%", locale::number(v, 1, lang)),
        })
        .unwrap_or_default()
}

/// A KPI value in its unit (`currency_minor` values are cents of `currency`).
fn kpi_value(state: &State, value: Value, unit: &str, currency: Option<String>) -> String {
    let lang = language(state);
    let Some(v) = number_of(&value) else { return String::new() };
    match unit {
        "percent" => pct(state, value),
        "currency_minor" => format_money(v / 100.0, currency.as_deref().unwrap_or("EUR"), lang),
        "minutes" => format!("{}\u{a0}min", locale::number(v, 1, lang)),
        "hours" => format!("{}\u{a0}h", locale::number(v, 1, lang)),
        "ratio" => locale::number(v, 2, lang),
        _ => locale::number(v, 1, lang),
    }
}

/// A date (`2026-03-02`, or a timestamp, shown in the visitor's time zone).
fn date(state: &State, value: Value) -> String {
    let Some(text) = value.as_str() else { return String::new() };
    let lang = language(state);
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return locale::date(d, lang);
    }
    match local(state, text) {
        Some(t) => locale::date(t.date_naive(), lang),
        None => text.to_string(),
    }
}

/// A timestamp in the visitor's time zone: `02/03/2026 14:05` / `Mar 2, 2026 14:05`.
fn datetime(state: &State, value: Value) -> String {
    let Some(text) = value.as_str() else { return String::new() };
    match local(state, text) {
        Some(t) => format!("{} {}", locale::date(t.date_naive(), language(state)), t.format("%H:%M")),
        None => text.to_string(),
    }
}

fn local(state: &State, text: &str) -> Option<DateTime<chrono_tz::Tz>> {
    let at: DateTime<Utc> = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    let tz: chrono_tz::Tz = state.lookup("tz").as_ref().and_then(Value::as_str).and_then(|z| z.parse().ok())?;
    Some(at.with_timezone(&tz))
}

/// `key=value&…` from a map, for links that keep the current filters.
fn urlencode_query(value: Value) -> Result<String, Error> {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for key in value.try_iter()? {
        let v = value.get_item(&key)?;
        if v.is_none() || v.is_undefined() || v.as_str() == Some("") {
            continue;
        }
        out.append_pair(&key.to_string(), &v.to_string());
    }
    Ok(out.finish())
}

#[cfg(test)]
mod tests {
    use minijinja::context;

    use super::*;

    #[test]
    fn money_is_written_as_each_language_does() {
        assert_eq!(format_money(1234.5, "EUR", Language::Es), "1234,5\u{a0}€");
        assert_eq!(format_money(12345.5, "EUR", Language::Es), "12.345,5\u{a0}€");
        assert_eq!(format_money(1234.5, "EUR", Language::En), "€1,234.5");
        assert_eq!(format_money(10.0, "COP", Language::En), "COP\u{a0}10");
    }

    #[test]
    fn filters_follow_the_context_language() {
        let mut env = Environment::new();
        env.add_filter("num", num);
        env.add_filter("pct", pct);
        env.add_filter("date", date);
        env.add_filter("datetime", datetime);
        env.add_filter("kpi_value", kpi_value);
        let src = "{{ 12345.5|num }}|{{ 12.5|pct }}|{{ '2026-03-02'|date }}|{{ '2026-03-29T01:30:00Z'|datetime }}|{{ 123456|kpi_value('currency_minor', 'EUR') }}";
        let es = env.render_str(src, context! { lang => "es", tz => "Europe/Madrid" }).unwrap();
        assert_eq!(es, "12.345,5|12,5\u{a0}%|02/03/2026|29/03/2026 03:30|1234,56\u{a0}€");
        let en = env.render_str(src, context! { lang => "en", tz => "America/Bogota" }).unwrap();
        assert_eq!(en, "12,345.5|12.5%|Mar 2, 2026|Mar 28, 2026 20:30|€1,234.56");
    }

    #[test]
    fn every_page_template_compiles() {
        let pages = Pages::load().unwrap();
        assert!(pages.names().contains("home.html"));
        assert!(!pages.names().contains("base.html"));
        assert!(!pages.names().iter().any(|n| n.contains("/_") || n.starts_with('_')));
    }
}
