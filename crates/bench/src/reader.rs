//! `ltt-bench reader`: ltt's trace reader against babeltrace2, on the same
//! trace files, in the same run.
//!
//! Two traces are recorded once and cached: many 1-int events (the
//! per-event cost of reading) and fewer events carrying every LTTng-UST
//! field type (the cost of decoding and formatting). They come from real
//! LTTng when it is installed, so we measure what users read; otherwise
//! from ltt's CTF writer. Each tool then runs as a child process, timed
//! with the wall clock, its peak RSS taken from `wait4`: dummy sink (pure
//! reading and decoding), pretty text to /dev/null, and CTF→CTF.

pub(crate) mod lttng;
pub(crate) mod measure;
mod report;
mod writer;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

pub const ABOUT: &str =
    "trace reading: ltt vs babeltrace2 (dummy, text, CTF->CTF; events/s, peak RSS)";

const USAGE: &str = "\
usage: ltt-bench reader [OPTIONS]

Records (once, then cached) a trace of 1-int events and one of all-types
events with real LTTng when installed, else with ltt's CTF writer, then
times babeltrace2 and ltt reading them: dummy sink, pretty text to
/dev/null, CTF->CTF. Prints a table, then one line of JSON.

Build both binaries into one target directory first:
  cargo build --release -p ltt-cli -p ltt-bench

options:
  --events N             1-int events (default 5000000)
  --all-types-events N   all-types events (default 1000000)
  --quick                100000 / 20000 events: a smoke run
  --only CASES           dummy, text, ctf (comma-separated; default all)
  --repeat N             best of N runs for each figure (default 1)
  --threads N            threads of the traced app (default 2)
  --generator G          auto, lttng or ltt (default auto: lttng if installed)
  --regenerate           record the traces again even when cached
  --ltt PATH             the ltt binary (default: `ltt` next to ltt-bench)
  --babeltrace2 PATH     the babeltrace2 binary (default: from PATH)
  --cache-dir DIR        traces, app build, outputs (default: TARGET/ltt-bench)
  -h, --help             this text
";

/// The figures the issue sets: ltt events/s over babeltrace2's.
const GOALS: [(Case, f64); 3] = [(Case::Dummy, 10.0), (Case::Text, 5.0), (Case::Ctf, 5.0)];
/// ltt's peak RSS must stay under this whatever the trace size.
const RSS_GOAL: u64 = 64 << 20;

/// The two kinds of benchmark event (names shared with the C app and the
/// LTTng event names `lab:NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    OneInt,
    AllTypes,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::OneInt => "one_int",
            Kind::AllTypes => "all_types",
        }
    }
}

/// What the tools are asked to do with a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Dummy,
    Text,
    Ctf,
}

impl Case {
    const ALL: [Case; 3] = [Case::Dummy, Case::Text, Case::Ctf];

    fn name(self) -> &'static str {
        match self {
            Case::Dummy => "dummy",
            Case::Text => "text",
            Case::Ctf => "ctf",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Babeltrace2,
    Ltt,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Babeltrace2 => "babeltrace2",
            Tool::Ltt => "ltt",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Generator {
    Auto,
    Lttng,
    Ltt,
}

#[derive(Debug)]
struct Options {
    events: u64,
    all_types_events: u64,
    cases: Vec<Case>,
    repeat: u32,
    threads: u32,
    generator: Generator,
    regenerate: bool,
    ltt: Option<PathBuf>,
    babeltrace2: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
}

impl Options {
    /// Parses the arguments; `Ok(None)` means `--help` was printed.
    fn parse(args: Vec<String>) -> Result<Option<Options>> {
        let mut o = Options {
            events: 5_000_000,
            all_types_events: 1_000_000,
            cases: Case::ALL.to_vec(),
            repeat: 1,
            threads: 2,
            generator: Generator::Auto,
            regenerate: false,
            ltt: None,
            babeltrace2: None,
            cache_dir: None,
        };
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let flag = crate::flags::Flag::parse(arg);
            let name = flag.name.clone();
            let mut value = || flag.value(&mut it, USAGE);
            match name.as_str() {
                "-h" | "--help" => {
                    print!("{USAGE}");
                    return Ok(None);
                }
                "--events" => o.events = number(&name, &value()?)?,
                "--all-types-events" => o.all_types_events = number(&name, &value()?)?,
                "--quick" => (o.events, o.all_types_events) = (100_000, 20_000),
                "--only" => {
                    o.cases = value()?
                        .split(',')
                        .map(|c| match c.trim() {
                            "dummy" => Ok(Case::Dummy),
                            "text" => Ok(Case::Text),
                            "ctf" => Ok(Case::Ctf),
                            other => bail!(
                                "unknown case `{other}` in --only (expected dummy, text or ctf)"
                            ),
                        })
                        .collect::<Result<_>>()?
                }
                "--repeat" => o.repeat = number(&name, &value()?)?.clamp(1, 1000) as u32,
                "--threads" => o.threads = number(&name, &value()?)?.clamp(1, 1024) as u32,
                "--generator" => {
                    o.generator = match value()?.as_str() {
                        "auto" => Generator::Auto,
                        "lttng" => Generator::Lttng,
                        "ltt" => Generator::Ltt,
                        other => bail!("unknown generator `{other}` (expected auto, lttng or ltt)"),
                    }
                }
                "--regenerate" => o.regenerate = true,
                "--ltt" => o.ltt = Some(value()?.into()),
                "--babeltrace2" => o.babeltrace2 = Some(value()?.into()),
                "--cache-dir" => o.cache_dir = Some(value()?.into()),
                other => bail!("unknown argument `{other}`\n\n{USAGE}"),
            }
        }
        if o.events == 0 || o.all_types_events == 0 {
            bail!("event counts must be at least 1");
        }
        Ok(Some(o))
    }
}

fn number(name: &str, s: &str) -> Result<u64> {
    s.replace('_', "")
        .parse()
        .with_context(|| format!("{name}: `{s}` is not a non-negative integer"))
}

/// A benchmark trace on disk.
#[derive(Debug)]
struct Trace {
    kind: Kind,
    events: u64,
    dir: PathBuf,
    bytes: u64,
    generator: String,
}

/// One measured run (the best of `--repeat`).
#[derive(Debug)]
struct Row {
    kind: Kind,
    case: Case,
    tool: Tool,
    events: u64,
    /// The measurement, or why there is none.
    result: std::result::Result<measure::Outcome, String>,
}

impl Row {
    /// Events per wall-clock second: what the goals are stated in.
    fn events_per_s(&self) -> Option<f64> {
        let o = self.result.as_ref().ok()?;
        Some(self.events as f64 / o.wall.as_secs_f64().max(1e-9))
    }

    /// Events per CPU second: steadier than wall-clock time when other
    /// work competes for the CPUs (both tools read on one thread).
    fn events_per_cpu_s(&self) -> Option<f64> {
        let o = self.result.as_ref().ok()?;
        Some(self.events as f64 / o.cpu.as_secs_f64().max(1e-9))
    }
}

pub fn run(args: Vec<String>) -> Result<()> {
    let Some(opts) = Options::parse(args)? else {
        return Ok(());
    };
    let exe = std::env::current_exe().context("cannot find the ltt-bench executable")?;
    let exe_dir = exe.parent().context("ltt-bench has no parent directory")?;
    let ltt = match &opts.ltt {
        Some(p) => p.clone(),
        None => exe_dir.join("ltt"),
    };
    if !ltt.is_file() {
        bail!(
            "no ltt binary at {} (build it into the same target directory with \
             `cargo build --release -p ltt-cli`, or pass --ltt PATH)",
            ltt.display()
        );
    }
    let babeltrace2 = opts
        .babeltrace2
        .clone()
        .or_else(|| lttng::find_in_path("babeltrace2"));
    let cache = match &opts.cache_dir {
        Some(d) => d.clone(),
        // TARGET/release/ltt-bench → TARGET/ltt-bench.
        None => exe_dir.parent().unwrap_or(exe_dir).join("ltt-bench"),
    };
    fs::create_dir_all(&cache).with_context(|| format!("cannot create {}", cache.display()))?;

    let load_before = load_average();
    if let Some(load) = load_before {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if load > cpus as f64 {
            eprintln!(
                "ltt-bench: WARNING: load average {load:.2} exceeds the {cpus} CPUs: \
                 wall-clock figures will be noisy (use --repeat N, compare cpu_seconds)"
            );
        }
    }
    let bt2_version = babeltrace2.as_deref().map(version_of);
    match &bt2_version {
        Some(v) => eprintln!("ltt-bench: {v}; ltt at {}", ltt.display()),
        None => eprintln!("ltt-bench: babeltrace2 not found: its rows will be n/a"),
    }

    let traces = [
        prepare_trace(
            &opts,
            &cache,
            Kind::OneInt,
            opts.events,
            babeltrace2.as_deref(),
        )?,
        prepare_trace(
            &opts,
            &cache,
            Kind::AllTypes,
            opts.all_types_events,
            babeltrace2.as_deref(),
        )?,
    ];
    for t in &traces {
        check_ltt_count(&ltt, t);
    }

    let out_dir = cache.join("out");
    let mut rows = Vec::new();
    for trace in &traces {
        warm_up(&trace.dir);
        for &case in &opts.cases {
            // Repeats alternate between the tools so that both see the
            // same background load.
            let tools = [Tool::Babeltrace2, Tool::Ltt];
            let mut best = [None, None];
            for _ in 0..opts.repeat {
                for (tool, best) in tools.iter().zip(&mut best) {
                    let exe = match tool {
                        Tool::Babeltrace2 => babeltrace2.as_deref(),
                        Tool::Ltt => Some(ltt.as_path()),
                    };
                    let new = match exe {
                        Some(exe) => measure_once(exe, *tool, case, trace, &out_dir)?,
                        None => Err("babeltrace2 not found".to_string()),
                    };
                    *best = Some(keep_best(best.take(), new));
                }
            }
            for (tool, best) in tools.into_iter().zip(best) {
                let row = Row {
                    kind: trace.kind,
                    case,
                    tool,
                    events: trace.events,
                    result: best.unwrap_or_else(|| Err("not run".to_string())),
                };
                eprintln!("ltt-bench: {}", report::progress_line(&row));
                rows.push(row);
            }
        }
    }
    let _ = fs::remove_dir_all(&out_dir);

    print!("{}", report::table(&traces, &rows));
    let mut report = report::to_json(&traces, &rows, bt2_version.as_deref(), &ltt);
    report["repeat"] = json!(opts.repeat);
    report["load_average_before"] = json!(load_before);
    report["load_average_after"] = json!(load_average());
    println!("{report}");
    Ok(())
}

/// The 1-minute load average: other work on the machine skews wall-clock
/// times, so the report says how busy it was.
fn load_average() -> Option<f64> {
    fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The first line of `PROGRAM --version`.
fn version_of(program: &Path) -> String {
    Command::new(program)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| measure::first_line(&o.stdout))
        .unwrap_or_else(|| format!("{} (unknown version)", program.display()))
}

/// The cache stamp of a trace: what it was made from. A trace whose stamp
/// differs from the one wanted is recorded again.
fn stamp(generator: &str, kind: Kind, events: u64, threads: u32, sources: u64) -> Value {
    json!({
        "generator": generator,
        "kind": kind.name(),
        "events": events,
        "threads": threads,
        "sources": format!("{sources:016x}"),
    })
}

const STAMP_FILE: &str = ".ltt-bench.json";

/// Returns the cached trace of `events` events of `kind`, recording it
/// first when it is missing, stale, or `--regenerate` asks for it.
fn prepare_trace(
    opts: &Options,
    cache: &Path,
    kind: Kind,
    events: u64,
    babeltrace2: Option<&Path>,
) -> Result<Trace> {
    let use_lttng = match opts.generator {
        Generator::Lttng => {
            if let Some(why) = lttng::unavailable() {
                bail!("--generator lttng: LTTng is not usable: {why}");
            }
            true
        }
        Generator::Ltt => false,
        Generator::Auto => match lttng::unavailable() {
            None => true,
            Some(why) => {
                eprintln!(
                    "ltt-bench: note: real LTTng is not usable ({why}); \
                     the traces are written by ltt's CTF writer instead"
                );
                false
            }
        },
    };
    let (generator, sources) = if use_lttng {
        ("lttng", lttng::sources_hash())
    } else {
        ("ltt-writer", writer::format_hash())
    };
    let wanted = stamp(generator, kind, events, opts.threads, sources);
    let traces = cache.join("traces");
    let dir = traces.join(format!("{generator}-{}-{events}", kind.name()));
    let stamp_path = dir.join(STAMP_FILE);
    let cached = fs::read(&stamp_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let fresh = cached.as_ref().is_some_and(|c| {
        ["generator", "kind", "events", "threads", "sources"]
            .iter()
            .all(|k| c.get(k) == wanted.get(k))
    });
    if !fresh || opts.regenerate {
        let staging = traces.join(format!(".staging-{generator}-{}", kind.name()));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging)
            .with_context(|| format!("cannot create {}", staging.display()))?;
        let new = staging.join("trace");
        eprintln!(
            "ltt-bench: recording {events} {} events with {generator} into {}",
            kind.name(),
            dir.display()
        );
        if use_lttng {
            let app = lttng::build_app(&cache.join("lab-app"))?;
            lttng::record(&app, kind, events, opts.threads, &new)?;
        } else {
            writer::write_trace(kind, events, opts.threads, &new)?;
        }
        let mut stamp = wanted.clone();
        stamp["made_with"] = json!(if use_lttng {
            lttng::version()
        } else {
            "ltt-ctf writer".to_string()
        });
        if let Some(bt2) = babeltrace2 {
            let n = count_events(bt2, &[], &new, &["-c", "sink.utils.counter"])
                .context("counting the new trace's events with babeltrace2")?;
            if n != events {
                bail!(
                    "babeltrace2 reads {n} events in the new trace {}, expected {events}",
                    new.display()
                );
            }
            stamp["verified_by"] = json!("babeltrace2 sink.utils.counter");
        }
        let stamp_new = new.join(STAMP_FILE);
        fs::write(&stamp_new, serde_json::to_vec_pretty(&stamp)?)
            .with_context(|| format!("cannot write {}", stamp_new.display()))?;
        let _ = fs::remove_dir_all(&dir);
        fs::rename(&new, &dir)
            .with_context(|| format!("cannot move {} to {}", new.display(), dir.display()))?;
        let _ = fs::remove_dir_all(&staging);
    }
    Ok(Trace {
        kind,
        events,
        bytes: dir_size(&dir),
        dir,
        generator: generator.to_string(),
    })
}

/// Runs `PROGRAM BEFORE... TRACE AFTER...` (a counter sink) and returns
/// the `N Event messages` figure it prints.
fn count_events(program: &Path, before: &[&str], trace: &Path, after: &[&str]) -> Result<u64> {
    let out = Command::new(program)
        .args(before)
        .arg(trace)
        .args(after)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", program.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed ({}): {}",
            program.display(),
            out.status,
            measure::first_line(&out.stderr).unwrap_or_default()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // The counter prints its totals at the end; take the last figure.
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_suffix("Event messages")?.trim().parse().ok())
        .with_context(|| format!("no `Event messages` line in {}'s output", program.display()))
}

/// Warns when ltt reads a different number of events than the trace
/// holds: its timings would then not be comparable.
fn check_ltt_count(ltt: &Path, trace: &Trace) {
    match count_events(ltt, &["convert"], &trace.dir, &["-o", "counter"]) {
        Ok(n) if n == trace.events => {}
        Ok(n) => eprintln!(
            "ltt-bench: WARNING: ltt reads {n} events in {}, expected {}: its figures are suspect",
            trace.dir.display(),
            trace.events
        ),
        Err(e) => eprintln!(
            "ltt-bench: WARNING: cannot count {}'s events with ltt: {e:#}",
            trace.dir.display()
        ),
    }
}

/// Reads every file of `dir` once so that both tools find it in the page
/// cache: the first one measured must not pay for the disk.
fn warm_up(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            warm_up(&p);
        } else if let Ok(mut f) = fs::File::open(&p) {
            let _ = std::io::copy(&mut f, &mut std::io::sink());
        }
    }
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The command line for `tool` doing `case` on `trace` (CTF output into
/// `out`), and where its stdout goes.
fn command(exe: &Path, tool: Tool, case: Case, trace: &Path, out: &Path) -> Command {
    let mut cmd = Command::new(exe);
    match (tool, case) {
        (Tool::Babeltrace2, Case::Text) => {
            cmd.arg(trace);
        }
        (Tool::Ltt, Case::Text) => {
            cmd.arg("view").arg(trace);
        }
        (Tool::Babeltrace2, Case::Dummy) => {
            cmd.arg(trace).args(["-o", "dummy"]);
        }
        (Tool::Ltt, Case::Dummy) => {
            cmd.arg("convert").arg(trace).args(["-o", "dummy"]);
        }
        (Tool::Babeltrace2, Case::Ctf) => {
            cmd.arg(trace).args(["-o", "ctf", "-w"]).arg(out);
        }
        (Tool::Ltt, Case::Ctf) => {
            cmd.arg("convert")
                .arg(trace)
                .args(["-o", "ctf", "-w"])
                .arg(out);
        }
    }
    cmd
}

/// Runs `tool` doing `case` on `trace` once. A tool that fails gives
/// `Err(reason)`; only a child that cannot be started at all is an error.
fn measure_once(
    exe: &Path,
    tool: Tool,
    case: Case,
    trace: &Trace,
    out_root: &Path,
) -> Result<std::result::Result<measure::Outcome, String>> {
    let out = out_root.join(format!("{}-{}", tool.name(), trace.kind.name()));
    // CTF output goes to a directory that must not exist yet.
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(out_root)
        .with_context(|| format!("cannot create {}", out_root.display()))?;
    let mut cmd = command(exe, tool, case, &trace.dir, &out);
    let devnull = fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .context("cannot open /dev/null")?;
    let outcome = measure::run(&mut cmd, devnull.into())?;
    let _ = fs::remove_dir_all(&out);
    Ok(match outcome.failure {
        Some(why) => Err(why),
        None => Ok(outcome),
    })
}

/// Folds a new run into the best so far: least wall and CPU time (what the
/// tool costs with the least interference), highest peak RSS. A failure
/// is kept: the tool does not work on this input.
fn keep_best(
    best: Option<std::result::Result<measure::Outcome, String>>,
    new: std::result::Result<measure::Outcome, String>,
) -> std::result::Result<measure::Outcome, String> {
    match (best, new) {
        (None, new) => new,
        (Some(Err(why)), _) | (Some(Ok(_)), Err(why)) => Err(why),
        (Some(Ok(b)), Ok(n)) => Ok(measure::Outcome {
            wall: b.wall.min(n.wall),
            cpu: b.cpu.min(n.cpu),
            max_rss: b.max_rss.max(n.max_rss),
            failure: None,
        }),
    }
}

/// FNV-1a, 64 bits: a hash that is stable across Rust versions, for cache
/// stamps.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn options_parse() {
        let o = Options::parse(args("--quick --only dummy,ctf --repeat=3 --ltt /x/ltt"))
            .unwrap()
            .unwrap();
        assert_eq!((o.events, o.all_types_events), (100_000, 20_000));
        assert_eq!(o.cases, vec![Case::Dummy, Case::Ctf]);
        assert_eq!(o.repeat, 3);
        assert_eq!(o.ltt, Some(PathBuf::from("/x/ltt")));
        assert!(Options::parse(args("--only pretty")).is_err());
        assert!(Options::parse(args("--events")).is_err());
        assert!(Options::parse(args("--bogus")).is_err());
    }

    #[test]
    fn fnv1a_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
