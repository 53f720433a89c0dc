//! Access as an attacker tries it: redirect targets that lead off-site, audit entries that name
//! a secret engagement, another user's objects told apart from missing ones, and responses
//! without their security headers.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::domain::enums::Role;

use crate::{
    helpers::TestApp,
    webkit::{WebSession, hidden_value},
};

/// `next` values that must never become a `Location` off this site (or break the answer).
const HOSTILE_NEXT: [&str; 14] = [
    "/\t/evil.example",
    "/%09/evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "/%5Cevil.example",
    "/%2F/evil.example",
    "/\r\nSet-Cookie: pwned=1",
    "/%0d%0aSet-Cookie:%20pwned=1",
    "/\nLocation: https://evil.example",
    "https://evil.example/",
    "javascript:alert(document.cookie)",
    "evil.example",
    "\\\\evil.example",
];

/// Every value of the hidden inputs named `name` in `html`.
fn hidden_values(html: &str, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    html.match_indices(&marker).filter_map(|(at, _)| hidden_value(&html[at..], name)).collect()
}

/// The `Location` of a redirect (panics on anything but 303, so a 500 fails the test).
fn location(response: &reqwest::Response, what: &str) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{what}");
    assert!(response.headers().get("set-cookie").is_none_or(|c| !c.to_str().unwrap_or("").contains("pwned")), "{what}");
    response.headers()[header::LOCATION].to_str().expect("an ASCII Location").to_string()
}

#[tokio::test]
async fn redirect_targets_taken_from_input_stay_on_this_site() {
    let app = TestApp::spawn().await;
    app.user("javier@brisa.example", Role::Lead, None).await;
    let signed_in = WebSession::login(&app, "javier@brisa.example").await;
    let anonymous = WebSession::anonymous(&app);
    for next in HOSTILE_NEXT.into_iter().chain(["/incidents?state=open"]) {
        let expected = if next.starts_with("/incidents") { next } else { "/" };

        // A control character in a query is refused before any page runs (422, no
        // `Location`): a link cannot smuggle one in.
        let in_query = next.chars().any(char::is_control);
        let refused = |response: &reqwest::Response, what: &str| {
            assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{what}");
            assert!(response.headers().get(header::LOCATION).is_none(), "{what}");
        };

        // GET /login, signed in: straight to `next`.
        let response = signed_in.client.get(app.url("/login")).query(&[("next", next)]).send().await.unwrap();
        if in_query {
            refused(&response, &format!("GET /login next={next:?}"));
        } else {
            assert_eq!(location(&response, &format!("GET /login next={next:?}")), expected);
        }

        // GET /login, anonymous: the form carries the checked `next`; posting the form with a
        // hostile `next` of its own lands home as well.
        let response = anonymous.client.get(app.url("/login")).query(&[("next", next)]).send().await.unwrap();
        if in_query {
            refused(&response, &format!("login page next={next:?}"));
        } else {
            assert_eq!(response.status(), StatusCode::OK, "login page next={next:?}");
            let page = response.text().await.unwrap();
            let carried = hidden_values(&page, "next");
            assert!(carried.iter().any(|v| v == expected), "login form next={next:?}: {carried:?}");
            // The other `next` (the language switch's) is this page itself, encoded.
            assert!(carried.iter().all(|v| v == expected || v.starts_with("/login?next=")), "{carried:?}");
        }
        let visitor = WebSession::anonymous(&app);
        let (_, form) = visitor.get("/login").await;
        let token = hidden_value(&form, "_csrf").unwrap();
        let fields = [
            ("_csrf", token.as_str()),
            ("email", "javier@brisa.example"),
            ("password", crate::helpers::PASSWORD),
            ("next", next),
        ];
        let response = visitor.client.post(visitor.url("/login")).form(&fields).send().await.unwrap();
        assert_eq!(location(&response, &format!("POST /login next={next:?}")), expected);

        // The language switch, anonymous and signed in.
        let response =
            anonymous.client.post(app.url("/language")).form(&[("lang", "en"), ("next", next)]).send().await.unwrap();
        assert_eq!(location(&response, &format!("POST /language next={next:?}")), expected);
        let csrf = signed_in.csrf().await;
        let fields = [("_csrf", csrf.as_str()), ("lang", "es"), ("next", next)];
        let response = signed_in.client.post(app.url("/language")).form(&fields).send().await.unwrap();
        assert_eq!(location(&response, &format!("POST /language (signed in) next={next:?}")), expected);
    }

    // A page that needs a session sends the visitor to the login page with a local `next`.
    let response = anonymous.client.get(app.url("/incidents?state=open")).send().await.unwrap();
    let to = location(&response, "sign-in detour");
    assert_eq!(to, "/login?next=%2Fincidents%3Fstate%3Dopen");
}

/// A lead outside a secret engagement's team reads the audit log, through the API and the
/// page: no entry about a digest naming that engagement, and its id nowhere.
#[tokio::test]
async fn a_digest_naming_a_secret_engagement_stays_out_of_a_foreign_leads_audit_log() {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let lead = app.actor("javier@brisa.example", Role::Lead, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let secret = app.engagement(&admin, vendor, "secret", Some(admin.id)).await;
    let open = app.engagement(&admin, vendor, "internal", None).await;
    let body = json!({ "cadence": { "every": "daily" }, "engagement_ids": [open, secret] });
    let (status, sub) = app.post(&admin, "/api/v1/digests", body).await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    let path = format!("/api/v1/digests/{}", sub["id"].as_str().unwrap());
    let body = json!({ "cadence": { "every": "weekly", "weekday": "fri" }, "engagement_ids": [secret] });
    assert_eq!(app.call(Some(&admin), Method::PUT, &path, Some(body)).await.0, StatusCode::OK);

    let digest_actions = |page: &Value| -> Vec<String> {
        let items = page["items"].as_array().unwrap();
        items.iter().filter(|e| e["object_type"] == "digest_subscription").map(|e| e["action"].to_string()).collect()
    };
    let (_, everything) = app.get(&admin, "/api/v1/audit?limit=200").await;
    assert_eq!(digest_actions(&everything).len(), 2, "admins see both entries: {everything}");

    let (status, for_lead) = app.get(&lead, "/api/v1/audit?limit=200").await;
    assert_eq!(status, StatusCode::OK);
    assert!(digest_actions(&for_lead).is_empty(), "{for_lead}");
    assert!(!for_lead.to_string().contains(&secret.to_string()), "the secret id leaks: {for_lead}");
    let (_, filtered) = app.get(&lead, &format!("/api/v1/audit?object_id={}", sub["id"].as_str().unwrap())).await;
    assert_eq!(filtered["items"], json!([]), "{filtered}");

    let web = WebSession::login(&app, "javier@brisa.example").await;
    let (status, page) = web.get("/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(&secret.to_string()), "the audit page shows the secret id");
    assert!(!page.contains(sub["id"].as_str().unwrap()), "the audit page shows the subscription");

    // Once on the team, the lead sees them.
    let seat = json!({ "user_id": lead.id, "team_role": "member" });
    app.post(&admin, &format!("/api/v1/engagements/{secret}/team"), seat).await;
    let (_, for_member) = app.get(&lead, "/api/v1/audit?limit=200").await;
    assert_eq!(digest_actions(&for_member).len(), 2, "{for_member}");
}

/// The pages of another user's digest subscription answer as those of one that does not
/// exist, for every role that may not manage it.
#[tokio::test]
async fn another_users_digest_pages_answer_as_a_missing_one() {
    let app = TestApp::spawn().await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    app.user("javier@brisa.example", Role::Lead, None).await;
    app.user("lucia@marea.example", Role::Vendor, Some(vendor)).await;
    let (status, sub) = app.post(&admin, "/api/v1/digests", json!({ "cadence": { "every": "daily" } })).await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    let foreign = sub["id"].as_str().unwrap().to_string();
    let random = Uuid::now_v7().to_string();
    for email in ["javier@brisa.example", "lucia@marea.example"] {
        let web = WebSession::login(&app, email).await;
        let answer = |id: String| {
            let web = &web;
            async move {
                let (get, _) = web.get(&format!("/settings/digests/{id}/edit")).await;
                let fields = [("cadence", "daily"), ("local_time", "09:00")];
                let (edit, _, _) = web.post_form(&format!("/settings/digests/{id}/edit"), &fields).await;
                let (delete, _, _) = web.post_form(&format!("/settings/digests/{id}/delete"), &[]).await;
                let (preview, _) = web.get(&format!("/settings/digests/preview?subscription_id={id}")).await;
                [get, edit, delete, preview]
            }
        };
        let (seen, missing) = (answer(foreign.clone()).await, answer(random.clone()).await);
        assert_eq!(seen, missing, "{email}: another user's subscription vs a random id");
        assert!(missing.iter().all(|s| *s == StatusCode::NOT_FOUND), "{email}: {missing:?}");
    }
    let (status, still) = app.get(&admin, &format!("/api/v1/digests/{foreign}")).await;
    assert_eq!((status, &still["cadence"]), (StatusCode::OK, &sub["cadence"]), "nothing changed");
}

/// Every kind of answer carries the security headers: pages, the API and its documentation,
/// metrics, and errors answered by the router itself.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn_with(|c| c.base_url = "https://veedor.example".into()).await;
    let admin = app.actor("admin@brisa.example", Role::Admin, None).await;
    let too_big = "x".repeat(app.config.max_body_bytes + 1);
    let cases: Vec<(Method, &str, Option<Value>, Option<String>)> = vec![
        (Method::GET, "/", None, None),
        (Method::GET, "/login", None, None),
        (Method::GET, "/api", None, None),
        (Method::GET, "/api/docs", None, None),
        (Method::GET, "/api/openapi.json", None, None),
        (Method::GET, "/metrics", None, None),
        (Method::GET, "/api/v1/me", None, None),
        (Method::GET, "/api/v1/no-such-thing", None, None),
        (Method::GET, "/no-such-page", None, None),
        (Method::DELETE, "/api/v1/me", None, None),
        (Method::POST, "/api/v1/vendors", Some(json!({})), None),
        (Method::POST, "/api/v1/vendors", None, Some(too_big)),
    ];
    let mut failures = Vec::new();
    for (method, path, json_body, raw_body) in cases {
        let mut request = app.client.request(method.clone(), app.url(path)).bearer_auth(&admin.token);
        if let Some(b) = json_body {
            request = request.json(&b);
        }
        if let Some(b) = raw_body {
            request = request.header(header::CONTENT_TYPE, "application/json").body(b);
        }
        let response = request.send().await.unwrap();
        let what = format!("{method} {path} ({})", response.status());
        let h = response.headers();
        let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let checks = [
            ("x-content-type-options", get("x-content-type-options") == "nosniff"),
            ("referrer-policy", !get("referrer-policy").is_empty()),
            ("frame-ancestors", get("content-security-policy").contains("frame-ancestors")),
            ("strict-transport-security", get("strict-transport-security").contains("max-age=")),
        ];
        failures.extend(checks.iter().filter(|(_, ok)| !ok).map(|(name, _)| format!("{what}: no {name}")));
        if ["/api/v1/me", "/login", "/api/v1/no-such-thing"].contains(&path) && get("cache-control") != "no-store" {
            failures.push(format!("{what}: Cache-Control {:?}", get("cache-control")));
        }
        if path == "/api/docs" {
            let csp = get("content-security-policy");
            let own_only = csp.contains("script-src 'self'") && !csp.contains('*') && !csp.contains("http");
            if !own_only {
                failures.push(format!("{what}: CSP {csp:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The docs page loads with its own assets only, which keep their caching.
    let response = app.client.get(app.url("/api/docs/swagger-ui.css")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "public, max-age=86400");

    // No HSTS when Veedor is served over plain http.
    let plain = TestApp::spawn().await;
    let response = plain.client.get(plain.url("/api/openapi.json")).send().await.unwrap();
    assert!(response.headers().get(header::STRICT_TRANSPORT_SECURITY).is_none());
    assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}
