//! `ltt graph`: an explicit processing graph, like `babeltrace2 run`:
//! components (`-c NAME:TYPE.PLUGIN.CLASS`, `-p PARAMS`) and connections
//! (`-x UPSTREAM:DOWNSTREAM`). Sources expose one port per stream; a
//! muxer takes any number of inputs; a trimmer and a sink take one.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use ltt_graph::color::Colors;
use ltt_graph::filter::Filter;
use ltt_graph::iter::MessageIterator;
use ltt_graph::muxer::Muxer;
use ltt_graph::sink::counter::Counter;
use ltt_graph::sink::ctf::CtfSink;
use ltt_graph::sink::details::{Details, DetailsOptions};
use ltt_graph::sink::pretty::{Pretty, PrettyOptions};
use ltt_graph::sink::{self, Dummy, Sink};
use ltt_graph::source::{self, CtfFsParams};
use ltt_graph::trimmer::{parse_bound, Trimmer};

use crate::params::{self, Value};

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// A component: `[NAME:]TYPE.PLUGIN.CLASS` (source.ctf.fs,
    /// filter.utils.muxer, filter.utils.trimmer, sink.text.pretty,
    /// sink.text.details, sink.utils.counter, sink.utils.dummy, sink.ctf.fs,
    /// and filter.ltt.filter with `expression="EXPR"`).
    #[arg(
        short = 'c',
        long = "component",
        value_name = "[NAME:]CLASS",
        required = true
    )]
    components: Vec<String>,
    /// Parameters of the component given just before (`k=v,k2=[a, b]`).
    #[arg(short = 'p', long = "params", value_name = "PARAMS")]
    params: Vec<String>,
    /// Connects UPSTREAM[.PORT] to DOWNSTREAM[.PORT] (names may end with `*`).
    #[arg(short = 'x', long = "connect", value_name = "UP:DOWN")]
    connect: Vec<String>,
}

/// A component as declared.
struct Component {
    name: String,
    class: String,
    params: BTreeMap<String, Value>,
}

/// Pairs each `-c` with the `-p` that follows it, using clap's indices.
fn components(args: &GraphArgs, matches: &[(usize, String, bool)]) -> Result<Vec<Component>> {
    let mut out: Vec<Component> = Vec::new();
    for (_, text, is_component) in matches {
        if *is_component {
            let (name, class) = match text.rsplit_once(':') {
                Some((n, c)) => (n.to_owned(), c.to_owned()),
                None => (text.clone(), text.clone()),
            };
            let class = normalize_class(&class);
            if out.iter().any(|c| c.name == name) {
                bail!("two components are named `{name}`");
            }
            out.push(Component {
                name,
                class,
                params: BTreeMap::new(),
            });
        } else {
            let Some(last) = out.last_mut() else {
                bail!("-p {text}: parameters must follow a -c component");
            };
            last.params.extend(params::parse(text)?);
        }
    }
    let _ = args;
    Ok(out)
}

/// `src.ctf.fs` → `source.ctf.fs`, `flt.…` → `filter.…`.
fn normalize_class(class: &str) -> String {
    if let Some(rest) = class.strip_prefix("src.") {
        format!("source.{rest}")
    } else if let Some(rest) = class.strip_prefix("flt.") {
        format!("filter.{rest}")
    } else {
        class.to_owned()
    }
}

fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// Builds the iterators feeding component `name`'s output.
fn outputs(
    name: &str,
    comps: &[Component],
    links: &[(String, String)],
    depth: usize,
) -> Result<Vec<Box<dyn MessageIterator>>> {
    if depth > comps.len() {
        bail!("the connections form a cycle through `{name}`");
    }
    let comp = comps
        .iter()
        .find(|c| c.name == name)
        .with_context(|| format!("no component named `{name}`"))?;
    let inputs = || -> Result<Vec<Box<dyn MessageIterator>>> {
        let mut all = Vec::new();
        for (up, down) in links {
            if name_matches(down, name) {
                for c in comps.iter().filter(|c| name_matches(up, &c.name)) {
                    all.extend(outputs(&c.name, comps, links, depth + 1)?);
                }
            }
        }
        if all.is_empty() {
            bail!("component `{name}` has no input connected (use -x UPSTREAM:{name})");
        }
        Ok(all)
    };
    let p = &comp.params;
    match comp.class.as_str() {
        "source.ctf.fs" => {
            let inputs: Vec<PathBuf> = match p.get("inputs") {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(PathBuf::from)
                            .context("inputs must be strings")
                    })
                    .collect::<Result<_>>()?,
                Some(Value::Str(s)) => vec![PathBuf::from(s)],
                _ => bail!("source.ctf.fs `{name}` needs `inputs=[\"TRACE_DIR\", ...]`"),
            };
            let params = CtfFsParams {
                inputs,
                trace_name: p
                    .get("trace-name")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                clock_offset_s: p
                    .get("clock-class-offset-s")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
                clock_offset_ns: p
                    .get("clock-class-offset-ns")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
                force_clock_origin_unix_epoch: p
                    .get("force-clock-class-origin-unix-epoch")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                threads: crate::decode_threads(),
            };
            Ok(source::open(&params)?
                .into_iter()
                .map(|it| Box::new(it) as Box<dyn MessageIterator>)
                .collect())
        }
        "filter.utils.muxer" => Ok(vec![Box::new(Muxer::new(inputs()?))]),
        "filter.utils.trimmer" => {
            let mut ins = inputs()?;
            if ins.len() != 1 {
                bail!("filter.utils.trimmer `{name}` takes one input: connect a muxer to it");
            }
            let gmt = p.get("gmt").and_then(Value::as_bool).unwrap_or(false);
            let bound = |key: &str| -> Result<_> {
                p.get(key)
                    .map(|v| {
                        let text = match v {
                            Value::Str(s) => s.clone(),
                            Value::Int(i) => i.to_string(),
                            Value::Uint(u) => u.to_string(),
                            Value::Real(r) => r.to_string(),
                            _ => bail!("trimmer `{key}` must be a time"),
                        };
                        parse_bound(&text, gmt).map_err(anyhow::Error::msg)
                    })
                    .transpose()
            };
            let (begin, end) = (bound("begin")?, bound("end")?);
            let up = ins.pop().expect("one input");
            Ok(vec![Box::new(Trimmer::new(up, begin, end, gmt))])
        }
        "filter.ltt.filter" => {
            let mut ins = inputs()?;
            if ins.len() != 1 {
                bail!("filter.ltt.filter `{name}` takes one input: connect a muxer to it");
            }
            let expr = p
                .get("expression")
                .and_then(Value::as_str)
                .context("filter.ltt.filter needs `expression=\"EXPR\"`")?;
            let bytecode = ltt_filter::compile_str(expr, None)
                .map_err(|e| anyhow::anyhow!("invalid filter:\n{e}"))?;
            let up = ins.pop().expect("one input");
            Ok(vec![Box::new(Filter::new(up, bytecode))])
        }
        other => bail!("`{name}` ({other}) has no output port"),
    }
}

fn flag(p: &BTreeMap<String, Value>, key: &str, default: bool) -> bool {
    p.get(key).and_then(Value::as_bool).unwrap_or(default)
}

/// The sink component `comp` writing to stdout (or its `path`).
fn make_sink(comp: &Component) -> Result<Box<dyn Sink>> {
    let p = &comp.params;
    let out: Box<dyn Write> = match p.get("path").and_then(Value::as_str) {
        Some(path) if comp.class != "sink.ctf.fs" => {
            Box::new(std::fs::File::create(path).with_context(|| format!("cannot create {path}"))?)
        }
        _ => Box::new(std::io::stdout().lock()),
    };
    let out = BufWriter::with_capacity(1 << 16, out);
    Ok(match comp.class.as_str() {
        "sink.text.pretty" => {
            let d = PrettyOptions::default();
            let names = p.get("name-default").and_then(Value::as_str);
            let fields = p.get("field-default").and_then(Value::as_str);
            let name = |k: &str, def: bool| flag(p, k, names.map_or(def, |n| n == "show"));
            let field = |k: &str, def: bool| flag(p, k, fields.map_or(def, |f| f == "show"));
            let color = p.get("color").and_then(Value::as_str).unwrap_or("auto");
            Box::new(Pretty::new(
                out,
                PrettyOptions {
                    no_delta: flag(p, "no-delta", false),
                    clock_cycles: flag(p, "clock-cycles", false),
                    clock_seconds: flag(p, "clock-seconds", false),
                    clock_date: flag(p, "clock-date", false),
                    clock_gmt: flag(p, "clock-gmt", false),
                    name_payload: name("name-payload", d.name_payload),
                    name_context: name("name-context", d.name_context),
                    name_scope: name("name-scope", d.name_scope),
                    name_header: name("name-header", d.name_header),
                    field_trace: field("field-trace", d.field_trace),
                    field_hostname: field("field-trace:hostname", d.field_hostname),
                    field_domain: field("field-trace:domain", d.field_domain),
                    field_procname: field("field-trace:procname", d.field_procname),
                    field_vpid: field("field-trace:vpid", d.field_vpid),
                    field_loglevel: field("field-loglevel", d.field_loglevel),
                    field_emf: field("field-emf", d.field_emf),
                    field_callsite: field("field-callsite", d.field_callsite),
                    colors: Colors::new(color == "always" || color == "auto"),
                },
            ))
        }
        "sink.text.details" => {
            let d = DetailsOptions::default();
            Box::new(Details::new(
                out,
                DetailsOptions {
                    compact: flag(p, "compact", d.compact),
                    with_metadata: flag(p, "with-metadata", d.with_metadata),
                    with_time: flag(p, "with-time", d.with_time),
                    with_trace_name: flag(p, "with-trace-name", d.with_trace_name),
                    with_stream_class_name: flag(
                        p,
                        "with-stream-class-name",
                        d.with_stream_class_name,
                    ),
                    with_stream_name: flag(p, "with-stream-name", d.with_stream_name),
                    with_uuid: flag(p, "with-uuid", d.with_uuid),
                    ..d
                },
            ))
        }
        "sink.utils.counter" => {
            let step = match p.get("step") {
                Some(v) => u64::try_from(v.as_i64().context("counter `step` must be an integer")?)
                    .context("counter `step` must not be negative")?,
                None => 1000,
            };
            Box::new(Counter::new(out, step, flag(p, "hide-zero", false)))
        }
        "sink.utils.dummy" => Box::new(Dummy),
        "sink.ctf.fs" => {
            let path = p
                .get("path")
                .and_then(Value::as_str)
                .context("sink.ctf.fs needs `path=OUTPUT_DIR`")?;
            Box::new(CtfSink::new(
                std::path::Path::new(path),
                flag(p, "assume-single-trace", false),
            ))
        }
        other => bail!("unknown component class `{other}`"),
    })
}

/// Runs the graph. `order` lists (argument index, text, is-component) for
/// every -c and -p in command-line order.
pub fn run(args: GraphArgs, order: Vec<(usize, String, bool)>) -> Result<()> {
    let comps = components(&args, &order)?;
    let links: Vec<(String, String)> = args
        .connect
        .iter()
        .map(|c| {
            let (up, down) = c.split_once(':').with_context(|| {
                format!("invalid connection `{c}`: expected UPSTREAM:DOWNSTREAM")
            })?;
            // Port names are accepted and ignored: ports are implied.
            let strip = |s: &str| s.split('.').next().unwrap_or(s).to_owned();
            Ok((strip(up), strip(down)))
        })
        .collect::<Result<_>>()?;
    let sinks: Vec<&Component> = comps
        .iter()
        .filter(|c| c.class.starts_with("sink."))
        .collect();
    let [sink_comp] = sinks.as_slice() else {
        bail!(
            "the graph needs exactly one sink component (it has {})",
            sinks.len()
        );
    };
    let mut ins = Vec::new();
    for (up, down) in &links {
        if name_matches(down, &sink_comp.name) {
            for c in comps.iter().filter(|c| name_matches(up, &c.name)) {
                ins.extend(outputs(&c.name, &comps, &links, 0)?);
            }
        }
    }
    let mut upstream = match ins.len() {
        0 => bail!("nothing is connected to the sink `{}`", sink_comp.name),
        1 => ins.pop().expect("one input"),
        n => bail!(
            "the sink `{}` has {n} inputs (one per stream): connect them through a filter.utils.muxer",
            sink_comp.name
        ),
    };
    let mut sink = make_sink(sink_comp)?;
    sink::run(upstream.as_mut(), sink.as_mut())?;
    Ok(())
}
