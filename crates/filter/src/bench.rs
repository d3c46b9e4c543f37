//! Nanoseconds per filter evaluation, for an event the filter rejects and
//! one it records: the cost a filter adds to a tracepoint hit. Prints a table
//! and, last, one JSON line for tools.
//!
//! Goals: a rejected event costs at most 10 ns of evaluation; a recorded
//! event pays at most 10 ns on top of recording.

use std::hint::black_box;
use std::time::Instant;

use crate::value::{FieldSource, IntSeq, Value};
use crate::{compile_str, Bytecode, ElemType, FieldType, IntType, Schema};

/// A tracepoint's arguments as the tracer would expose them.
struct Event {
    i: u64,
    arr: [i32; 4],
    d: f64,
    name: &'static [u8],
    procname: &'static [u8],
}

const NAMES: [&str; 4] = ["i", "arr", "d", "name"];

impl FieldSource for Event {
    #[inline]
    fn field(&self, index: usize) -> Option<Value<'_>> {
        Some(match index {
            0 => Value::Unsigned(self.i),
            1 => Value::Ints(IntSeq::I32(&self.arr)),
            2 => Value::Float(self.d),
            3 => Value::Str(self.name),
            _ => return None,
        })
    }
    fn field_named(&self, name: &str) -> Option<Value<'_>> {
        self.field(NAMES.iter().position(|n| *n == name)?)
    }
    #[inline]
    fn context(&self, index: usize) -> Option<Value<'_>> {
        (index == 2).then_some(Value::Str(self.procname))
    }
}

fn schema() -> Schema {
    Schema::new()
        .with_field("i", FieldType::Integer(IntType::unsigned(64)))
        .with_field(
            "arr",
            FieldType::Array {
                elem: ElemType::Integer(IntType::signed(32)),
                len: 4,
            },
        )
        .with_field("d", FieldType::Float)
        .with_field("name", FieldType::String)
        .with_ust_contexts()
}

/// CPU time this thread has run, in ns, where the OS tells it
/// (`/proc/thread-self/schedstat` on Linux): on a shared machine, wall time
/// also counts the time spent waiting for a CPU.
fn thread_cpu_ns() -> Option<u64> {
    if cfg!(target_os = "linux") {
        let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        s.split_whitespace().next()?.parse().ok()
    } else {
        None
    }
}

/// A timing: ns per evaluation by CPU time (when available) and by wall
/// time, best of five runs each.
#[derive(Clone, Copy)]
struct Timing {
    cpu: Option<f64>,
    wall: f64,
}

impl Timing {
    /// The figure to compare with goals: CPU time if known.
    fn ns(self) -> f64 {
        self.cpu.unwrap_or(self.wall)
    }
}

fn measure(iters: u64, mut body: impl FnMut() -> bool) -> Timing {
    let mut cpu = f64::INFINITY;
    let mut wall = f64::INFINITY;
    let mut have_cpu = true;
    for _ in 0..5 {
        let c0 = thread_cpu_ns();
        let start = Instant::now();
        let mut n = 0u64;
        for _ in 0..iters {
            n += u64::from(body());
        }
        let w = start.elapsed().as_nanos() as f64;
        black_box(n);
        match (c0, thread_cpu_ns()) {
            (Some(a), Some(b)) => cpu = cpu.min(b.saturating_sub(a) as f64 / iters as f64),
            _ => have_cpu = false,
        }
        wall = wall.min(w / iters as f64);
    }
    Timing {
        cpu: have_cpu.then_some(cpu),
        wall,
    }
}

fn time(filter: &Bytecode, ev: &Event, iters: u64, expect: bool) -> Result<Timing, String> {
    if filter.matches(ev) != expect {
        return Err(format!(
            "benchmark event does not give {expect}:\n{}",
            filter.disassemble()
        ));
    }
    Ok(measure(iters, || black_box(filter).matches(black_box(ev))))
}

/// Runs the benchmark. Arguments: `--iters N` (evaluations per timed run,
/// default 10 000 000).
pub fn bench_run(args: &[String]) -> Result<(), String> {
    let mut iters: u64 = 10_000_000;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--iters" => {
                iters = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--iters needs a positive number")?;
            }
            other => return Err(format!("unknown argument {other:?} (expected --iters N)")),
        }
    }
    let schema = schema();
    let out = Event {
        i: 3,
        arr: [1, 2, 3, 4],
        d: 0.25,
        name: b"beta",
        procname: b"lab_app",
    };
    let pass = Event {
        i: 600,
        arr: [1, 2, 3, 42],
        d: 1.5,
        name: b"alpha",
        procname: b"lab_app",
    };
    let cases: [(&str, &str, bool); 5] = [
        ("int compare", "i > 500", true),
        ("two conditions", "i > 500 && arr[3] == 42", true),
        ("string prefix", "name == \"al*\"", true),
        (
            "glob + context",
            "$ctx.procname == \"lab*\" && name == \"*pha\"",
            true,
        ),
        ("int compare, by name", "i > 500", false),
    ];
    // The same test as native code, through the same source: the floor.
    let native = measure(iters, || {
        let ev = black_box(&out);
        matches!(ev.field(0), Some(Value::Unsigned(v)) if v > 500)
    });
    let clock = if native.cpu.is_some() {
        "thread CPU time"
    } else {
        "wall time"
    };
    println!(
        "ns per evaluation ({clock}, best of 5 x {iters}); native `i > 500`: {:.2}",
        native.ns()
    );
    println!(
        "{:<22} {:<46} {:>12} {:>12}",
        "case", "filter", "rejected ns", "recorded ns"
    );
    let mut json = Vec::new();
    // Headline: the first case, a field compared with a constant.
    let mut headline: Option<(f64, f64)> = None;
    for (label, expr, with_schema) in cases {
        let filter =
            compile_str(expr, with_schema.then_some(&schema)).map_err(|e| e.to_string())?;
        let t_out = time(&filter, &out, iters, false)?;
        let t_pass = time(&filter, &pass, iters, true)?;
        let (o, p) = (t_out.ns(), t_pass.ns());
        println!("{label:<22} {expr:<46} {o:>12.2} {p:>12.2}");
        headline.get_or_insert((o, p));
        json.push(format!(
            "{{\"case\":\"{label}\",\"filter\":{expr:?},\"schema\":{with_schema},\"rejected_ns\":{o:.3},\"recorded_ns\":{p:.3},\"rejected_wall_ns\":{:.3},\"recorded_wall_ns\":{:.3}}}",
            t_out.wall, t_pass.wall
        ));
    }
    let (out_ns, pass_ns) = headline.unwrap_or_default();
    let verdict = |v: f64| if v <= 10.0 { "met" } else { "MISSED" };
    println!(
        "goals (`{}`): rejected <= 10 ns: {} ({out_ns:.2}); recorded adds <= 10 ns: {} ({pass_ns:.2})",
        cases[0].1,
        verdict(out_ns),
        verdict(pass_ns)
    );
    println!(
        "{{\"bench\":\"ltt-filter\",\"clock\":\"{clock}\",\"iters\":{iters},\"native_ns\":{:.3},\"filtered_out_ns\":{out_ns:.3},\"passing_ns\":{pass_ns:.3},\"cases\":[{}]}}",
        native.ns(),
        json.join(",")
    );
    Ok(())
}
