//! The `pingate` binary: parse the command line, load the configuration,
//! set up logging, and hand over to the library.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use pingate::cli::{self, Cli, CliError, Command, ConfigCommand, DevArgs};
use pingate::config::{Loaded, LogFormat, Settings};

/// Set once `serve` logs as JSON: from then on even its last error is a
/// JSON line, so every line of the log parses.
static JSON_LOGS: AtomicBool = AtomicBool::new(false);

fn init_tracing(settings: &Settings) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("PINGATE_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&settings.log.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, never into a file or pipe.
        .with_ansi(std::io::stderr().is_terminal());
    match settings.log.format {
        LogFormat::Json => {
            builder.json().flatten_event(true).init();
            JSON_LOGS.store(true, Ordering::SeqCst);
        }
        LogFormat::Pretty => builder.init(),
    }
}

async fn serve(loaded: Loaded) -> Result<(), CliError> {
    let source = loaded.source().to_string();
    let settings = loaded.settings;
    pingate::startup_log::log(&pingate::startup_log::facts(&settings, &source));
    // Listen for the signals before the server can answer: a SIGTERM sent
    // as soon as /healthz is up must end it gracefully, not kill it.
    let shutdown = shutdown_signal();
    let listener = tokio::net::TcpListener::bind(settings.listen_addr())
        .await
        .map_err(|e| CliError(format!("cannot listen on {}: {e}", settings.server.listen)))?;
    let server = pingate::start(settings, Arc::new(pingate::clock::SystemClock), listener)
        .await
        .map_err(|e| CliError(e.to_string()))?;
    shutdown.await;
    tracing::info!("shutting down");
    server.shutdown().await.map_err(|e| CliError(e.to_string()))
}

/// Registers the handlers at once; the future completes on SIGINT or SIGTERM.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (int, term) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(int) => {},
                _ = wait(term) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// What `serve` will not start with: secrets that instances on one
/// PostgreSQL would not share, or PINs written in clear on a machine
/// serving the network (unless `--dev`).
fn refuse_unsafe_start(settings: &Settings, args: DevArgs) -> Result<(), CliError> {
    let mut problems = settings.shared_secret_problems();
    if !args.dev {
        problems.extend(settings.exposed_file_transport());
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(CliError(format!(
        "refusing to start:\n{}",
        problems
            .iter()
            .map(|p| format!("  - {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    )))
}

async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    if let Command::Config(ConfigCommand::Check(args)) = cli.command {
        return cli::config_check(&cli, args)
            .await
            .map(|()| ExitCode::SUCCESS);
    }
    if let Command::Demo = cli.command {
        return cli::demo(&cli).await.map(|()| ExitCode::SUCCESS);
    }
    let loaded = cli::load_config(&cli)?;
    if let Command::Serve(args) = cli.command {
        refuse_unsafe_start(&loaded.settings, args)?;
        init_tracing(&loaded.settings);
        return serve(loaded).await.map(|()| ExitCode::SUCCESS);
    }
    let settings = loaded.settings;
    if let Command::Migrate(args) = cli.command {
        return cli::maintenance::migrate(settings, args).await;
    }
    let done = match cli.command {
        Command::Backup(args) => cli::maintenance::backup(settings, args).await,
        Command::Retention(cmd) => cli::maintenance::retention_cmd(settings, cmd).await,
        Command::Org(cmd) => cli::org(settings, cmd).await,
        Command::Agent(cmd) => cli::agent(settings, cmd).await,
        Command::Audit(cmd) => cli::audit(settings, cmd).await,
        Command::Lockout(cmd) => cli::lockout(settings, cmd).await,
        Command::Call(cmd) => cli::call(settings, cmd).await,
        Command::Serve(_) | Command::Config(_) | Command::Demo | Command::Migrate(_) => Ok(()),
    };
    done.map(|()| ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        // A reader that went away (`| head`) ends the command quietly.
        Err(_) if cli::output::stdout_closed() => ExitCode::SUCCESS,
        Err(e) if JSON_LOGS.load(Ordering::SeqCst) => {
            tracing::error!(error = %e, "pingate stopped");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
