//! Ring-buffer behaviour within one process: round trip, discard, overwrite,
//! too-big records, a writer that never commits, concurrency with migrations.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{check_packet, encode_event, TraceDir, EVENT_SIZE, UUID};
use ltt_ringbuf::{
    monotonic_ns, Channel, Config, Consumer, ConsumerConfig, Mode, Reserve, ReserveError,
};

fn config(mode: Mode, reserve: Reserve) -> Config {
    Config {
        subbuf_size: 1024,
        num_subbufs: 4,
        max_records: 64,
        mode,
        reserve,
        uuid: UUID,
        ..Config::default()
    }
}

fn write_event(ch: &Channel, value: u32) -> Result<usize, ReserveError> {
    let mut r = ch.reserve(EVENT_SIZE, monotonic_ns)?;
    let ts = r.timestamp();
    encode_event(r.bytes_mut(), value, ts);
    let s = r.stream();
    r.commit();
    Ok(s)
}

/// Consume everything; returns the values per stream, in order.
fn finish(ch: &Channel, timeout: Duration) -> (Vec<Vec<u32>>, u64) {
    let mut c = Consumer::new(
        ch,
        ConsumerConfig {
            commit_timeout: timeout,
        },
    );
    let mut values = vec![Vec::new(); ch.num_streams()];
    let mut discarded = vec![0u64; ch.num_streams()];
    let mut last_seq = vec![None; ch.num_streams()];
    c.finish(
        |p| {
            let v = check_packet(p.bytes()).unwrap_or_else(|e| panic!("bad packet: {e}"));
            let i = p.info();
            assert_eq!(v.len() as u64, i.records);
            if ch.config().mode == Mode::Discard {
                if let Some(prev) = last_seq[i.stream] {
                    assert_eq!(
                        i.fields.packet_seq_num,
                        prev + 1,
                        "discard mode: no packet gaps"
                    );
                }
            }
            last_seq[i.stream] = Some(i.fields.packet_seq_num);
            assert!(i.fields.events_discarded >= discarded[i.stream]);
            discarded[i.stream] = i.fields.events_discarded;
            values[i.stream].extend(v.into_iter().map(|(v, _)| v));
        },
        Duration::from_secs(5),
    )
    .unwrap();
    let lost: u64 = (0..ch.num_streams())
        .map(|s| ch.stream_stats(s).total())
        .sum();
    (values, lost)
}

#[test]
fn round_trip_in_order() {
    for reserve in [Reserve::Rseq, Reserve::Atomic] {
        let ch = Channel::create(&config(Mode::Discard, reserve)).unwrap();
        let mut per_stream = vec![Vec::new(); ch.num_streams()];
        let mut c = Consumer::new(&ch, ConsumerConfig::default());
        let mut got = vec![Vec::new(); ch.num_streams()];
        for v in 0..2000u32 {
            let s = write_event(&ch, v).unwrap();
            per_stream[s].push(v);
            if v % 50 == 0 {
                c.drain(|p| {
                    let vals = check_packet(p.bytes()).unwrap();
                    got[p.info().stream].extend(vals.into_iter().map(|(v, _)| v));
                })
                .unwrap();
            }
        }
        c.finish(
            |p| {
                let vals = check_packet(p.bytes()).unwrap();
                got[p.info().stream].extend(vals.into_iter().map(|(v, _)| v));
            },
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(got, per_stream, "{reserve:?}");
        assert_eq!(
            (0..ch.num_streams())
                .map(|s| ch.stream_stats(s).total())
                .sum::<u64>(),
            0
        );
    }
}

#[test]
fn discard_mode_drops_and_counts() {
    let ch = Channel::create(&config(Mode::Discard, Reserve::Rseq)).unwrap();
    // Stay on one CPU so that one ring fills up.
    let (mut ok, mut full) = (0u64, 0u64);
    for v in 0..1000u32 {
        match write_event(&ch, v) {
            Ok(_) => ok += 1,
            Err(ReserveError::Full) => full += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(full > 0, "a 4 KiB buffer cannot hold 22 KB of events");
    let (values, lost) = finish(&ch, Duration::from_secs(1));
    let consumed: usize = values.iter().map(Vec::len).sum();
    assert_eq!(consumed as u64, ok);
    assert_eq!(lost, full);
    assert_eq!(consumed as u64 + lost, 1000);
}

#[test]
fn overwrite_mode_keeps_the_newest() {
    let ch = Channel::create(&config(Mode::Overwrite, Reserve::Rseq)).unwrap();
    let mut per_stream = vec![Vec::new(); ch.num_streams()];
    for v in 0..5000u32 {
        let s = write_event(&ch, v).expect("overwrite mode never drops");
        per_stream[s].push(v);
    }
    let mut c = Consumer::new(&ch, ConsumerConfig::default());
    let mut got = vec![Vec::new(); ch.num_streams()];
    c.finish(
        |p| {
            let vals = check_packet(p.bytes()).unwrap();
            got[p.info().stream].extend(vals.into_iter().map(|(v, _)| v));
        },
        Duration::from_secs(5),
    )
    .unwrap();
    let mut lost_packets = 0;
    for s in 0..ch.num_streams() {
        lost_packets += c.stats(s).lost_packets;
        // What we got is the tail of what was written, in order.
        let w = &per_stream[s];
        let g = &got[s];
        assert!(g.len() <= w.len());
        assert_eq!(&w[w.len() - g.len()..], &g[..], "stream {s}");
        if w.len() > 200 {
            assert!(g.len() >= 100, "too little kept: {}", g.len());
        }
    }
    assert!(lost_packets > 0);
}

#[test]
fn too_big_records_are_rejected_and_counted() {
    let ch = Channel::create(&config(Mode::Discard, Reserve::Rseq)).unwrap();
    let max = 1024 - 84;
    assert!(matches!(
        ch.reserve_at(max + 1, 1),
        Err(ReserveError::TooBig)
    ));
    let r = ch.reserve_at(max, 1).unwrap();
    drop(r);
    let lost: u64 = (0..ch.num_streams())
        .map(|s| ch.stream_stats(s).lost_too_big)
        .sum();
    assert_eq!(lost, 1);
}

#[test]
fn uncommitted_record_cuts_the_packet_after_the_timeout() {
    let ch = Channel::create(&config(Mode::Discard, Reserve::Atomic)).unwrap();
    // Atomic mode on a fixed stream: pin to CPU 0 so that all go to stream 0.
    pin(0);
    for v in 0..5u32 {
        assert_eq!(write_event(&ch, v).unwrap(), 0);
    }
    let mut r = ch.reserve(EVENT_SIZE, monotonic_ns).unwrap();
    let ts = r.timestamp();
    encode_event(r.bytes_mut(), 99, ts);
    std::mem::forget(r); // the writer "dies" before commit
    for v in 5..10u32 {
        assert_eq!(write_event(&ch, v).unwrap(), 0);
    }
    unpin();
    let start = std::time::Instant::now();
    let (values, lost) = finish(&ch, Duration::from_millis(200));
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(
        values[0],
        vec![0, 1, 2, 3, 4],
        "cut before the uncommitted record"
    );
    assert_eq!(lost, 6, "the dead record and the 5 after it in its packet");
}

#[test]
fn overwrite_mode_does_not_reuse_a_sub_buffer_with_an_uncommitted_record() {
    let ch = Channel::create(&config(Mode::Overwrite, Reserve::Atomic)).unwrap();
    // Atomic mode on a fixed stream: pin to CPU 0 so that all go to stream 0.
    pin(0);
    let r = ch.reserve(EVENT_SIZE, monotonic_ns).unwrap();
    assert_eq!(r.stream(), 0);
    std::mem::forget(r); // the writer "dies" before commit
    let mut full = 0;
    for v in 0..1000u32 {
        match write_event(&ch, v) {
            Ok(s) => assert_eq!(s, 0),
            Err(ReserveError::Full) => full += 1,
            Err(e) => panic!("{e}"),
        }
    }
    unpin();
    assert!(
        full > 0,
        "sub-buffer 0 was reused under its uncommitted record"
    );
    assert_eq!(ch.stream_stats(0).lost_full, full);
    // The consumer gives up on the dead record after its timeout, which lets
    // writers reuse its sub-buffer again.
    let mut c = Consumer::new(
        &ch,
        ConsumerConfig {
            commit_timeout: Duration::from_millis(100),
        },
    );
    c.finish(
        |p| {
            check_packet(p.bytes()).unwrap();
        },
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(c.stats(0).lost_dead > 0);
    pin(0);
    for v in 0..1000u32 {
        write_event(&ch, v).expect("the sub-buffer is reusable again");
    }
    unpin();
}

fn pin(cpu: usize) {
    // SAFETY: zeroed cpu_set_t is empty; CPU_SET within bounds.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn unpin() {
    // SAFETY: as in `pin`.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for c in 0..ltt_rseq::possible_cpus() {
            libc::CPU_SET(c, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Writer threads (more than CPUs, bouncing between CPUs) and a concurrent
/// consumer: written = consumed + discarded, every record intact.
fn threads_exact(reserve: Reserve) {
    let ch = Arc::new(Channel::create(&config(Mode::Discard, reserve)).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let ncpu = ltt_rseq::possible_cpus();
    let writers: Vec<_> = (0..4u32)
        .map(|t| {
            let (ch, stop, written) = (ch.clone(), stop.clone(), written.clone());
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    if n.is_multiple_of(500) {
                        if (n / 500) % 3 == 2 {
                            unpin();
                        } else {
                            pin((t as usize + (n / 500) as usize) % ncpu);
                        }
                    }
                    let _ = write_event(&ch, (t << 28) | n);
                    n += 1;
                }
                written.fetch_add(n as u64, Ordering::Relaxed);
            })
        })
        .collect();
    let mut c = Consumer::new(&ch, ConsumerConfig::default());
    let mut consumed = 0u64;
    let deadline = std::time::Instant::now() + Duration::from_millis(1500);
    while std::time::Instant::now() < deadline {
        c.drain(|p| consumed += check_packet(p.bytes()).unwrap().len() as u64)
            .unwrap();
        c.wait(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    c.finish(
        |p| consumed += check_packet(p.bytes()).unwrap().len() as u64,
        Duration::from_secs(5),
    )
    .unwrap();
    let lost: u64 = (0..ch.num_streams())
        .map(|s| ch.stream_stats(s).total())
        .sum();
    let written = written.load(Ordering::Relaxed);
    eprintln!(
        "{reserve:?}: written {written}, consumed {consumed}, discarded {lost}, fallbacks {}",
        ch.fallback_reserves()
    );
    assert_eq!(written, consumed + lost);
    assert!(consumed > 0);
}

#[test]
fn threads_and_migrations_rseq() {
    threads_exact(Reserve::Rseq);
}

#[test]
fn threads_and_migrations_atomic() {
    threads_exact(Reserve::Atomic);
}

#[test]
fn channel_opens_from_its_fd_and_rejects_garbage() {
    use std::os::fd::AsFd;
    let ch = Channel::create(&config(Mode::Discard, Reserve::Rseq)).unwrap();
    let dup = ch.fd().as_fd().try_clone_to_owned().unwrap();
    let other = Channel::open(dup).unwrap();
    assert_eq!(
        other.config(),
        &Config {
            cpus: Some(ch.num_cpus() as u32),
            ..ch.config().clone()
        }
    );
    write_event(&other, 7).unwrap();
    let (values, _) = finish(&ch, Duration::from_secs(1));
    assert_eq!(values.concat(), vec![7]);

    // A memfd of zeros is not a channel.
    // SAFETY: plain memfd_create/ftruncate; the fd is owned below.
    let fd = unsafe {
        let fd = libc::memfd_create(c"x".as_ptr(), libc::MFD_CLOEXEC);
        libc::ftruncate(fd, 65536);
        std::os::fd::FromRawFd::from_raw_fd(fd)
    };
    assert!(Channel::open(fd).is_err());
}

#[test]
fn trace_is_readable_by_babeltrace2() {
    let ch = Channel::create(&config(Mode::Discard, Reserve::Rseq)).unwrap();
    let mut dir = TraceDir::new("ltt-ringbuf-bt", ch.num_streams(), 0);
    let mut c = Consumer::new(&ch, ConsumerConfig::default());
    let mut n = 0;
    let mut written = 0;
    for v in 0..300u32 {
        if write_event(&ch, v).is_ok() {
            written += 1;
        }
        if v % 20 == 0 {
            c.drain(|p| {
                dir.write_packet(p.info().stream, p.bytes());
                n += p.info().records;
            })
            .unwrap();
        }
    }
    c.finish(
        |p| {
            dir.write_packet(p.info().stream, p.bytes());
            n += p.info().records;
        },
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(n, written);
    if let Some((out, _)) = common::babeltrace2(&dir.path) {
        let events = out
            .lines()
            .filter(|l| l.contains("ltt_test:record"))
            .count();
        assert_eq!(events as u64, n, "babeltrace2 output:\n{out}");
        assert!(out.contains("value = 299"));
    }
}

/// Overwrite mode with writers lapping a concurrent consumer: every packet
/// handed out is intact (the copy is checked against reuse, and a writer
/// preempted between reserve and commit keeps its sub-buffer from being
/// reused under it) and each thread's records come out in order.
///
/// Stressed: tiny sub-buffers, more writers than CPUs, and writers that give
/// up their CPU between reserve and commit now and then, so that the others
/// lap the ring meanwhile.
#[test]
fn overwrite_mode_with_a_concurrent_consumer() {
    let nwriters = 2 * ltt_rseq::possible_cpus() as u32 + 2;
    for round in 0..3 {
        for reserve in [Reserve::Rseq, Reserve::Atomic] {
            overwrite_round(round, reserve, nwriters);
        }
    }
}

fn overwrite_round(round: u32, reserve: Reserve, nwriters: u32) {
    let ch = Arc::new(
        Channel::create(&Config {
            subbuf_size: 256,
            num_subbufs: 2,
            max_records: 64,
            mode: Mode::Overwrite,
            reserve,
            uuid: UUID,
            ..Config::default()
        })
        .unwrap(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..nwriters)
        .map(|t| {
            let (ch, stop, dropped) = (ch.clone(), stop.clone(), dropped.clone());
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let value = (t << 28) | n;
                    n += 1;
                    let mut r = match ch.reserve(EVENT_SIZE, monotonic_ns) {
                        Ok(r) => r,
                        Err(ReserveError::Full) => {
                            dropped.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        Err(e) => panic!("{e}"),
                    };
                    if n % 64 == t % 64 {
                        // Preempted between reserve and commit.
                        std::thread::yield_now();
                    }
                    let ts = r.timestamp();
                    encode_event(r.bytes_mut(), value, ts);
                    r.commit();
                }
            })
        })
        .collect();
    let mut c = Consumer::new(
        &ch,
        ConsumerConfig {
            commit_timeout: Duration::from_secs(5),
        },
    );
    let mut last = std::collections::HashMap::new();
    let mut packets = 0;
    let check = |p: &ltt_ringbuf::Packet<'_>,
                 last: &mut std::collections::HashMap<(usize, u32), u32>| {
        let vals =
            check_packet(p.bytes()).unwrap_or_else(|e| panic!("{reserve:?} round {round}: {e}"));
        assert_eq!(vals.len() as u64, p.info().records);
        for (v, _) in vals {
            let key = (p.info().stream, v >> 28);
            if let Some(&prev) = last.get(&key) {
                assert!(v & 0x0fff_ffff > prev, "{reserve:?}: out of order");
            }
            last.insert(key, v & 0x0fff_ffff);
        }
    };
    let deadline = std::time::Instant::now() + Duration::from_millis(300);
    while std::time::Instant::now() < deadline {
        c.drain(|p| {
            check(p, &mut last);
            packets += 1;
        })
        .unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    c.finish(|p| check(p, &mut last), Duration::from_secs(10))
        .unwrap();
    let lost: u64 = (0..ch.num_streams()).map(|s| c.stats(s).lost_packets).sum();
    let dropped = dropped.load(Ordering::Relaxed);
    let counted: u64 = (0..ch.num_streams())
        .map(|s| ch.stream_stats(s).lost_full)
        .sum();
    eprintln!(
        "{reserve:?} round {round}: {packets} packets read while writing, {lost} overwritten, \
         {dropped} records dropped"
    );
    assert_eq!(dropped, counted, "every dropped record is counted");
    assert!(packets > 0 && lost > 0);
}

#[test]
fn short_headers_only_where_a_reader_can_rebuild_the_timestamp() {
    let ch = Channel::create(&config(Mode::Discard, Reserve::Rseq)).unwrap();
    pin(0);
    // (timestamp, whether the short form is allowed). A reader rebuilds a
    // 32-bit timestamp from the previous record of the packet, or from the
    // packet's beginning, never earlier than the stream's last timestamp.
    let t0 = 10_000_000_000u64;
    let steps = [
        (t0, false), // nothing recorded yet: over 2^32 since 0
        (t0 + 500, true),
        (t0 + 500 + (1 << 32), false), // 2^32 after the previous record
        (t0 + 600 + (1 << 32), true),
    ];
    for (ts, short) in steps {
        let r = ch.reserve_short(8, 16, || ts).unwrap();
        assert_eq!(r.is_short(), short, "at {ts}");
        assert_eq!(r.len(), if short { 8 } else { 16 });
        r.commit();
    }
    unpin();
}

/// Mappings of `ch`'s memfd in this process (by inode: other tests'
/// channels come and go meanwhile).
fn mappings_of(ch: &Channel) -> usize {
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::File::from(ch.fd().try_clone_to_owned().unwrap());
    let inode = file.metadata().unwrap().ino().to_string();
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|l| l.contains("memfd:ltt-ringbuf") && l.split_whitespace().nth(4) == Some(&inode))
        .count()
}

#[test]
fn a_retired_channel_lets_go_of_the_memory_and_takes_late_writes() {
    use std::os::fd::AsRawFd;
    let ch = Channel::create(&config(Mode::Discard, Reserve::Rseq)).unwrap();
    let dup = ch.fd().try_clone_to_owned().unwrap();
    let app = Channel::open(dup).unwrap();
    // The creator's mapping and the app's.
    assert_eq!(mappings_of(&ch), 2);
    write_event(&app, 1).unwrap();
    // A writer still inside a record when the channel is retired.
    let mut late = app.reserve(EVENT_SIZE, monotonic_ns).unwrap();
    app.retire().unwrap();
    encode_event(late.bytes_mut(), 2, 0);
    late.commit();
    write_event(&app, 3).unwrap();
    assert_eq!(
        mappings_of(&ch),
        1,
        "the app's shared mapping is still there"
    );
    let fd = format!("/proc/self/fd/{}", app.fd().as_raw_fd());
    assert_eq!(
        std::fs::read_link(fd).unwrap(),
        std::path::Path::new("/dev/null")
    );
    assert!(app.is_retired());
    // The creator's side has what was written before, and counts the
    // record left uncommitted in it as lost.
    let (values, lost) = finish(&ch, Duration::from_millis(100));
    assert_eq!(values.concat(), vec![1]);
    assert_eq!(lost, 1);
    // Retired channels are never dropped (late writers may hold them).
    std::mem::forget(app);
}
