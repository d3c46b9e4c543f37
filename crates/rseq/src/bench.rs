//! `ltt-bench rseq`: current_cpu vs sched_getcpu, per-CPU add with rseq vs
//! with a lock-prefixed atomic. Prints a table, then one JSON line. Figures
//! are thread CPU time per operation, best of three runs.

use std::hint::black_box;

use crate::{current_cpu, mode, possible_cpus, PerCpuCounter, Strategy};

/// Options: `--iters N` (default 20 000 000), `--quick` (2 000 000).
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut iters: u64 = 20_000_000;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => iters = 2_000_000,
            "--iters" => {
                iters = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--iters needs a value"))?
                    .parse()?
            }
            other => anyhow::bail!("unknown option {other:?} (expected --iters N or --quick)"),
        }
    }
    let rows = measure(iters);
    println!(
        "rseq mode: {:?}, possible CPUs: {}",
        mode(),
        possible_cpus()
    );
    println!("{:<28} {:>10}", "operation", "ns/op");
    for (name, ns) in &rows {
        println!("{name:<28} {ns:>10.2}");
    }
    let json: Vec<String> = rows
        .iter()
        .map(|(n, v)| format!("\"{n}\":{v:.3}"))
        .collect();
    println!(
        "{{\"bench\":\"rseq\",\"mode\":\"{:?}\",\"iters\":{iters},\"ns_per_op\":{{{}}}}}",
        mode(),
        json.join(",")
    );
    Ok(())
}

/// CPU time of the calling thread, ns (not counting time other processes of
/// a shared machine hold the CPU).
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer; CLOCK_THREAD_CPUTIME_ID always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn time_per_op(iters: u64, mut f: impl FnMut()) -> f64 {
    // Warm up, then take the best of three runs (the machine is shared).
    for _ in 0..iters / 10 {
        f();
    }
    (0..3)
        .map(|_| {
            let t = thread_cpu_ns();
            for _ in 0..iters {
                f();
            }
            (thread_cpu_ns() - t) as f64 / iters as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// (name, ns/op) rows.
pub fn measure(iters: u64) -> Vec<(&'static str, f64)> {
    let empty = time_per_op(iters, || {
        black_box(0u32);
    });
    let cpu = time_per_op(iters, || {
        black_box(current_cpu());
    });
    let getcpu = time_per_op(iters, || {
        // SAFETY: sched_getcpu has no preconditions.
        black_box(unsafe { libc::sched_getcpu() });
    });
    let rseq = PerCpuCounter::with_strategy(Strategy::Rseq);
    let add_rseq = time_per_op(iters, || rseq.add(black_box(1)));
    let atomic = PerCpuCounter::with_strategy(Strategy::Atomic);
    let add_atomic = time_per_op(iters, || atomic.add(black_box(1)));
    vec![
        ("empty_loop", empty),
        ("current_cpu", cpu),
        ("sched_getcpu", getcpu),
        ("percpu_add_rseq", add_rseq),
        ("percpu_add_atomic", add_atomic),
    ]
}
