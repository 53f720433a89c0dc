//! Typed configuration: built-in defaults, then an optional TOML file, then `VEEDOR_*`
//! environment variables. The defaults make a first run work with nothing set.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

use crate::domain::enums::TeamRole;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://path?mode=rwc` or `postgres://user@host/db`.
    pub database_url: String,
    /// Upper bound of pooled database connections.
    pub database_max_connections: u32,
    /// Address the HTTP server listens on.
    pub bind: SocketAddr,
    /// Public URL of this instance, used in links and to decide on `Secure` cookies.
    pub base_url: String,
    /// `smtp://`, `smtps://` or `smtp+starttls://` URL; empty writes mail to `mail_dir`.
    pub smtp_url: Option<String>,
    /// Directory that receives `.eml` files when no SMTP URL is set.
    pub mail_dir: PathBuf,
    /// Sender of every message, e.g. `Veedor <veedor@brisa.example>`.
    pub mail_from: String,
    /// Longest wait for the mail server on one send, in seconds.
    pub smtp_timeout_secs: u64,
    /// A directory whose files override the compiled-in templates (same layout as
    /// `templates/`), e.g. `email/alerts/body.html`.
    pub templates_dir: Option<PathBuf>,
    /// Branding of messages: name, logo URL and colour.
    pub brand_name: String,
    pub brand_logo_url: Option<String>,
    pub brand_colour: String,
    /// How often a firing, unacknowledged alert is notified again, in hours.
    pub alert_repeat_hours: i64,
    /// Hours an overdue approval or unacknowledged incident stays at one rung of the
    /// escalation ladder (agency contact → internal owner → executive) before the next.
    pub alert_escalation_hours: i64,
    /// Raise `kpi_breach` for amber values too (by default only red ones).
    pub alert_breach_on_amber: bool,
    /// Seconds between two evaluations of the time-based alert rules (0: never).
    pub alert_interval_secs: u64,
    /// Delivery workers run by this process (0: none; another replica delivers).
    pub outbox_workers: usize,
    /// Messages one worker claims at a time.
    pub outbox_batch: u64,
    /// Messages one worker has in flight at once, over the SMTP pool.
    pub outbox_concurrency: usize,
    /// How long a claimed message stays with its worker before another may take it over.
    pub outbox_lease_secs: i64,
    /// Transient failures a message survives before it is given up.
    pub outbox_max_attempts: i32,
    pub log_format: LogFormat,
    /// `tracing` filter directive, e.g. `info,veedor=debug`.
    pub log_filter: String,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// A session ends after this many minutes without a request.
    pub session_idle_minutes: i64,
    /// A session ends this many hours after login, however active.
    pub session_absolute_hours: i64,
    /// Lifetime of a new API token unless the request asks for less.
    pub token_default_days: i64,
    /// Longest lifetime an API token may be given.
    pub token_max_days: i64,
    /// How long a verified bearer token is trusted without asking the database again; bounds
    /// how late a revocation or a disabled user takes effect on other replicas.
    pub auth_cache_seconds: u64,
    /// Failed logins per account within the window before further attempts are refused.
    pub login_max_failures_per_account: u64,
    /// Failed logins per client address within the window before further attempts are refused.
    pub login_max_failures_per_address: u64,
    /// Sliding window of the login rate limit, in minutes.
    pub login_window_minutes: i64,
    /// Trust the first address of `X-Forwarded-For` (only behind a reverse proxy).
    pub trust_proxy: bool,
    /// Largest plausible growth of a KPI over its baseline in twelve months (realism check).
    pub realism_max_yearly_growth: f64,
    /// A reported value that changed by more than this factor since the previous period is
    /// flagged to the reviewer (never refused).
    pub plausibility_jump_factor: f64,
    /// A ratio KPI whose reported value differs from numerator ÷ denominator by more than
    /// this fraction is flagged to the reviewer (never refused).
    pub plausibility_ratio_tolerance: f64,
    /// Team roles whose holders approve content as a final stage while an engagement is in
    /// crisis mode.
    pub crisis_approver_roles: Vec<TeamRole>,
    /// Approval SLAs are multiplied by this factor in crisis mode (0.5 halves them).
    pub crisis_sla_factor: f64,
    /// Hours within which an incident must be acknowledged, by severity.
    pub incident_ack_hours_low: i64,
    pub incident_ack_hours_medium: i64,
    pub incident_ack_hours_high: i64,
    pub incident_ack_hours_critical: i64,
    /// Seconds between two sweeps that escalate overdue approval stages (0: never; the
    /// sweep is safe to run on every replica at once).
    pub escalation_interval_secs: u64,
    /// How often the scheduler looks for due jobs, in seconds (tokio-cron-scheduler counts
    /// whole seconds; 0: no scheduler in this process, another replica runs the jobs).
    pub scheduler_tick_secs: u64,
    /// After downtime, the latest missed run of a job (and each missed digest) is made once
    /// if it is at most this old, in seconds; older ones are skipped.
    pub scheduler_catch_up_secs: i64,
    /// Seconds between two digest runs (each sends the digests due by then).
    pub digest_interval_secs: u64,
    /// Draw a chart per KPI in digests.
    pub digest_charts: bool,
    /// Seconds between two outbox sweeps (expired leases back to pending, metrics).
    pub outbox_sweep_secs: u64,
    /// Seconds between two clean-ups of expired sessions, idempotency keys, login attempts
    /// and old messages.
    pub cleanup_interval_secs: u64,
    /// Days sent messages, their attempts, resolved alerts and job runs are kept.
    pub retention_days: i64,
    /// Testing only: read the current time from this file (RFC 3339) instead of the system
    /// clock, so that a test can walk several processes through weeks in seconds.
    pub clock_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://veedor.db?mode=rwc".into(),
            database_max_connections: 16,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_url: "http://127.0.0.1:8080".into(),
            smtp_url: None,
            mail_dir: PathBuf::from("mail"),
            mail_from: "Veedor <veedor@localhost>".into(),
            smtp_timeout_secs: 10,
            templates_dir: None,
            brand_name: "Veedor".into(),
            brand_logo_url: None,
            brand_colour: "#1f4e79".into(),
            alert_repeat_hours: 24,
            alert_escalation_hours: 24,
            alert_breach_on_amber: false,
            alert_interval_secs: 60,
            outbox_workers: 1,
            outbox_batch: 50,
            outbox_concurrency: 4,
            outbox_lease_secs: 120,
            outbox_max_attempts: 12,
            log_format: LogFormat::Pretty,
            log_filter: "info".into(),
            max_body_bytes: 1024 * 1024,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            token_default_days: 90,
            token_max_days: 365,
            auth_cache_seconds: 5,
            login_max_failures_per_account: 5,
            login_max_failures_per_address: 30,
            login_window_minutes: 15,
            trust_proxy: false,
            realism_max_yearly_growth: 3.0,
            plausibility_jump_factor: 3.0,
            plausibility_ratio_tolerance: 0.02,
            crisis_approver_roles: vec![TeamRole::Legal, TeamRole::Communications],
            crisis_sla_factor: 0.5,
            incident_ack_hours_low: 72,
            incident_ack_hours_medium: 24,
            incident_ack_hours_high: 4,
            incident_ack_hours_critical: 1,
            escalation_interval_secs: 60,
            scheduler_tick_secs: 1,
            scheduler_catch_up_secs: 12 * 3600,
            digest_interval_secs: 60,
            digest_charts: true,
            outbox_sweep_secs: 60,
            cleanup_interval_secs: 3600,
            retention_days: 90,
            clock_file: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {field}: {message}")]
    Invalid { field: &'static str, message: String },
}

/// `VEEDOR_*` variables that belong to the test and benchmark tooling, not to the service;
/// any other unknown `VEEDOR_*` variable is refused as a likely typo.
fn is_tooling_variable(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "config" || key == "require_browser" || key.starts_with("test_") || key.starts_with("bench_")
}

impl Config {
    /// Loads the configuration: defaults, then `file` (or `VEEDOR_CONFIG`) if given, then the
    /// environment.
    pub fn load(file: Option<PathBuf>) -> Result<Self, ConfigError> {
        let file = file.or_else(|| std::env::var_os("VEEDOR_CONFIG").map(PathBuf::from));
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        let config: Config = figment
            .merge(Env::prefixed("VEEDOR_").filter(|key| !is_tooling_variable(key.as_str())))
            .extract()
            .map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| ConfigError::Invalid { field, message: message.into() };
        let base = url::Url::parse(&self.base_url).map_err(|e| invalid("base_url", &e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("base_url", "must be an http or https URL"));
        }
        if let Some(smtp) = self.smtp_url.as_deref().filter(|s| !s.is_empty()) {
            let url = url::Url::parse(smtp).map_err(|e| invalid("smtp_url", &e.to_string()))?;
            if !matches!(url.scheme(), "smtp" | "smtps" | "smtp+starttls") {
                return Err(invalid("smtp_url", "scheme must be smtp, smtps or smtp+starttls"));
            }
        }
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid("mail_from", "must be an address such as Veedor <veedor@example.com>"));
        }
        if self.alert_repeat_hours < 1 || self.alert_escalation_hours < 1 {
            return Err(invalid("alert_repeat_hours", "alert intervals must be at least one hour"));
        }
        if self.outbox_batch == 0
            || self.outbox_concurrency == 0
            || self.outbox_lease_secs < 10
            || self.outbox_max_attempts < 1
        {
            return Err(invalid("outbox_batch", "outbox batch ≥ 1, lease ≥ 10 s, attempts ≥ 1"));
        }
        if self.scheduler_catch_up_secs < 60 || self.retention_days < 1 {
            return Err(invalid("scheduler_catch_up_secs", "catch-up window ≥ 60 s, retention ≥ 1 day"));
        }
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres")) {
            return Err(invalid("database_url", "must start with sqlite: or postgres://"));
        }
        if self.session_idle_minutes <= 0 {
            return Err(invalid("session_idle_minutes", "must be positive"));
        }
        if self.session_absolute_hours <= 0 {
            return Err(invalid("session_absolute_hours", "must be positive"));
        }
        if self.token_default_days <= 0 || self.token_default_days > self.token_max_days {
            return Err(invalid("token_default_days", "must be positive and at most token_max_days"));
        }
        if !(self.realism_max_yearly_growth.is_finite() && self.realism_max_yearly_growth > 1.0) {
            return Err(invalid("realism_max_yearly_growth", "must be a number above 1"));
        }
        if !(self.plausibility_jump_factor.is_finite() && self.plausibility_jump_factor > 1.0) {
            return Err(invalid("plausibility_jump_factor", "must be a number above 1"));
        }
        if !(0.0..1.0).contains(&self.plausibility_ratio_tolerance) {
            return Err(invalid("plausibility_ratio_tolerance", "must be at least 0 and below 1"));
        }
        if !(self.crisis_sla_factor > 0.0 && self.crisis_sla_factor <= 1.0) {
            return Err(invalid("crisis_sla_factor", "must be above 0 and at most 1"));
        }
        if self.crisis_approver_roles.contains(&TeamRole::AgencyContact) {
            return Err(invalid("crisis_approver_roles", "agency contacts never approve"));
        }
        for (key, hours) in [
            ("incident_ack_hours_low", self.incident_ack_hours_low),
            ("incident_ack_hours_medium", self.incident_ack_hours_medium),
            ("incident_ack_hours_high", self.incident_ack_hours_high),
            ("incident_ack_hours_critical", self.incident_ack_hours_critical),
        ] {
            if !(1..=720).contains(&hours) {
                return Err(invalid(key, "must be between 1 and 720 hours"));
            }
        }
        if self.database_max_connections == 0 {
            return Err(invalid("database_max_connections", "must be at least 1"));
        }
        Ok(())
    }

    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    pub fn session_idle(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.session_idle_minutes)
    }

    pub fn session_absolute(&self) -> chrono::Duration {
        chrono::Duration::hours(self.session_absolute_hours)
    }

    pub fn auth_cache_ttl(&self) -> Duration {
        Duration::from_secs(self.auth_cache_seconds)
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// This instance's name, for the workers' and job claims' labels: `HOSTNAME`, or `veedor`.
pub fn instance_name() -> String {
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "veedor".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_file() {
        let dir = std::env::temp_dir().join(format!("veedor-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("veedor.toml");
        std::fs::write(
            &file,
            "bind = \"0.0.0.0:9000\"\nlog_format = \"json\"\nbase_url = \"https://veedor.brisa.example\"\n",
        )
        .unwrap();
        let config = Config::load(Some(file.clone())).unwrap();
        assert_eq!(config.bind.port(), 9000);
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(config.secure_cookies());
        assert_eq!(config.database_url, Config::default().database_url);
        std::fs::write(&file, "sesion_idle_minutes = 5\n").unwrap();
        assert!(Config::load(Some(file)).is_err(), "unknown keys are refused");
    }

    #[test]
    fn invalid_values_name_their_setting() {
        let bad = Config { session_absolute_hours: 0, ..Config::default() };
        assert!(matches!(bad.validate(), Err(ConfigError::Invalid { field: "session_absolute_hours", .. })));
        let bad = Config { smtp_url: Some("http://mail".into()), ..Config::default() };
        assert!(matches!(bad.validate(), Err(ConfigError::Invalid { field: "smtp_url", .. })));
        assert!(is_tooling_variable("TEST_DATABASE_URL") && !is_tooling_variable("bind"));
    }
}
