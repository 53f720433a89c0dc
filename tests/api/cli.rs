//! The command line, run as a real process: migrations, user creation, the demo, and a
//! server that logs JSON and stops cleanly on SIGTERM.

use std::{
    io::Write,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_veedor");

fn veedor(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("VEEDOR_DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.join("cli.db").display()));
    cmd
}

#[test]
fn migrate_user_create_and_demo() {
    let dir = tempfile::tempdir().unwrap();
    let out = veedor(dir.path()).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let mut child = veedor(dir.path())
        .args([
            "user",
            "create",
            "--email",
            "Ana@Brisa.example",
            "--name",
            "Ana",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"a long enough passphrase\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("created ana@brisa.example (admin)") && !text.contains("password"), "{text}");

    let out = veedor(dir.path())
        .args(["user", "create", "--email", "eva@brisa.example", "--name", "Eva", "--role", "lead"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let generated = text.lines().find_map(|l| l.strip_prefix("password (shown once): ")).expect("generated password");
    assert_eq!(generated.len(), 20);

    let out = veedor(dir.path())
        .args(["user", "create", "--email", "ana@brisa.example", "--name", "Ana", "--role", "lead"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("email: a user with this e-mail already exists"));

    let out = veedor(dir.path())
        .args(["user", "create", "--email", "v@marea.example", "--name", "V", "--role", "vendor", "--vendor", "Nadie"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no vendor named"));

    for expected in ["Demo loaded", "already loaded"] {
        let out = veedor(dir.path()).arg("demo").output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains(expected));
    }
    // The demo's values were judged when submitted: re-judging them changes nothing.
    let out = veedor(dir.path()).arg("evaluate").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains(" values evaluated, ")).expect("evaluate prints its outcome");
    let (evaluated, rest) = line.split_once(" values evaluated, ").unwrap();
    assert!(evaluated.parse::<u64>().unwrap() > 50, "{text}");
    assert!(rest.starts_with("0 statuses changed"), "{text}");
    let out = veedor(dir.path())
        .args([
            "user",
            "create",
            "--email",
            "v@marea.example",
            "--name",
            "V",
            "--role",
            "vendor",
            "--vendor",
            "marea digital",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "vendors are found by name: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn bad_configuration_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let out = veedor(dir.path()).env("VEEDOR_BASE_URL", "ftp://x").arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("base_url"));
    let out = veedor(dir.path()).env("VEEDOR_SESION_IDLE_MINUTES", "5").arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a misspelt setting is an error, not ignored");
}

#[test]
fn serve_logs_json_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = veedor(dir.path())
        .env("VEEDOR_BIND", format!("127.0.0.1:{port}"))
        .env("VEEDOR_LOG_FORMAT", "json")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let ready = loop {
        let answer = std::net::TcpStream::connect(("127.0.0.1", port)).ok().and_then(|mut s| {
            s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
            let mut buf = String::new();
            std::io::Read::read_to_string(&mut s, &mut buf).ok()?;
            Some(buf)
        });
        if let Some(a) = answer.filter(|a| a.starts_with("HTTP/1.1 200")) {
            break a;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "server did not become ready");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(ready.contains(r#""migrations_current":true"#));
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no clean stop within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let out = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(!lines.is_empty() && lines.len() == logs.lines().count(), "every log line is JSON:\n{logs}");
    assert!(lines.iter().any(|l| l["fields"]["message"] == "veedor is listening"), "{logs}");
    assert!(lines.iter().any(|l| l["fields"]["message"] == "shutting down"), "{logs}");
}
