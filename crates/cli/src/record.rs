//! `ltt record [-o DIR] [-u GLOB]... [--filter EXPR]... -- CMD ARGS...`:
//! run a command with tracing on and write its trace, the one-shot form of
//! `create` + `enable-event` + `start` + run + `destroy`.
//!
//! The session (socket, ring buffers, consumer) lives in this process for
//! the command's lifetime; the command and everything it starts find the
//! socket through `LTT_UST_SOCKET`. The command's stdout is left alone: the
//! summary goes to stderr, and `ltt record` exits with the command's status.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};
use ltt_sessiond::{Session, SessionConfig, Summary};

#[derive(clap::Args, Debug)]
pub struct RecordArgs {
    /// Output directory (default: $HOME/ltt-traces/record-YYYYmmdd-HHMMSS).
    /// The trace goes to DIR/ust/uid/UID/64-bit, as LTTng lays it out.
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Record only events whose `provider:event` name matches this glob
    /// (`*` = anything); repeat or separate with commas. Default: all.
    #[arg(
        short = 'u',
        long = "event",
        value_name = "EVENT_GLOB",
        value_delimiter = ','
    )]
    events: Vec<String>,
    /// Record only the events this LTTng filter expression accepts, e.g.
    /// `--filter 'v < 10 || $ctx.procname == "app*"'` (payload fields by
    /// name, contexts as `$ctx.vpid`, `$ctx.vtid`, `$ctx.procname`...).
    /// Applied in the traced processes before anything is written, so
    /// rejected events are neither recorded nor discarded. Repeat for
    /// several rules: an event is recorded if any filter accepts it.
    #[arg(long = "filter", value_name = "EXPR")]
    filters: Vec<String>,
    /// Size of each per-CPU sub-buffer (suffixes k, M, G; rounded up to a
    /// power of two, at least 4k).
    #[arg(long, value_name = "SIZE", default_value = "512k", value_parser = parse_size)]
    subbuf_size: u32,
    /// Sub-buffers per CPU (rounded up to a power of two, at least 2).
    #[arg(long, value_name = "N", default_value_t = ltt_sessiond::DEFAULT_NUM_SUBBUFS)]
    num_subbuf: u32,
    /// Add a context field to every event (vpid, vtid and procname are
    /// always there), e.g. `-t ip -t perf:thread:page-fault`; repeat or
    /// separate with commas. See `ltt add-context --help` for the types.
    #[arg(short = 't', long = "context", value_name = "TYPE", value_delimiter = ',', value_parser = parse_context)]
    contexts: Vec<ltt_ust::Context>,
    /// One trace per traced process (`ust/pid/PROCNAME-PID-DATETIME/`)
    /// instead of one for all of them.
    #[arg(long)]
    buffers_pid: bool,
    /// Let the command's tracepoints wait up to US µs (or `inf`) for room
    /// in a full buffer instead of discarding events: nothing is lost, at
    /// the price of slowing the command down (ltt sets
    /// LTT_UST_ALLOW_BLOCKING=1 for it).
    #[arg(long, value_name = "US|inf", value_parser = crate::session::parse_blocking)]
    blocking_timeout: Option<u64>,
    /// The command to trace, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

/// An `add-context` type name.
fn parse_context(s: &str) -> Result<ltt_ust::Context, String> {
    ltt_ust::Context::from_name(s).ok_or_else(|| {
        let known: Vec<&str> = ltt_ust::Context::names().collect();
        format!("unknown context `{s}` (one of: {})", known.join(", "))
    })
}

/// `512k`, `1M`, `4096`: LTTng's size syntax (binary multiples).
pub fn parse_size(s: &str) -> Result<u32, String> {
    let (digits, mult) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 4096, 64k, 1M)"))?;
    n.checked_mul(mult)
        .and_then(|v| u32::try_from(v).ok())
        .filter(|&v| v > 0 && v <= 1 << 30)
        .ok_or_else(|| format!("`{s}` is out of range (1 byte to 1G)"))
}

pub fn run(args: RecordArgs) -> anyhow::Result<()> {
    let output = args
        .output
        .unwrap_or_else(|| ltt_sessiond::default_output_dir("record"));
    // Refuse a bad filter before anything starts (the error shows where).
    for f in &args.filters {
        if let Err(e) = ltt_filter::compile_str(f, None) {
            bail!("invalid filter:\n{e}");
        }
    }
    let event_globs = if args.events.is_empty() {
        vec!["*".to_string()]
    } else {
        args.events
    };
    let session = Session::start(SessionConfig {
        output: output.clone(),
        event_globs,
        filters: args.filters,
        subbuf_size: args.subbuf_size,
        num_subbufs: args.num_subbuf,
        per_pid: args.buffers_pid,
        blocking_us: args.blocking_timeout.unwrap_or(0),
        contexts: {
            let mut c = ltt_ust::DEFAULT_CONTEXTS.to_vec();
            for extra in args.contexts {
                if !c.contains(&extra) {
                    c.push(extra);
                }
            }
            c
        },
        ..SessionConfig::default()
    })
    .with_context(|| format!("cannot record to {}", output.display()))?;

    let (program, cmd_args) = args.command.split_first().context("no command given")?;
    let mut cmd = Command::new(program);
    cmd.args(cmd_args)
        .env(ltt_sessiond::SOCKET_ENV, session.socket_path());
    if args.blocking_timeout.is_some_and(|t| t > 0) {
        cmd.env(ltt_ust::ALLOW_BLOCKING_ENV, "1");
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            session.abandon();
            bail!("cannot run {}: {e}", program.to_string_lossy());
        }
    };
    let status = {
        let _ignored = ltt_sessiond::sys::TerminalSignalsIgnored::new();
        child.wait().context("waiting for the command")?
    };
    let summary = session.stop().context("finishing the trace")?;
    print_summary(&output, &summary)?;

    let code = exit_code(status);
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}

/// The command's exit status as a shell reports it (128 + signal).
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

fn print_summary(output: &std::path::Path, s: &Summary) -> std::io::Result<()> {
    let mut err = std::io::stderr().lock();
    writeln!(err, "Trace written to {}", output.display())?;
    for w in &s.warnings {
        writeln!(err, "  warning: {w}")?;
    }
    let width = s
        .events
        .iter()
        .map(|(_, n)| n.to_string().len())
        .chain([s.recorded.to_string().len(), 6])
        .max()
        .unwrap_or(6);
    writeln!(err, "  {:>width$}  EVENT", "EVENTS")?;
    // Providers none of whose events was recorded are summed up in one
    // line (an app declares all its providers, used or not).
    let provider = |name: &str| name.split(':').next().unwrap_or_default().to_string();
    let used: std::collections::BTreeSet<String> = s
        .events
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, _)| provider(name))
        .collect();
    let mut idle = std::collections::BTreeMap::<String, usize>::new();
    for (name, n) in &s.events {
        if used.contains(&provider(name)) {
            writeln!(err, "  {n:>width$}  {name}")?;
        } else {
            *idle.entry(provider(name)).or_default() += 1;
        }
    }
    for (p, k) in &idle {
        writeln!(err, "  {:>width$}  {p}:* ({k} events declared)", 0)?;
    }
    writeln!(err, "  {:>width$}  recorded", s.recorded)?;
    writeln!(err, "  {:>width$}  discarded", s.discarded)?;
    let apps = s.apps.len();
    writeln!(
        err,
        "  {} in {} stream file{} + metadata; {apps} traced process{}",
        human_bytes(s.bytes),
        s.stream_files,
        if s.stream_files == 1 { "" } else { "s" },
        if apps == 1 { "" } else { "es" },
    )?;
    if s.discarded > 0 {
        writeln!(
            err,
            "  (events were discarded: try a larger --subbuf-size or --num-subbuf)"
        )?;
    }
    writeln!(err, "View it with: ltt view {}", output.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64k"), Ok(65536));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert!(parse_size("2G").is_err());
        assert!(parse_size("x").is_err());
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
