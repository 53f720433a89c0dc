//! Email templates: `templates/email/<name>/{subject.txt,body.txt,body.html}`, rendered with
//! minijinja in the recipient's language. The defaults are compiled into the binary; a
//! deployment overrides any file by putting its own under `templates_dir` (same layout),
//! without recompiling. HTML bodies are auto-escaped; text parts are not.
//!
//! Templates write through the vocabulary (`crate::present::jinja`), as pages do: `t()` for
//! every sentence (`templates/i18n/email*.json`), and the filters for numbers, money, dates and
//! instants, in the recipient's language and time zone (`lang`, `tz`).

use std::{collections::HashMap, path::PathBuf, sync::Arc};

use minijinja::{
    Environment,
    value::{Serde, Value},
};
use serde::Serialize;

use crate::{domain::enums::Language, present};

/// Every template name; each has the three files.
pub const NAMES: [&str; 2] = ["alerts", "digest"];

/// The files compiled in, by path below `templates/email/`.
fn defaults() -> HashMap<&'static str, &'static str> {
    HashMap::from([
        ("alerts/subject.txt", include_str!("../../templates/email/alerts/subject.txt")),
        ("alerts/body.txt", include_str!("../../templates/email/alerts/body.txt")),
        ("alerts/body.html", include_str!("../../templates/email/alerts/body.html")),
        ("digest/subject.txt", include_str!("../../templates/email/digest/subject.txt")),
        ("digest/body.txt", include_str!("../../templates/email/digest/body.txt")),
        ("digest/body.html", include_str!("../../templates/email/digest/body.html")),
        ("base.html", include_str!("../../templates/email/base.html")),
    ])
}

/// Branding and links every message carries (from the configuration).
#[derive(Debug, Clone, Serialize)]
pub struct Brand {
    pub name: String,
    pub logo_url: Option<String>,
    /// A CSS colour such as `#1f4e79`.
    pub colour: String,
    /// Where links in messages point, without a trailing slash.
    pub base_url: String,
}

/// One message, rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
    brand: Brand,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").field("brand", &self.brand).finish()
    }
}

impl Templates {
    /// The compiled-in templates, each overridable by a file of the same path below
    /// `override_dir`. Every template is parsed now, so a broken override stops the start.
    pub fn load(override_dir: Option<PathBuf>, brand: Brand) -> anyhow::Result<Templates> {
        let defaults = defaults();
        let mut env = Environment::new();
        // A fact missing from one rule's alert is a blank, but a misspelt name elsewhere fails.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
        present::jinja::install(&mut env, present::catalog()?);
        env.set_loader(move |name| {
            if let Some(dir) = &override_dir {
                let path = dir.join(name);
                if path.is_file() {
                    return std::fs::read_to_string(&path).map(Some).map_err(|e| {
                        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, "cannot read template")
                            .with_source(e)
                    });
                }
            }
            Ok(defaults.get(name).map(|s| s.to_string()))
        });
        for name in NAMES {
            for file in ["subject.txt", "body.txt", "body.html"] {
                env.get_template(&format!("{name}/{file}"))
                    .map_err(|e| anyhow::anyhow!("email template {name}/{file}: {e:#}"))?;
            }
        }
        Ok(Templates { env: Arc::new(env), brand })
    }

    pub fn brand(&self) -> &Brand {
        &self.brand
    }

    /// Renders template `name` for a reader of `language` in time zone `tz` with `context`
    /// (plus `lang`, `tz`, `brand`).
    pub fn render(
        &self,
        name: &str,
        language: Language,
        tz: chrono_tz::Tz,
        context: &impl Serialize,
    ) -> anyhow::Result<Rendered> {
        let ctx = minijinja::context! {
            lang => language.to_string(),
            tz => tz.name(),
            brand => Value::from(Serde(&self.brand)),
            ..Value::from(Serde(context))
        };
        let part = |file: &str| -> anyhow::Result<String> {
            let template = self.env.get_template(&format!("{name}/{file}"))?;
            template.render(&ctx).map_err(|e| anyhow::anyhow!("rendering {name}/{file}: {e:#}"))
        };
        Ok(Rendered {
            // A subject is one line, whatever the template's whitespace.
            subject: part("subject.txt")?.split_whitespace().collect::<Vec<_>>().join(" "),
            text: part("body.txt")?,
            html: part("body.html")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use strum::IntoEnumIterator;

    use super::*;
    use crate::domain::alert::AlertRule;

    fn brand() -> Brand {
        Brand {
            name: "Brisa <Vigía>".into(),
            logo_url: Some("https://brisa.example/logo.png".into()),
            colour: "#1f4e79".into(),
            base_url: "https://veedor.brisa.example".into(),
        }
    }

    /// A sample context for each template, with every rule and non-ASCII text.
    fn sample(name: &str) -> serde_json::Value {
        if name == "digest" {
            return digest_sample();
        }
        assert_eq!(name, "alerts", "a new template needs a sample here");
        let alert = |rule: &str, what: &str| {
            json!({
                "rule": rule, "severity": "critical", "engagement": "Comunidad Ñandú",
                "title": format!("{rule}: Caída <del> chat — Comunidad Ñandú"), "what": what,
                "since": "10/01/2026 11:00", "resolved_at": "11/01/2026 09:00",
                "link": "https://veedor.brisa.example/engagements/1", "repeat": true,
            })
        };
        let firing: Vec<serde_json::Value> =
            AlertRule::iter().map(|r| alert(r.as_ref(), "Incidencia abierta: Caída <del> chat.")).collect();
        json!({
            "recipient": { "name": "Begoña Ibáñez" },
            "subject": "Incidencia abierta: Caída <del> chat — Comunidad Ñandú",
            "firing": firing,
            "resolved": firing.iter().take(2).collect::<Vec<_>>(),
            "settings_link": "https://veedor.brisa.example/settings/notifications",
        })
    }

    fn digest_sample() -> serde_json::Value {
        let kpi = |name: &str, status: &str, word: &str, chart: Option<&str>| {
            json!({
                "name": name, "objective": "Comunidad", "value": "1.234,5", "period": "02/11/2026",
                "target": "1.500", "status": status, "status_word": word, "colour": "#c62828",
                "trend": "worsening", "trend_word": "empeora", "chart": chart,
                "alt": format!("Gráfico de {name}"),
            })
        };
        let section = json!({
            "engagement_id": "0193", "title": "Comunidad <Ñandú>", "vendor": "Agencia Brisa", "status": "active",
            "link": "https://veedor.brisa.example/engagements/0193",
            "crisis": { "since": "20/11/2026", "reason": "Caída del servicio" },
            "health": { "green": 1, "amber": 0, "red": 1, "grey": 0, "overall": "red" },
            "kpis": [kpi("Seguidores", "red", "crítico", Some("abc123")), kpi("Tiempo de respuesta", "green", "en objetivo", None)],
            "late_reports": [{ "period": "01/10/2026 – 31/10/2026", "due": "05/11/2026", "missing": true }],
            "open_alerts": [{ "rule": "report_missing", "severity": "warning", "since": "06/11/2026",
                "title": "Informe pendiente: octubre de 2026",
                "what": "Falta el informe de octubre de 2026; vencía el 05/11/2026.", "link": "x" }],
            "pending_approvals": [{ "title": "Publicación «Rebajas»", "stage": "Dirección", "due": "25/11/2026", "overdue": true }],
            "signals": [{ "category": "criticism", "severity": "high", "description": "Quejas por envíos" }],
        });
        json!({
            "recipient": { "name": "Begoña Ibáñez" }, "cadence": "weekly",
            "period": { "start": "16/11/2026", "end": "22/11/2026", "single_day": false },
            "sections": [section],
            "totals": { "engagements": 1, "red": 1, "late": 1, "alerts": 1, "approvals": 1, "crisis": 1 },
            "settings_link": "https://veedor.brisa.example/settings/digests",
        })
    }

    #[test]
    fn the_digest_renders_in_both_languages_with_words_beside_colours_and_charts_by_cid() {
        let t = Templates::load(None, brand()).unwrap();
        for language in Language::iter() {
            let r = t.render("digest", language, chrono_tz::Europe::Madrid, &sample("digest")).unwrap();
            assert!(!r.subject.contains('\n') && r.subject.contains("16/11/2026"), "{}", r.subject);
            for part in [&r.text, &r.html] {
                assert!(part.contains("Begoña Ibáñez") && part.contains("Quejas por envíos"), "{language}");
                assert!(part.contains("crítico") && part.contains("1.234,5"), "status in words and the value");
            }
            assert!(r.html.contains("Comunidad &lt;Ñandú&gt;") && r.text.contains("Comunidad <Ñandú>"));
            assert!(r.html.contains(r#"src="cid:abc123""#) && r.html.contains(r#"alt="Gráfico de Seguidores""#));
            assert_eq!(r.html.matches("cid:").count(), 1, "a KPI without a chart has no image");
            assert!(!r.html.contains("<svg") && !r.html.contains("stylesheet"), "no SVG, no external CSS");
            let words = match language {
                Language::Es => {
                    ["Resumen semanal", "MODO CRISIS", "Informes con retraso", "Falta el informe", "vencida"]
                }
                Language::En => ["Weekly digest", "CRISIS MODE", "Late reports", "Open alerts", "overdue"],
            };
            for w in words {
                assert!(r.subject.contains(w) || r.text.contains(w) || r.html.contains(w), "{language}: {w}");
            }
        }
    }

    #[test]
    fn every_template_renders_in_both_languages() {
        let t = Templates::load(None, brand()).unwrap();
        for name in NAMES.iter().filter(|n| **n == "alerts") {
            for language in Language::iter() {
                let r = t.render(name, language, chrono_tz::Europe::Madrid, &sample(name)).unwrap();
                assert!(!r.subject.is_empty() && !r.subject.contains('\n'), "{name} {language}: {}", r.subject);
                assert!(r.text.contains("Begoña Ibáñez"), "{name} {language}");
                assert!(r.html.contains("Begoña Ibáñez"), "{name} {language}");
                // Facts are escaped in HTML, not in text.
                assert!(r.html.contains("Caída &lt;del&gt; chat") && r.text.contains("Caída <del> chat"));
                assert!(r.html.contains("Brisa &lt;Vigía&gt;"), "brand escaped");
                assert!(r.subject.contains("Incidencia abierta: Caída <del> chat"), "{}", r.subject);
                assert!(r.html.contains("settings&#x2f;notifications") || r.html.contains("settings/notifications"));
                let words = match language {
                    Language::Es => ["Alertas activas", "Resueltas", "recordatorio", "Hola, Begoña"],
                    Language::En => ["Firing alerts", "Resolved", "reminder", "Hello Begoña"],
                };
                for w in words {
                    assert!(r.text.contains(w), "{name} {language}: {w} missing in\n{}", r.text);
                }
            }
        }
    }

    #[test]
    fn a_deployment_overrides_a_template_without_recompiling() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("alerts")).unwrap();
        std::fs::write(dir.path().join("alerts/subject.txt"), "Aviso de {{ brand.name }}").unwrap();
        let t = Templates::load(Some(dir.path().to_path_buf()), brand()).unwrap();
        let r = t.render("alerts", Language::Es, chrono_tz::Europe::Madrid, &sample("alerts")).unwrap();
        assert_eq!(r.subject, "Aviso de Brisa <Vigía>");
        assert!(r.text.contains("Alertas activas"), "the other files stay the compiled-in ones");
        std::fs::write(dir.path().join("alerts/body.txt"), "{% if %}").unwrap();
        assert!(Templates::load(Some(dir.path().to_path_buf()), brand()).is_err(), "a broken override stops the start");
    }
}
