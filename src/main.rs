//! `vpcep`: parse the command line and hand over to the library.

use clap::Parser;

// glibc's malloc showed up at about a tenth of the server's CPU under load (perf); mimalloc is
// faster for the many small, short-lived allocations of request handling.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tracing_subscriber::EnvFilter;
use vpcep::config::{Cli, Command, LogFormat};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr; stdout carries only what other tools read (credentials, the address).
    let filter = EnvFilter::try_from_env("VPCEP_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        // One object per line: the event's fields under "fields", the request's span (its
        // request_id, method, path, operation) under "span".
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vpcep: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => vpcep::cli::serve(args).await,
            Command::Credentials(cmd) => vpcep::cli::credentials(cmd).await,
            Command::Inject(cmd) => vpcep::cli::inject(cmd).await,
            Command::PublicServices(cmd) => vpcep::cli::public_services(cmd).await,
            Command::Backends(cmd) => vpcep::cli::backends(cmd).await,
            Command::Reset { db, yes } => vpcep::cli::reset(db, yes).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vpcep: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
