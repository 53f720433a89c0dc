//! The command line: `serve`, `migrate`, `user create`, `demo`.

use std::{io::Read, path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::store::WriteRules;
use crate::{
    app::{self, Application},
    clock::{Clock, SystemClock},
    config::Config,
    db, demo,
    domain::{
        enums::{Language, Role},
        user::NewUserInput,
    },
    store::{self, audit::Actor, users, vendors},
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
            let application = Application::build(config).await?;
            if with_demo {
                let state = application.state();
                let summary = demo::load(&state.db, SystemClock.now(), &state.rules).await?;
                println!("{summary}");
            }
            tracing::info!(address = %application.local_addr()?, "veedor is listening");
            application.run_until(app::shutdown_signal()).await?;
            Ok(())
        }
        Command::Migrate => {
            let conn = db::connect(&config.database_url, 1).await?;
            db::migrate(&conn).await?;
            println!("migrations applied to {}", app::redact(&config.database_url));
            Ok(())
        }
        Command::User(UserCommand::Create(args)) => create_user(config, args).await,
        Command::Evaluate => {
            let conn = db::connect(&config.database_url, 2).await?;
            db::migrate(&conn).await?;
            let started = std::time::Instant::now();
            let outcome = store::evaluation::evaluate(&conn, store::evaluation::Selection::All).await?;
            println!(
                "{} values evaluated, {} statuses changed in {:.1?}",
                outcome.evaluated,
                outcome.changed,
                started.elapsed()
            );
            Ok(())
        }
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
