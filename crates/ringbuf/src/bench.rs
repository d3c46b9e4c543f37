//! `ltt-bench ringbuf`: reserve+commit of a 16-byte record on 1 and 2
//! threads (rseq and compare-and-swap channels), and consumer throughput.
//! Prints a table, then one JSON line. Per-operation figures are thread CPU
//! time (robust on a shared machine); the 2-thread scaling is the ratio of
//! per-thread costs, i.e. the throughput ratio when each thread has its CPU.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::{Channel, Config, Consumer, ConsumerConfig, Mode, Reserve};

/// Options: `--iters N` per thread (default 20 000 000), `--quick` (2 000 000).
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
    let ncpu = ltt_rseq::possible_cpus();
    let mut rows: Vec<(String, f64, &str)> = Vec::new();
    for reserve in [Reserve::Rseq, Reserve::Atomic] {
        let tag = match reserve {
            Reserve::Rseq => "rseq",
            Reserve::Atomic => "cas",
        };
        let one = reserve_commit(reserve, 1, iters, false)?;
        rows.push((format!("reserve_commit_16B_{tag}_1thread"), one, "ns/op"));
        let clk = reserve_commit(reserve, 1, iters / 4, true)?;
        rows.push((
            format!("reserve_commit_16B_{tag}_1thread_with_clock"),
            clk,
            "ns/op",
        ));
        if ncpu >= 2 {
            let two = reserve_commit(reserve, 2, iters, false)?;
            rows.push((
                format!("reserve_commit_16B_{tag}_2threads"),
                two,
                "ns/op/thread",
            ));
            rows.push((format!("scaling_{tag}_2threads_vs_1"), 2.0 * one / two, "x"));
            if reserve == Reserve::Rseq {
                let sep = reserve_commit_on(reserve, 2, iters, false, true)?;
                rows.push((
                    "baseline_scaling_2threads_separate_channels".into(),
                    2.0 * one / sep,
                    "x",
                ));
            }
        }
    }
    let (mbs, drop_pct) = consumer_throughput(Duration::from_millis(if iters < 10_000_000 {
        300
    } else {
        1500
    }))?;
    rows.push(("consumer_throughput".into(), mbs, "MB/s"));
    rows.push(("consumer_run_writer_drops".into(), drop_pct, "%"));

    println!("rseq mode: {:?}, CPUs: {ncpu}", ltt_rseq::mode());
    println!("{:<44} {:>12} unit", "measure", "value");
    for (name, v, unit) in &rows {
        println!("{name:<44} {v:>12.2} {unit}");
    }
    let json: Vec<String> = rows
        .iter()
        .map(|(n, v, _)| format!("\"{n}\":{v:.3}"))
        .collect();
    println!(
        "{{\"bench\":\"ringbuf\",\"mode\":\"{:?}\",\"iters\":{iters},\"results\":{{{}}}}}",
        ltt_rseq::mode(),
        json.join(",")
    );
    Ok(())
}

fn pin(cpu: usize) {
    if let Ok(a) = crate::sys::Affinity::only(cpu) {
        let _ = a.apply();
    }
}

/// ns per reserve+commit per thread, `threads` threads pinned to distinct
/// CPUs, overwrite mode (never full), fixed timestamp unless `clock`.
pub fn reserve_commit(
    reserve: Reserve,
    threads: usize,
    iters: u64,
    clock: bool,
) -> anyhow::Result<f64> {
    reserve_commit_on(reserve, threads, iters, clock, false)
}

/// As [`reserve_commit`]; `separate`: one channel per thread (no shared
/// memory at all), the platform's own scaling baseline.
pub fn reserve_commit_on(
    reserve: Reserve,
    threads: usize,
    iters: u64,
    clock: bool,
    separate: bool,
) -> anyhow::Result<f64> {
    let config = Config {
        subbuf_size: 64 * 1024,
        num_subbufs: 4,
        max_records: 4096,
        mode: Mode::Overwrite,
        reserve,
        ..Config::default()
    };
    let shared = Arc::new(Channel::create(&config)?);
    let channels = (0..threads)
        .map(|_| {
            if separate {
                Channel::create(&config).map(Arc::new)
            } else {
                Ok(shared.clone())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let barrier = Arc::new(Barrier::new(threads));
    let hs: Vec<_> = channels
        .into_iter()
        .enumerate()
        .map(|(t, ch)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                pin(t % ltt_rseq::possible_cpus());
                let run = |n: u64| {
                    if clock {
                        hot_loop(&ch, n, |_| crate::sys::monotonic_ns())
                    } else {
                        hot_loop(&ch, n, |i| i)
                    }
                };
                run(iters / 10);
                barrier.wait();
                // Best of three: the machine may be shared.
                (0..3).map(|_| run(iters)).fold(f64::INFINITY, f64::min)
            })
        })
        .collect();
    let per_thread: Vec<f64> = hs
        .into_iter()
        .map(|h| h.join().unwrap_or(f64::NAN))
        .collect();
    Ok(per_thread.iter().sum::<f64>() / per_thread.len() as f64)
}

/// CPU time of the calling thread, ns: unlike wall time, it does not count
/// the time other processes of a shared machine hold the CPU.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer; CLOCK_THREAD_CPUTIME_ID always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Thread CPU ns per reserve + 16-byte write + commit.
#[inline(never)]
fn hot_loop(ch: &Channel, iters: u64, ts: impl Fn(u64) -> u64) -> f64 {
    let payload = black_box([0x5au8; 16]);
    let start = thread_cpu_ns();
    for i in 0..iters {
        if let Ok(mut r) = ch.reserve(16, || ts(i)) {
            r.write_at(0, &payload);
            r.commit();
        }
    }
    (thread_cpu_ns() - start) as f64 / iters as f64
}

/// MB/s of packets handed out (and copied, as a file writer would) while one
/// writer thread writes 16-byte records as fast as it can; and the share of
/// records the writer had to drop.
pub fn consumer_throughput(time: Duration) -> anyhow::Result<(f64, f64)> {
    let ch = Arc::new(Channel::create(&Config {
        subbuf_size: 256 * 1024,
        num_subbufs: 8,
        max_records: 16384,
        mode: Mode::Discard,
        reserve: Reserve::Rseq,
        ..Config::default()
    })?);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (ch, stop) = (ch.clone(), stop.clone());
        std::thread::spawn(move || {
            pin(0);
            let (mut ok, mut all) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                for i in 0..256 {
                    all += 1;
                    if let Ok(mut r) = ch.reserve(16, || i) {
                        r.write_at(0, &[1u8; 16]);
                        r.commit();
                        ok += 1;
                    }
                }
            }
            (ok, all)
        })
    };
    if ltt_rseq::possible_cpus() > 1 {
        pin(1);
    }
    let mut c = Consumer::new(&ch, ConsumerConfig::default());
    let mut sink = vec![0u8; 256 * 1024];
    let mut bytes = 0u64;
    let start = Instant::now();
    while start.elapsed() < time {
        c.drain(|p| {
            let b = p.bytes();
            sink[..b.len()].copy_from_slice(b);
            black_box(&sink);
            bytes += b.len() as u64;
        })?;
        c.wait(Duration::from_millis(1));
    }
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (ok, all) = writer.join().unwrap_or((0, 1));
    Ok((
        bytes as f64 / secs / 1e6,
        100.0 * (all - ok) as f64 / all.max(1) as f64,
    ))
}
