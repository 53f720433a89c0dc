//! Governance findings in words: each kind (`code`) has its sentence in the catalogue
//! (`gov.finding.<code>`), filled from the finding's parameters in the reader's language, so
//! the same finding reads the same on the engagement page and on its activation approval.

use serde::Serialize;

use super::{catalog::text, format};
use crate::domain::{enums::Language, governance::Finding};

/// Every finding code the rules raise, blockers and warnings (the catalogue holds a sentence
/// for each; the unit test checks it).
pub const CODES: [&str; 11] = [
    "owner_required",
    "owner_not_internal_lead",
    "owner_inactive",
    "scope_required",
    "kpi_required",
    "objective_required",
    "term_over",
    "no_executive",
    "implausible_target",
    "no_baseline",
    "stage_role_empty",
];

/// A finding as a page shows it: its stable code and field, and its sentence.
#[derive(Debug, Clone, Serialize)]
pub struct Worded {
    pub code: String,
    pub field: String,
    pub text: String,
}

/// The sentence of a finding in `language`.
pub fn sentence(f: &Finding, language: Language) -> String {
    let mut values: Vec<(&str, String)> = Vec::new();
    for (name, value) in &f.params {
        let shown = match (name.as_str(), value) {
            ("kind", serde_json::Value::String(k)) => text(&format!("subject_kind.{k}"), language, &[]),
            ("team_role", serde_json::Value::String(r)) => text(&format!("team_role.{r}"), language, &[]),
            ("factor" | "plausible", v) => v.as_f64().map(|x| format::factor(x, language)).unwrap_or_default(),
            ("stages", serde_json::Value::Array(stages)) => stages
                .iter()
                .map(|s| {
                    let kind = s["kind"].as_str().unwrap_or_default();
                    let values = [
                        ("kind", text(&format!("subject_kind.{kind}"), language, &[])),
                        ("stage", s["stage"].to_string()),
                    ];
                    text("gov.stage_of", language, &values)
                })
                .collect::<Vec<_>>()
                .join(", "),
            (_, serde_json::Value::String(s)) => s.clone(),
            (_, v) if v.is_u64() || v.is_i64() => v.to_string(),
            (_, v) => v.as_f64().map(|x| format::number(x, 2, language)).unwrap_or_default(),
        };
        values.push((name.as_str(), shown));
    }
    // A target that needs growth from a zero baseline has no factor to name.
    let key = if f.code == "implausible_target" && !f.params.contains_key("factor") {
        "gov.finding.implausible_target_unbounded".to_string()
    } else {
        format!("gov.finding.{}", f.code)
    };
    text(&key, language, &values)
}

/// The findings as a page lists them.
pub fn worded(findings: &[Finding], language: Language) -> Vec<Worded> {
    findings
        .iter()
        .map(|f| Worded { code: f.code.clone(), field: f.field.clone(), text: sentence(f, language) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::present::catalog;

    #[test]
    fn every_code_has_a_sentence_in_both_languages() {
        let c = catalog().unwrap();
        let unbounded = "gov.finding.implausible_target_unbounded".to_string();
        for code in CODES.iter().map(|c| format!("gov.finding.{c}")).chain([unbounded]) {
            assert!(c.has(&code), "{code}");
        }
    }

    #[test]
    fn findings_are_worded_from_their_parameters() {
        let f = Finding::new("kpis[0].target", "implausible_target", "x")
            .with("kpi", "Seguidores")
            .with("factor", 83.26)
            .with("plausible", 3.0);
        let es = sentence(&f, Language::Es);
        assert!(es.contains("«Seguidores»") && es.contains("×\u{a0}83,3") && es.contains("×\u{a0}3"), "{es}");
        assert!(sentence(&f, Language::En).contains("×\u{a0}83.3"));
        let zero =
            Finding::new("kpis[0].target", "implausible_target", "x").with("kpi", "Seguidores").with("plausible", 3.0);
        assert!(sentence(&zero, Language::Es).contains("línea base cero"));
        let stages = serde_json::json!([{ "kind": "content", "stage": 2 }, { "kind": "amendment", "stage": 1 }]);
        let stage = Finding::new("team", "stage_role_empty", "x").with("team_role", "legal").with("stages", stages);
        assert_eq!(
            sentence(&stage, Language::Es),
            "Nadie del equipo tiene el rol «Asesoría jurídica», que aprueba en: Publicación (etapa 2), \
             Modificación del contrato (etapa 1). Esas etapas recaen en el responsable interno o en un administrador."
        );
        let en = sentence(&stage, Language::En);
        assert!(en.contains("“Legal”") && en.contains("Publication (stage 2)"), "{en}");
    }
}
