//! P5 delivery: 10,000 queued notifications delivered to a local SMTP sink by Veedor's
//! outbox workers, against lettre sending the same messages directly over a pool with the
//! same number of messages in flight, in the same run, to the same sink.
//!
//! - Veedor: the rows are queued first (not timed); then two servers (replicas) on the same
//!   database start, one delivery worker each, and the clock runs until every row is `sent`.
//!   Each message costs a claim share, the SMTP exchange, and the attempt recorded in its
//!   own transaction.
//! - Floor: `AsyncSmtpTransport` (pooled) sends the same 10,000 messages, as many at once.
//! - Target: Veedor's messages per second ≥ 0.8 × the floor's on a real SMTP server; the
//!   sink received exactly 10,000 messages from Veedor (no duplicate), and every row is
//!   `sent` with one attempt.
//!
//! Two sinks, each measured with both sides: a real SMTP server (the test suite's own, in
//! `tests/api/mailsink.rs`, counting what it accepts without keeping it), on which the
//! target is checked; and an in-process responder that answers as fast as loopback allows,
//! which shows what the outbox itself costs per message (its ratio is printed, not checked:
//! no durable delivery keeps up with a server that does nothing). Run with `cargo bench
//! --bench p5_delivery`; set `VEEDOR_BENCH_DATABASE_URL` to add PostgreSQL.

mod common;
#[allow(dead_code)] // The test suite's sink: the benchmark only counts what it accepts.
#[path = "../tests/api/mailsink.rs"]
mod mailsink;

use std::{
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use common::{Backend, ScratchDb, Server, Verdict, smtp::FastSink};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, message::MultiPart};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use veedor::{
    app::outbox::{self, NewNotification},
    clock::{Clock, SystemClock},
    db::entity::{notification, notification_attempt},
    domain::enums::Language,
};

const MESSAGES: usize = 10_000;
const TARGET_RATIO: f64 = 0.8;
/// Replicas, one worker each.
const REPLICAS: usize = 2;
/// Messages in flight per worker (`outbox_concurrency`).
const CONCURRENCY: usize = 4;

#[tokio::main]
async fn main() -> ExitCode {
    println!(
        "P5 delivery: {MESSAGES} queued emails by {REPLICAS} replicas × {CONCURRENCY} in flight vs lettre direct ({} in flight)",
        REPLICAS * CONCURRENCY
    );
    common::print_machine();
    common::on_every_backend("p5_delivery", measure).await
}

/// Where the messages go.
enum AnySink {
    Smtp(mailsink::SmtpSink),
    Fast(FastSink),
}

impl AnySink {
    async fn start(kind: &str) -> anyhow::Result<AnySink> {
        Ok(match kind {
            "smtp" => AnySink::Smtp(mailsink::SmtpSink::start(mailsink::Mode::Discard).await),
            _ => AnySink::Fast(FastSink::start().await?),
        })
    }

    fn port(&self) -> u16 {
        match self {
            AnySink::Smtp(s) => s.port,
            AnySink::Fast(s) => s.port,
        }
    }

    async fn stop(self) -> anyhow::Result<usize> {
        match self {
            AnySink::Smtp(mut s) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                s.stop().await;
                Ok(s.accepted())
            }
            AnySink::Fast(s) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Ok(s.accepted())
            }
        }
    }
}

fn body(i: usize) -> (String, String, String) {
    let subject = format!("[Veedor] 1 alerta activa: Comunidad Brisa #{i}");
    let text = format!("Hola, Begoña:\n\nFalta el informe del periodo 2026-01-01 – 2026-01-31 (#{i}).\n");
    let html = format!(
        "<table role=\"presentation\" width=\"100%\"><tr><td style=\"font-family:Arial\">Hola, Begoña: falta el informe #{i}</td></tr></table>"
    );
    (subject, text, html)
}

async fn floor(port: u16) -> anyhow::Result<f64> {
    let transport: AsyncSmtpTransport<Tokio1Executor> =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1").port(port).build();
    let transport = Arc::new(transport);
    let permits = Arc::new(tokio::sync::Semaphore::new(REPLICAS * CONCURRENCY));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..MESSAGES {
        let permit = permits.clone().acquire_owned().await?;
        let transport = transport.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let (subject, text, html) = body(i);
            let message = Message::builder()
                .from("Veedor <veedor@localhost>".parse()?)
                .to(format!("Begoña Ibáñez <user{i}@brisa.example>").parse()?)
                .subject(subject)
                .message_id(Some(format!("<{}@veedor>", uuid::Uuid::now_v7())))
                .multipart(MultiPart::alternative_plain_html(text, html))?;
            transport.send(message).await?;
            Ok::<(), anyhow::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(MESSAGES as f64 / started.elapsed().as_secs_f64())
}

async fn queue(server: &Server) -> anyhow::Result<()> {
    let db = &server.state.db;
    let now = SystemClock.now();
    for chunk in (0..MESSAGES).collect::<Vec<_>>().chunks(500) {
        let txn = veedor::db::begin_write(db).await?;
        let messages = chunk
            .iter()
            .map(|i| {
                let (subject, text, html) = body(*i);
                NewNotification {
                    kind: "alerts",
                    dedup_key: None,
                    user_id: None,
                    to_address: format!("user{i}@brisa.example"),
                    to_name: "Begoña Ibáñez".into(),
                    language: Language::Es,
                    subject,
                    text,
                    html,
                    alert_ids: vec![],
                    image_ids: vec![],
                    not_before: now,
                }
            })
            .collect();
        outbox::enqueue_in(&txn, now, messages).await?;
        txn.commit().await?;
    }
    Ok(())
}

async fn measure(backend: &Backend, scratch: &ScratchDb, verdict: &mut Verdict) -> anyhow::Result<()> {
    for (round, kind) in ["smtp", "in-process"].into_iter().enumerate() {
        println!("sink: {kind}");
        // The floor first, on a sink of its own.
        let sink = AnySink::start(kind).await?;
        let floor_rate = floor(sink.port()).await?;
        let floor_count = sink.stop().await?;
        println!("  floor: lettre direct {floor_rate:.0} messages/s ({floor_count} accepted)");

        // Queue with the workers off, then start the replicas with one worker each.
        let sink = AnySink::start(kind).await?;
        let url = format!("smtp://127.0.0.1:{}", sink.port());
        let filler = Server::start_with(scratch.url(), |c| c.outbox_workers = 0).await?;
        if round > 0 {
            let db = &filler.state.db;
            notification_attempt::Entity::delete_many().exec(db).await?;
            notification::Entity::delete_many().exec(db).await?;
        }
        queue(&filler).await?;
        filler.stop().await?;
        let started = Instant::now();
        let mut replicas = Vec::new();
        for _ in 0..REPLICAS {
            let url = url.clone();
            replicas.push(
                Server::start_with(scratch.url(), move |c| {
                    c.smtp_url = Some(url);
                    c.outbox_workers = 1;
                    c.outbox_concurrency = CONCURRENCY;
                    c.outbox_batch = 100;
                })
                .await?,
            );
        }
        let db = replicas[0].state.db.clone();
        loop {
            let sent = notification::Entity::find().filter(notification::Column::Status.eq("sent")).count(&db).await?;
            if sent as usize >= MESSAGES {
                break;
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "only {sent} sent after 600 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let secs = started.elapsed().as_secs_f64();
        let rate = MESSAGES as f64 / secs;
        let attempts = notification_attempt::Entity::find().count(&db).await?;
        let not_sent = notification::Entity::find().filter(notification::Column::Status.ne("sent")).count(&db).await?;
        for r in replicas {
            r.stop().await?;
        }
        let received = sink.stop().await?;
        let ratio = rate / floor_rate;
        println!(
            "  veedor: {rate:.0} messages/s ({secs:.2} s), {attempts} attempts, {received} received by the sink, ratio {ratio:.3}"
        );
        let name = backend.name();
        if kind == "smtp" {
            verdict.check(
                &format!("{name} delivery/floor messages-per-second ratio ({kind})"),
                format!("{ratio:.3} ({rate:.0} / {floor_rate:.0} messages/s)"),
                &format!(">= {TARGET_RATIO}"),
                ratio >= TARGET_RATIO,
            );
        } else {
            println!(
                "  (not a target) outbox cost on a do-nothing server: ratio {ratio:.3}, {:.2} ms per message per worker slot",
                1_000.0 * (REPLICAS * CONCURRENCY) as f64 / rate
            );
        }
        verdict.check(
            &format!("{name} duplicates with {REPLICAS} workers ({kind})"),
            format!("{received} received for {MESSAGES} queued; {attempts} attempts; {not_sent} not sent"),
            "exactly one each",
            received == MESSAGES && attempts as usize == MESSAGES && not_sent == 0,
        );
    }
    Ok(())
}
