//! Connections to the SMTP relay, and the few kept open between messages.
//!
//! lettre's own pool puts a connection back when the send using it is dropped half-way
//! (`PooledConnection::drop` recycles whatever has not failed outright), so a send abandoned
//! at our timeout left a connection that read every later reply one command late: a message
//! recorded as sent on the `354` meant for its `DATA`, a refusal never seen. Here a
//! connection is kept only after a transaction that completed with a 2xx reply; one whose
//! send failed, or whose send was dropped (the caller's timeout), is closed with it, so a
//! reply always belongs to the command that was just written.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use lettre::{
    address::Envelope,
    transport::smtp::{
        Error,
        authentication::{Credentials, DEFAULT_MECHANISMS},
        client::{AsyncSmtpConnection, TlsParameters},
        extension::ClientId,
        response::{Response, Severity},
    },
};

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain text, for a relay on the same host or network.
    Plain,
    /// Plain, then upgraded with `STARTTLS` (required).
    StartTls,
    /// TLS from the first byte (`smtps`).
    Implicit,
}

/// At most this many idle connections are kept.
const MAX_IDLE: usize = 8;
/// An idle connection older than this is closed rather than used: relays drop idle clients.
const IDLE_LIFE: Duration = Duration::from_secs(30);

/// One relay and its idle connections.
pub struct Relay {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    /// For connecting (lettre's read and write timeouts do not apply to async streams).
    connect_timeout: Duration,
    hello: ClientId,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

/// Why a send got no usable answer.
#[derive(Debug)]
pub enum SendError {
    /// What lettre reports: an SMTP refusal, or no answer (connection, TLS, protocol).
    Smtp(Error),
    /// A positive reply that does not end a transaction (e.g. `354`): the connection is out
    /// of step, and the message's fate unknown.
    OutOfStep(String),
}

impl Relay {
    pub fn new(
        host: String,
        port: u16,
        security: Security,
        credentials: Option<Credentials>,
        connect_timeout: Duration,
    ) -> Relay {
        Relay {
            host,
            port,
            security,
            credentials,
            connect_timeout,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends one message over an idle connection or a new one. The connection is kept for
    /// the next message only when this transaction ended with a 2xx reply.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Response, SendError> {
        let mut conn = match self.reuse().await {
            Some(conn) => conn,
            None => self.connect().await.map_err(SendError::Smtp)?,
        };
        match conn.send(envelope, message).await {
            Ok(reply) if reply.code().severity == Severity::PositiveCompletion && !conn.has_broken() => {
                self.park(conn);
                Ok(reply)
            }
            Ok(reply) => {
                conn.abort().await;
                let text = reply.message().collect::<Vec<_>>().join(" ");
                Err(SendError::OutOfStep(format!("unexpected reply {} {text}", reply.code())))
            }
            Err(e) => {
                conn.abort().await;
                Err(SendError::Smtp(e))
            }
        }
    }

    /// An idle connection that still answers `NOOP`, if any.
    async fn reuse(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let (mut conn, since) = self.idle.lock().ok()?.pop()?;
            if since.elapsed() < IDLE_LIFE && conn.test_connected().await {
                return Some(conn);
            }
            conn.abort().await;
        }
    }

    fn park(&self, conn: AsyncSmtpConnection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.retain(|(_, since)| since.elapsed() < IDLE_LIFE);
            if idle.len() < MAX_IDLE {
                idle.push((conn, Instant::now()));
            }
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, Error> {
        let implicit = match self.security {
            Security::Implicit => Some(TlsParameters::new(self.host.clone())?),
            _ => None,
        };
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(self.connect_timeout),
            &self.hello,
            implicit,
            None,
        )
        .await?;
        if self.security == Security::StartTls {
            conn.starttls(TlsParameters::new(self.host.clone())?, &self.hello).await?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(conn)
    }
}
