//! `ltt-demo`: an instrumented program for trying the tracer and measuring
//! it. Every thread hits one event per iteration; the last line of output
//! is `RESULT iterations=N threads=T ns_per_event=X`, timed around the
//! tracing loop only (registration happens before).
//!
//! Run it alone (tracing off: the cost of a disabled tracepoint), or under
//! `ltt record -- ltt-demo ...` (the cost of an enabled one).

use std::time::Instant;

use clap::{Parser, ValueEnum};

ltt_ust::ctf_enum! {
    /// A worker's state: single values, ranges, a negative value.
    pub enum State: i32 {
        IDLE = 0,
        RUNNING = 1,
        BUSY = 2..=4,
        NEGATIVE = -1,
        HIGH = 100..=199,
    }
}

ltt_ust::ctf_enum! {
    /// An unsigned 8-bit enumeration with gaps.
    pub enum Mode: u8 {
        ZERO = 0,
        ONE = 1,
        TWO = 2,
        TEN = 10,
        ELEVEN = 11,
    }
}

ltt_ust::provider! {
    /// The demo's events: nothing, one integer, and every field type.
    pub mod demo {
        /// No payload: the floor of an enabled event's cost.
        event empty();
        /// One 32-bit integer.
        event one_int(v: i32) loglevel(DebugUnit);
        /// One field of every kind the tracer supports.
        event all_types(
            s8: i8, u8: u8, s16: i16, u16: u16, s32: i32, u32: u32, s64: i64, u64: u64,
            hex32: u32 as hex, hex64: u64 as hex,
            net16: u16 as network, net32: u32 as network, net64: u64 as network,
            nethex32: u32 as network_hex,
            f32: f32, f64: f64,
            str: &str,
            arr: [i32; 4], arrhex: [u8; 4] as hex,
            seq: &[i32], seq16: &[u16],
            text8: [u8; 8] as text, seqtext: &[u8] as text,
            state: State, mode: Mode,
        ) loglevel(Info);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Payload {
    Empty,
    OneInt,
    AllTypes,
    /// A `tracing::info!` event with one field, through ltt's tracing layer.
    Tracing,
}

/// An instrumented demo program for ltt (try `ltt record -- ltt-demo`).
#[derive(Parser, Debug)]
#[command(name = "ltt-demo", version, about)]
struct Args {
    /// Events per thread.
    #[arg(long, default_value_t = 1000)]
    iterations: u64,
    /// Threads hitting events concurrently.
    #[arg(long, default_value_t = 1)]
    threads: u32,
    /// Which event each iteration hits.
    #[arg(long, value_enum, default_value_t = Payload::AllTypes)]
    payload: Payload,
    /// Pause this many microseconds after each event (a slow, long-running
    /// app, e.g. to enable events while it runs; the pauses are timed too).
    #[arg(long, value_name = "US", default_value_t = 0)]
    interval_us: u64,
    /// Fork once before the loop: the child runs the same loop (and
    /// registers with the session on its own), the parent waits for it.
    #[arg(long)]
    fork: bool,
}

/// Strings cycled through by `all_types` (no empty string: babeltrace2
/// 2.0.4 misprints those, and comparing with it is what the tests do).
const WORDS: [&str; 5] = [
    "hello",
    "with space",
    "tab\tand \"quotes\"",
    "utf-8: é ✓",
    "back\\slash",
];

/// Arguments are built inside the macro: evaluated only when enabled.
#[inline(always)]
fn all_types(i: u64, t: u32) {
    ltt_ust::tracepoint!(demo::all_types(
        i as i8,
        (i * 3) as u8,
        -(i as i16),
        i as u16,
        -(i as i32) * 1000,
        i as u32 * 100_000,
        -(i as i64) * 1_000_000_000_007,
        u64::MAX - i,
        0xdead_0000 | (i as u32 & 0xffff),
        0x0123_4567_8900_0000 | i,
        i as u16,
        (i as u32) << 8,
        i << 20,
        0xfe00_0000 | i as u32,
        i as f32 * 0.5,
        i as f64 / 3.0,
        WORDS[i as usize % WORDS.len()],
        [i as i32, -1, t as i32, 42],
        [0xde, 0xad, i as u8, 0],
        &[i as i32, -(i as i32), 7][..(i % 4) as usize],
        &[i as u16, 0xbeef][..(i % 3) as usize],
        *b"abcdefgh",
        &b"sequence"[..1 + (i % 8) as usize],
        match i % 4 {
            0 => State::IDLE,
            1 => State(3),
            2 => State::NEGATIVE,
            _ => State(50),
        },
        Mode((i % 13) as u8),
    ));
}

/// Hit `event` `iterations` times, pausing `interval_us` after each.
#[inline(always)]
fn repeat(iterations: u64, interval_us: u64, event: impl Fn(u64)) {
    if interval_us == 0 {
        for i in 0..iterations {
            event(i);
        }
    } else {
        let pause = std::time::Duration::from_micros(interval_us);
        for i in 0..iterations {
            event(i);
            std::thread::sleep(pause);
        }
    }
}

/// One thread's loop; returns its duration in ns.
fn run(args: &Args, t: u32) -> u128 {
    let (n, pause) = (args.iterations, args.interval_us);
    let start = Instant::now();
    match args.payload {
        Payload::Empty => repeat(n, pause, |_| ltt_ust::tracepoint!(demo::empty())),
        Payload::OneInt => repeat(n, pause, |i| ltt_ust::tracepoint!(demo::one_int(i as i32))),
        Payload::AllTypes => repeat(n, pause, |i| all_types(i, t)),
        Payload::Tracing => repeat(n, pause, |i| tracing::info!(i, "demo message")),
    }
    start.elapsed().as_nanos()
}

fn main() {
    let args = Args::parse();
    if args.payload == Payload::Tracing {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(ltt_ust::LttLayer);
        if tracing::subscriber::set_global_default(subscriber).is_err() {
            eprintln!("ltt-demo: a tracing subscriber is already set");
        }
        ltt_ust::rust_tracing::register();
    }
    demo::register();
    // SAFETY: fork in a process whose other threads (the tracer's
    // listener) the child does not need; the child only runs the loop.
    let child = if args.fork {
        unsafe { libc::fork() }
    } else {
        -1
    };
    if child == 0 {
        for t in 0..args.threads.max(1) {
            run(&args, t);
        }
        std::process::exit(0);
    }
    let threads = args.threads.max(1);
    let times: Vec<u128> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let args = &args;
                s.spawn(move || run(args, t))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    });
    let total: u128 = times.iter().sum();
    let ns_per_event = if args.iterations == 0 {
        0.0
    } else {
        total as f64 / threads as f64 / args.iterations as f64
    };
    if child > 0 {
        let mut status = 0;
        // SAFETY: waits for the child forked above.
        unsafe { libc::waitpid(child, &mut status, 0) };
        if status != 0 {
            eprintln!("ltt-demo: the forked child failed ({status})");
            std::process::exit(1);
        }
    }
    println!(
        "RESULT iterations={} threads={} ns_per_event={:.1}",
        args.iterations, threads, ns_per_event
    );
}
