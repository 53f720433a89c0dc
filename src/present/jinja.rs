//! The vocabulary as template functions and filters, installed in the page templates and in
//! the email templates alike, so that both write a status, a date or an amount the same way.
//!
//! Every template reads `lang` (`es`/`en`) and, for instants, `tz` (an IANA zone) from its
//! context. `t("key", name=value)` looks up the catalogue (numbers given as parameters are
//! written in the language's format, and `n` picks a plural form); the filters are:
//!
//! | filter | example (es) |
//! | --- | --- |
//! | `num(decimals=1)` | `1.234,5` |
//! | `money(currency)` / `money_minor(currency)` | `4.500,00 €` |
//! | `pct` | `12,5 %` |
//! | `kpi_value(unit, currency)` | `45 min` |
//! | `factor` | `× 83,3` |
//! | `date` | `05/12/2026` (a date, or an instant's local date in `tz`) |
//! | `datetime` | `05/12/2026 14:05` in `tz` |
//! | `period(end)` | `noviembre de 2026` |

use chrono::{DateTime, NaiveDate, Utc};
use minijinja::{Environment, Error, ErrorKind, State, Value, value::Kwargs};

use super::{
    catalog::{Catalog, fill},
    format,
};
use crate::domain::enums::{KpiUnit, Language};

/// Adds the vocabulary's function and filters to `env`.
pub fn install(env: &mut Environment<'_>, catalog: &'static Catalog) {
    env.add_function("t", move |state: &State, key: &str, kwargs: Kwargs| translate(catalog, state, key, kwargs));
    env.add_function("has_t", move |key: &str| catalog.has(key));
    env.add_function("page_path", page_path);
    env.add_filter("num", num);
    env.add_filter("money", money);
    env.add_filter("money_minor", money_minor);
    env.add_filter("pct", pct);
    env.add_filter("kpi_value", kpi_value);
    env.add_filter("factor", factor);
    env.add_filter("date", date);
    env.add_filter("datetime", datetime);
    env.add_filter("period", period);
}

/// A page's path from the router's own constant: `page_path("REPORT", id=r.id)` is `/reports/…`.
/// An unknown page, a missing or an unexpected parameter is an error, so a broken link fails
/// the page's render (and the tests) instead of pointing nowhere.
fn page_path(name: &str, kwargs: Kwargs) -> Result<Value, Error> {
    let template = super::links::paths::ALL
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("no page is named {name}")))?;
    let mut out = template.to_string();
    for arg in kwargs.args() {
        let value: Value = kwargs.get(arg)?;
        let placeholder = format!("{{{arg}}}");
        if !out.contains(&placeholder) {
            return Err(Error::new(ErrorKind::InvalidOperation, format!("{name} has no parameter {arg}")));
        }
        let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
        out = out.replace(&placeholder, &form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>());
    }
    kwargs.assert_all_used()?;
    if out.contains('{') {
        return Err(Error::new(ErrorKind::InvalidOperation, format!("{name} needs more parameters: {out}")));
    }
    // Safe as it is: a constant path whose parameters are percent-encoded.
    Ok(Value::from_safe_string(out))
}

/// The language a template renders in, from its `lang` variable.
pub fn language(state: &State) -> Language {
    match state.lookup("lang").as_ref().and_then(Value::as_str) {
        Some("en") => Language::En,
        _ => Language::Es,
    }
}

fn translate(catalog: &Catalog, state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let lang = language(state);
    let mut values = Vec::new();
    let mut n = None;
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        let number = number_of(&value);
        if name == "n" {
            n = number;
        }
        let shown = match number {
            Some(v) if value.is_integer() => format::number(v, 0, lang),
            Some(v) if value.is_number() => format::number(v, 2, lang),
            _ => value.to_string(),
        };
        values.push((name, shown));
    }
    kwargs.assert_all_used()?;
    let Some(text) = catalog.get_n(key, lang, n) else {
        return Err(Error::new(ErrorKind::UndefinedError, format!("no message {key:?} in the catalogue")));
    };
    Ok(fill(text, &values))
}

fn number_of(value: &Value) -> Option<f64> {
    if value.is_none() || value.is_undefined() || !value.is_number() {
        return None;
    }
    f64::try_from(value.clone()).ok()
}

/// A number, or a number written as text by a stored fact.
fn numeric(value: &Value) -> Option<f64> {
    number_of(value).or_else(|| value.as_str().and_then(format::read_number))
}

fn num(state: &State, value: Value, decimals: Option<usize>) -> String {
    numeric(&value).map(|v| format::number(v, decimals.unwrap_or(1), language(state))).unwrap_or_default()
}

fn money(state: &State, value: Value, currency: Option<String>) -> String {
    numeric(&value).map(|v| format::money(v, currency.as_deref().unwrap_or("EUR"), language(state))).unwrap_or_default()
}

fn money_minor(state: &State, value: Value, currency: Option<String>) -> String {
    numeric(&value)
        .map(|v| format::money(v / 100.0, currency.as_deref().unwrap_or("EUR"), language(state)))
        .unwrap_or_default()
}

fn pct(state: &State, value: Value) -> String {
    numeric(&value).map(|v| format::percent(v, 1, language(state))).unwrap_or_default()
}

fn factor(state: &State, value: Value) -> String {
    numeric(&value).map(|v| format::factor(v, language(state))).unwrap_or_default()
}

fn kpi_value(state: &State, value: Value, unit: &str, currency: Option<String>) -> String {
    let Some(v) = numeric(&value) else { return String::new() };
    let unit: KpiUnit = unit.parse().unwrap_or(KpiUnit::Count);
    format::kpi_value(v, unit, currency.as_deref().unwrap_or("EUR"), language(state))
}

fn zone(state: &State) -> Option<chrono_tz::Tz> {
    state.lookup("tz").as_ref().and_then(Value::as_str).and_then(|z| z.parse().ok())
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

fn day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// A date (`2026-03-02`), or an instant's date in the reader's time zone.
fn date(state: &State, value: Value) -> String {
    let Some(text) = value.as_str() else { return String::new() };
    let lang = language(state);
    if let Some(d) = day(text) {
        return format::date(d, lang);
    }
    match (instant(text), zone(state)) {
        (Some(at), Some(tz)) => format::date(format::local_date(at, tz), lang),
        _ => text.to_string(),
    }
}

/// An instant in the reader's time zone: `02/03/2026 14:05` / `Mar 2, 2026 14:05`.
fn datetime(state: &State, value: Value) -> String {
    let Some(text) = value.as_str() else { return String::new() };
    match (instant(text), zone(state)) {
        (Some(at), Some(tz)) => format::datetime(at, tz, language(state)),
        _ => text.to_string(),
    }
}

/// A period from its first and last day: `noviembre de 2026`, `01/11/2026 – 15/11/2026`.
fn period(state: &State, start: Value, end: Value) -> String {
    match (start.as_str().and_then(day), end.as_str().and_then(day)) {
        (Some(s), Some(e)) => format::period(s, e, language(state)),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use minijinja::context;

    use super::*;

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        install(&mut env, super::super::catalog::catalog().unwrap());
        env
    }

    #[test]
    fn filters_follow_the_context_language() {
        let env = env();
        let src = "{{ 12345.5|num }}|{{ 12.5|pct }}|{{ '2026-03-02'|date }}|{{ '2026-03-29T01:30:00Z'|datetime }}|\
                   {{ 123456|kpi_value('currency_minor', 'EUR') }}|{{ 4500|money('EUR') }}|{{ '2026-11-01'|period('2026-11-30') }}";
        let es = env.render_str(src, context! { lang => "es", tz => "Europe/Madrid" }).unwrap();
        assert_eq!(
            es,
            "12.345,5|12,5\u{a0}%|02/03/2026|29/03/2026 03:30|1.234,56\u{a0}€|4.500,00\u{a0}€|noviembre de 2026"
        );
        let en = env.render_str(src, context! { lang => "en", tz => "America/Bogota" }).unwrap();
        assert_eq!(en, "12,345.5|12.5%|Mar 2, 2026|Mar 28, 2026 20:30|€1,234.56|€4,500.00|November 2026");
    }

    #[test]
    fn t_picks_plurals_and_formats_numbers() {
        let env = env();
        let src = "{{ t('count.firing_alerts', n=n) }}";
        assert_eq!(env.render_str(src, context! { lang => "es", n => 1 }).unwrap(), "1 alerta activa");
        assert_eq!(env.render_str(src, context! { lang => "es", n => 1200 }).unwrap(), "1.200 alertas activas");
        assert_eq!(env.render_str(src, context! { lang => "en", n => 0 }).unwrap(), "0 firing alerts");
        assert!(env.render_str("{{ t('no.such.key') }}", context! { lang => "es" }).is_err());
    }
}
