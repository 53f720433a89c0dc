//! Handing a rendered message to the mail server. One URL configures SMTP:
//! `smtp://host:port` (plain, for local servers), `smtp+starttls://…` (STARTTLS) or
//! `smtps://…` (implicit TLS), with `user:password@` for authentication. Without a URL,
//! messages are written as `.eml` files to `mail_dir`.
//!
//! lettre's own timeout covers only the connection (lettre #1027), so every send runs under
//! its own `tokio::time::timeout`, over connections of our own ([`super::relay`]) that are
//! never reused after a send that timed out or failed. A kept connection the server closed
//! while idle fails the next send (lettre #743), so a send that fails without an SMTP reply
//! is retried once.

use std::{sync::Arc, time::Duration};

use lettre::{
    AsyncFileTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType},
    transport::smtp::authentication::Credentials,
};

use super::relay::{Relay, Security, SendError};
use crate::config::Config;

/// A message for one recipient.
#[derive(Debug, Clone)]
pub struct Email {
    /// Becomes the `Message-ID`, so that a repeated send is recognisable.
    pub id: uuid::Uuid,
    pub to_address: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Images the HTML shows by `cid:` (charts), sent as inline parts.
    pub inline: Vec<InlineImage>,
}

/// An image attached inline: the HTML refers to it as `cid:{content_id}`.
#[derive(Debug, Clone)]
pub struct InlineImage {
    pub content_id: String,
    pub content_type: String,
    pub bytes: std::sync::Arc<[u8]>,
}

/// What the server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent {
        reply: String,
    },
    /// Worth retrying: a 4xx reply, no server, a dropped connection, a timeout.
    Transient {
        reply: String,
    },
    /// A 5xx reply, or a message that cannot be built: retrying will not help.
    Permanent {
        reply: String,
    },
}

#[derive(Clone)]
enum Transport {
    Smtp(Arc<Relay>),
    /// The transport, and the directory it writes to.
    Files(AsyncFileTransport<Tokio1Executor>, std::path::PathBuf),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    timeout: Duration,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::Files(..) => "files",
        };
        f.debug_struct("Mailer").field("transport", &kind).field("from", &self.from.to_string()).finish()
    }
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Mailer> {
        let from: Mailbox = config.mail_from.parse().map_err(|e| anyhow::anyhow!("mail_from: {e}"))?;
        let timeout = Duration::from_secs(config.smtp_timeout_secs.max(1));
        let transport = match config.smtp_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => Transport::Smtp(Arc::new(smtp(url, timeout)?)),
            None => {
                std::fs::create_dir_all(&config.mail_dir)
                    .map_err(|e| anyhow::anyhow!("creating mail_dir {}: {e}", config.mail_dir.display()))?;
                Transport::Files(AsyncFileTransport::new(&config.mail_dir), config.mail_dir.clone())
            }
        };
        Ok(Mailer { transport, from, timeout })
    }

    /// A mailer that writes `.eml` files to `dir` (for `digest send --dry-run`).
    pub fn to_files(dir: &std::path::Path, from: &str) -> anyhow::Result<Mailer> {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
        Ok(Mailer {
            transport: Transport::Files(AsyncFileTransport::new(dir), dir.to_path_buf()),
            from: from.parse().map_err(|e| anyhow::anyhow!("mail_from: {e}"))?,
            timeout: Duration::from_secs(10),
        })
    }

    /// Whether messages go to files rather than to a server.
    pub fn writes_files(&self) -> bool {
        matches!(self.transport, Transport::Files(..))
    }

    /// Writes `email` as an `.eml` file and returns the file's path; `None` when this mailer
    /// sends to a server. The file transport names each file by an id of its own, so the path
    /// comes from what it answers, not from the email's id.
    pub async fn write_file(&self, email: &Email) -> Option<anyhow::Result<std::path::PathBuf>> {
        let Transport::Files(files, dir) = &self.transport else { return None };
        let message = match self.build(email) {
            Ok(m) => m,
            Err(reply) => return Some(Err(anyhow::anyhow!(reply))),
        };
        Some(match files.send(message).await {
            Ok(id) => Ok(dir.join(format!("{id}.eml"))),
            Err(e) => Err(anyhow::anyhow!("writing the file: {e}")),
        })
    }

    pub async fn send(&self, email: &Email) -> SendOutcome {
        let message = match self.build(email) {
            Ok(m) => m,
            Err(reply) => return SendOutcome::Permanent { reply },
        };
        match &self.transport {
            Transport::Files(files, _) => match files.send(message).await {
                Ok(id) => SendOutcome::Sent { reply: format!("written as {id}.eml") },
                Err(e) => SendOutcome::Transient { reply: format!("writing the file: {e}") },
            },
            Transport::Smtp(smtp) => {
                let first = self.attempt(smtp, &message).await;
                match first {
                    // Connection trouble without a reply: a pooled connection may have died
                    // while idle; one fresh try.
                    Err(Failure::NoReply(_)) => self.attempt(smtp, &message).await.unwrap_or_else(Failure::outcome),
                    other => other.unwrap_or_else(Failure::outcome),
                }
            }
        }
    }

    /// One try under the timeout. A send dropped at the timeout drops its connection with it.
    async fn attempt(&self, relay: &Relay, message: &Message) -> Result<SendOutcome, Failure> {
        let bytes = message.formatted();
        match tokio::time::timeout(self.timeout, relay.send(message.envelope(), &bytes)).await {
            Err(_) => Err(Failure::Timeout(self.timeout)),
            Ok(Ok(response)) => {
                let reply = format!("{} {}", response.code(), response.message().collect::<Vec<_>>().join(" "));
                Ok(SendOutcome::Sent { reply })
            }
            Ok(Err(SendError::OutOfStep(reply))) => Err(Failure::Transient(reply)),
            Ok(Err(SendError::Connect(reason))) => Err(Failure::NoReply(reason)),
            Ok(Err(SendError::Smtp(e))) if e.is_permanent() => Err(Failure::Permanent(e.to_string())),
            Ok(Err(SendError::Smtp(e))) if e.is_transient() => Err(Failure::Transient(e.to_string())),
            Ok(Err(SendError::Smtp(e))) => Err(Failure::NoReply(e.to_string())),
        }
    }

    fn build(&self, email: &Email) -> Result<Message, String> {
        let address = email.to_address.parse().map_err(|e| format!("recipient address: {e}"))?;
        let to = Mailbox::new(email.to_name.clone(), address);
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(format!("<{}@veedor>", email.id)))
            .multipart(Self::body(email)?)
            .map_err(|e| format!("building the message: {e}"))
    }

    /// Text and HTML as alternatives; with inline images, the HTML and its images are one
    /// `multipart/related` part (what Gmail and Outlook expect for `cid:` references).
    fn body(email: &Email) -> Result<MultiPart, String> {
        if email.inline.is_empty() {
            return Ok(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()));
        }
        let mut related = MultiPart::related().singlepart(SinglePart::html(email.html.clone()));
        for image in &email.inline {
            let content_type = ContentType::parse(&image.content_type).map_err(|e| format!("image type: {e}"))?;
            related = related
                .singlepart(Attachment::new_inline(image.content_id.clone()).body(image.bytes.to_vec(), content_type));
        }
        Ok(MultiPart::alternative().singlepart(SinglePart::plain(email.text.clone())).multipart(related))
    }
}

enum Failure {
    Timeout(Duration),
    Permanent(String),
    Transient(String),
    NoReply(String),
}

impl Failure {
    fn outcome(self) -> SendOutcome {
        match self {
            Failure::Timeout(d) => SendOutcome::Transient { reply: format!("no answer within {} s", d.as_secs()) },
            Failure::Permanent(reply) => SendOutcome::Permanent { reply },
            Failure::Transient(reply) | Failure::NoReply(reply) => SendOutcome::Transient { reply },
        }
    }
}

/// The relay a URL describes.
fn smtp(url: &str, timeout: Duration) -> anyhow::Result<Relay> {
    let parsed = url::Url::parse(url)?;
    let host = parsed.host_str().ok_or_else(|| anyhow::anyhow!("smtp_url has no host"))?.to_string();
    let (security, port) = match parsed.scheme() {
        "smtps" => (Security::Implicit, 465),
        "smtp+starttls" => (Security::StartTls, 587),
        "smtp" => (Security::Plain, 25),
        other => anyhow::bail!("smtp_url scheme {other} is not smtp, smtps or smtp+starttls"),
    };
    let credentials = (!parsed.username().is_empty())
        .then(|| Credentials::new(percent_decode(parsed.username()), percent_decode(parsed.password().unwrap_or(""))));
    Ok(Relay::new(host, parsed.port().unwrap_or(port), security, credentials, timeout))
}

fn percent_decode(s: &str) -> String {
    // `+` is literal in a URL's user part, not a space.
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
