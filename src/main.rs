//! The `pingate` binary: parse the command line, load the configuration,
//! set up logging, and hand over to the library.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use pingate::cli::{self, Cli, CliError, Command, ConfigCommand};
use pingate::config::{LogFormat, Settings};

fn init_tracing(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PINGATE_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&settings.log.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log.format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Pretty => builder.init(),
    }
}

async fn serve(settings: Settings) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(settings.listen_addr())
        .await
        .map_err(|e| CliError(format!("cannot listen on {}: {e}", settings.server.listen)))?;
    let server = pingate::start(settings, Arc::new(pingate::clock::SystemClock), listener)
        .await
        .map_err(|e| CliError(e.to_string()))?;
    eprintln!("pingate listening on http://{}", server.addr);
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await.map_err(|e| CliError(e.to_string()))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    if let Command::Config(ConfigCommand::Check) = cli.command {
        return cli::config_check(&cli);
    }
    if let Command::Demo = cli.command {
        return pingate::demo::run().await.map_err(CliError);
    }
    let settings = cli::load_settings(&cli)?;
    match cli.command {
        Command::Serve => {
            init_tracing(&settings);
            serve(settings).await
        }
        Command::Migrate => cli::migrate(settings).await,
        Command::Org(cmd) => cli::org(settings, cmd).await,
        Command::Agent(cmd) => cli::agent(settings, cmd).await,
        Command::Audit(cmd) => cli::audit(settings, cmd).await,
        Command::Lockout(cmd) => cli::lockout(settings, cmd).await,
        Command::Config(_) | Command::Demo => Ok(()),
    }
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
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
