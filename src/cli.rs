//! The command line: `serve`, `migrate`, `user create`, `demo`, `evaluate`, `digest send`,
//! `outbox resend`.

use std::{io::Read, path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::app::{WriteRules, outbox::NotificationStatus};
use crate::{
    app::{self, digests::run, users, vendors},
    clock::{Clock, SystemClock},
    config::Config,
    db::{self, audit::Actor},
    demo,
    domain::{
        enums::{Language, Role},
        user::NewUserInput,
    },
    server::{self, Application},
    telemetry,
};

#[derive(Debug, Parser)]
#[command(name = "veedor", version, about = "Governance of outsourced social-media and community management")]
pub struct Cli {
    /// TOML configuration file (also `VEEDOR_CONFIG`); environment variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (migrations are applied first).
    Serve {
        /// Load the demo data before serving (idempotent).
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Load a realistic demo: a Spanish retailer and its community-management agency.
    Demo,
    /// Re-judge every stored value against its KPI's current thresholds (set-wise) and
    /// store the statuses that changed.
    Evaluate,
    /// KPI digests.
    #[command(subcommand)]
    Digest(DigestCommand),
    /// The outbox of emails.
    #[command(subcommand)]
    Outbox(OutboxCommand),
}

#[derive(Debug, Subcommand)]
enum OutboxCommand {
    /// Queue failed messages again (as the same messages, with a fresh budget of attempts);
    /// a message sent already, or still queued, is left alone.
    Resend(OutboxResend),
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct OutboxResend {
    /// The message to send again (repeatable).
    #[arg(long)]
    id: Vec<uuid::Uuid>,
    /// Every failed message.
    #[arg(long)]
    all_failed: bool,
}

#[derive(Debug, Subcommand)]
enum DigestCommand {
    /// Build one user's digest: with --dry-run, write it as an .eml file; without, queue it
    /// in the outbox (once per subscription and period).
    Send(DigestSend),
}

#[derive(Debug, Args)]
struct DigestSend {
    /// The recipient's email address.
    #[arg(long)]
    to: String,
    /// The period, `YYYY-MM-DD..YYYY-MM-DD` (default: the one a digest sent now would cover).
    #[arg(long)]
    period: Option<String>,
    /// Write the message to a file instead of queuing it.
    #[arg(long)]
    dry_run: bool,
    /// Where --dry-run writes (default: `mail_dir`).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from stdin or generated and printed once.
    Create(UserCreate),
}

#[derive(Debug, Args)]
struct UserCreate {
    #[arg(long)]
    email: String,
    #[arg(long)]
    name: String,
    /// admin, lead, executive or vendor.
    #[arg(long)]
    role: Role,
    /// For vendor users: the vendor's id or exact name.
    #[arg(long)]
    vendor: Option<String>,
    /// Read the password from standard input instead of generating one.
    #[arg(long)]
    password_stdin: bool,
    #[arg(long, default_value = "es")]
    language: Language,
    #[arg(long, default_value = "Europe/Madrid")]
    timezone: String,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.clone()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo: with_demo } => {
            // The friendly line is for a person at a terminal; JSON logs stay pure JSON.
            let for_people = config.log_format == crate::config::LogFormat::Pretty;
            let application = Application::build(config).await?;
            if with_demo {
                let state = application.state();
                let summary = demo::load(&state.db, SystemClock.now(), &state.rules).await?;
                println!("{summary}");
            }
            let address = application.local_addr()?;
            tracing::info!(%address, "veedor is listening");
            let shown = if address.ip().is_unspecified() {
                std::net::SocketAddr::from(([127, 0, 0, 1], address.port()))
            } else {
                address
            };
            if for_people {
                let hint = if with_demo { ", and sign in with a demo account above" } else { "" };
                println!("Veedor is running: open http://{shown}/ in a browser{hint}");
            }
            application.run_until(server::shutdown_signal()).await?;
            Ok(())
        }
        Command::Migrate => {
            let conn = db::connect(&config.database_url, 1).await?;
            db::migrate(&conn).await?;
            println!("migrations applied to {}", server::redact(&config.database_url));
            Ok(())
        }
        Command::User(UserCommand::Create(args)) => create_user(config, args).await,
        Command::Evaluate => {
            let conn = db::connect(&config.database_url, 2).await?;
            db::migrate(&conn).await?;
            let started = std::time::Instant::now();
            let outcome = app::evaluation::evaluate(&conn, app::evaluation::Selection::All).await?;
            println!(
                "{} values evaluated, {} statuses changed in {:.1?}",
                outcome.evaluated,
                outcome.changed,
                started.elapsed()
            );
            Ok(())
        }
        Command::Digest(DigestCommand::Send(args)) => send_digest(config, args).await,
        Command::Outbox(OutboxCommand::Resend(args)) => resend(config, args).await,
        Command::Demo => {
            let conn = db::connect(&config.database_url, 2).await?;
            db::migrate(&conn).await?;
            println!("{}", demo::load(&conn, SystemClock.now(), &WriteRules::from_config(&config)?).await?);
            Ok(())
        }
    }
}

async fn create_user(config: Config, args: UserCreate) -> anyhow::Result<()> {
    let conn = db::connect(&config.database_url, 2).await?;
    db::migrate(&conn).await?;
    let vendor_id = match args.vendor.as_deref() {
        None => None,
        Some(v) => Some(match v.parse::<uuid::Uuid>() {
            Ok(id) => id,
            Err(_) => {
                vendors::find_by_name(&conn, v)
                    .await
                    .map_err(describe)?
                    .with_context(|| format!("no vendor named {v:?}"))?
                    .id
            }
        }),
    };
    let password = if args.password_stdin {
        let mut buf = String::new();
        std::io::stdin().read_to_string(&mut buf).context("reading the password from stdin")?;
        Some(buf.trim_end_matches(['\r', '\n']).to_string())
    } else {
        None
    };
    let input = NewUserInput {
        email: args.email,
        name: args.name,
        role: args.role,
        vendor_id,
        language: args.language,
        timezone: args.timezone,
        password,
    };
    let created = users::create(&conn, SystemClock.now(), &Actor::system("cli"), input).await.map_err(describe)?;
    println!("created {} ({}) with id {}", created.user.email, created.user.role, created.user.id);
    if let Some(p) = created.generated_password {
        println!("password (shown once): {p}");
    }
    Ok(())
}

async fn send_digest(config: Config, args: DigestSend) -> anyhow::Result<()> {
    let conn = db::connect(&config.database_url, 2).await?;
    db::migrate(&conn).await?;
    let now = SystemClock.now();
    let recipient = users::find_by_email(&conn, &args.to)
        .await
        .map_err(describe)?
        .with_context(|| format!("no user with the address {}", args.to))?;
    let subscription = app::digests::subscriptions::first_of(&conn, recipient.id).await.map_err(describe)?;
    let timing = match &subscription {
        Some(s) => app::digests::subscriptions::timing(s).map_err(describe)?,
        None => run::default_timing(&recipient),
    };
    let period = match args.period.as_deref() {
        None => timing.period_of(now),
        Some(p) => parse_period(p)?,
    };
    let rules = WriteRules::from_config(&config)?;
    let built =
        run::build_one(&conn, &rules.notifier, now, &recipient, subscription.as_ref(), period, config.digest_charts)
            .await
            .map_err(describe)?
            .with_context(|| format!("{} sees no reporting engagement: nothing to send", args.to))?;
    if args.dry_run {
        let dir = args.out.unwrap_or_else(|| config.mail_dir.clone());
        let mailer = crate::mail::Mailer::to_files(&dir, &config.mail_from)?;
        let email = crate::mail::Email {
            id: uuid::Uuid::now_v7(),
            to_address: recipient.email.clone(),
            to_name: Some(recipient.name.clone()),
            subject: built.rendered.subject.clone(),
            text: built.rendered.text.clone(),
            html: built.rendered.html.clone(),
            inline: built
                .images
                .iter()
                .map(|i| crate::mail::InlineImage {
                    content_id: i.id.clone(),
                    content_type: i.content_type.to_string(),
                    bytes: i.bytes.clone(),
                })
                .collect(),
        };
        let path = mailer.write_file(&email).await.context("the dry-run mailer writes files")??;
        println!("digest for {} ({} – {}) written to {}", recipient.email, period.start, period.end, path.display());
        return Ok(());
    }
    let s = subscription.with_context(|| format!("{} has no digest subscription to send", args.to))?;
    let actor = Actor::system("cli");
    let queued = run::queue_one(&conn, now, &actor, &recipient, &s, period, built).await.map_err(describe)?;
    let (who, start, end) = (&recipient.email, period.start, period.end);
    match queued {
        run::Queued::New => println!("digest for {who} ({start} – {end}) queued"),
        run::Queued::Again => println!("the digest for {who} ({start} – {end}) had failed: queued again"),
        run::Queued::Already(NotificationStatus::Sent) => {
            println!("the digest for {who} ({start} – {end}) was sent already")
        }
        run::Queued::Already(status) => {
            println!("the digest for {who} ({start} – {end}) is queued already ({status})")
        }
    }
    Ok(())
}

fn parse_period(p: &str) -> anyhow::Result<crate::domain::digest::DigestPeriod> {
    let (start, end) = p.split_once("..").context("--period: START..END, e.g. 2026-11-16..2026-11-22")?;
    let start: chrono::NaiveDate = start.trim().parse().context("--period: the first day, YYYY-MM-DD")?;
    let end: chrono::NaiveDate = end.trim().parse().context("--period: the last day, YYYY-MM-DD")?;
    anyhow::ensure!(start <= end, "--period: the first day comes before the last");
    Ok(crate::domain::digest::DigestPeriod { start, end })
}

/// Turns a refused input into a readable message for the terminal.
fn describe(e: crate::error::AppError) -> anyhow::Error {
    match e {
        crate::error::AppError::Invalid(errors) | crate::error::AppError::Conflict { errors, .. }
            if !errors.is_empty() =>
        {
            let lines: Vec<String> = errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
            anyhow::anyhow!(lines.join("; "))
        }
        other => anyhow::anyhow!("{other}"),
    }
}

/// `veedor outbox resend`: the same function as the API's and the page's.
async fn resend(config: Config, args: OutboxResend) -> anyhow::Result<()> {
    use crate::app::outbox::{self, NotificationFilter, Resend};
    let conn = db::connect(&config.database_url, 2).await?;
    db::migrate(&conn).await?;
    let actor = Actor::system("cli");
    let selections: Vec<Resend> = if args.all_failed {
        vec![Resend::Failed(NotificationFilter::default())]
    } else {
        args.id.iter().map(|id| Resend::One(*id)).collect()
    };
    let mut requeued = Vec::new();
    for which in selections {
        let asked = match &which {
            Resend::One(id) => id.to_string(),
            Resend::Failed(_) => String::new(),
        };
        match outbox::resend(&conn, SystemClock.now(), &actor, which).await {
            Ok(done) => requeued.extend(done.requeued),
            Err(crate::error::AppError::NotFound) => anyhow::bail!("no message with the id {asked}"),
            Err(e) => return Err(describe(e)),
        }
    }
    println!("{} failed message(s) queued again", requeued.len());
    for id in requeued {
        println!("  {id}");
    }
    Ok(())
}
