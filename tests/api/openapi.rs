//! The OpenAPI document is true: it is valid OpenAPI 3.1 (checked against the official
//! schema, vendored in `tests/openapi/`), every reference resolves, every path parameter and
//! operation id is declared once, every operation documents the answers the server gives,
//! and the bounds it declares are the ones the server enforces. Schemathesis (`.ci/fuzz`)
//! fuzzes the same document in CI; this test needs nothing but the toolchain.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::domain::enums::Role;

use crate::helpers::{Caller, TestApp};

const OAS_SCHEMA: &str = include_str!("../openapi/schema-3.1-2022-10-07.json");
const OAS_SCHEMA_ID: &str = "https://spec.openapis.org/oas/3.1/schema/2022-10-07";
const JSON_SCHEMA_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

async fn document(app: &TestApp) -> Value {
    let response = app.client.get(app.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Every operation of the document: (path, method, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                all.push((path.clone(), method.to_string(), op.clone()));
            }
        }
    }
    all
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> Option<&'a Value> {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => doc.pointer(reference.strip_prefix('#')?),
        None => Some(value),
    }
}

/// An operation's parameters, references resolved, with those of its path item.
fn parameters(doc: &Value, path: &str, op: &Value) -> Vec<Value> {
    let item = &doc["paths"][path];
    let mut by_key = BTreeMap::new();
    for list in [&item["parameters"], &op["parameters"]] {
        for p in list.as_array().into_iter().flatten() {
            let p = resolve(doc, p).cloned().unwrap_or(Value::Null);
            let key = (p["in"].as_str().unwrap_or("").to_string(), p["name"].as_str().unwrap_or("").to_string());
            by_key.insert(key, p);
        }
    }
    by_key.into_values().collect()
}

fn template_names(path: &str) -> BTreeSet<String> {
    path.split('{').skip(1).filter_map(|rest| rest.split('}').next()).map(str::to_string).collect()
}

fn statuses(op: &Value) -> BTreeSet<String> {
    op["responses"].as_object().map(|r| r.keys().cloned().collect()).unwrap_or_default()
}

fn is_public(op: &Value) -> bool {
    op.get("security").and_then(Value::as_array).is_some_and(|s| s.is_empty() || s.iter().any(|r| r == &json!({})))
}

fn json_body(op: &Value, doc: &Value) -> bool {
    resolve(doc, &op["requestBody"]).and_then(|b| b["content"].get("application/json")).is_some()
}

fn walk_refs(value: &Value, at: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "$ref"
                    && let Some(r) = inner.as_str()
                {
                    found.push((at.to_string(), r.to_string()));
                }
                walk_refs(inner, &format!("{at}/{key}"), found);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                walk_refs(inner, &format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// Every schema object a parameter, body or response carries, and every component schema.
fn schema_objects(doc: &Value) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for (name, schema) in doc["components"]["schemas"].as_object().into_iter().flatten() {
        found.push((format!("#/components/schemas/{name}"), schema.clone()));
    }
    for (path, method, op) in operations(doc) {
        for p in parameters(doc, &path, &op) {
            found.push((format!("{method} {path} parameter {}", p["name"]), p["schema"].clone()));
        }
        let bodies = [resolve(doc, &op["requestBody"]).cloned()]
            .into_iter()
            .flatten()
            .chain(op["responses"].as_object().into_iter().flatten().filter_map(|(_, r)| resolve(doc, r).cloned()));
        for body in bodies {
            for (media, content) in body["content"].as_object().into_iter().flatten() {
                if let Some(schema) = content.get("schema") {
                    found.push((format!("{method} {path} {media}"), schema.clone()));
                }
            }
        }
    }
    found
}

/// The findings a JSON Schema cannot express, one line each.
fn structural_findings(doc: &Value) -> Vec<String> {
    let mut findings = Vec::new();
    let mut refs = Vec::new();
    walk_refs(doc, "#", &mut refs);
    for (at, reference) in refs {
        let target = reference.strip_prefix('#').and_then(|pointer| doc.pointer(pointer));
        if target.is_none() {
            findings.push(format!("{at}: $ref {reference} does not resolve"));
        }
    }
    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, method, op) in operations(doc) {
        let here = format!("{} {path}", method.to_uppercase());
        match op["operationId"].as_str() {
            Some(id) => ids.entry(id.to_string()).or_default().push(here.clone()),
            None => findings.push(format!("{here}: no operationId")),
        }
        let declared: BTreeMap<String, bool> = parameters(doc, &path, &op)
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| (p["name"].as_str().unwrap_or("").to_string(), p["required"] == true))
            .collect();
        let names = template_names(&path);
        for name in &names {
            match declared.get(name) {
                None => findings.push(format!("{here}: path parameter {{{name}}} is not declared")),
                Some(false) => findings.push(format!("{here}: path parameter {{{name}}} is not required")),
                Some(true) => {}
            }
        }
        for name in declared.keys().filter(|n| !names.contains(*n)) {
            findings.push(format!("{here}: declares path parameter {name} that its path lacks"));
        }
        let documented = statuses(&op);
        let has_query = parameters(doc, &path, &op).iter().any(|p| p["in"] == "query");
        let mut expected: Vec<(&str, &str)> = Vec::new();
        if !is_public(&op) {
            expected.push(("401", "it needs a signed-in caller"));
        }
        if !is_public(&op) && method != "get" {
            expected.push(("403", "a session write without its CSRF token is refused"));
        }
        if !names.is_empty() {
            expected.push(("404", "it names a resource by id"));
            expected.push(("400", "a malformed path parameter is refused"));
        }
        if has_query {
            expected.push(("422", "a query parameter out of bounds is refused"));
        }
        if op.get("requestBody").is_some() {
            expected.extend([
                ("400", "a body that is not JSON is refused"),
                ("413", "a body over the size limit is refused"),
                ("415", "a body of another media type is refused"),
                ("422", "an invalid body is refused"),
            ]);
        }
        for (status, why) in expected {
            if !documented.contains(status) {
                findings.push(format!("{here}: does not document {status} ({why})"));
            }
        }
        for (status, response) in op["responses"].as_object().into_iter().flatten() {
            let response = resolve(doc, response).unwrap_or(&Value::Null);
            if status.starts_with('4') || status.starts_with('5') {
                let problem = &response["content"]["application/problem+json"]["schema"];
                if problem.is_null() {
                    findings.push(format!("{here}: answer {status} is not documented as a problem document"));
                }
            }
        }
    }
    for (id, places) in ids.into_iter().filter(|(_, places)| places.len() > 1) {
        findings.push(format!("operationId {id} is used {} times: {}", places.len(), places.join(", ")));
    }
    findings
}

fn validator(schema_id: &str, schema: Option<Value>) -> (boon::Schemas, boon::SchemaIndex) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    if let Some(schema) = schema {
        compiler.add_resource(schema_id, schema).expect("add the schema");
    }
    let index = compiler.compile(schema_id, &mut schemas).expect("compile the schema");
    (schemas, index)
}

/// The document is valid against the official OpenAPI 3.1 schema, its schema objects are
/// JSON Schema 2020-12, and it passes the checks a schema cannot express.
#[tokio::test]
async fn the_openapi_document_is_valid_openapi_3_1() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3.1."), "{}", doc["openapi"]);

    let (schemas, oas) = validator(OAS_SCHEMA_ID, Some(serde_json::from_str(OAS_SCHEMA).unwrap()));
    let mut findings = Vec::new();
    if let Err(error) = schemas.validate(&doc, oas) {
        findings.push(format!("not valid OpenAPI 3.1: {error:#}"));
    }
    let (meta, dialect) = validator(JSON_SCHEMA_2020_12, None);
    for (at, schema) in schema_objects(&doc) {
        if let Err(error) = meta.validate(&schema, dialect) {
            findings.push(format!("{at}: not a JSON Schema 2020-12 schema: {error}"));
        }
    }
    findings.extend(structural_findings(&doc));
    assert!(findings.is_empty(), "{} findings:\n{}", findings.len(), findings.join("\n"));
}

/// A URL for the operation with every path parameter filled: the first value a parameter's
/// enumeration allows, else a fresh UUID (or, when `malformed`, something that is no UUID).
fn concrete_path(doc: &Value, path: &str, op: &Value, malformed: bool) -> String {
    let mut url = path.to_string();
    for name in template_names(path) {
        let declared = parameters(doc, path, op).into_iter().find(|p| p["in"] == "path" && p["name"] == name.as_str());
        let schema = declared.as_ref().and_then(|p| resolve(doc, &p["schema"]).cloned()).unwrap_or(Value::Null);
        let value = match schema["enum"].as_array().and_then(|values| values.first()).and_then(Value::as_str) {
            Some(first) => first.to_string(),
            None if malformed => "not-an-id".to_string(),
            None => Uuid::new_v4().to_string(),
        };
        url = url.replace(&format!("{{{name}}}"), &value);
    }
    url
}

async fn send(
    app: &TestApp,
    method: &str,
    url: &str,
    caller: Option<&Caller>,
    body: Option<(&str, Vec<u8>)>,
) -> StatusCode {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut request = reqwest::Client::new().request(method, app.url(url));
    if let Some(caller) = caller {
        request = request.bearer_auth(&caller.token);
    }
    if let Some((content_type, bytes)) = body {
        request = request.header("content-type", content_type).body(bytes);
    }
    request.send().await.expect("request").status()
}

/// Every operation, asked without credentials, for ids that do not exist, with bodies of the
/// wrong media type, too large or not JSON, answers only statuses its operation documents.
#[tokio::test]
async fn every_answer_the_server_gives_is_documented() {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let doc = document(&app).await;
    let mut findings = Vec::new();
    for (path, method, op) in operations(&doc) {
        let documented = statuses(&op);
        let url = concrete_path(&doc, &path, &op, false);
        let here = format!("{} {path}", method.to_uppercase());
        let has_body = op.get("requestBody").is_some();
        let empty_json = has_body.then(|| ("application/json", b"{}".to_vec()));
        let mut probes: Vec<(&str, StatusCode)> = Vec::new();
        if !is_public(&op) {
            probes.push(("without credentials", send(&app, &method, &url, None, empty_json.clone()).await));
        }
        if !template_names(&path).is_empty() {
            let status = send(&app, &method, &url, Some(&admin), empty_json.clone()).await;
            probes.push(("for an id that does not exist", status));
            let malformed = concrete_path(&doc, &path, &op, true);
            let status = send(&app, &method, &malformed, Some(&admin), empty_json.clone()).await;
            probes.push(("for a malformed id", status));
        }
        if json_body(&op, &doc) {
            let text = Some(("text/plain", b"{}".to_vec()));
            probes.push(("with a text/plain body", send(&app, &method, &url, Some(&admin), text).await));
            let broken = Some(("application/json", b"{\"broken".to_vec()));
            probes.push(("with a body that is not JSON", send(&app, &method, &url, Some(&admin), broken).await));
            let large = Some(("application/json", vec![b' '; 2 * 1024 * 1024]));
            probes.push(("with a 2 MiB body", send(&app, &method, &url, Some(&admin), large).await));
        }
        for (what, status) in probes {
            let code = status.as_u16().to_string();
            if status.is_server_error() || !(documented.contains(&code) || documented.contains("default")) {
                findings.push(format!("{here} {what}: answered {code}, documents {documented:?}"));
            }
        }
    }
    assert!(findings.is_empty(), "{} findings:\n{}", findings.len(), findings.join("\n"));
}

/// The bounds the document declares for page sizes are the server's: 1 to 200.
#[tokio::test]
async fn declared_page_size_bounds_are_the_servers() {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let doc = document(&app).await;
    let mut checked = 0;
    let mut findings = Vec::new();
    for (path, method, op) in operations(&doc) {
        let Some(limit) = parameters(&doc, &path, &op).into_iter().find(|p| p["in"] == "query" && p["name"] == "limit")
        else {
            continue;
        };
        let schema = resolve(&doc, &limit["schema"]).cloned().unwrap_or(Value::Null);
        let here = format!("{} {path}", method.to_uppercase());
        if schema["minimum"] != json!(1) || schema["maximum"] != json!(200) {
            findings.push(format!("{here}: limit is declared {schema}, the server takes 1 to 200"));
        }
        if method != "get" || !template_names(&path).is_empty() {
            continue;
        }
        checked += 1;
        for (limit, refused) in [(0, true), (1, false), (200, false), (201, true)] {
            let (status, _) = app.get(&admin, &format!("{path}?limit={limit}")).await;
            if (status == StatusCode::UNPROCESSABLE_ENTITY) != refused {
                findings.push(format!("{here}?limit={limit}: answered {status}"));
            }
        }
    }
    assert!(checked >= 5, "only {checked} paged lists were checked");
    assert!(findings.is_empty(), "{} findings:\n{}", findings.len(), findings.join("\n"));
}

/// JSON has one kind of number: a whole number written with a fraction is the integer it is
/// (the schema says `integer`, and `30.0` is one), and a body is the object the schema says.
#[tokio::test]
async fn whole_numbers_written_with_a_fraction_are_integers_and_bodies_are_objects() {
    let app = TestApp::spawn().await;
    let me = app.actor("ana@brisa.example", Role::Lead, None).await;
    let (status, body) = app.post(&me, "/api/v1/tokens", json!({ "name": "Informes", "expires_in_days": 30.0 })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) =
        app.call(Some(&me), Method::PUT, "/api/v1/me/notification-preferences", Some(json!([null, null]))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "body");
    let (status, body) = app.post(&me, "/api/v1/tokens", json!({ "name": "Informes", "expires_in_days": 30.5 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "expires_in_days");
}
