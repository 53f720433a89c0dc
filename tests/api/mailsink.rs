//! A real SMTP server for the tests: `tests/smtp/sink.py` (aiosmtpd), started per test on a
//! free loopback port, with faults on demand. What it accepted is read back from its
//! directory and parsed with `mail-parser`.

use std::{path::PathBuf, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

pub struct SmtpSink {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
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

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/sink.py")
}

impl SmtpSink {
    /// Starts the sink on a free port with `args` (e.g. `["--fail-first", "1"]`).
    pub async fn start(args: &[&str]) -> SmtpSink {
        let dir = tempfile::tempdir().expect("sink dir");
        let (child, port) = spawn(&dir, None, args).await;
        SmtpSink { port, dir, child: Some(child) }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops the server (the port refuses connections until [`SmtpSink::restart`]).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.ok();
        }
    }

    /// Starts it again on the same port and directory, with `args`.
    pub async fn restart(&mut self, args: &[&str]) {
        self.stop().await;
        let (child, _) = spawn(&self.dir, Some(self.port), args).await;
        self.child = Some(child);
    }

    /// What it accepted so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("sink dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|eml| {
                let envelope: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(eml.with_extension("json")).expect("envelope"))
                        .expect("envelope json");
                let rcpt_tos = envelope["rcpt_tos"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default();
                Received { rcpt_tos, raw: std::fs::read(&eml).expect("message") }
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived (at most `secs` seconds), and returns them.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.messages();
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            child.start_kill().ok();
        }
    }
}

async fn spawn(dir: &tempfile::TempDir, port: Option<u16>, args: &[&str]) -> (Child, u16) {
    let python = std::env::var("VEEDOR_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(python);
    cmd.arg(script()).arg("--out").arg(dir.path()).args(args);
    if let Some(p) = port {
        cmd.arg("--port").arg(p.to_string());
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the SMTP sink (python3 with aiosmtpd; .ci/run installs it)");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the SMTP sink starts within 20 s")
        .expect("read the sink's port")
        .expect("the sink printed its port");
    let port = line.trim().strip_prefix("PORT ").and_then(|p| p.parse().ok()).expect("PORT <n>");
    (child, port)
}
