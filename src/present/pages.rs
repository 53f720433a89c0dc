//! Renders page templates (`templates/pages/`, compiled in by `build.rs`) with minijinja, in
//! the visitor's language, with the vocabulary's function and filters (`crate::present::jinja`):
//! `t("key", name=value)` looks up the catalogue, and the filters write numbers, money,
//! percentages and dates as that language does (`1.234,5 €`).
//!
//! Every template reads `lang` (and `tz` for times) from its context, set by
//! `web::session::Frame`; HTML is auto-escaped.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
};

use minijinja::{Environment, Error, UndefinedBehavior, Value};

use crate::present::{catalog, jinja};

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
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        minijinja_embed::load_templates!(&mut env);
        jinja::install(&mut env, catalog()?);
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
    use super::*;

    #[test]
    fn every_page_template_compiles() {
        let pages = Pages::load().unwrap();
        assert!(pages.names().contains("home.html"));
        assert!(!pages.names().contains("base.html"));
        assert!(!pages.names().iter().any(|n| n.contains("/_") || n.starts_with('_')));
    }
}
