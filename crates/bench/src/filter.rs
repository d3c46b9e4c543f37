//! `ltt-bench filter`: the cost of a filter expression on an enabled
//! event, ltt (`ltt record --filter`) against LTTng-UST (`lttng
//! enable-event --filter`), same event (`demo:one_int`), same expressions,
//! same channel configuration. Reuses the programs and the runners of
//! `ltt-bench tracepoint`.

use anyhow::Result;
use serde_json::{json, Value};

use crate::tracepoint::{
    fmt_opt, load_average, parse_common, ratio, round, LttSide, LttngSide, Mode, Payload, Sample,
    Tracer,
};

pub const ABOUT: &str =
    "filter cost on demo:one_int: `ltt record --filter` vs `lttng enable-event --filter`";

const USAGE: &str = "\
usage: ltt-bench filter [OPTIONS]

ns/event of demo:one_int enabled without a filter, with a filter that
rejects every event (`v < 0`) and with one that accepts every event
(`v >= 0`): ltt-demo under `ltt record [--filter]` against the C twin
under an LTTng session (`lttng enable-event -u --filter`). Reports the
cost of a filtered-out event and what a passing filter adds. Prints a
table, then one line of JSON.

Build the binaries into one target directory first:
  cargo build --release -p ltt-cli -p ltt-demo -p ltt-bench

options:
  --iterations N   events per thread (default 2000000)
  --quick          200000 events per thread
  --threads N      threads of the traced programs (default 1)
  --repeat N       best of N runs for each figure (default 1)
  --subbuf-size S  sub-buffer size, both tracers (default 1M)
  --num-subbuf N   sub-buffers per CPU, both tracers (default 4)
  --default-channels  each tracer's default channel instead (ltt: 4 x 512k)
  -h, --help       this text
";

/// Rejects every event (v counts up from 0).
const REJECT: &str = "v < 0";
/// Accepts every event.
const ACCEPT: &str = "v >= 0";

/// The three cases of one side: no filter, filtered out, passing.
struct Side {
    unfiltered: Sample,
    rejected: Sample,
    passing: Sample,
}

impl Side {
    fn measure(mut f: impl FnMut(Mode) -> Result<Sample>) -> Result<Side> {
        Ok(Side {
            unfiltered: f(Mode::Enabled(None))?,
            rejected: f(Mode::Enabled(Some(REJECT)))?,
            passing: f(Mode::Enabled(Some(ACCEPT)))?,
        })
    }

    /// What a passing filter adds: (wall, CPU) ns/event.
    fn added(&self) -> (f64, f64) {
        (
            self.passing.ns - self.unfiltered.ns,
            self.passing.cpu_ns - self.unfiltered.cpu_ns,
        )
    }

    fn to_json(&self) -> Value {
        let (add_ns, add_cpu) = self.added();
        json!({
            "unfiltered": self.unfiltered.to_json(),
            "filtered_out": self.rejected.to_json(),
            "passing": self.passing.to_json(),
            "added_by_passing_filter_ns": round(add_ns),
            "added_by_passing_filter_cpu_ns": round(add_cpu),
        })
    }
}

pub fn run(args: Vec<String>) -> Result<()> {
    let Some(c) = parse_common(args, USAGE)? else {
        return Ok(());
    };
    let load_before = load_average();
    let mut ltt = LttSide::new()?;
    let payload = Payload::OneInt;
    let ltt_side = Side::measure(|m| ltt.measure(&c, payload, c.threads, m))?;
    let (lttng_side, version) = match LttngSide::new() {
        Ok(mut l) => {
            let side = Side::measure(|m| l.measure(&c, payload, c.threads, m))
                .map_err(|e| format!("{e:#}"));
            (side, Some(l.version.clone()))
        }
        Err(why) => (Err(why), None),
    };
    if let Err(why) = &lttng_side {
        eprintln!("ltt-bench: LTTng-UST side is n/a: {why}");
    }

    println!(
        "filter cost on {}, {} thread(s), {} events/thread, channel {} (discard); \
         ns = wall ns/event (loop only), cpu = CPU ns/event of the traced process",
        payload.event(),
        c.threads,
        c.iterations,
        c.channel()
    );
    println!(
        "{:<34} | {:>8} {:>8} {:>9} | {:>8} {:>8} {:>9}",
        "case", "ltt ns", "ltt cpu", "ltt disc", "LTTng ns", "LTTngcpu", "LTTngdisc"
    );
    let lttng = lttng_side.as_ref().ok();
    type Get = fn(&Side) -> Sample;
    let cases: [(&str, Get); 3] = [
        ("enabled, no filter", |s| s.unfiltered),
        ("filter `v < 0` (all filtered out)", |s| s.rejected),
        ("filter `v >= 0` (all pass)", |s| s.passing),
    ];
    let disc = |s: &Sample| s.discarded.map_or("-".to_string(), |d| d.to_string());
    for (name, get) in cases {
        let a = get(&ltt_side);
        let b = lttng.map(get);
        println!(
            "{:<34} | {:>8.1} {:>8.1} {:>9} | {:>8} {:>8} {:>9}",
            name,
            a.ns,
            a.cpu_ns,
            disc(&a),
            fmt_opt(b.map(|b| b.ns), 1),
            fmt_opt(b.map(|b| b.cpu_ns), 1),
            b.as_ref().map_or("n/a".to_string(), disc),
        );
    }
    let (add_ns, add_cpu) = ltt_side.added();
    let lttng_added = lttng.map(Side::added);
    println!(
        "{:<34} | {:>8.1} {:>8.1} {:>9} | {:>8} {:>8} {:>9}",
        "added by a passing filter",
        add_ns,
        add_cpu,
        "",
        fmt_opt(lttng_added.map(|a| a.0), 1),
        fmt_opt(lttng_added.map(|a| a.1), 1),
        ""
    );
    if let Err(why) = &lttng_side {
        println!("LTTng-UST: n/a ({why})");
    }

    let goals_ok = |wall: f64, cpu: f64| wall <= 10.0 && cpu <= 10.0;
    let report = json!({
        "bench": "filter",
        "event": payload.event(),
        "threads": c.threads,
        "iterations_per_thread": c.iterations,
        "repeat": c.repeat,
        "channel": c.channel_json(),
        "filters": { "filtered_out": REJECT, "passing": ACCEPT },
        "lttng_version": version,
        "ltt": ltt_side.to_json(),
        "lttng": match &lttng_side {
            Ok(s) => s.to_json(),
            Err(why) => json!({ "unavailable": why }),
        },
        "ratio_filtered_out_ns": ratio(ltt_side.rejected.ns, lttng.map(|l| l.rejected.ns)).map(round),
        "ratio_filtered_out_cpu": ratio(ltt_side.rejected.cpu_ns, lttng.map(|l| l.rejected.cpu_ns)).map(round),
        "ratio_passing_ns": ratio(ltt_side.passing.ns, lttng.map(|l| l.passing.ns)).map(round),
        "ratio_passing_cpu": ratio(ltt_side.passing.cpu_ns, lttng.map(|l| l.passing.cpu_ns)).map(round),
        "goals": {
            "filtered_out_le_10ns": goals_ok(ltt_side.rejected.ns, ltt_side.rejected.cpu_ns),
            "passing_adds_le_10ns": goals_ok(add_ns, add_cpu),
        },
        "load_average_before": load_before,
        "load_average_after": load_average(),
    });
    println!("{report}");
    Ok(())
}
