//! `ltt-bench`: benchmarks that put ltt next to the tool it replaces, in the
//! same run, on the same input, and report what users compare (events/s,
//! ns/event, peak RSS, and the ratio to the real tool).
//!
//! This file only dispatches: each subcommand is a module with
//! `ABOUT: &str` and `run(args: Vec<String>) -> anyhow::Result<()>`, and
//! parses its own arguments. To add one, add the module and one line to
//! [`COMMANDS`].

mod filter;
mod flags;
mod reader;
mod tracepoint;

use std::process::ExitCode;

/// A subcommand: its name, one line for `--help`, and its entry point
/// (which receives the arguments after the subcommand's name).
struct Command {
    name: &'static str,
    about: &'static str,
    run: fn(Vec<String>) -> anyhow::Result<()>,
}

const COMMANDS: &[Command] = &[
    Command {
        name: "reader",
        about: reader::ABOUT,
        run: reader::run,
    },
    Command {
        name: "tracepoint",
        about: tracepoint::ABOUT,
        run: tracepoint::run,
    },
    Command {
        name: "filter",
        about: filter::ABOUT,
        run: filter::run,
    },
    Command {
        name: "rseq",
        about: "current_cpu vs sched_getcpu; per-CPU add, rseq vs atomic",
        run: |args| ltt_rseq::bench::run(&args),
    },
    Command {
        name: "ringbuf",
        about: "reserve+commit of 16-byte records on 1 and 2 threads; consumer MB/s",
        run: |args| ltt_ringbuf::bench::run(&args),
    },
];

fn usage() -> String {
    let mut s = String::from(
        "usage: ltt-bench <COMMAND> [ARGS...]\n       ltt-bench <COMMAND> --help\n\ncommands:\n",
    );
    let width = COMMANDS.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in COMMANDS {
        s.push_str(&format!("  {:width$}  {}\n", c.name, c.about));
    }
    s
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(name) = args.next() else {
        eprint!("{}", usage());
        return ExitCode::from(2);
    };
    if matches!(name.as_str(), "-h" | "--help" | "help") {
        print!("{}", usage());
        return ExitCode::SUCCESS;
    }
    let Some(command) = COMMANDS.iter().find(|c| c.name == name) else {
        eprint!("ltt-bench: unknown command `{name}`\n\n{}", usage());
        return ExitCode::from(2);
    };
    match (command.run)(args.collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ltt-bench {}: error: {e:#}", command.name);
            ExitCode::FAILURE
        }
    }
}
