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
    /// No TCP connection to the server (refused, unreachable, too slow to connect).
    Connect(String),
}

impl From<Error> for SendError {
    fn from(e: Error) -> SendError {
        SendError::Smtp(e)
    }
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
            None => self.connect().await?,
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

    /// A TCP connection with Nagle's algorithm off. lettre writes a message and its final
    /// `.` in two writes; with Nagle on, the second waits for the server to acknowledge the
    /// first, which servers delay by up to 40 ms: about 44 ms per message whatever the
    /// server's speed (measured in P5). (lettre's own connect, used for implicit TLS, leaves
    /// Nagle on.)
    async fn tcp(&self) -> Result<tokio::net::TcpStream, SendError> {
        let connect = tokio::net::TcpStream::connect((self.host.as_str(), self.port));
        let stream = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(SendError::Connect(e.to_string())),
            Err(_) => return Err(SendError::Connect(format!("no connection within {:?}", self.connect_timeout))),
        };
        stream.set_nodelay(true).map_err(|e| SendError::Connect(e.to_string()))?;
        Ok(stream)
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let mut conn = match self.security {
            Security::Implicit => {
                let tls = TlsParameters::new(self.host.clone())?;
                let address = (self.host.as_str(), self.port);
                AsyncSmtpConnection::connect_tokio1(address, Some(self.connect_timeout), &self.hello, Some(tls), None)
                    .await?
            }
            Security::Plain | Security::StartTls => {
                AsyncSmtpConnection::connect_with_transport(Box::new(self.tcp().await?), &self.hello).await?
            }
        };
        if self.security == Security::StartTls {
            conn.starttls(TlsParameters::new(self.host.clone())?, &self.hello).await?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(conn)
    }
}
