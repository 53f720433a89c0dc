//! A real SMTP server for the tests and the delivery benchmark, in Rust on tokio, so that the
//! test command needs nothing but the toolchain. It speaks SMTP over TCP on a free loopback
//! port (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT, several messages
//! per connection as lettre's pool sends them) and misbehaves on demand ([`Mode`]): refuses
//! for a while, refuses for good, never answers, answers too late, or is down and back on
//! the same port. What it accepted is kept in memory, in arrival order, across restarts.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpSocket, TcpStream},
    task::{JoinHandle, JoinSet},
};

/// How the sink answers the end of each message's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Accepts every message.
    Accept,
    /// Answers the first `n` messages with `code` (a 4xx: try again later), then accepts.
    FailFirst { n: usize, code: u16 },
    /// Answers every message with `code` (a 5xx: permanent).
    Reject(u16),
    /// Takes the envelope and the data, then never answers.
    Stall,
    /// Keeps the first `n` messages but answers each only after `delay`; answers every later
    /// message with `then` (a relay that is slow, then refuses).
    Slow { n: usize, delay: Duration, then: u16 },
    /// Counts accepted messages without keeping them (benchmarks).
    #[allow(dead_code)] // Only the benchmark discards.
    Discard,
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt_tos: Vec<String>,
    pub raw: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default().parse(&self.raw).expect("a parsable message")
    }
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_string()
    }
    pub fn text(&self) -> String {
        self.parsed().body_text(0).map(|t| t.to_string()).unwrap_or_default()
    }
    pub fn html(&self) -> String {
        self.parsed().body_html(0).map(|t| t.to_string()).unwrap_or_default()
    }
    pub fn message_id(&self) -> String {
        self.parsed().message_id().unwrap_or_default().to_string()
    }
}

/// What the sink keeps across restarts.
#[derive(Default)]
struct Kept {
    messages: Mutex<Vec<Received>>,
    accepted: AtomicUsize,
}

pub struct SmtpSink {
    pub port: u16,
    kept: Arc<Kept>,
    server: Option<JoinHandle<()>>,
}

/// The most data one message may have.
const MAX_DATA: usize = 10 * 1024 * 1024;

impl SmtpSink {
    /// Starts the sink on a free loopback port.
    pub async fn start(mode: Mode) -> SmtpSink {
        let kept = Arc::new(Kept::default());
        let listener = bind(0).await;
        let port = listener.local_addr().expect("the sink's address").port();
        let server = Some(tokio::spawn(serve(listener, mode, kept.clone())));
        SmtpSink { port, kept, server }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops the server and closes every open connection: the port refuses connections until
    /// [`SmtpSink::restart`].
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
    }

    /// Starts it again on the same port, keeping what it received, with `mode` (counting the
    /// messages `mode` refuses or delays from zero).
    pub async fn restart(&mut self, mode: Mode) {
        self.stop().await;
        let listener = bind(self.port).await;
        self.server = Some(tokio::spawn(serve(listener, mode, self.kept.clone())));
    }

    /// What it accepted so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        self.kept.messages.lock().expect("the sink's messages").clone()
    }

    /// How many messages it accepted (kept or, with [`Mode::Discard`], only counted).
    #[allow(dead_code)] // Only the benchmark counts.
    pub fn accepted(&self) -> usize {
        self.kept.accepted.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` messages arrived (at most `secs` seconds), and returns them.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.messages();
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Listens on `port` of loopback (0: any free one); a port just released may take a moment.
async fn bind(port: u16) -> TcpListener {
    let mut tries = 0;
    loop {
        let socket = TcpSocket::new_v4().expect("a socket for the sink");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        match socket.bind(([127, 0, 0, 1], port).into()).and_then(|()| socket.listen(128)) {
            Ok(listener) => return listener,
            Err(_) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the SMTP sink cannot listen on port {port}: {e}"),
        }
    }
}

/// Accepts connections until aborted; aborting drops the sessions with it.
async fn serve(listener: TcpListener, mode: Mode, kept: Arc<Kept>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((socket, _)) = accepted else { continue };
                let (kept, seen) = (kept.clone(), seen.clone());
                sessions.spawn(async move {
                    let _ = session(socket, mode, &kept, &seen).await;
                });
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

/// One client's conversation.
async fn session(socket: TcpStream, mode: Mode, kept: &Kept, seen: &AtomicUsize) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(b"220 127.0.0.1 Veedor test sink ESMTP\r\n").await?;
    let mut envelope: Option<Vec<String>> = None;
    let mut greeted = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        let (verb, rest) = text.split_once(' ').unwrap_or((text, ""));
        let reply: String = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                greeted = true;
                envelope = None;
                format!("250-127.0.0.1\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE {MAX_DATA}")
            }
            "HELO" => {
                greeted = true;
                envelope = None;
                "250 127.0.0.1".into()
            }
            "MAIL" if !greeted => "503 5.5.1 Say EHLO first".into(),
            "MAIL" if envelope.is_some() => "503 5.5.1 A transaction is open already".into(),
            "MAIL" if !rest.to_ascii_uppercase().starts_with("FROM:") => "501 5.5.4 MAIL FROM:<address>".into(),
            "MAIL" => {
                envelope = Some(Vec::new());
                "250 2.1.0 OK".into()
            }
            "RCPT" => match (&mut envelope, address(rest, "TO:")) {
                (None, _) => "503 5.5.1 MAIL first".into(),
                (_, None) => "501 5.5.4 RCPT TO:<address>".into(),
                (Some(rcpts), Some(to)) => {
                    rcpts.push(to);
                    "250 2.1.5 OK".into()
                }
            },
            "DATA" => match envelope.take() {
                Some(rcpts) if !rcpts.is_empty() => {
                    write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                    let Some(raw) = data(&mut reader).await? else { return Ok(()) };
                    if raw.len() > MAX_DATA {
                        "552 5.3.4 Message too big".into()
                    } else {
                        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
                        match answer(mode, n, kept, Received { rcpt_tos: rcpts, raw }).await {
                            Some(reply) => reply,
                            None => return Ok(()),
                        }
                    }
                }
                other => {
                    envelope = other;
                    "503 5.5.1 RCPT first".into()
                }
            },
            "RSET" => {
                envelope = None;
                "250 2.0.0 OK".into()
            }
            "NOOP" => "250 2.0.0 OK".into(),
            "VRFY" => "252 2.0.0 Cannot verify".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => "500 5.5.2 Unknown command".into(),
        };
        write.write_all(reply.as_bytes()).await?;
        write.write_all(b"\r\n").await?;
    }
}

/// The `<address>` after `prefix` (`TO:`), without parameters.
fn address(rest: &str, prefix: &str) -> Option<String> {
    let rest = rest.get(..prefix.len()).filter(|p| p.eq_ignore_ascii_case(prefix)).map(|_| &rest[prefix.len()..])?;
    let rest = rest.trim_start();
    let inner = rest.strip_prefix('<')?.split_once('>')?.0;
    (!inner.is_empty()).then(|| inner.to_string())
}

/// Reads a message's data up to the line holding only `.`, undoing dot-stuffing; `None` when
/// the client hung up first.
async fn data<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut raw = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(Some(raw));
        }
        if raw.len() <= MAX_DATA {
            raw.extend_from_slice(line.strip_prefix(b".").unwrap_or(&line));
        }
    }
}

/// The answer to the `n`th message (counted from this start); `None` for never.
async fn answer(mode: Mode, n: usize, kept: &Kept, message: Received) -> Option<String> {
    let keep = |message: Received| {
        kept.accepted.fetch_add(1, Ordering::SeqCst);
        if mode != Mode::Discard {
            kept.messages.lock().expect("the sink's messages").push(message);
        }
    };
    match mode {
        Mode::Accept | Mode::Discard => keep(message),
        Mode::FailFirst { n: first, code } if n <= first => {
            return Some(format!("{code} 4.3.0 Try again later (test sink)"));
        }
        Mode::FailFirst { .. } => keep(message),
        Mode::Reject(code) => return Some(format!("{code} 5.7.1 Rejected by the test sink")),
        Mode::Stall => return std::future::pending().await,
        Mode::Slow { n: first, delay, .. } if n <= first => {
            keep(message);
            tokio::time::sleep(delay).await;
            return Some("250 2.0.0 OK, late".into());
        }
        Mode::Slow { then, .. } => return Some(format!("{then} 5.7.1 Refused by the test sink")),
    }
    Some("250 2.0.0 OK".into())
}
