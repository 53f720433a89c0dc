//! The KPI editor's form, as plain data: turning the posted fields into the API's
//! [`KpiInput`] (numbers as the user's language writes them: `12,5` or `12.5` in Spanish),
//! and a stored KPI back into the fields that fill the form. Pure, so every rule is unit
//! tested; the handlers in `kpi_editor` only call it.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::{
    domain::{
        FieldError,
        enums::{Aggregation, Channel, KpiDirection, KpiUnit, Language},
        kpi::{KpiInput, RatioOf, RealismFlag, realism},
    },
    views::KpiView,
    web::numbers,
};

/// A number as typed by someone writing `language` (see `web::numbers`).
pub fn parse_number(text: &str, language: Language) -> Option<f64> {
    numbers::parse(text, language)
}

/// A number as the form shows it for editing.
pub fn input_number(value: f64, language: Language) -> String {
    numbers::for_input(value, language)
}

/// The posted fields, by name; a name may repeat (the channels' checkboxes).
pub struct Posted<'a>(pub &'a [(String, String)]);

impl Posted<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// The channels ticked, as posted (to tick them again after an error).
    pub fn channels(&self) -> Vec<String> {
        self.all("channels").map(str::to_string).collect()
    }
}

/// Collects the problems of reading the form, field by field.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn choice<T: std::str::FromStr>(&mut self, form: &Posted, field: &str) -> Option<T> {
        match form.get(field) {
            None => {
                self.0.push(FieldError::new(field, "required", "choose one"));
                None
            }
            Some(v) => v.parse().ok().or_else(|| {
                self.0.push(FieldError::new(field, "invalid_value", "is not one of the choices"));
                None
            }),
        }
    }

    fn number(&mut self, form: &Posted, field: &str, language: Language) -> Option<f64> {
        let text = form.get(field)?;
        numbers::typed(field, text, language).map_err(|e| self.0.push(e)).ok()
    }

    fn required_number(&mut self, form: &Posted, field: &str, language: Language) -> Option<f64> {
        if form.get(field).is_none() {
            self.0.push(FieldError::new(field, "required", "must not be empty"));
            return None;
        }
        self.number(form, field, language)
    }

    fn id(&mut self, form: &Posted, field: &str) -> Option<Uuid> {
        let text = form.get(field)?;
        let parsed = text.parse().ok();
        if parsed.is_none() {
            self.0.push(FieldError::new(field, "invalid_value", "is not one of the choices"));
        }
        parsed
    }
}

/// The fields of the KPI form; any other is refused.
pub const FIELDS: [&str; 14] = [
    "name",
    "objective",
    "unit",
    "direction",
    "aggregation",
    "baseline",
    "target",
    "target_upper",
    "warning_threshold",
    "critical_threshold",
    "channels",
    "allow_negative",
    "ratio_numerator",
    "ratio_denominator",
];

/// The API's input from the posted form, or every field that could not be read. What the
/// input means (thresholds in order, a name given…) is checked by the store, as for the API.
pub fn kpi_input(form: &Posted, language: Language) -> Result<KpiInput, Vec<FieldError>> {
    let mut p = Problems::default();
    let unit = p.choice::<KpiUnit>(form, "unit");
    let direction = p.choice::<KpiDirection>(form, "direction");
    let aggregation = p.choice::<Aggregation>(form, "aggregation");
    let baseline = p.number(form, "baseline", language);
    let target = p.required_number(form, "target", language);
    let target_upper = p.number(form, "target_upper", language);
    let warning = p.required_number(form, "warning_threshold", language);
    let critical = p.required_number(form, "critical_threshold", language);
    let mut channels = Vec::new();
    for c in form.all("channels") {
        match c.parse::<Channel>() {
            Ok(channel) if !channels.contains(&channel) => channels.push(channel),
            Ok(_) => {}
            Err(_) => p.0.push(FieldError::new("channels", "invalid_value", "is not one of the choices")),
        }
    }
    let ratio_of = ratio(&mut p, form);
    match (unit, direction, aggregation, target, warning, critical) {
        (Some(unit), Some(direction), Some(aggregation), Some(target), Some(warning), Some(critical))
            if p.0.is_empty() =>
        {
            Ok(KpiInput {
                name: form.get("name").unwrap_or_default().to_string(),
                objective: form.get("objective").unwrap_or_default().to_string(),
                unit,
                direction,
                baseline,
                target,
                target_upper,
                warning_threshold: warning,
                critical_threshold: critical,
                aggregation,
                channels,
                allow_negative: form.get("allow_negative").is_some(),
                ratio_of,
            })
        }
        _ => Err(p.0),
    }
}

/// Both halves of a ratio, or neither.
fn ratio(p: &mut Problems, form: &Posted) -> Option<RatioOf> {
    let numerator = p.id(form, "ratio_numerator");
    let denominator = p.id(form, "ratio_denominator");
    match (numerator, denominator) {
        (Some(n), Some(d)) => Some(RatioOf { numerator_kpi_id: n, denominator_kpi_id: d }),
        (Some(_), None) if form.get("ratio_denominator").is_none() => {
            p.0.push(FieldError::new("ratio_denominator", "required", "a ratio needs both KPIs"));
            None
        }
        (None, Some(_)) if form.get("ratio_numerator").is_none() => {
            p.0.push(FieldError::new("ratio_numerator", "required", "a ratio needs both KPIs"));
            None
        }
        _ => None,
    }
}

/// The realism check on what was typed, as far as it can be read: shown again beside a form
/// sent back with errors.
pub fn realism_of_form(form: &Posted, language: Language, term_days: i64, growth: f64) -> Option<RealismFlag> {
    let direction: KpiDirection = form.get("direction")?.parse().ok()?;
    let target = parse_number(form.get("target")?, language)?;
    let baseline = match form.get("baseline") {
        Some(b) => Some(parse_number(b, language)?),
        None => None,
    };
    realism(direction, baseline, target, term_days, growth)
}

/// The form's field for an error the store names (`ratio_of.numerator_kpi_id`,
/// `channels[1]`); other names are the form's own.
pub fn form_field(field: &str) -> &str {
    match field {
        "ratio_of.numerator_kpi_id" => "ratio_numerator",
        "ratio_of.denominator_kpi_id" => "ratio_denominator",
        f if f.starts_with("channels[") => "channels",
        f => f,
    }
}

/// A stored KPI as the form's fields.
pub fn values_of(k: &KpiView, language: Language) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    v.insert("name".into(), k.name.clone());
    v.insert("objective".into(), k.objective.clone());
    v.insert("unit".into(), k.unit.to_string());
    v.insert("direction".into(), k.direction.to_string());
    v.insert("aggregation".into(), k.aggregation.to_string());
    let numbers = [
        ("baseline", k.baseline),
        ("target", Some(k.target)),
        ("target_upper", k.target_upper),
        ("warning_threshold", Some(k.warning_threshold)),
        ("critical_threshold", Some(k.critical_threshold)),
    ];
    for (field, value) in numbers {
        if let Some(x) = value {
            v.insert(field.into(), input_number(x, language));
        }
    }
    if k.allow_negative {
        v.insert("allow_negative".into(), "true".into());
    }
    if let Some(r) = k.ratio_of {
        v.insert("ratio_numerator".into(), r.numerator_kpi_id.to_string());
        v.insert("ratio_denominator".into(), r.denominator_kpi_id.to_string());
    }
    v
}

/// What a new KPI's form starts with.
pub fn defaults() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("unit".to_string(), KpiUnit::Count.to_string()),
        ("direction".to_string(), KpiDirection::HigherIsBetter.to_string()),
        ("aggregation".to_string(), Aggregation::Last.to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn followers() -> Vec<(String, String)> {
        fields(&[
            ("name", " Seguidores "),
            ("objective", "Notoriedad"),
            ("unit", "count"),
            ("direction", "higher_is_better"),
            ("aggregation", "last"),
            ("baseline", "10.000,5"),
            ("target", "12500"),
            ("target_upper", ""),
            ("warning_threshold", "11000,25"),
            ("critical_threshold", "10000"),
            ("channels", "instagram"),
            ("channels", "tiktok"),
            ("ratio_numerator", ""),
            ("ratio_denominator", ""),
        ])
    }

    #[test]
    fn numbers_are_read_as_every_form_reads_them() {
        assert_eq!(parse_number("12,5", Language::Es), Some(12.5));
        assert_eq!(parse_number("1.234,5", Language::Es), Some(1234.5));
        assert_eq!(parse_number("1,234.5", Language::En), Some(1234.5));
        assert_eq!(parse_number("abc", Language::Es), None);
        assert_eq!(parse_number(&input_number(1234.5, Language::Es), Language::Es), Some(1234.5));
    }

    #[test]
    fn a_complete_form_becomes_the_api_input() {
        let form = followers();
        let k = kpi_input(&Posted(&form), Language::Es).unwrap();
        assert_eq!(k.baseline, Some(10_000.5));
        assert_eq!(k.target, 12_500.0);
        assert_eq!(k.target_upper, None);
        assert_eq!(k.warning_threshold, 11_000.25);
        assert_eq!(k.channels, [Channel::Instagram, Channel::Tiktok]);
        assert!(!k.allow_negative);
        assert_eq!(k.ratio_of, None);
        assert!(k.validate().is_ok(), "the store's own checks pass");
    }

    #[test]
    fn unreadable_fields_are_each_named() {
        let mut form = followers();
        for (k, v) in form.iter_mut() {
            match k.as_str() {
                "target" => *v = "mucho".into(),
                "unit" => *v = "furlongs".into(),
                "warning_threshold" => *v = String::new(),
                _ => {}
            }
        }
        form.push(("ratio_numerator".into(), Uuid::nil().to_string()));
        let errors = kpi_input(&Posted(&form), Language::Es).unwrap_err();
        let named: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert!(named.contains(&("target", "not_a_number")), "{named:?}");
        assert!(named.contains(&("unit", "invalid_value")));
        assert!(named.contains(&("warning_threshold", "required")));
        assert!(!named.iter().any(|(f, _)| *f == "ratio_denominator"), "the blank first copy is what counts");
    }

    #[test]
    fn a_ratio_needs_both_halves() {
        let mut form = followers();
        form.retain(|(k, _)| !k.starts_with("ratio_"));
        form.push(("ratio_numerator".into(), Uuid::nil().to_string()));
        let errors = kpi_input(&Posted(&form), Language::Es).unwrap_err();
        assert_eq!(errors[0].field, "ratio_denominator");
        form.push(("ratio_denominator".into(), Uuid::max().to_string()));
        let ratio = kpi_input(&Posted(&form), Language::Es).unwrap().ratio_of.unwrap();
        assert_eq!((ratio.numerator_kpi_id, ratio.denominator_kpi_id), (Uuid::nil(), Uuid::max()));
    }

    #[test]
    fn the_realism_of_what_was_typed() {
        let mut form = followers();
        let term = 365;
        assert_eq!(realism_of_form(&Posted(&form), Language::Es, term, 3.0), None);
        for (k, v) in form.iter_mut() {
            if k == "target" {
                *v = "1.000.000".into();
            }
        }
        let flag = realism_of_form(&Posted(&form), Language::Es, term, 3.0).unwrap();
        assert!(flag.implied_factor.unwrap() > 90.0);
    }

    #[test]
    fn store_field_names_map_to_the_form() {
        assert_eq!(form_field("ratio_of.numerator_kpi_id"), "ratio_numerator");
        assert_eq!(form_field("channels[2]"), "channels");
        assert_eq!(form_field("target"), "target");
    }
}
