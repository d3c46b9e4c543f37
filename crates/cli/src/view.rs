//! `ltt view` / `ltt convert`: auto-discover CTF traces below the given
//! paths, mux their streams, and print them as babeltrace2 does.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use ltt_graph::checked::Checked;
use ltt_graph::color::Colors;
use ltt_graph::filter::Filter;
use ltt_graph::iter::MessageIterator;
use ltt_graph::muxer::Muxer;
use ltt_graph::sink::counter::Counter;
use ltt_graph::sink::ctf::CtfSink;
use ltt_graph::sink::details::{Details, DetailsOptions};
use ltt_graph::sink::pretty::{Pretty, PrettyOptions};
use ltt_graph::sink::{self, Dummy, Sink};
use ltt_graph::source::{self, CtfFsParams, CtfStreamIter};
use ltt_graph::trimmer::{parse_bound, Bound, Trimmer};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human-readable text (sink.text.pretty).
    Text,
    /// Discard everything (sink.utils.dummy).
    Dummy,
    /// Count messages by type (sink.utils.counter).
    Counter,
    /// Write a CTF 1.8 trace into the --output directory (sink.ctf.fs).
    Ctf,
    /// Print the metadata text of one trace directory.
    CtfMetadata,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ColorWhen {
    Never,
    Auto,
    Always,
}

#[derive(Args, Debug)]
pub struct ViewArgs {
    /// Trace directories, or directories to search for traces (`ltt view`
    /// alone: the current session's trace; `ltt view NAME`: session NAME's).
    pub paths: Vec<PathBuf>,
    /// Print timestamps as seconds since the origin ([sec.ns]).
    #[arg(long)]
    clock_seconds: bool,
    /// Print the date with timestamps.
    #[arg(long)]
    clock_date: bool,
    /// Print timestamps in UTC instead of local time.
    #[arg(long)]
    clock_gmt: bool,
    /// Print raw clock values (cycles) instead of times.
    #[arg(long)]
    clock_cycles: bool,
    /// Add SEC seconds to every clock's offset.
    #[arg(long, value_name = "SEC", allow_hyphen_values = true)]
    clock_offset: Option<i64>,
    /// Add NS nanoseconds to every clock's offset.
    #[arg(long, value_name = "NS", allow_hyphen_values = true)]
    clock_offset_ns: Option<i64>,
    /// Do not print the time delta between consecutive events.
    #[arg(long)]
    no_delta: bool,
    /// Field names to print: payload (args, arg), context (ctx), scope,
    /// header, all, none (comma-separated).
    #[arg(short = 'n', long, value_name = "LIST")]
    names: Option<String>,
    /// Extra fields to print: trace, trace:hostname, trace:domain,
    /// trace:procname, trace:vpid, loglevel, emf, callsite, all.
    #[arg(short = 'f', long, value_name = "LIST")]
    fields: Option<String>,
    /// When to color the text output.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorWhen,
    /// Drop events before TIME: `YYYY-MM-DD HH:MM[:SS[.NANO]]`,
    /// `HH:MM[:SS[.NANO]]` or `[-]SEC[.NANO]`.
    #[arg(short = 'b', long, value_name = "TIME", allow_hyphen_values = true)]
    begin: Option<String>,
    /// Drop events after TIME (same formats as --begin).
    #[arg(short = 'e', long, value_name = "TIME", allow_hyphen_values = true)]
    end: Option<String>,
    /// Keep events within BEGIN,END (optionally in square brackets).
    #[arg(long, value_name = "BEGIN,END", conflicts_with_all = ["begin", "end"])]
    timerange: Option<String>,
    /// Keep only the events an LTTng filter expression accepts, e.g.
    /// `--filter 'v > 10 && $ctx.procname == "app*"'` (payload fields by
    /// name, `$ctx.NAME` for contexts, `a[2]`, `<< >> & | ^`, globs).
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    filter: Option<String>,
    /// Output format.
    #[arg(
        short = 'o',
        long = "output-format",
        value_enum,
        default_value = "text"
    )]
    output_format: OutputFormat,
    /// Sink component instead of the output format, as babeltrace2 names
    /// them: sink.text.pretty, sink.text.details, sink.utils.counter,
    /// sink.utils.dummy, sink.ctf.fs (optionally prefixed by `NAME:`).
    #[arg(
        short = 'c',
        long = "component",
        value_name = "[NAME:]TYPE.PLUGIN.CLASS"
    )]
    component: Option<String>,
    /// Write the text output to FILE instead of stdout.
    #[arg(short = 'w', long = "output", value_name = "PATH")]
    output: Option<PathBuf>,
}

/// Applies `-n/--names` like babeltrace2: naming any item hides the others.
fn apply_names(list: &str, o: &mut PrettyOptions) -> Result<()> {
    let (mut payload, mut context, mut scope, mut header) = (false, false, false, false);
    for item in list.split(',') {
        match item {
            "payload" | "args" | "arg" => payload = true,
            "context" | "ctx" => context = true,
            "scope" => scope = true,
            "header" => header = true,
            "all" => (payload, context, scope, header) = (true, true, true, true),
            "none" => (payload, context, scope, header) = (false, false, false, false),
            other => bail!("unknown field name `{other}` in --names (expected payload, context, scope, header, all or none)"),
        }
    }
    o.name_payload = payload;
    o.name_context = context;
    o.name_scope = scope;
    o.name_header = header;
    Ok(())
}

/// Applies `-f/--fields` like babeltrace2: naming any item hides the others.
fn apply_fields(list: &str, o: &mut PrettyOptions) -> Result<()> {
    o.field_trace = false;
    o.field_hostname = false;
    o.field_domain = false;
    o.field_procname = false;
    o.field_vpid = false;
    o.field_loglevel = false;
    o.field_emf = false;
    o.field_callsite = false;
    for item in list.split(',') {
        match item {
            "trace" => o.field_trace = true,
            "trace:hostname" => o.field_hostname = true,
            "trace:domain" => o.field_domain = true,
            "trace:procname" => o.field_procname = true,
            "trace:vpid" => o.field_vpid = true,
            "loglevel" => o.field_loglevel = true,
            "emf" => o.field_emf = true,
            "callsite" => o.field_callsite = true,
            "all" => {
                o.field_trace = true;
                o.field_hostname = true;
                o.field_domain = true;
                o.field_procname = true;
                o.field_vpid = true;
                o.field_loglevel = true;
                o.field_emf = true;
                o.field_callsite = true;
            }
            other => bail!("unknown field `{other}` in --fields (expected trace, trace:hostname, trace:domain, trace:procname, trace:vpid, loglevel, emf, callsite or all)"),
        }
    }
    Ok(())
}

fn pretty_options(args: &ViewArgs, to_stdout: bool) -> Result<PrettyOptions> {
    let mut o = PrettyOptions {
        no_delta: args.no_delta,
        clock_cycles: args.clock_cycles,
        clock_seconds: args.clock_seconds,
        clock_date: args.clock_date,
        clock_gmt: args.clock_gmt,
        ..PrettyOptions::default()
    };
    if let Some(n) = &args.names {
        apply_names(n, &mut o)?;
    }
    if let Some(f) = &args.fields {
        apply_fields(f, &mut o)?;
    }
    let enabled = match args.color {
        ColorWhen::Never => false,
        ColorWhen::Always => true,
        ColorWhen::Auto => to_stdout,
    };
    o.colors = Colors::new(enabled);
    Ok(o)
}

/// Builds the source iterators for every trace found below `paths`; also
/// returns how many traces there are.
pub fn open_sources(args: &ViewArgs) -> Result<(Vec<CtfStreamIter>, usize)> {
    let found = source::discover(&args.paths)?;
    if found.is_empty() {
        let shown: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        bail!("no CTF trace found in {}", shown.join(", "));
    }
    let traces = found.len();
    let mut iters = Vec::new();
    for t in found {
        crate::log::info(|| {
            let dirs: Vec<String> = t.dirs.iter().map(|d| d.display().to_string()).collect();
            format!(
                "trace {}: {}",
                t.trace_name.as_deref().unwrap_or("(unnamed)"),
                dirs.join(", ")
            )
        });
        let params = CtfFsParams {
            inputs: t.dirs,
            trace_name: t.trace_name,
            clock_offset_s: args.clock_offset.unwrap_or(0),
            clock_offset_ns: args.clock_offset_ns.unwrap_or(0),
            force_clock_origin_unix_epoch: false,
            threads: crate::decode_threads(),
        };
        for it in source::open(&params)? {
            crate::log::debug(|| format!("stream {} (id {})", it.stream().name, it.stream().id));
            iters.push(it);
        }
    }
    Ok((iters, traces))
}

/// Where messages go.
enum Output {
    Format(OutputFormat),
    Details,
}

/// The sink a `-c` component names.
fn sink_for_component(spec: &str) -> Result<Output> {
    let class = spec.rsplit_once(':').map_or(spec, |(_, c)| c);
    let class = class.strip_prefix("sink.").unwrap_or(class);
    Ok(match class {
        "text.pretty" => Output::Format(OutputFormat::Text),
        "text.details" => Output::Details,
        "utils.counter" => Output::Format(OutputFormat::Counter),
        "utils.dummy" => Output::Format(OutputFormat::Dummy),
        "ctf.fs" => Output::Format(OutputFormat::Ctf),
        _ => bail!(
            "unknown sink component `{spec}` (known: sink.text.pretty, sink.text.details, sink.utils.counter, sink.utils.dummy, sink.ctf.fs)"
        ),
    })
}

/// The trimmer bounds from --begin/--end/--timerange.
fn bounds(args: &ViewArgs) -> Result<(Option<Bound>, Option<Bound>)> {
    let (b, e) = match &args.timerange {
        Some(r) => {
            let r = r.trim();
            let r = r
                .strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .unwrap_or(r);
            let (b, e) = r
                .split_once(',')
                .with_context(|| format!("invalid --timerange `{r}`: expected BEGIN,END"))?;
            (Some(b.to_owned()), Some(e.to_owned()))
        }
        None => (args.begin.clone(), args.end.clone()),
    };
    let parse = |s: Option<String>| -> Result<Option<Bound>> {
        s.map(|s| parse_bound(&s, args.clock_gmt).map_err(anyhow::Error::msg))
            .transpose()
    };
    Ok((parse(b)?, parse(e)?))
}

pub fn run(args: ViewArgs) -> Result<()> {
    if args.output_format == OutputFormat::CtfMetadata && args.component.is_none() {
        return crate::metadata_text::print(&args.paths);
    }
    let (begin, end) = bounds(&args)?;
    let (sources, traces) = open_sources(&args)?;
    let single_trace = traces <= 1;
    let muxer = Muxer::new(sources);
    let mut upstream: Box<dyn MessageIterator> = if begin.is_some() || end.is_some() {
        Box::new(Trimmer::new(muxer, begin, end, args.clock_gmt))
    } else {
        Box::new(muxer)
    };
    if let Some(expr) = &args.filter {
        let bytecode = ltt_filter::compile_str(expr, None)
            .map_err(|e| anyhow::anyhow!("invalid filter:\n{e}"))?;
        upstream = Box::new(Filter::new(upstream, bytecode));
    }
    if crate::developer_mode() {
        upstream = Box::new(Checked::new(upstream));
    }
    let format = match &args.component {
        Some(c) => sink_for_component(c)?,
        None => Output::Format(args.output_format),
    };
    let out: Box<dyn Write> = match &args.output {
        Some(_) if matches!(format, Output::Format(OutputFormat::Ctf)) => Box::new(std::io::sink()),
        Some(p) => Box::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let out = BufWriter::with_capacity(1 << 16, out);
    let mut sink: Box<dyn Sink> = match format {
        Output::Details => Box::new(Details::new(out, DetailsOptions::default())),
        Output::Format(OutputFormat::Text) => Box::new(Pretty::new(
            out,
            pretty_options(&args, args.output.is_none())?,
        )),
        Output::Format(OutputFormat::Dummy) => Box::new(Dummy),
        Output::Format(OutputFormat::CtfMetadata) => {
            bail!("-o ctf-metadata prints a trace's metadata: it takes no -c component")
        }
        Output::Format(OutputFormat::Counter) => Box::new(Counter::new(out, 0, false)),
        Output::Format(OutputFormat::Ctf) => {
            let dir = args
                .output
                .as_ref()
                .context("CTF output needs an output directory: -w DIR")?;
            Box::new(CtfSink::new(dir, single_trace))
        }
    };
    let started = std::time::Instant::now();
    sink::run(upstream.as_mut(), sink.as_mut())?;
    crate::log::info(|| format!("done in {:.3} s", started.elapsed().as_secs_f64()));
    Ok(())
}
