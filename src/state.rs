//! What every request handler, job and worker shares: the pool, the configuration, the clock,
//! the token cache, the write rules, the mailer and the page templates. A low module of its
//! own so that the layers that use it need not import the composition root (`server`).

use std::{ops::Deref, sync::Arc};

use sea_orm::DatabaseConnection;

use crate::{
    app::Ctx,
    app::WriteRules,
    auth::{self, Principal, token::TokenCache},
    clock::Clock,
    config::Config,
    mail::Mailer,
    telemetry,
};

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState(Arc<StateInner>);

pub struct StateInner {
    pub db: DatabaseConnection,
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    /// Verified bearer tokens, briefly (see `auth::token`).
    pub tokens: TokenCache,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// What writes need besides the database (crisis rules, realism limit, the notifier).
    pub rules: WriteRules,
    /// Hands queued emails to the mail server (or to `.eml` files).
    pub mailer: Mailer,
    /// The page templates and their catalogue of messages.
    pub pages: crate::present::Pages,
}

impl Deref for AppState {
    type Target = StateInner;
    fn deref(&self) -> &StateInner {
        &self.0
    }
}

impl AppState {
    /// The context a use case acts in for `principal`, now.
    pub fn ctx(&self, principal: &Principal) -> Ctx<'_> {
        Ctx {
            db: &self.db,
            now: self.clock.now(),
            rules: &self.rules,
            viewer: principal.viewer(),
            actor: principal.actor(),
            language: principal.user.language,
        }
    }

    pub fn new(db: DatabaseConnection, config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let tokens = auth::token::TokenCache::new(config.auth_cache_ttl());
        let rules = WriteRules::from_config(&config)?;
        let mailer = Mailer::from_config(&config)?;
        let metrics = telemetry::metrics_handle();
        let pages = crate::present::Pages::load()?;
        Ok(Self(Arc::new(StateInner { db, config, clock, tokens, metrics, rules, mailer, pages })))
    }
}
