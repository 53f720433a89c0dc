//! Email templates: `templates/email/<name>/{subject.txt,body.txt,body.html}`, rendered with
//! minijinja in the recipient's language. The defaults are compiled into the binary; a
//! deployment overrides any file by putting its own under `templates_dir` (same layout),
//! without recompiling. HTML bodies are auto-escaped; text parts are not.

use std::{collections::HashMap, path::PathBuf, sync::Arc};

use minijinja::{
    Environment,
    value::{Serde, Value},
};
use serde::Serialize;

use crate::domain::enums::Language;

/// Every template name; each has the three files.
pub const NAMES: [&str; 1] = ["alerts"];

/// The files compiled in, by path below `templates/email/`.
fn defaults() -> HashMap<&'static str, &'static str> {
    HashMap::from([
        ("alerts/subject.txt", include_str!("../../templates/email/alerts/subject.txt")),
        ("alerts/body.txt", include_str!("../../templates/email/alerts/body.txt")),
        ("alerts/body.html", include_str!("../../templates/email/alerts/body.html")),
        ("alerts/_what.txt", include_str!("../../templates/email/alerts/_what.txt")),
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

    /// Renders template `name` in `language` with `context` (plus `lang`, `brand`).
    pub fn render(&self, name: &str, language: Language, context: &impl Serialize) -> anyhow::Result<Rendered> {
        let ctx = minijinja::context! {
            lang => language.to_string(),
            brand => Value::from(Serde(&self.brand)),
            ..Value::from(Serde(context))
        };
        let part = |file: &str| -> anyhow::Result<String> {
            let template = self.env.get_template(&format!("{name}/{file}"))?;
            Ok(template.render(&ctx).map_err(|e| anyhow::anyhow!("rendering {name}/{file}: {e:#}"))?)
        };
        Ok(Rendered {
            // A subject is one line, whatever the template's whitespace.
            subject: part("subject.txt")?.split_whitespace().collect::<Vec<_>>().join(" "),
            text: part("body.txt")?,
            html: part("body.html")?,
        })
    }
}
