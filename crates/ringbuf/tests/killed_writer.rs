//! A writer process killed with SIGKILL between reserve and commit: the
//! consumer finishes, the packet is cut before the dead record, the loss is
//! counted, and the trace stays readable (our packet checks and babeltrace2).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use common::{
    check_packet, child_channel, encode_event, pin, spawn_child, unpin, write_event, TraceDir,
    EVENT_SIZE,
};
use ltt_ringbuf::{monotonic_ns, Consumer, ConsumerConfig};

const ROLE_ENV: &str = "LTT_RB_KILLED_WRITER";
const CHILD_EVENTS: u32 = 200;
const PARENT_EVENTS: u32 = 50;

/// The victim: writes CHILD_EVENTS records on CPU 0, reserves one more,
/// half-writes it, says so, and waits to be killed.
#[test]
fn victim_process() {
    if std::env::var_os(ROLE_ENV).is_none() {
        return;
    }
    let ch = child_channel().expect("child without a channel");
    pin(0);
    for v in 0..CHILD_EVENTS {
        write_event(&ch, v).unwrap();
    }
    let mut r = ch.reserve(EVENT_SIZE, monotonic_ns).unwrap();
    r.bytes_mut()[..10].fill(0xee);
    let mut out = std::io::stdout().lock();
    writeln!(out, "\nRESERVED {}", r.stream()).unwrap();
    out.flush().unwrap();
    std::thread::sleep(Duration::from_secs(60));
    r.commit();
}

#[test]
fn killed_writer_is_cut_and_counted() {
    if std::env::var_os(common::CHILD_FD_ENV).is_some() {
        return;
    }
    let ch = common::small_discard_channel();
    // Victim and parent write to the same stream: CPU 0's, or the shared
    // one when this process runs without rseq (LTT_RSEQ=off).
    let rseq = ltt_rseq::mode() != ltt_rseq::Mode::Unavailable;
    let expected = if rseq { 0 } else { ch.shared_stream() };
    let mut child = spawn_child(
        "victim_process",
        &[
            (ROLE_ENV, "1"),
            ("LTT_RSEQ", if rseq { "on" } else { "off" }),
        ],
        &ch,
    );
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let stream = loop {
        let line = lines.next().expect("victim exited early").unwrap();
        if let Some(s) = line.strip_prefix("RESERVED ") {
            break s.trim().parse::<usize>().unwrap();
        }
    };
    assert_eq!(stream, expected);
    // More records after the hole, in the same sub-buffer.
    pin(0);
    for v in 0..PARENT_EVENTS {
        let mut r = ch.reserve(EVENT_SIZE, monotonic_ns).unwrap();
        let ts = r.timestamp();
        encode_event(r.bytes_mut(), 1000 + v, ts);
        assert_eq!(r.stream(), expected);
        r.commit();
    }
    unpin();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let timeout = Duration::from_millis(300);
    let mut c = Consumer::new(
        &ch,
        ConsumerConfig {
            commit_timeout: timeout,
        },
    );
    let mut dir = TraceDir::new("ltt-ringbuf-killed", ch.num_streams(), 0);
    let mut values = Vec::new();
    let mut discarded_seen = 0;
    let start = Instant::now();
    c.finish(
        |p| {
            let v = check_packet(p.bytes()).unwrap_or_else(|e| panic!("unreadable packet: {e}"));
            values.extend(v.iter().map(|(v, _)| *v));
            discarded_seen = discarded_seen.max(p.info().fields.events_discarded);
            dir.write_packet(p.info().stream, p.bytes());
        },
        Duration::from_secs(5),
    )
    .expect("the consumer must not hang on a dead writer");
    let took = start.elapsed();
    assert!(
        took >= timeout && took < Duration::from_secs(3),
        "finish took {took:?}"
    );

    assert_eq!(
        values,
        (0..CHILD_EVENTS).collect::<Vec<_>>(),
        "everything before the hole, nothing after"
    );
    let lost = c.stats(expected).lost_dead;
    assert_eq!(
        lost,
        1 + PARENT_EVENTS as u64,
        "the dead record and the ones after it in its packet"
    );
    assert_eq!(ch.stream_stats(expected).lost_dead, lost);
    assert_eq!(discarded_seen, lost, "events_discarded carries the loss");

    if let Some((out, err)) = common::babeltrace2(&dir.path) {
        let events = out
            .lines()
            .filter(|l| l.contains("ltt_test:record"))
            .count();
        assert_eq!(events, CHILD_EVENTS as usize, "babeltrace2 output:\n{out}");
        let all = format!("{out}{err}");
        assert!(
            all.contains(&format!("discarded {lost} events")),
            "babeltrace2 did not report the loss:\n{all}"
        );
    }
}
