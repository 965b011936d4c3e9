//! The `switchboard-ls` binary: LSP over stdio by default, or one of the CLI commands.

use std::process::ExitCode;

use clap::Parser;
use switchboard_ls::cli::{self, Cli, Command};

fn main() -> ExitCode {
    switchboard_ls::logging::init();
    let args = Cli::parse();
    // One thread runs everything: the work per message is microseconds, and keeping
    // it on one thread saves the cross-thread wake-ups that dominate the proxy's
    // overhead, and the memory of per-thread allocator arenas. stdin and stdout are polled
    // by it too when they are pipes or sockets; blocking work (cache file writes, stdio
    // when it is a file or a terminal) has tokio's blocking pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("switchboard-ls: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        match args.command {
            None => {
                switchboard_ls::lsp::serve_stdio().await;
                ExitCode::SUCCESS
            }
            Some(Command::Complete(args)) => cli::complete::run(args).await,
            Some(Command::Config(args)) => cli::show_config::run(args),
            Some(Command::Status(args)) => cli::status::run(args).await,
            Some(Command::Stats(args)) => cli::stats::run(args),
        }
    });
    // When stdin is a file or a terminal, tokio reads it on a blocking thread that only
    // returns when it closes; after `exit` the process must end without waiting for it.
    runtime.shutdown_background();
    code
}
