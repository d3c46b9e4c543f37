//! Sinks that need no event bodies (dummy, counter) or only unpacked ones
//! (CTF) let the sources skip decoding fixed-size bodies: every event must
//! still come out in the same order, with the same header, time and body
//! position, on every fixture trace.

use std::path::{Path, PathBuf};

use ltt_ctf::body::Bodies;
use ltt_graph::iter::MessageIterator;
use ltt_graph::message::{Message, MessageKind};
use ltt_graph::muxer::Muxer;
use ltt_graph::sink::Sink;
use ltt_graph::source::{self, CtfFsParams};

fn fixtures() -> PathBuf {
    match std::env::var_os("LTT_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
    }
}

/// Records what a header-only consumer sees of each message.
struct Recorder {
    bodies: Bodies,
    seen: Vec<String>,
    /// Slots seen, headers and bodies.
    slots: usize,
    /// Whether to record the header's slots.
    headers: bool,
}

impl Sink for Recorder {
    fn consume(&mut self, msg: &Message<'_>) -> Result<(), ltt_graph::Error> {
        let what = match &msg.kind {
            MessageKind::Event(ev) => {
                let s = ev.scopes();
                self.slots += ev.slots().len();
                // Without bodies the header's slots may be left out too.
                let header = match self.headers {
                    true => ev.scope(s.header),
                    false => &[][..],
                };
                format!("{} {:?} {header:?}", ev.class().name, ev.body())
            }
            other => other.name().to_string(),
        };
        self.seen
            .push(format!("{} {:?} {what}", msg.stream.id, msg.clock));
        Ok(())
    }

    fn bodies(&self) -> Bodies {
        self.bodies
    }
}

/// What a recorder saw of `input`, and how the graph ended.
fn record(input: &Path, bodies: Bodies, headers: bool) -> (Recorder, Result<(), String>) {
    let mut sink = Recorder {
        bodies,
        headers,
        seen: Vec::new(),
        slots: 0,
    };
    let mut run = || -> Result<(), ltt_graph::Error> {
        let mut iters: Vec<Box<dyn MessageIterator>> = Vec::new();
        for t in source::discover(&[input.to_path_buf()])? {
            let params = CtfFsParams {
                inputs: t.dirs,
                trace_name: t.trace_name,
                ..CtfFsParams::default()
            };
            for it in source::open(&params)? {
                iters.push(Box::new(it));
            }
        }
        ltt_graph::sink::run(&mut Muxer::new(iters), &mut sink)
    };
    let end = run().map_err(|e| e.to_string());
    (sink, end)
}

/// Every trace of a fixture folder, sorted.
fn traces(dir: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .collect();
    all.sort();
    all
}

#[test]
fn skipped_bodies_keep_headers_times_and_positions() {
    let root = fixtures();
    let mut all_traces = vec![root.join("lttng/basic")];
    all_traces.extend(traces(&root.join("babeltrace-corpus/succeed")));
    // Failing traces fail the same way, after the same messages.
    all_traces.extend(traces(&root.join("babeltrace-corpus/fail")));
    let mut skipped = 0;
    for t in &all_traces {
        for bodies in [Bodies::None, Bodies::Unpacked] {
            let headers = bodies != Bodies::None;
            let (all, all_end) = record(t, Bodies::All, headers);
            let (some, some_end) = record(t, bodies, headers);
            assert_eq!(some.seen, all.seen, "{} with {bodies:?}", t.display());
            assert_eq!(some_end, all_end, "{} with {bodies:?}", t.display());
            skipped += all.slots - some.slots;
        }
    }
    assert!(skipped > 0, "no body was skipped");
}
