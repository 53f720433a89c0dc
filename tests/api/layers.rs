//! The layering of `docs/architecture.md`, checked on the sources: a module may use the
//! modules of lower layers only, the surfaces do not use one another, and the surfaces reach
//! the database through the use cases (no entity, no `sea_orm`). A new import that breaks a
//! rule fails here, naming the file and the import.
//!
//! The few crossings that remain are listed in [`KNOWN`] with why; each one is work left, and
//! the list may only shrink (an entry that no longer occurs fails the test too).

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// Top-level modules by layer, lowest first.
const LAYERS: &[&[&str]] = &[
    &["domain", "clock"],
    &["config", "present"],
    &["error", "telemetry", "security_headers", "request"],
    &["policy"],
    &["db"],
    &["auth", "mail"],
    &["app", "views"],
    &["state"],
    &["http", "web", "scheduler"],
    &["server"],
    &["demo"],
    &["cli"],
];

/// Same-layer uses that are allowed (the use cases return the API's representations).
const SIDEWAYS: &[(&str, &str)] = &[("app", "views")];

/// The surfaces: they parse a request, call one use case and render.
const SURFACES: &[&str] = &["http", "web", "scheduler"];

/// Crossings not yet removed: (file, what it uses, why it is still there).
const KNOWN: &[(&str, &str, &str)] = &[
    ("web/approvals/queue.rs", "db::entity", "the use case returns the entity model it loaded"),
    ("web/engagement/mod.rs", "db::entity", "the use case returns the entity model it loaded"),
    ("web/home.rs", "db::entity", "the use case returns the entity model it loaded"),
    ("web/reports/form.rs", "db::entity", "the use case returns the entity model it loaded"),
    ("web/reports/mod.rs", "db::entity", "the use case returns the entity model it loaded"),
    ("web/reports/show.rs", "db::entity", "the use case returns the entity model it loaded"),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments and its unit tests.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The crate paths a file uses, as `module` or `module::sub`: `crate::a::b` anywhere, and
/// the top of each branch of `use crate::{a::…, b, …}`.
fn uses(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + 7..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut branch = String::new();
            let mut branches = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => branches.push(std::mem::take(&mut branch)),
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if c != ',' || depth > 1 {
                    branch.push(c);
                }
            }
            branches.push(branch);
            for b in branches {
                let b = b.trim();
                let top = ident(b);
                if top.is_empty() {
                    continue;
                }
                let after = &b[top.len()..];
                let sub = after.strip_prefix("::").map(ident).filter(|s| !s.is_empty());
                found.insert(sub.map_or(top.clone(), |s| format!("{top}::{s}")));
                // A nested group names several second-level modules: `db::{entity::x, names}`.
                if let Some(inner) = after.strip_prefix("::{") {
                    for part in inner.split(',') {
                        let s = ident(part.trim());
                        if !s.is_empty() {
                            found.insert(format!("{top}::{s}"));
                        }
                    }
                }
            }
        } else {
            let top = ident(rest);
            let after = &rest[top.len()..];
            let sub = after.strip_prefix("::").map(ident).filter(|s| !s.is_empty());
            found.insert(sub.map_or(top.clone(), |s| format!("{top}::{s}")));
        }
    }
    found
}

#[test]
fn each_layer_uses_only_the_layers_below() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut crossings: BTreeMap<(String, String), String> = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(&root).expect("under src").to_string_lossy().replace('\\', "/");
        let module = rel.split('/').next().unwrap_or("").trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(own) = layer_of(&module) else { panic!("{rel}: the module `{module}` has no layer in LAYERS") };
        let text = fs::read_to_string(file).expect("read source");
        let code = code(&text);
        for used in uses(&code) {
            let top = used.split("::").next().unwrap_or("").to_string();
            if top == module {
                continue;
            }
            let Some(theirs) = layer_of(&top) else { continue };
            let sideways = theirs == own && SIDEWAYS.contains(&(module.as_str(), top.as_str()));
            if theirs > own || (theirs == own && !sideways) {
                crossings.insert((rel.clone(), top.clone()), format!("{rel}: `{module}` uses `{used}`, not below it"));
            }
            if SURFACES.contains(&module.as_str()) && used == "db::entity" {
                crossings.insert((rel.clone(), used.clone()), format!("{rel}: a surface uses the entities"));
            }
        }
        if SURFACES.contains(&module.as_str()) && code.contains("sea_orm::") {
            crossings.insert((rel.clone(), "sea_orm".into()), format!("{rel}: a surface queries the database"));
        }
    }
    let known: BTreeSet<(String, String)> = KNOWN.iter().map(|(f, u, _)| (f.to_string(), u.to_string())).collect();
    let new: Vec<&String> = crossings.iter().filter(|(k, _)| !known.contains(*k)).map(|(_, v)| v).collect();
    assert!(
        new.is_empty(),
        "imports against the layering:\n{}",
        new.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
    );
    let gone: Vec<_> = known.iter().filter(|k| !crossings.contains_key(*k)).collect();
    assert!(gone.is_empty(), "KNOWN lists crossings that no longer occur, remove them: {gone:?}");
}

#[test]
fn the_scanner_reads_nested_uses() {
    let found = uses("use crate::{\n    db::{entity::user, names},\n    web::kit,\n};\nfn f() { crate::app::x(); }");
    for expected in ["db::entity", "db::names", "web::kit", "app::x"] {
        assert!(found.contains(expected), "{expected} in {found:?}");
    }
}
