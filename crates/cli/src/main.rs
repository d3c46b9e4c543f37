//! `ltt`: the command line. It parses arguments and builds graphs; the
//! work is done by the library crates.

mod graph;
mod log;
mod metadata_text;
mod params;
mod record;
mod session;
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
    /// Developer mode: check every message against the graph's sequence
    /// and time-order rules (also LTT_DEV=1).
    #[arg(long, global = true)]
    dev: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print traces as text, exactly as `babeltrace2 PATH...` does.
    View(view::ViewArgs),
    /// Convert traces: like `babeltrace2 convert` (text, ctf, dummy, counter).
    Convert(view::ViewArgs),
    /// Run an explicit graph, like `babeltrace2 run`: -c NAME:CLASS -p PARAMS -x UP:DOWN.
    Graph(graph::GraphArgs),
    /// Run a command with tracing on and write its trace: `ltt record -- CMD ARGS...`.
    Record(record::RecordArgs),
    #[command(flatten)]
    Session(session::SessionCommand),
}

static DEVELOPER_MODE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether streams are decoded on threads of their own
/// (`LTT_DECODE_THREADS=1`). Off by default: on this 2-core machine, loaded
/// as it was when measured, the copies into chunks cost more than the
/// overlap gained (0.49 s vs 0.37 s to the dummy sink on 5M events).
pub fn decode_threads() -> bool {
    std::env::var("LTT_DECODE_THREADS").is_ok_and(|v| v == "1")
}

/// Whether developer checks are on (`--dev` or `LTT_DEV=1`).
pub fn developer_mode() -> bool {
    DEVELOPER_MODE.load(std::sync::atomic::Ordering::Relaxed)
}

/// The -c and -p arguments of `ltt graph` in command-line order, so each
/// -p applies to the component before it.
fn graph_order(matches: &clap::ArgMatches) -> Vec<(usize, String, bool)> {
    let Some(("graph", sub)) = matches.subcommand() else {
        return Vec::new();
    };
    let mut order = Vec::new();
    for (id, is_component) in [("components", true), ("params", false)] {
        if let (Some(idx), Some(vals)) = (sub.indices_of(id), sub.get_many::<String>(id)) {
            order.extend(idx.zip(vals).map(|(i, v)| (i, v.clone(), is_component)));
        }
    }
    order.sort_by_key(|(i, _, _)| *i);
    order
}

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let order = graph_order(&matches);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let dev = cli.dev || std::env::var("LTT_DEV").is_ok_and(|v| v == "1");
    DEVELOPER_MODE.store(dev, std::sync::atomic::Ordering::Relaxed);
    if let Err(e) = log::init(cli.log_level.as_deref()) {
        eprintln!("ltt: error: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::View(mut args) => {
            session::resolve_view_paths(&mut args.paths).and_then(|()| view::run(args))
        }
        Command::Convert(args) => view::run(args),
        Command::Graph(args) => graph::run(args, order),
        Command::Record(args) => record::run(args),
        Command::Session(cmd) => session::run(cmd),
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
