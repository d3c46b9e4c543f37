//! `ltt`: the command line. It parses arguments and builds graphs; the
//! work is done by the library crates.

mod view;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// ltt: a Linux tracing toolkit (LTTng-style tracing, babeltrace2-style viewing).
#[derive(Parser, Debug)]
#[command(name = "ltt", version, about, long_about = None)]
struct Cli {
    /// Log level: none, fatal, error, warning, info, debug, trace
    /// (also the LTT_LOG_LEVEL environment variable).
    #[arg(short = 'l', long = "log-level", global = true, env = "LTT_LOG_LEVEL")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print traces as text, exactly as `babeltrace2 PATH...` does.
    View(view::ViewArgs),
    /// Convert traces: like `babeltrace2 convert` (text, ctf, dummy, counter).
    Convert(view::ViewArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::View(args) | Command::Convert(args) => view::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("ltt: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A reader that closed the pipe (`ltt view | head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c
                .downcast_ref::<ltt_graph::Error>()
                .is_some_and(|g| matches!(g, ltt_graph::Error::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe))
    })
}
