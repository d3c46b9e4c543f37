//! `ltt-bench tracepoint`: the cost of one tracepoint hit, ltt against
//! LTTng-UST, in the same run, with the same payloads and the same channel
//! configuration.
//!
//! ltt's side is `ltt-demo` (alone: events disabled; under `ltt record`:
//! enabled). LTTng's side is `crates/bench/c/tp_demo.c`, the same three
//! events with the same fields, built with gcc against liblttng-ust, run
//! with a private session daemon (see `reader::lttng`): without any
//! session (disabled) or under a session that enables the event.
//!
//! Both programs print `RESULT ... ns_per_event=X` (wall time around the
//! loop only, the mean over threads). Because the machine may be shared,
//! each program is also run through a wrapper (`--rusage-wrap`, hidden)
//! that reports the CPU time of the traced process; a run with zero
//! iterations gives the fixed cost (start-up, registration), subtracted
//! before dividing by the number of events.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::reader::lttng::{self, Env, RunAs, SessionDaemon, TempDir};

pub const ABOUT: &str =
    "tracepoint ns/event: ltt-demo under `ltt record` vs LTTng-UST (enabled, disabled)";

const USAGE: &str = "\
usage: ltt-bench tracepoint [OPTIONS]

For payloads empty, one-int, all-types and tracing (Rust `tracing` events
through the layer; ltt only), on 1 and 2 threads: ns/event of
ltt-demo (alone, and under `ltt record`) against the same events in a C
program using LTTng-UST (no session, and a session enabling the event),
same channel configuration (4 x 1 MiB sub-buffers per CPU, discard mode)
and the same contexts (vpid, vtid, procname: what `ltt record` records).
Wall time (around the loop) and CPU time per event, discarded events.
Prints a table, then one line of JSON with ratios ltt/LTTng.

Build the binaries into one target directory first:
  cargo build --release -p ltt-cli -p ltt-demo -p ltt-bench

options:
  --iterations N   events per thread (default 2000000; 50 times more when
                   disabled, to time a loop of sub-nanosecond iterations)
  --quick          200000 events per thread
  --repeat N       best of N runs for each figure (default 1)
  --subbuf-size S  sub-buffer size, both tracers (default 1M)
  --num-subbuf N   sub-buffers per CPU, both tracers (default 4)
  --default-channels  each tracer's default channel instead (ltt: 4 x 512k)
  -h, --help       this text
";

/// The C sources of the LTTng-UST side, embedded so the benchmark runs
/// from any directory.
const SOURCES: [(&str, &str); 3] = [
    ("tp_demo_tp.h", include_str!("../c/tp_demo_tp.h")),
    ("tp_demo_tp.c", include_str!("../c/tp_demo_tp.c")),
    ("tp_demo.c", include_str!("../c/tp_demo.c")),
];

const CC_ARGS: &[&str] = &[
    "-O2",
    "-Wall",
    "-I.",
    "tp_demo_tp.c",
    "tp_demo.c",
    "-llttng-ust",
    "-ldl",
    "-lpthread",
    "-o",
    "tp_demo",
];

/// The hidden option that runs a command and prints its CPU time.
const RUSAGE_WRAP: &str = "--rusage-wrap";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Payload {
    Empty,
    OneInt,
    AllTypes,
    /// `tracing::info!` through ltt's tracing layer (no LTTng equivalent).
    Tracing,
}

impl Payload {
    const ALL: [Payload; 4] = [
        Payload::Empty,
        Payload::OneInt,
        Payload::AllTypes,
        Payload::Tracing,
    ];

    /// The `--payload` value of both programs.
    pub(crate) fn arg(self) -> &'static str {
        match self {
            Payload::Empty => "empty",
            Payload::OneInt => "one-int",
            Payload::AllTypes => "all-types",
            Payload::Tracing => "tracing",
        }
    }

    /// The event's name, the same in both providers.
    pub(crate) fn event(self) -> &'static str {
        match self {
            Payload::Empty => "demo:empty",
            Payload::OneInt => "demo:one_int",
            Payload::AllTypes => "demo:all_types",
            Payload::Tracing => "rust_tracing:info",
        }
    }
}

/// Options shared with `ltt-bench filter`.
#[derive(Debug, Clone)]
pub(crate) struct Common {
    pub(crate) iterations: u64,
    pub(crate) repeat: u32,
    pub(crate) subbuf_size: String,
    pub(crate) num_subbuf: u32,
    /// Each tracer's default channel instead of the options above.
    pub(crate) default_channels: bool,
    pub(crate) threads: u32,
}

impl Common {
    /// The channel configuration, for the table.
    pub(crate) fn channel(&self) -> String {
        if self.default_channels {
            "defaults of each tracer".to_string()
        } else {
            format!("{} x {} per CPU", self.num_subbuf, self.subbuf_size)
        }
    }

    pub(crate) fn channel_json(&self) -> Value {
        if self.default_channels {
            json!({ "defaults": true, "mode": "discard" })
        } else {
            json!({ "subbuf_size": self.subbuf_size, "num_subbuf": self.num_subbuf, "mode": "discard" })
        }
    }
}

/// Parses the options both commands take; `Ok(None)` means `--help` was
/// printed.
pub(crate) fn parse_common(args: Vec<String>, usage: &str) -> Result<Option<Common>> {
    let mut o = Common {
        iterations: 2_000_000,
        repeat: 1,
        subbuf_size: "1M".to_string(),
        num_subbuf: 4,
        default_channels: false,
        threads: 1,
    };
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let flag = crate::flags::Flag::parse(arg);
        let name = flag.name.clone();
        let mut value = || flag.value(&mut it, usage);
        let number = |s: String| -> Result<u64> {
            s.replace('_', "")
                .parse()
                .with_context(|| format!("{name}: `{s}` is not a non-negative integer"))
        };
        match name.as_str() {
            "-h" | "--help" => {
                print!("{usage}");
                return Ok(None);
            }
            "--iterations" => o.iterations = number(value()?)?.max(1),
            "--quick" => o.iterations = 200_000,
            "--repeat" => o.repeat = number(value()?)?.clamp(1, 100) as u32,
            "--subbuf-size" => o.subbuf_size = value()?,
            "--num-subbuf" => o.num_subbuf = number(value()?)?.clamp(2, 1 << 20) as u32,
            "--default-channels" => o.default_channels = true,
            "--threads" => o.threads = number(value()?)?.clamp(1, 1024) as u32,
            other => bail!("unknown argument `{other}`\n\n{usage}"),
        }
    }
    Ok(Some(o))
}

/// One measurement: wall ns/event as the program reports it, CPU ns/event
/// of the traced process (fixed cost removed), discarded events.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) ns: f64,
    pub(crate) cpu_ns: f64,
    pub(crate) discarded: Option<u64>,
}

impl Sample {
    fn best(a: Option<Sample>, b: Sample) -> Sample {
        match a {
            None => b,
            Some(a) => Sample {
                ns: a.ns.min(b.ns),
                cpu_ns: a.cpu_ns.min(b.cpu_ns),
                discarded: match (a.discarded, b.discarded) {
                    (Some(x), Some(y)) => Some(x.max(y)),
                    (x, y) => x.or(y),
                },
            },
        }
    }

    pub(crate) fn to_json(self) -> Value {
        json!({
            "ns_per_event": round(self.ns),
            "cpu_ns_per_event": round(self.cpu_ns),
            "discarded": self.discarded,
        })
    }
}

pub(crate) fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// How a run traces its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode<'a> {
    /// Not traced: the cost of a disabled tracepoint.
    Disabled,
    /// The event enabled, with an optional filter expression.
    Enabled(Option<&'a str>),
}

/// What one program run printed: its RESULT figure, the process's CPU
/// time in ns, and its stderr (where `ltt record` writes its summary).
pub(crate) struct Raw {
    ns: f64,
    cpu_ns: f64,
    stderr: String,
}

fn run_raw(cmd: &mut Command) -> Result<Raw> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        bail!(
            "{:?} failed ({}): {}",
            cmd.get_program(),
            out.status,
            stderr.trim()
        );
    }
    let field = |prefix: &str, key: &str| -> Option<f64> {
        stdout
            .lines()
            .rev()
            .find(|l| l.starts_with(prefix))?
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key))?
            .parse()
            .ok()
    };
    let ns = field("RESULT ", "ns_per_event=")
        .with_context(|| format!("no RESULT line in the output:\n{stdout}{stderr}"))?;
    let cpu_ns = field("RUSAGE ", "cpu_ns=")
        .with_context(|| format!("no RUSAGE line in the output:\n{stdout}"))?;
    Ok(Raw { ns, cpu_ns, stderr })
}

/// Disabled runs loop this many times more than enabled ones.
const DISABLED_SCALE: u64 = 50;

/// The binaries of ltt's side, next to ltt-bench.
/// One side of the comparison: runs the program once and keeps the
/// zero-iteration CPU cost (per mode) subtracted from every run.
pub(crate) trait Tracer {
    /// One run: wall-clock figures, and the discarded count if known.
    fn once(
        &mut self,
        c: &Common,
        payload: Payload,
        threads: u32,
        iterations: u64,
        mode: Mode,
    ) -> Result<(Raw, Option<u64>)>;

    /// CPU cost of a zero-iteration run, disabled and enabled.
    fn base(&mut self) -> &mut [Option<f64>; 2];

    /// Best of `c.repeat` runs.
    fn measure(
        &mut self,
        c: &Common,
        payload: Payload,
        threads: u32,
        mode: Mode,
    ) -> Result<Sample> {
        let slot = usize::from(mode != Mode::Disabled);
        if self.base()[slot].is_none() {
            let (raw, _) = self.once(c, Payload::OneInt, 1, 0, mode)?;
            self.base()[slot] = Some(raw.cpu_ns);
        }
        let base = self.base()[slot].unwrap_or(0.0);
        // A disabled tracepoint costs under a nanosecond: more iterations,
        // so that the loop runs long enough to be timed.
        let iterations = match mode {
            Mode::Disabled => c.iterations * DISABLED_SCALE,
            Mode::Enabled(_) => c.iterations,
        };
        let mut best = None;
        for _ in 0..c.repeat {
            let (raw, discarded) = self.once(c, payload, threads, iterations, mode)?;
            let events = (iterations * u64::from(threads)) as f64;
            best = Some(Sample::best(
                best,
                Sample {
                    ns: raw.ns,
                    cpu_ns: (raw.cpu_ns - base).max(0.0) / events,
                    discarded,
                },
            ));
        }
        best.context("no run")
    }
}

macro_rules! tracer_impl {
    ($side:ty) => {
        impl Tracer for $side {
            fn once(
                &mut self,
                c: &Common,
                payload: Payload,
                threads: u32,
                iterations: u64,
                mode: Mode,
            ) -> Result<(Raw, Option<u64>)> {
                self.run_once(c, payload, threads, iterations, mode)
            }

            fn base(&mut self) -> &mut [Option<f64>; 2] {
                &mut self.base
            }
        }
    };
}

tracer_impl!(LttSide);
tracer_impl!(LttngSide);

pub(crate) struct LttSide {
    ltt: PathBuf,
    demo: PathBuf,
    bench: PathBuf,
    /// Where `ltt record` writes its traces (removed after each run).
    tmp: TempDir,
    /// Fixed CPU cost (ns) of a run, by mode: [disabled, enabled].
    base: [Option<f64>; 2],
}

impl LttSide {
    pub(crate) fn new() -> Result<LttSide> {
        let bench = std::env::current_exe().context("cannot find the ltt-bench executable")?;
        let dir = bench
            .parent()
            .context("ltt-bench has no parent directory")?;
        let (ltt, demo) = (dir.join("ltt"), dir.join("ltt-demo"));
        for p in [&ltt, &demo] {
            if !p.is_file() {
                bail!(
                    "no {} (build it into the same target directory with \
                     `cargo build --release -p ltt-cli -p ltt-demo -p ltt-bench`)",
                    p.display()
                );
            }
        }
        let tmp =
            TempDir(std::env::temp_dir().join(format!("ltt-bench-tp-ltt-{}", std::process::id())));
        fs::create_dir_all(&tmp.0).with_context(|| format!("cannot create {}", tmp.0.display()))?;
        Ok(LttSide {
            ltt,
            demo,
            bench,
            tmp,
            base: [None, None],
        })
    }

    fn run_once(
        &self,
        c: &Common,
        payload: Payload,
        threads: u32,
        iterations: u64,
        mode: Mode,
    ) -> Result<(Raw, Option<u64>)> {
        let demo_args = [
            "--iterations".to_string(),
            iterations.to_string(),
            "--threads".to_string(),
            threads.to_string(),
            "--payload".to_string(),
            payload.arg().to_string(),
        ];
        let Mode::Enabled(filter) = mode else {
            let mut cmd = Command::new(&self.bench);
            cmd.args(["tracepoint", RUSAGE_WRAP])
                .arg(&self.demo)
                .args(&demo_args);
            return Ok((run_raw(&mut cmd)?, None));
        };
        let out = self.tmp.0.join("trace");
        let _ = fs::remove_dir_all(&out);
        let mut cmd = Command::new(&self.ltt);
        cmd.arg("record")
            .arg("-o")
            .arg(&out)
            .args(["-u", payload.event()]);
        if !c.default_channels {
            cmd.args(["--subbuf-size", &c.subbuf_size])
                .args(["--num-subbuf", &c.num_subbuf.to_string()]);
        }
        if let Some(f) = filter {
            cmd.args(["--filter", f]);
        }
        cmd.arg("--")
            .arg(&self.bench)
            .args(["tracepoint", RUSAGE_WRAP])
            .arg(&self.demo)
            .args(&demo_args);
        let raw = run_raw(&mut cmd);
        let _ = fs::remove_dir_all(&out);
        let raw = raw?;
        let discarded = ltt_discarded(&raw.stderr).with_context(|| {
            format!(
                "no `discarded` line in ltt record's summary:\n{}",
                raw.stderr
            )
        })?;
        Ok((raw, Some(discarded)))
    }
}

/// The `N  discarded` figure of `ltt record`'s summary.
fn ltt_discarded(summary: &str) -> Option<u64> {
    summary
        .lines()
        .find_map(|l| l.trim().strip_suffix("discarded")?.trim().parse().ok())
}

/// The LTTng-UST side: the C app and a private session daemon, alive for
/// the whole benchmark.
pub(crate) struct LttngSide {
    // Field order matters: the daemon stops before its home is removed.
    daemon: Option<SessionDaemon>,
    env: Env,
    app: PathBuf,
    wrap: PathBuf,
    home: TempDir,
    base: [Option<f64>; 2],
    pub(crate) version: String,
    sessions: u32,
}

impl LttngSide {
    /// Builds the app and starts the daemon; `Err(reason)` when LTTng is
    /// not usable here.
    pub(crate) fn new() -> std::result::Result<LttngSide, String> {
        if let Some(why) = lttng::unavailable() {
            return Err(why);
        }
        Self::start().map_err(|e| format!("{e:#}"))
    }

    fn start() -> Result<LttngSide> {
        let bench = std::env::current_exe().context("cannot find the ltt-bench executable")?;
        let exe_dir = bench
            .parent()
            .context("ltt-bench has no parent directory")?;
        let cache = exe_dir.parent().unwrap_or(exe_dir).join("ltt-bench");
        let mut all = String::new();
        for (name, text) in SOURCES {
            all.push_str(name);
            all.push('\0');
            all.push_str(text);
        }
        all.push_str(&CC_ARGS.join(" "));
        let built = lttng::build_c(
            &cache.join("tp-demo"),
            &SOURCES,
            CC_ARGS,
            "tp_demo",
            crate::reader::fnv1a(all.as_bytes()),
        )?;
        let run_as = RunAs::detect();
        // Short, in the temporary directory: socket paths must stay under
        // 108 bytes.
        let home =
            TempDir(std::env::temp_dir().join(format!("ltt-bench-tp-{}", std::process::id())));
        let _ = fs::remove_dir_all(&home.0);
        fs::create_dir_all(&home.0)
            .with_context(|| format!("cannot create {}", home.0.display()))?;
        run_as.own(&home.0)?;
        // Everything `nobody` runs lives in `home`.
        let app = home.0.join("tp_demo");
        let wrap = home.0.join("ltt-bench");
        fs::copy(&built, &app).with_context(|| format!("cannot copy {}", built.display()))?;
        fs::copy(&bench, &wrap).with_context(|| format!("cannot copy {}", bench.display()))?;
        let env = Env {
            home: home.0.clone(),
            run_as,
        };
        let daemon = SessionDaemon::start(&env, home.0.join("sessiond.log"))?;
        Ok(LttngSide {
            daemon: Some(daemon),
            env,
            app,
            wrap,
            home,
            base: [None, None],
            version: lttng::version(),
            sessions: 0,
        })
    }

    fn run_app(&self, payload: Payload, threads: u32, iterations: u64) -> Result<Raw> {
        let mut cmd = Command::new(&self.wrap);
        cmd.args(["tracepoint", RUSAGE_WRAP])
            .arg(&self.app)
            .args(["--iterations", &iterations.to_string()])
            .args(["--threads", &threads.to_string()])
            .args(["--payload", payload.arg()])
            // Registration completes before main(): no event is missed.
            .env("LTTNG_UST_REGISTER_TIMEOUT", "30000");
        self.env.apply(&mut cmd);
        run_raw(&mut cmd)
    }

    fn run_once(
        &mut self,
        c: &Common,
        payload: Payload,
        threads: u32,
        iterations: u64,
        mode: Mode,
    ) -> Result<(Raw, Option<u64>)> {
        let Mode::Enabled(filter) = mode else {
            return Ok((self.run_app(payload, threads, iterations)?, None));
        };
        self.sessions += 1;
        let session = format!("tp{}", self.sessions);
        let trace = self.home.0.join(&session);
        let output = format!("--output={}", trace.display());
        self.env.lttng(&["create", &session, &output])?;
        let result = (|| {
            let subbuf = format!("--subbuf-size={}", c.subbuf_size);
            let num = format!("--num-subbuf={}", c.num_subbuf);
            let mut channel = vec!["enable-channel", "--userspace", "--session", &session];
            channel.push("--discard");
            if !c.default_channels {
                channel.extend([subbuf.as_str(), num.as_str()]);
            }
            channel.push("bench");
            self.env.lttng(&channel)?;
            let mut event = vec![
                "enable-event",
                "--userspace",
                "--session",
                &session,
                "--channel",
                "bench",
                payload.event(),
            ];
            if let Some(f) = filter {
                event.extend(["--filter", f]);
            }
            self.env.lttng(&event)?;
            // The contexts every `ltt record` event carries: the same
            // record on both sides.
            self.env.lttng(&[
                "add-context",
                "--userspace",
                "--session",
                &session,
                "--channel",
                "bench",
                "--type=vpid",
                "--type=vtid",
                "--type=procname",
            ])?;
            self.env.lttng(&["start", &session])?;
            let raw = self.run_app(payload, threads, iterations)?;
            // `stop` waits until the consumer has written everything out.
            self.env.lttng(&["stop", &session])?;
            let listing = self.env.lttng(&["list", &session])?;
            let discarded = lttng::discarded_events(&listing).with_context(|| {
                format!("no `Discarded events` in `lttng list {session}`:\n{listing}")
            })?;
            // LTTng 2.13.9 sometimes reports 2^63 + N: not a count.
            let emitted = iterations * u64::from(threads);
            if discarded > emitted {
                eprintln!(
                    "ltt-bench: LTTng reported {discarded} discarded events of {emitted}: left out"
                );
                return Ok((raw, None));
            }
            Ok((raw, Some(discarded)))
        })();
        let _ = self.env.lttng(&["destroy", &session]);
        let _ = fs::remove_dir_all(&trace);
        result
    }
}

impl Drop for LttngSide {
    fn drop(&mut self) {
        // Stop the daemon before `home` (its sockets, its log) goes away.
        self.daemon.take();
    }
}

/// `--rusage-wrap CMD ARGS...`: runs CMD (stdout and stderr inherited),
/// then prints `RUSAGE cpu_ns=N`, its user + system CPU time.
fn rusage_wrap(args: &[String]) -> Result<()> {
    let (program, rest) = args
        .split_first()
        .context("--rusage-wrap needs a command")?;
    let status = Command::new(program)
        .args(rest)
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    // SAFETY: rusage is plain old data; getrusage fills the live local.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u
    };
    let ns = |t: libc::timeval| t.tv_sec as i128 * 1_000_000_000 + t.tv_usec as i128 * 1000;
    println!("RUSAGE cpu_ns={}", ns(usage.ru_utime) + ns(usage.ru_stime));
    if !status.success() {
        bail!("{program} failed ({status})");
    }
    Ok(())
}

/// The 1-minute load average, for the report.
pub(crate) fn load_average() -> Option<f64> {
    fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `a / b` when both are known and `b` is not zero.
pub(crate) fn ratio(a: f64, b: Option<f64>) -> Option<f64> {
    b.filter(|&b| b > 0.0).map(|b| a / b)
}

pub(crate) fn fmt_opt(x: Option<f64>, prec: usize) -> String {
    x.map_or_else(|| "n/a".to_string(), |v| format!("{v:.prec$}"))
}

struct Row {
    payload: Payload,
    threads: u32,
    disabled: bool,
    ltt: Sample,
    lttng: std::result::Result<Sample, String>,
}

pub fn run(args: Vec<String>) -> Result<()> {
    if args.first().map(String::as_str) == Some(RUSAGE_WRAP) {
        return rusage_wrap(&args[1..]);
    }
    let Some(c) = parse_common(args, USAGE)? else {
        return Ok(());
    };
    let load_before = load_average();
    let mut ltt = LttSide::new()?;
    let mut lttng = LttngSide::new();
    if let Err(why) = &lttng {
        eprintln!("ltt-bench: LTTng-UST side is n/a: {why}");
    }
    let mut rows = Vec::new();
    for payload in Payload::ALL {
        for threads in [1, 2] {
            for disabled in [true, false] {
                let mode = if disabled {
                    Mode::Disabled
                } else {
                    Mode::Enabled(None)
                };
                let ltt_s = ltt.measure(&c, payload, threads, mode)?;
                let lttng_s = match &mut lttng {
                    _ if payload == Payload::Tracing => {
                        Err("no LTTng-UST equivalent of Rust's tracing".to_string())
                    }
                    Ok(l) => l
                        .measure(&c, payload, threads, mode)
                        .map_err(|e| format!("{e:#}")),
                    Err(why) => Err(why.clone()),
                };
                let row = Row {
                    payload,
                    threads,
                    disabled,
                    ltt: ltt_s,
                    lttng: lttng_s,
                };
                eprintln!(
                    "ltt-bench: {} x{} {}: ltt {:.1} ns ({:.1} cpu), LTTng {}",
                    payload.arg(),
                    threads,
                    if disabled { "disabled" } else { "enabled" },
                    row.ltt.ns,
                    row.ltt.cpu_ns,
                    match &row.lttng {
                        Ok(s) => format!("{:.1} ns ({:.1} cpu)", s.ns, s.cpu_ns),
                        Err(e) => format!("n/a: {e}"),
                    }
                );
                rows.push(row);
            }
        }
    }
    let version = lttng.as_ref().ok().map(|l| l.version.clone());
    let unavailable = lttng.as_ref().err().cloned();
    drop(lttng);

    print!("{}", table(&c, &rows));
    println!("{}", report(&c, &rows, version, unavailable, load_before));
    Ok(())
}

fn table(c: &Common, rows: &[Row]) -> String {
    let mut s = format!(
        "tracepoint cost, {} events/thread, channel {} (discard); \
         ns = wall ns/event (loop only), cpu = CPU ns/event of the traced process\n",
        c.iterations,
        c.channel()
    );
    s.push_str(&format!(
        "{:<10} {:>3} {:<8} | {:>8} {:>8} {:>9} | {:>8} {:>8} {:>9} | {:>6} {:>6}\n",
        "payload",
        "thr",
        "mode",
        "ltt ns",
        "ltt cpu",
        "ltt disc",
        "LTTng ns",
        "LTTngcpu",
        "LTTngdisc",
        "x ns",
        "x cpu"
    ));
    for r in rows {
        let (lns, lcpu, ldisc) = match &r.lttng {
            Ok(l) => (
                format!("{:.1}", l.ns),
                format!("{:.1}", l.cpu_ns),
                l.discarded.map_or("-".to_string(), |d| d.to_string()),
            ),
            Err(_) => ("n/a".into(), "n/a".into(), "n/a".into()),
        };
        let lttng = r.lttng.as_ref().ok();
        s.push_str(&format!(
            "{:<10} {:>3} {:<8} | {:>8.1} {:>8.1} {:>9} | {:>8} {:>8} {:>9} | {:>6} {:>6}\n",
            r.payload.arg(),
            r.threads,
            if r.disabled { "disabled" } else { "enabled" },
            r.ltt.ns,
            r.ltt.cpu_ns,
            r.ltt.discarded.map_or("-".to_string(), |d| d.to_string()),
            lns,
            lcpu,
            ldisc,
            fmt_opt(ratio(r.ltt.ns, lttng.map(|l| l.ns)), 2),
            fmt_opt(ratio(r.ltt.cpu_ns, lttng.map(|l| l.cpu_ns)), 2),
        ));
    }
    if let Some(Err(why)) = rows.first().map(|r| &r.lttng) {
        s.push_str(&format!("LTTng-UST: n/a ({why})\n"));
    }
    s
}

fn report(
    c: &Common,
    rows: &[Row],
    version: Option<String>,
    unavailable: Option<String>,
    load_before: Option<f64>,
) -> Value {
    let mut out = Vec::new();
    let mut enabled_ok = true;
    let mut enabled_wall_ok = true;
    let mut disabled_ok = true;
    let mut comparable = false;
    for r in rows {
        let lttng = r.lttng.as_ref().ok();
        let ratio_ns = ratio(r.ltt.ns, lttng.map(|l| l.ns));
        let ratio_cpu = ratio(r.ltt.cpu_ns, lttng.map(|l| l.cpu_ns));
        if let (Some(l), Some(rc)) = (lttng, ratio_cpu) {
            comparable = true;
            if r.disabled {
                // Judged on the loop's wall time: per-event CPU time of a
                // disabled tracepoint is below the resolution of rusage.
                disabled_ok &= r.ltt.ns <= l.ns;
            } else {
                enabled_ok &= rc <= 0.4;
                enabled_wall_ok &= ratio_ns.is_some_and(|r| r <= 0.4);
            }
        }
        out.push(json!({
            "payload": r.payload.arg(),
            "threads": r.threads,
            "mode": if r.disabled { "disabled" } else { "enabled" },
            "ltt": r.ltt.to_json(),
            "lttng": match &r.lttng {
                Ok(s) => s.to_json(),
                Err(why) => json!({ "unavailable": why }),
            },
            "ratio_ns": ratio_ns.map(round),
            "ratio_cpu": ratio_cpu.map(round),
        }));
    }
    let zero_discarded = rows
        .iter()
        .filter(|r| !r.disabled)
        .all(|r| r.ltt.discarded == Some(0));
    json!({
        "bench": "tracepoint",
        "iterations_per_thread": c.iterations,
        "repeat": c.repeat,
        "channel": c.channel_json(),
        "lttng_version": version,
        "lttng_unavailable": unavailable,
        "rows": out,
        "goals": {
            "enabled_cpu_ratio_le_0_4": comparable.then_some(enabled_ok),
            "enabled_wall_ratio_le_0_4": comparable.then_some(enabled_wall_ok),
            "disabled_not_slower": comparable.then_some(disabled_ok),
            "ltt_zero_discarded": zero_discarded,
        },
        "load_average_before": load_before,
        "load_average_after": load_average(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ltt_summary() {
        let s = "Trace written to /x\n   EVENTS  EVENT\n  3  demo:one_int\n  3  recorded\n  17  discarded\n";
        assert_eq!(ltt_discarded(s), Some(17));
        assert_eq!(ltt_discarded("nothing"), None);
    }

    #[test]
    fn options() {
        let a = |s: &str| s.split_whitespace().map(str::to_owned).collect();
        let c = parse_common(a("--quick --repeat=3"), USAGE)
            .unwrap()
            .unwrap();
        assert_eq!((c.iterations, c.repeat), (200_000, 3));
        assert!(parse_common(a("--bogus"), USAGE).is_err());
    }
}
