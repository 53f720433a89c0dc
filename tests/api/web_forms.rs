//! What a person reads when a form or a request is refused, in their language: the user,
//! token, digest, incident and KPI forms show the catalogue's sentence beside each field and
//! a summary naming the fields by their labels in form order; the API's problem documents
//! keep `field` and `code` and add `detail` in the caller's language; numbers typed into a
//! form are read as the form's language writes them; and the import's template and messages
//! follow the reader's language while the import reads both languages' headers.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::domain::enums::{Language, Role};

use crate::{
    helpers::{Caller, TestApp, id_of, kpi_body, scope_body},
    webkit::WebSession,
};

const ADMIN_ES: &str = "admin@brisa.example";
const ADMIN_EN: &str = "root@brisa.example";
const LEAD_ES: &str = "javier@brisa.example";
const AGENCY_ES: &str = "lucia@marea.example";
const AGENCY_EN: &str = "tom@marea.example";

async fn caller(app: &TestApp, email: &str, role: Role, vendor: Option<Uuid>, language: Language) -> Caller {
    let id = app.user_in(email, role, vendor, language).await;
    Caller { id, token: app.token_for(id).await }
}

/// A page as its reader sees the text (minijinja escapes `/` and quotes).
fn unescaped(page: &str) -> String {
    page.replace("&#x2f;", "/").replace("&quot;", "\"").replace("&#x27;", "'").replace("&amp;", "&")
}

/// The lines of the error summary at the top of a form, as read (tags stripped).
fn summary(page: &str) -> Vec<String> {
    let page = unescaped(page);
    let Some(start) = page.find("class=\"error-summary\"") else { return Vec::new() };
    let block = &page[start..];
    let block = &block[..block.find("</ul>").unwrap_or(block.len())];
    block
        .split("<li>")
        .skip(1)
        .map(|li| {
            let li = li.split("</li>").next().unwrap_or("");
            let mut text = String::new();
            let mut in_tag = false;
            for c in li.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.trim().to_string()
        })
        .collect()
}

/// The error shown beside the field `name`.
pub fn beside(page: &str, name: &str) -> String {
    let page = unescaped(page);
    let marker = format!("id=\"e-{name}\"><span aria-hidden=\"true\">⚠</span> ");
    let Some(at) = page.find(&marker) else { return String::new() };
    let rest = &page[at + marker.len()..];
    rest[..rest.find("</p>").unwrap_or(rest.len())].to_string()
}

#[tokio::test]
async fn the_user_form_speaks_the_readers_language_and_sums_up_in_form_order() {
    let app = TestApp::spawn().await;
    caller(&app, ADMIN_ES, Role::Admin, None, Language::Es).await;
    caller(&app, ADMIN_EN, Role::Admin, None, Language::En).await;
    let long_name = "x".repeat(201);
    let form = [
        ("email", "ana"),
        ("name", long_name.as_str()),
        ("role", "lead"),
        ("language", "es"),
        ("timezone", "Mars/Olympus"),
        ("password", "corta"),
    ];
    let es = WebSession::login(&app, ADMIN_ES).await;
    let en = WebSession::login(&app, ADMIN_EN).await;
    let before = app.snapshot().await;

    let (status, _, page) = es.post_form("/admin/users/new", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(beside(&page, "email"), "Escriba una dirección de correo como ana@ejemplo.es.");
    assert_eq!(beside(&page, "name"), "Escriba como máximo 200 caracteres.");
    assert_eq!(beside(&page, "timezone"), "Elija una zona horaria de la lista, como Europe/Madrid.");
    assert!(beside(&page, "password").starts_with("Escriba al menos "), "{}", beside(&page, "password"));
    let lines = summary(&page);
    let labels: Vec<&str> = lines.iter().map(|l| l.split(':').next().unwrap_or("")).collect();
    assert_eq!(labels, ["Correo electrónico", "Nombre", "Zona horaria", "Contraseña"], "labels in form order");
    assert_eq!(lines[1], "Nombre: Escriba como máximo 200 caracteres.");
    for english in ["must be", "e-mail address", "characters", "IANA"] {
        assert!(!unescaped(&page).contains(english), "English on a Spanish page: {english}");
    }

    let (status, _, page) = en.post_form("/admin/users/new", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(beside(&page, "email"), "Write an e-mail address such as ana@example.com.");
    assert_eq!(beside(&page, "name"), "Write at most 200 characters.");
    let labels: Vec<String> = summary(&page).iter().map(|l| l.split(':').next().unwrap_or("").to_string()).collect();
    assert_eq!(labels, ["E-mail", "Name", "Time zone", "Password"]);
    assert_eq!(app.snapshot().await, before, "nothing stored");
}

#[tokio::test]
async fn the_token_digest_and_incident_forms_speak_the_readers_language() {
    let app = TestApp::spawn().await;
    let admin = caller(&app, ADMIN_ES, Role::Admin, None, Language::Es).await;
    caller(&app, ADMIN_EN, Role::Admin, None, Language::En).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let engagement = app.engagement(&admin, vendor, "internal", Some(admin.id)).await.to_string();
    let es = WebSession::login(&app, ADMIN_ES).await;
    let en = WebSession::login(&app, ADMIN_EN).await;

    // Tokens: a lifetime out of range, with its bounds.
    let token = [("name", "script"), ("expires_in_days", "400")];
    let (status, _, page) = es.post_form("/admin/tokens", &token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(beside(&page, "expires_in_days"), "Debe estar entre 1 y 365.");
    assert_eq!(summary(&page), ["Validez en días: Debe estar entre 1 y 365."]);
    let (_, _, page) = en.post_form("/admin/tokens", &token).await;
    assert_eq!(summary(&page), ["Lifetime in days: Must be between 1 and 365."]);

    // Digests: the form's own refusals, listed as the form orders its fields (the day of
    // the week comes before the language, though `language` sorts first).
    let digest = [
        ("cadence", "weekly"),
        ("weekday", "someday"),
        ("local_time", "08:00"),
        ("timezone", "Europe/Madrid"),
        ("language", "fr"),
    ];
    let (status, _, page) = es.post_form("/settings/digests/new", &digest).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(summary(&page), ["Día de la semana: Elija una de las opciones.", "Idioma: Elija una de las opciones."]);
    let (_, _, page) = en.post_form("/settings/digests/new", &digest).await;
    assert_eq!(summary(&page), ["Day of the week: Choose one of the options.", "Language: Choose one of the options."]);
    // ...and the store's refusals the same way, never under their keys.
    let digest = [
        ("cadence", "weekly"),
        ("weekday", "mon"),
        ("local_time", "25:00"),
        ("timezone", "Mars/Olympus"),
        ("language", "es"),
    ];
    let (status, _, page) = es.post_form("/settings/digests/new", &digest).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        summary(&page),
        [
            "Hora local: Escriba una hora como 08:00.",
            "Zona horaria: Elija una zona horaria de la lista, como Europe/Madrid."
        ]
    );
    assert!(!page.contains(">local_time<") && !page.contains("local_time:"), "no raw keys");
    let (_, _, page) = en.post_form("/settings/digests/new", &digest).await;
    assert_eq!(
        summary(&page),
        [
            "Local time: Write a time such as 08:00.",
            "Time zone: Choose a time zone from the list, such as Europe/Madrid."
        ]
    );

    // Incidents: a missing title is obligatory in Spanish, required in English.
    let incident = [("engagement_id", engagement.as_str()), ("severity", "high"), ("description", "Quejas")];
    let (status, _, page) = es.post_form("/incidents/new", &incident).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(beside(&page, "title"), "Este dato es obligatorio.");
    assert_eq!(summary(&page), ["Título: Este dato es obligatorio."]);
    let (_, _, page) = en.post_form("/incidents/new", &incident).await;
    assert_eq!(summary(&page), ["Title: This is required."]);
}

#[tokio::test]
async fn the_kpi_editor_sums_up_its_numbers_in_form_order() {
    let app = TestApp::spawn().await;
    let admin = caller(&app, ADMIN_ES, Role::Admin, None, Language::Es).await;
    let lead = caller(&app, LEAD_ES, Role::Lead, None, Language::Es).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let engagement = app.engagement(&lead, vendor, "internal", Some(lead.id)).await;
    let session = WebSession::login(&app, LEAD_ES).await;
    let form = [
        ("name", "Alcance"),
        ("objective", "Llegar a más gente"),
        ("unit", "count"),
        ("direction", "higher_is_better"),
        ("aggregation", "sum"),
        ("target", "mucho"),
        ("warning_threshold", "400.000"),
        ("critical_threshold", "300.5"),
    ];
    let (status, _, page) = session.post_form(&format!("/engagements/{engagement}/kpis/new"), &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Target comes before the critical threshold on the form (though `critical_threshold`
    // sorts first), and a decimal point on a Spanish form is not guessed.
    assert_eq!(
        summary(&page),
        [
            "Objetivo: Escriba un número, como 12,5.",
            "Umbral crítico: En español los decimales van con coma y los miles con punto: ¿quiso decir 300,5?"
        ]
    );
}

#[tokio::test]
async fn api_problems_keep_their_codes_and_say_what_is_wrong_in_the_callers_language() {
    let app = TestApp::spawn().await;
    let es = caller(&app, ADMIN_ES, Role::Admin, None, Language::Es).await;
    let en = caller(&app, ADMIN_EN, Role::Admin, None, Language::En).await;
    let body = json!({ "email": "ana", "name": "Ana", "role": "lead", "language": "es", "timezone": "Europe/Madrid" });
    let post = |who: &Caller, accept: Option<&str>, body: &Value| {
        let mut request = reqwest::Client::new().post(app.url("/api/v1/users")).bearer_auth(&who.token).json(body);
        if let Some(accept) = accept {
            request = request.header("accept-language", accept);
        }
        request.send()
    };
    let problem = |response: reqwest::Response| async move {
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        (response.status(), response.json::<Value>().await.unwrap())
    };

    // The caller's own language, when the request names none.
    let (status, p) = problem(post(&es, None, &body).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (p["errors"][0]["field"].as_str(), p["errors"][0]["code"].as_str()),
        (Some("email"), Some("invalid_email"))
    );
    assert_eq!(p["errors"][0]["detail"], "Escriba una dirección de correo como ana@ejemplo.es.");
    assert_eq!(p["detail"], "1 campo no es válido");
    let (_, p) = problem(post(&en, None, &body).await.unwrap()).await;
    assert_eq!(p["errors"][0]["detail"], "Write an e-mail address such as ana@example.com.");
    assert_eq!(p["detail"], "1 field is invalid");
    // Accept-Language wins over the account's language.
    let (_, p) = problem(post(&es, Some("en-GB,en;q=0.9"), &body).await.unwrap()).await;
    assert_eq!(p["errors"][0]["detail"], "Write an e-mail address such as ana@example.com.");
    let (_, p) = problem(post(&en, Some("es-ES"), &body).await.unwrap()).await;
    assert_eq!(p["errors"][0]["detail"], "Escriba una dirección de correo como ana@ejemplo.es.");

    // Parameters travel with the code.
    let long = json!({ "email": "ana@brisa.example", "name": "x".repeat(201), "role": "lead", "language": "es", "timezone": "Europe/Madrid" });
    let (_, p) = problem(post(&es, None, &long).await.unwrap()).await;
    assert_eq!(p["errors"][0]["code"], "too_long");
    assert_eq!(p["errors"][0]["params"], json!({ "max": "200" }));
    assert_eq!(p["errors"][0]["detail"], "Escriba como máximo 200 caracteres.");

    // A conflict says which rule, in the caller's language too.
    let ok = json!({ "email": "ana@brisa.example", "name": "Ana", "role": "lead", "language": "es", "timezone": "Europe/Madrid" });
    let created = post(&es, None, &ok).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let (status, p) = problem(post(&es, None, &ok).await.unwrap()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        (p["errors"][0]["code"].as_str(), p["detail"].as_str()),
        (Some("duplicate"), Some("Ya hay un usuario con este correo."))
    );
    let (_, p) = problem(post(&en, None, &ok).await.unwrap()).await;
    assert_eq!(p["detail"], "A user with this e-mail already exists.");
}

/// An active engagement with two KPIs (reach, broken down by Instagram; net sentiment, which
/// may be negative) whose owner reads Spanish; one agency user writes Spanish, one English.
struct Reporting {
    app: TestApp,
    agency: Caller,
    engagement: Uuid,
    reach: Uuid,
    sentiment: Uuid,
    period: String,
}

async fn reporting() -> Reporting {
    let app = TestApp::spawn().await;
    let admin = caller(&app, ADMIN_ES, Role::Admin, None, Language::Es).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let lead = caller(&app, LEAD_ES, Role::Lead, None, Language::Es).await;
    let agency = caller(&app, AGENCY_ES, Role::Vendor, Some(vendor), Language::Es).await;
    caller(&app, AGENCY_EN, Role::Vendor, Some(vendor), Language::En).await;
    let exec = caller(&app, "direccion@brisa.example", Role::Executive, None, Language::Es).await;
    let engagement = app.engagement(&lead, vendor, "internal", Some(lead.id)).await;
    let base = format!("/api/v1/engagements/{engagement}");
    app.post(&lead, &format!("{base}/scope"), scope_body()).await;
    let (status, body) =
        app.post(&lead, &format!("{base}/team"), json!({ "user_id": exec.id, "team_role": "executive" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut reach = kpi_body("Alcance");
    reach["unit"] = json!("count");
    reach["aggregation"] = json!("sum");
    reach["channels"] = json!(["instagram"]);
    let mut sentiment = kpi_body("Sentimiento neto");
    sentiment["unit"] = json!("score");
    sentiment["allow_negative"] = json!(true);
    sentiment["channels"] = json!([]);
    let mut kpis = Vec::new();
    for body in [reach, sentiment] {
        let (status, k) = app.post(&lead, &format!("{base}/kpis"), body).await;
        assert_eq!(status, StatusCode::CREATED, "{k}");
        kpis.push(id_of(&k));
    }
    app.activate(&lead, engagement).await;
    let (_, periods) = app.get(&agency, &format!("{base}/periods")).await;
    let period = periods[0]["start_date"].as_str().unwrap().to_string();
    Reporting { app, agency, engagement, reach: kpis[0], sentiment: kpis[1], period }
}

impl Reporting {
    /// The values of the engagement's report, reach first.
    async fn values(&self) -> Vec<(Uuid, f64)> {
        let report = veedor::app::reports::list(&self.app.state.db, self.engagement).await.unwrap();
        let r = veedor::app::reports::get(&self.app.state.db, report[0].id).await.unwrap();
        let detail = veedor::app::reports::detail(&self.app.state.db, &r).await.unwrap();
        let mut values: Vec<(Uuid, f64)> = detail.versions[0].values.iter().map(|v| (v.kpi_id, v.value)).collect();
        values.sort_by_key(|(k, _)| *k != self.reach);
        values
    }
}

#[tokio::test]
async fn typed_numbers_are_read_as_the_forms_language_writes_them() {
    let w = reporting().await;
    let (reach, sentiment) = (format!("value_{}", w.reach), format!("value_{}", w.sentiment));
    let path = format!("/engagements/{}/reports", w.engagement);
    let spanish = WebSession::login(&w.app, AGENCY_ES).await;
    let english = WebSession::login(&w.app, AGENCY_EN).await;
    let before = w.app.snapshot().await;
    let post = |session: &'static str, r: &'static str, s: &'static str| {
        let session = if session == "es" { &spanish } else { &english };
        let fields = [
            ("period_start".to_string(), w.period.clone()),
            (reach.clone(), r.to_string()),
            (sentiment.clone(), s.to_string()),
            ("action".to_string(), "save".to_string()),
        ];
        let path = path.clone();
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            session.post_form(&path, &fields).await
        }
    };

    // The other language's notation is refused, with the number the form would have read.
    let (status, _, page) = post("es", "480.000", "12.5").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        beside(&page, &sentiment),
        "en español los decimales van con coma y los miles con punto: ¿quiso decir 12,5?"
    );
    assert_eq!(beside(&page, &reach), "", "480.000 is a Spanish number");
    let (status, _, page) = post("en", "480,000", "1,5").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(beside(&page, &sentiment), "in English decimals take a point and thousands a comma: did you mean 1.5?");
    let (_, _, page) = post("en", "1.234,5", "1").await;
    assert_eq!(beside(&page, &reach), "in English decimals take a point and thousands a comma: did you mean 1234.5?");
    assert_eq!(w.app.snapshot().await, before, "nothing stored");

    // `1.000` is one on an English form, a thousand on a Spanish one.
    let (status, _, _) = post("en", "1,000", "1.000").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(w.values().await, [(w.reach, 1000.0), (w.sentiment, 1.0)]);
    let report = veedor::app::reports::list(&w.app.state.db, w.engagement).await.unwrap()[0].id;
    let fields = [
        ("period_start", w.period.as_str()),
        (reach.as_str(), "1.000"),
        (sentiment.as_str(), "-1.000,5"),
        ("action", "save"),
    ];
    let (status, _, _) = spanish.post_form(&format!("/reports/{report}"), &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(w.values().await, [(w.reach, 1000.0), (w.sentiment, -1000.5)]);
}

#[tokio::test]
async fn the_template_and_the_import_speak_both_languages() {
    let w = reporting().await;
    let template = |language: Option<&str>| {
        let mut url = w.app.url(&format!("/api/v1/engagements/{}/reports/template", w.engagement));
        if let Some(l) = language {
            url = format!("{url}?language={l}");
        }
        let token = w.agency.token.clone();
        async move {
            let response = reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let text = response.text().await.unwrap();
            text.trim_start_matches('\u{feff}').to_string()
        }
    };
    // The engagement's owner reads Spanish: so does its template, unless asked otherwise.
    let spanish = template(None).await;
    assert_eq!(spanish.lines().next(), Some("kpi;valor;comentario;evidencia;instagram"));
    assert_eq!(template(Some("es")).await, spanish);
    let english = template(Some("en")).await;
    assert_eq!(english.lines().next(), Some("kpi;value;comment;evidence_url;instagram"));
    let response = reqwest::Client::new()
        .get(w.app.url(&format!("/api/v1/engagements/{}/reports/template?language=fr", w.engagement)))
        .bearer_auth(&w.agency.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The page offers both.
    let session = WebSession::login(&w.app, AGENCY_ES).await;
    let (_, page) = session.get(&format!("/engagements/{}/reports/new?period_start={}", w.engagement, w.period)).await;
    let page = unescaped(&page);
    assert!(page.contains("/reports/template?language=en\"") && page.contains("/reports/template?language=es\""));

    // Either template, filled in, is imported the same way.
    for (name, template) in [("plantilla.csv", &spanish), ("template.csv", &english)] {
        let filled: String = template
            .lines()
            .enumerate()
            .map(|(i, line)| match (i, line.split(';').next()) {
                (0, _) => format!("{line}\r\n"),
                (_, Some("Alcance")) => "Alcance;1200;;;\r\n".to_string(),
                _ => "Sentimiento neto;3;;;\r\n".to_string(),
            })
            .collect();
        let form = reqwest::multipart::Form::new()
            .text("period_start", w.period.clone())
            .part("file", reqwest::multipart::Part::bytes(filled.into_bytes()).file_name(name));
        let response = reqwest::Client::new()
            .post(w.app.url(&format!("/api/v1/engagements/{}/reports/import", w.engagement)))
            .bearer_auth(&w.agency.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{name}");
        assert_eq!(w.values().await, [(w.reach, 1200.0), (w.sentiment, 3.0)], "{name}");
    }

    // A refused file names its columns in the reader's language, whatever its headers.
    let bad = b"kpi;value\nAlcance;12\nSentimiento neto;doce\n".to_vec();
    for (who, expected) in
        [(AGENCY_ES, "fila 3, columna valor: no es un número"), (AGENCY_EN, "row 3, column value: not a number")]
    {
        let session = WebSession::login(&w.app, who).await;
        let form = reqwest::multipart::Form::new()
            .text("_csrf", session.csrf().await)
            .text("period_start", w.period.clone())
            .part("file", reqwest::multipart::Part::bytes(bad.clone()).file_name("cifras.csv"));
        let response = session
            .client
            .post(session.url(&format!("/engagements/{}/reports/import", w.engagement)))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = unescaped(&response.text().await.unwrap());
        assert!(page.contains(expected), "{who}: {expected}");
    }
    let spanish_file = "kpi;valor\nAlcance;12\nSentimiento neto;doce\n".as_bytes().to_vec();
    let form = reqwest::multipart::Form::new()
        .text("period_start", w.period.clone())
        .part("file", reqwest::multipart::Part::bytes(spanish_file).file_name("cifras.csv"));
    let response = reqwest::Client::new()
        .post(w.app.url(&format!("/api/v1/engagements/{}/reports/import", w.engagement)))
        .bearer_auth(&w.agency.token)
        .header("accept-language", "es")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let p: Value = response.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "rows[3].value", "the field keeps its stable path");
    assert_eq!(p["errors"][0]["detail"], "No es un número: escriba, por ejemplo, 12,5.");
}
