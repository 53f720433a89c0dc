//! Starts the real server on a random port with its own database (a temporary SQLite file,
//! or a fresh PostgreSQL database when `VEEDOR_TEST_DATABASE_URL` is set), and offers
//! shortcuts for the objects most tests need.

use std::{net::SocketAddr, sync::Arc};

use chrono::Utc;
use reqwest::{Client, Method, Response, StatusCode};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::{
    app::{tokens, users},
    clock::ManualClock,
    config::Config,
    db::{audit::Actor, entity},
    domain::{enums::Role, user::NewUserInput},
    server::Application,
    state::AppState,
};

pub struct TestApp {
    pub addr: SocketAddr,
    pub config: Config,
    pub state: AppState,
    pub clock: ManualClock,
    pub client: Client,
    /// Where messages go when the test gives no SMTP server.
    pub mail_dir: Arc<tempfile::TempDir>,
    _database: TestDatabase,
}

/// A database that exists for one test: a temporary SQLite file, or a PostgreSQL database
/// dropped when the test ends.
pub enum TestDatabase {
    Sqlite(#[expect(dead_code, reason = "held for its Drop, which deletes the files")] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // A runtime of its own: Drop may run while the test's runtime is shutting down.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                rt.block_on(async {
                    let db = sea_orm::Database::connect(admin_url.as_str()).await.ok()?;
                    db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.ok()
                })
            })
            .join();
        }
    }
}

pub async fn test_database() -> (String, TestDatabase) {
    match std::env::var("VEEDOR_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(admin_url) => {
            let name = format!("veedor_test_{}", Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(admin_url.as_str()).await.expect("connect to PostgreSQL");
            admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
            admin.close().await.ok();
            let mut url = url::Url::parse(&admin_url).expect("VEEDOR_TEST_DATABASE_URL is a URL");
            url.set_path(&format!("/{name}"));
            (url.to_string(), TestDatabase::Postgres { admin_url, name })
        }
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("veedor.db").display());
            (url, TestDatabase::Sqlite(dir))
        }
    }
}

pub fn test_config(database_url: String) -> Config {
    Config {
        database_url,
        database_max_connections: 5,
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        log_filter: "warn".into(),
        // Tests escalate and evaluate alerts with their own clock, by calling the jobs.
        escalation_interval_secs: 0,
        alert_interval_secs: 0,
        // ...and run digests and the other scheduled jobs the same way (tests that exercise
        // the scheduler itself turn it on).
        scheduler_tick_secs: 0,
        ..Config::default()
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts an app after `adjust` has changed its configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let (url, database) = test_database().await;
        let mut config = test_config(url.clone());
        let mail_dir = Arc::new(tempfile::tempdir().expect("mail dir"));
        config.mail_dir = mail_dir.path().to_path_buf();
        adjust(&mut config);
        let clock = ManualClock::new(Utc::now());
        let application =
            Application::build_with_clock(config.clone(), Arc::new(clock.clone())).await.expect("build app");
        let addr = application.local_addr().expect("addr");
        let state = application.state();
        tokio::spawn(application.run_until(std::future::pending()));
        let client = Client::builder().cookie_store(true).build().expect("client");
        TestApp { addr, config, state, clock, client, mail_dir, _database: database }
    }

    /// A second server on the same database and clock, as another replica would be.
    pub async fn replica(&self) -> SocketAddr {
        let application = Application::build_with_clock(self.config.clone(), Arc::new(self.clock.clone()))
            .await
            .expect("build replica");
        let addr = application.local_addr().expect("addr");
        tokio::spawn(application.run_until(std::future::pending()));
        addr
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Creates a user directly in the store and returns its id.
    pub async fn user(&self, email: &str, role: Role, vendor_id: Option<Uuid>) -> Uuid {
        self.user_in(email, role, vendor_id, veedor::domain::enums::Language::Es).await
    }

    /// A user who reads Veedor in `language`.
    pub async fn user_in(
        &self,
        email: &str,
        role: Role,
        vendor_id: Option<Uuid>,
        language: veedor::domain::enums::Language,
    ) -> Uuid {
        let input = NewUserInput {
            email: email.into(),
            name: email.split('@').next().unwrap_or(email).into(),
            role,
            vendor_id,
            language,
            timezone: "Europe/Madrid".into(),
            password: Some(PASSWORD.into()),
        };
        users::create(&self.state.db, self.clock_now(), &Actor::system("test"), input)
            .await
            .expect("create user")
            .user
            .id
    }

    /// A bearer token for a user.
    pub async fn token_for(&self, user_id: Uuid) -> String {
        tokens::issue(
            &self.state.db,
            self.clock_now(),
            &Actor::system("test"),
            user_id,
            "test",
            (Some(365.0), tokens::Lifetimes { default_days: 90, max_days: 365 }),
        )
        .await
        .expect("issue token")
        .secret
    }

    /// A user with a token, in one call.
    pub async fn actor(&self, email: &str, role: Role, vendor_id: Option<Uuid>) -> Caller {
        let id = self.user(email, role, vendor_id).await;
        Caller { id, token: self.token_for(id).await }
    }

    /// Approves every remaining stage of an approval over the API, each as the first of its
    /// current approvers; returns the approval as it ends.
    pub async fn approve_all(&self, approval_id: Uuid) -> Value {
        let path = format!("/api/v1/approvals/{approval_id}");
        loop {
            let decider = {
                let admin = self.admin_caller().await;
                let (status, a) = self.get(&admin, &path).await;
                assert_eq!(status, StatusCode::OK, "{a}");
                if a["status"] != "pending" {
                    return a;
                }
                let author = a["author_id"].as_str().unwrap_or_default();
                let approvers = a["current_approvers"].as_array().unwrap();
                let first = approvers.iter().filter_map(|v| v.as_str()).find(|id| *id != author);
                let id: Uuid = first.unwrap_or_else(|| panic!("no approver but the author in {a}")).parse().unwrap();
                (Caller { id, token: self.token_for(id).await }, a["current_stage"].clone())
            };
            let body = serde_json::json!({ "stage": decider.1, "decision": "approve" });
            let (status, body) = self.post(&decider.0, &format!("{path}/decisions"), body).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }

    /// Submits an engagement and approves its activation; returns the engagement.
    pub async fn activate(&self, by: &Caller, id: Uuid) -> Value {
        let path = format!("/api/v1/engagements/{id}/transitions");
        let (status, body) = self.post(by, &path, serde_json::json!({ "action": "submit" })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let approval = body["approval_id"].as_str().unwrap().parse().unwrap();
        let ended = self.approve_all(approval).await;
        assert_eq!(ended["status"], "approved", "{ended}");
        let (_, e) = self.get(by, &format!("/api/v1/engagements/{id}")).await;
        assert_eq!(e["status"], "active", "{e}");
        e
    }

    /// An admin caller of its own, for the helpers' reads.
    async fn admin_caller(&self) -> Caller {
        let email = "helper-admin@veedor.test";
        let id = match users::find_by_email(&self.state.db, email).await.expect("find") {
            Some(u) => u.id,
            None => self.user(email, Role::Admin, None).await,
        };
        Caller { id, token: self.token_for(id).await }
    }

    pub fn clock_now(&self) -> chrono::DateTime<Utc> {
        use veedor::clock::Clock;
        self.clock.now()
    }

    pub async fn call(
        &self,
        caller: Option<&Caller>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client_without_cookies().request(method, self.url(path));
        if let Some(c) = caller {
            req = req.bearer_auth(&c.token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.expect("request")).await
    }

    pub async fn get(&self, caller: &Caller, path: &str) -> (StatusCode, Value) {
        self.call(Some(caller), Method::GET, path, None).await
    }

    pub async fn post(&self, caller: &Caller, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Some(caller), Method::POST, path, Some(body)).await
    }

    fn client_without_cookies(&self) -> Client {
        Client::new()
    }

    /// Every row of every business table, to prove that a refused request changed nothing.
    pub async fn snapshot(&self) -> Value {
        let db = &self.state.db;
        macro_rules! rows {
            ($($e:ident),*) => {{
                let mut map = serde_json::Map::new();
                $(
                    let all = entity::$e::Entity::find()
                        .order_by_asc(entity::$e::Column::Id)
                        .into_json()
                        .all(db)
                        .await
                        .expect("snapshot");
                    map.insert(stringify!($e).into(), Value::Array(all));
                )*
                Value::Object(map)
            }};
        }
        rows!(
            user,
            vendor,
            engagement,
            scope_item,
            team_member,
            kpi,
            api_token,
            audit_event,
            report,
            report_version,
            report_value,
            report_signal,
            approval_workflow,
            approval,
            approval_decision,
            content_item,
            incident,
            incident_update,
            crisis_period
        )
    }

    pub async fn vendor(&self, admin: &Caller, name: &str) -> Uuid {
        let (status, body) = self.post(admin, "/api/v1/vendors", json!({ "name": name })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        id_of(&body)
    }

    /// A draft engagement for `vendor_id`, owned by `owner`.
    pub async fn engagement(&self, by: &Caller, vendor_id: Uuid, confidentiality: &str, owner: Option<Uuid>) -> Uuid {
        let (status, body) =
            self.post(by, "/api/v1/engagements", engagement_body(vendor_id, confidentiality, owner)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        id_of(&body)
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

pub struct Caller {
    pub id: Uuid,
    pub token: String,
}

pub async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.bytes().await.expect("body");
    let value =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, value)
}

pub fn id_of(body: &Value) -> Uuid {
    body["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no id in {body}"))
}

pub fn engagement_body(vendor_id: Uuid, confidentiality: &str, owner: Option<Uuid>) -> Value {
    let start = Utc::now().date_naive();
    let end = start + chrono::Duration::days(365);
    json!({
        "vendor_id": vendor_id,
        "title": "Gestión de comunidad",
        "brief": { "want": "Más conversación", "can_be_done": "Instagram y TikTok", "budget_minor": 700000 },
        "confidentiality": confidentiality,
        "monthly_fee_minor": 650000,
        "currency": "EUR",
        "start_date": start,
        "end_date": end,
        "timezone": "Europe/Madrid",
        "cadence": "monthly",
        "due_offset_days": 5,
        "owner_id": owner,
    })
}

pub fn kpi_body(name: &str) -> Value {
    json!({
        "name": name,
        "objective": "Conversación con clientes de 25 a 45 años",
        "unit": "percent",
        "direction": "higher_is_better",
        "baseline": 2.1,
        "target": 3.0,
        "warning_threshold": 2.6,
        "critical_threshold": 2.2,
        "aggregation": "average",
        "channels": ["instagram"],
    })
}

pub fn scope_body() -> Value {
    json!({
        "function": "content_creation",
        "description": "Contenidos para Instagram",
        "deliverables": ["Calendario editorial"],
        "quantity_per_period": 12,
    })
}

/// Asserts a problem document: status, media type, and that `field` is named.
pub async fn assert_problem(response: Response, status: StatusCode, field: &str) -> Value {
    assert_eq!(response.status(), status);
    let media = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert_eq!(media, "application/problem+json");
    let (_, body) = read(response).await;
    assert_eq!(body["status"], status.as_u16(), "{body}");
    let fields: Vec<&str> =
        body["errors"].as_array().map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect()).unwrap_or_default();
    assert!(fields.contains(&field), "expected field {field} in {body}");
    body
}

/// Checks that each portfolio item says what the engagement's whole-term dashboard says: the
/// portfolio reads far fewer rows, and must never disagree.
pub async fn assert_portfolio_matches_dashboards(app: &TestApp, caller: &Caller) -> usize {
    let (status, portfolio) = app.get(caller, "/api/v1/portfolio").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{portfolio}");
    let items = portfolio.as_array().expect("a list");
    for item in items {
        let id = item["engagement_id"].as_str().unwrap();
        let (_, dash) = app.get(caller, &format!("/api/v1/engagements/{id}/dashboard")).await;
        let periods = dash["periods"].as_array().unwrap();
        let signals = dash["signals"].as_array().unwrap();
        let count = |f: &dyn Fn(&Value) -> bool| periods.iter().filter(|p| f(p)).count() as u64;
        let expected = serde_json::json!({
            "health": dash["health"],
            "late_periods": count(&|p| p["late"] == true),
            "missing_periods": count(&|p| p["missing"] == true),
            "signals": signals.len(),
            "high_severity_signals": signals.iter().filter(|s| s["severity"] == "high" || s["severity"] == "critical").count(),
        });
        let actual = serde_json::json!({
            "health": item["health"],
            "late_periods": item["late_periods"],
            "missing_periods": item["missing_periods"],
            "signals": item["signals"],
            "high_severity_signals": item["high_severity_signals"],
        });
        assert_eq!(actual, expected, "portfolio item of {id}");
    }
    items.len()
}

/// Runs the `veedor` binary against `database_url` with `args`, and waits for it without
/// blocking the test's runtime: the server under test runs on that same (single-threaded)
/// runtime, and a blocking wait could freeze it in the middle of a SQLite write transaction,
/// holding the lock the command then waits for.
pub async fn run_veedor(database_url: &str, args: &[&std::ffi::OsStr]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_veedor"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("VEEDOR_DATABASE_URL", database_url)
        .env("VEEDOR_LOG_FILTER", "warn")
        .output()
        .await
        .expect("run veedor")
}
