//! Writer processes on the same shared buffers, plus a consumer: at the end
//! written = consumed + counted as discarded, exactly, and every consumed
//! record is intact.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{check_packet, child_channel, pin, spawn_child, unpin, write_event};
use ltt_ringbuf::{Consumer, ConsumerConfig};

const ROLE_ENV: &str = "LTT_RB_WRITER_ID";
const WRITE_TIME: Duration = Duration::from_secs(3);

/// The writer process: two threads bouncing between CPUs, for WRITE_TIME.
#[test]
fn writer_process() {
    let Ok(id) = std::env::var(ROLE_ENV) else {
        return;
    };
    let id: u32 = id.parse().unwrap();
    let ch = Arc::new(child_channel().expect("child without a channel"));
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let ncpu = ltt_rseq::possible_cpus();
    let threads: Vec<_> = (0..2u32)
        .map(|t| {
            let (ch, stop, written) = (ch.clone(), stop.clone(), written.clone());
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    if n.is_multiple_of(1000) {
                        match (n / 1000) % 4 {
                            3 => unpin(),
                            k => pin((k as usize + t as usize) % ncpu),
                        }
                    }
                    let _ = write_event(&ch, (id << 29) | (t << 28) | (n & 0x0fff_ffff));
                    n += 1;
                }
                written.fetch_add(n as u64, Ordering::Relaxed);
            })
        })
        .collect();
    std::thread::sleep(WRITE_TIME);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    println!("WRITTEN {}", written.load(Ordering::Relaxed));
    println!("FALLBACKS {}", ch.fallback_reserves());
    println!("RSEQ {:?}", ltt_rseq::mode());
}

#[test]
fn writer_processes_and_consumer_account_exactly() {
    if std::env::var_os(common::CHILD_FD_ENV).is_some() {
        return;
    }
    let ch = common::small_discard_channel();
    // Two rseq writers (one on glibc's registration, one on ours), and one
    // with rseq turned off (it goes through the shared stream with
    // compare-and-swap).
    let mut children: Vec<_> = [
        ("0", "on", ""),
        ("1", "on", "glibc.pthread.rseq=0"),
        ("2", "off", ""),
    ]
    .iter()
    .map(|(id, rseq, tunables)| {
        spawn_child(
            "writer_process",
            &[
                (ROLE_ENV, id),
                ("LTT_RSEQ", rseq),
                ("GLIBC_TUNABLES", tunables),
            ],
            &ch,
        )
    })
    .collect();

    let mut c = Consumer::new(
        &ch,
        ConsumerConfig {
            commit_timeout: Duration::from_secs(2),
        },
    );
    let mut consumed = 0u64;
    let mut packets = 0u64;
    let mut check = |p: &ltt_ringbuf::Packet<'_>| {
        let n = check_packet(p.bytes())
            .unwrap_or_else(|e| panic!("corrupt packet: {e}"))
            .len() as u64;
        assert_eq!(n, p.info().records);
        consumed += n;
        packets += 1;
    };
    let start = Instant::now();
    let mut last_flush = Instant::now();
    loop {
        c.drain(&mut check).unwrap();
        if children
            .iter_mut()
            .all(|ch| ch.try_wait().unwrap().is_some())
        {
            break;
        }
        if last_flush.elapsed() > Duration::from_millis(100) {
            // The switch timer.
            c.flush_all().unwrap();
            last_flush = Instant::now();
        }
        c.wait(Duration::from_millis(10));
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "writers did not finish"
        );
    }
    c.finish(&mut check, Duration::from_secs(5)).unwrap();

    let mut written = 0u64;
    let mut fallbacks = Vec::new();
    let mut modes = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "writer failed");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut found = false;
        for line in text.lines() {
            if let Some(n) = line.split("WRITTEN ").nth(1) {
                written += n.trim().parse::<u64>().unwrap();
                found = true;
            }
            if let Some(n) = line.split("FALLBACKS ").nth(1) {
                fallbacks.push(n.trim().parse::<u64>().unwrap());
            }
            if let Some(m) = line.split("RSEQ ").nth(1) {
                modes.push(m.trim().to_string());
            }
        }
        assert!(found, "writer output without a count:\n{text}");
    }
    let stats: Vec<_> = (0..ch.num_streams()).map(|s| ch.stream_stats(s)).collect();
    let discarded: u64 = stats.iter().map(|s| s.total()).sum();
    let shared = c.stats(ch.shared_stream());
    eprintln!(
        "written {written}, consumed {consumed} in {packets} packets, discarded {discarded} \
         ({stats:?}), shared stream records {}, fallback reserves {}",
        shared.records,
        ch.fallback_reserves()
    );
    assert_eq!(modes, ["Glibc", "Own", "Unavailable"], "writer rseq modes");
    assert_eq!(
        written,
        consumed + discarded,
        "records lost or duplicated silently"
    );
    assert!(discarded > 0, "small buffers must overflow");
    assert!(shared.records > 0, "the writer without rseq wrote nothing");
    assert!(consumed > 1000);
}
