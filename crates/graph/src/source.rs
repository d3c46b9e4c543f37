//! `source.ctf.fs`: reads CTF traces from disk, one message iterator per
//! logical stream (babeltrace2's output ports).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ltt_ctf::body::Bodies;
use ltt_ctf::stream::{Item, PacketRef};

use crate::feed::Feed;
use ltt_ctf::trace::{self, Trace};

use crate::clock::ClockClass;
use crate::iter::MessageIterator;
use crate::message::{Discarded, EventView, Message, MessageKind, StreamInfo, TraceInfo};
use crate::Error;

/// Parameters of `source.ctf.fs`.
#[derive(Debug, Clone, Default)]
pub struct CtfFsParams {
    /// Trace directories (all sharing one UUID are merged).
    pub inputs: Vec<PathBuf>,
    pub trace_name: Option<String>,
    pub clock_offset_s: i64,
    pub clock_offset_ns: i64,
    pub force_clock_origin_unix_epoch: bool,
    /// Decode each stream on its own thread (worth it for a few streams).
    pub threads: bool,
}

/// Most streams a trace may have for each to get a decoding thread.
const MAX_DECODING_THREADS: usize = 16;

/// What auto-discovery found under one command-line path: a group of
/// trace directories forming one trace.
#[derive(Debug, Clone)]
pub struct DiscoveredTrace {
    pub dirs: Vec<PathBuf>,
    /// `trace-name` the CLI gives: the directory relative to the input
    /// path, when the trace has a single directory below it.
    pub trace_name: Option<String>,
}

/// Finds the traces below each path, grouping directories that share a
/// UUID, the way `babeltrace2 convert` auto-discovers sources.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<DiscoveredTrace>, Error> {
    let mut dirs: Vec<(PathBuf, PathBuf)> = Vec::new();
    for p in paths {
        for d in trace::find_trace_dirs(p)? {
            dirs.push((p.clone(), d));
        }
    }
    // (trace UUID, [(input path, trace dir)]) in discovery order.
    type Group = (Option<[u8; 16]>, Vec<(PathBuf, PathBuf)>);
    let mut groups: Vec<Group> = Vec::new();
    for (input, dir) in dirs {
        let uuid = trace::read_metadata(&dir)?.trace.uuid;
        match groups.iter_mut().find(|(u, _)| u.is_some() && *u == uuid) {
            Some((_, g)) => g.push((input, dir)),
            None => groups.push((uuid, vec![(input, dir)])),
        }
    }
    Ok(groups
        .into_iter()
        .map(|(_, g)| {
            let trace_name = if g.len() == 1 {
                let (input, dir) = &g[0];
                dir.strip_prefix(input)
                    .ok()
                    .map(|r| r.to_string_lossy().into_owned())
                    .filter(|r| !r.is_empty())
            } else {
                None
            };
            DiscoveredTrace {
                dirs: g.into_iter().map(|(_, d)| d).collect(),
                trace_name,
            }
        })
        .collect())
}

/// Opens a `source.ctf.fs` component on one trace (its `inputs` share a
/// UUID): one iterator per stream.
pub fn open(params: &CtfFsParams) -> Result<Vec<CtfStreamIter>, Error> {
    stream_iters(trace::open_trace(&params.inputs)?, params)
}

fn stream_iters(t: Trace, params: &CtfFsParams) -> Result<Vec<CtfStreamIter>, Error> {
    let m = t.metadata();
    let hostname = m.env_str("hostname").map(str::to_owned);
    let name = match (hostname, &params.trace_name) {
        (Some(h), Some(n)) => Some(format!("{h}/{n}")),
        (Some(h), None) => Some(h),
        (None, Some(n)) => Some(n.clone()),
        (None, None) => Some(String::new()),
    };
    let is_lttng = m
        .env_str("tracer_name")
        .is_some_and(|n| n.starts_with("lttng"));
    let clocks = m
        .clocks
        .iter()
        .map(|c| {
            let unix = c.absolute
                || params.force_clock_origin_unix_epoch
                || (is_lttng && c.name == "monotonic");
            ClockClass::new(c, unix, params.clock_offset_s, params.clock_offset_ns)
        })
        .collect();
    let ids = stream_ids(&t);
    let info = Arc::new(TraceInfo {
        streams: ids.clone(),
        name,
        uuid: m.trace.uuid,
        ir: crate::ir::build(&t.compiled),
        compiled: Arc::clone(&t.compiled),
        clocks,
    });
    let mut iters = Vec::new();
    // A decoding thread per stream pays off for a few streams; beyond,
    // threads would only compete for the cores.
    let threaded = params.threads && t.streams.len() <= MAX_DECODING_THREADS;
    for (s, &(id, _)) in t.streams.iter().zip(&ids) {
        let class = info
            .compiled
            .streams
            .iter()
            .position(|c| c.id == s.stream_class_id)
            .unwrap_or(0);
        let stream = Arc::new(StreamInfo {
            trace: Arc::clone(&info),
            class,
            class_id: s.stream_class_id,
            id,
            name: absolute(&s.files[0]),
        });
        iters.push(CtfStreamIter::new(
            stream,
            s.files.clone(),
            s.packets.clone(),
            threaded,
        ));
    }
    Ok(iters)
}

/// (stream id, stream class id) of each stream: the instance id, else a
/// number in file order.
fn stream_ids(t: &Trace) -> Vec<(u64, u64)> {
    let mut next_id = 0u64;
    t.streams
        .iter()
        .map(|s| {
            let id = s.instance_id.unwrap_or_else(|| {
                next_id += 1;
                next_id - 1
            });
            (id, s.stream_class_id)
        })
        .collect()
}

fn absolute(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// Tracer bugs babeltrace2 corrects, decided from the trace's env.
#[derive(Debug, Clone, Copy, Default)]
struct Quirks {
    /// `timestamp_end` may be earlier than the packet's last event.
    end_before_last_event: bool,
    /// `timestamp_end` is 0 in packets of crash buffers.
    zero_end: bool,
}

impl Quirks {
    fn of(m: &ltt_ctf::metadata::Metadata) -> Self {
        use ltt_ctf::metadata::EnvValue;
        let int = |k: &str| match m.env(k) {
            Some(EnvValue::Int(v)) => *v,
            _ => 0,
        };
        let version = (
            int("tracer_major"),
            int("tracer_minor"),
            int("tracer_patchlevel"),
        );
        let name = m.env_str("tracer_name").unwrap_or("");
        let ust = name == "lttng-ust";
        let modules = name == "lttng-modules";
        Quirks {
            end_before_last_event: (ust && version < (2, 11, 0))
                || (modules
                    && (version < (2, 9, 13) || ((2, 10, 0)..=(2, 10, 9)).contains(&version))),
            zero_end: ust || modules,
        }
    }
}

/// What the iterator is positioned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    StreamBeginning,
    DiscardedEvents(Discarded),
    DiscardedPackets(Discarded),
    PacketBeginning,
    Event,
    PacketEnd,
    StreamEnd,
}

/// Per-stream state carried from one packet to the next.
#[derive(Debug, Default)]
struct Previous {
    seen: bool,
    events_discarded: Option<u64>,
    seq_num: Option<u64>,
    timestamp_end: Option<u64>,
}

/// The messages of one data stream.
pub struct CtfStreamIter {
    stream: Arc<StreamInfo>,
    quirks: Quirks,
    /// Time of the current packet's last event.
    last_event_clock: Option<u64>,
    /// The current packet's end time, corrected for known tracer bugs.
    packet_end: Option<u64>,
    /// The stream's clock, kept here for the muxer's per-message lookups.
    clock: Option<ClockClass>,
    reader: Feed,
    at: Option<At>,
    /// Nanoseconds from origin of the current message, computed once on
    /// advancing (the muxer asks for it right away).
    ns: Option<i64>,
    queue: VecDeque<At>,
    prev: Previous,
    ended: bool,
}

impl CtfStreamIter {
    fn new(
        stream: Arc<StreamInfo>,
        files: Vec<PathBuf>,
        plan: Option<Vec<PacketRef>>,
        threaded: bool,
    ) -> Self {
        let trace = Arc::clone(&stream.trace.compiled);
        let reader = Feed::new(trace, files, plan, threaded);
        CtfStreamIter {
            quirks: Quirks::of(&stream.trace.compiled.metadata),
            last_event_clock: None,
            packet_end: None,
            clock: stream.clock().cloned(),
            stream,
            reader,
            at: None,
            ns: None,
            queue: VecDeque::from([At::StreamBeginning]),
            prev: Previous::default(),
            ended: false,
        }
    }

    pub fn stream(&self) -> &Arc<StreamInfo> {
        &self.stream
    }

    /// Queues discarded-events/packets messages (derived from the packet
    /// context as babeltrace2 does) and the packet beginning.
    fn on_packet(&mut self) {
        let p = self.reader.packet();
        let has_range = p.timestamp_begin.is_some() && p.timestamp_end.is_some();
        if let Some(e) = p.events_discarded {
            if !self.prev.seen {
                if e != 0 {
                    self.queue.push_back(At::DiscardedEvents(Discarded {
                        count: None,
                        begin: p.timestamp_begin.filter(|_| has_range),
                        end: p.timestamp_end.filter(|_| has_range),
                    }));
                }
            } else {
                let diff = e.wrapping_sub(self.prev.events_discarded.unwrap_or(0));
                if diff != 0 {
                    self.queue.push_back(At::DiscardedEvents(Discarded {
                        count: Some(diff),
                        begin: self.prev.timestamp_end.filter(|_| has_range),
                        end: p.timestamp_end.filter(|_| has_range),
                    }));
                }
            }
        }
        if let (Some(s), Some(prev), true) = (p.seq_num, self.prev.seq_num, self.prev.seen) {
            let gap = s.wrapping_sub(prev);
            if gap > 1 {
                self.queue.push_back(At::DiscardedPackets(Discarded {
                    count: Some(gap - 1),
                    begin: self.prev.timestamp_end.filter(|_| has_range),
                    end: p.timestamp_begin.filter(|_| has_range),
                }));
            }
        }
        self.prev = Previous {
            seen: true,
            events_discarded: p.events_discarded,
            seq_num: p.seq_num,
            timestamp_end: p.timestamp_end,
        };
        self.queue.push_back(At::PacketBeginning);
        self.last_event_clock = None;
    }

    /// The packet end time babeltrace2 uses: LTTng crash buffers leave
    /// `timestamp_end` at 0 (then the last event's time, or the beginning,
    /// stands in), and some LTTng versions wrote an end earlier than the
    /// last event.
    fn corrected_end(&self) -> Option<u64> {
        let p = self.reader.packet();
        let end = p.timestamp_end?;
        let last = self.last_event_clock.or(p.timestamp_begin);
        if self.quirks.zero_end && end == 0 && p.timestamp_begin.is_some_and(|b| b != 0) {
            return last;
        }
        if self.quirks.end_before_last_event {
            if let Some(l) = self.last_event_clock.filter(|&l| l > end) {
                return Some(l);
            }
        }
        Some(end)
    }
}

impl CtfStreamIter {
    /// Moves to the next message; `false` at the end. Inlined whole (with
    /// the reader's event path) into a muxer of stream iterators.
    #[inline(always)]
    fn step(&mut self) -> Result<bool, Error> {
        if let Some(at) = self.queue.pop_front() {
            self.at = Some(at);
            self.ns = self.message_ns();
            return Ok(true);
        }
        if self.ended {
            self.at = None;
            self.ns = None;
            return Ok(false);
        }
        let item = self.reader.next_item()?;
        if item != Item::Event {
            self.boundary(item);
            return Ok(true);
        }
        let clock = self.reader.event().clock;
        self.last_event_clock = clock;
        self.at = Some(At::Event);
        self.ns = self
            .clock
            .as_ref()
            .zip(clock)
            .and_then(|(c, v)| c.ns_from_origin(v));
        Ok(true)
    }

    /// Moves to a packet boundary or the stream end: out of `step`, which
    /// stays small for events.
    #[inline(never)]
    fn boundary(&mut self, item: Item) {
        match item {
            Item::PacketBegin => {
                self.on_packet();
                self.at = self.queue.pop_front();
            }
            Item::PacketEnd => {
                self.packet_end = self.corrected_end();
                self.prev.timestamp_end = self.packet_end;
                self.at = Some(At::PacketEnd);
            }
            Item::End => {
                self.ended = true;
                self.at = Some(At::StreamEnd);
            }
            Item::Event => unreachable!("events are handled by step"),
        }
        self.ns = self.message_ns();
    }

    /// Nanoseconds from origin of the current message, if it has a time.
    fn message_ns(&self) -> Option<i64> {
        let clock = self.clock.as_ref()?;
        let p = self.reader.packet();
        let cycles = match self.at? {
            At::Event => self.reader.event().clock,
            At::PacketBeginning => p.timestamp_begin,
            At::PacketEnd => self.packet_end,
            At::DiscardedEvents(d) | At::DiscardedPackets(d) => d.begin,
            At::StreamBeginning | At::StreamEnd => None,
        }?;
        clock.ns_from_origin(cycles)
    }
}

impl MessageIterator for CtfStreamIter {
    fn advance(&mut self) -> Result<bool, Error> {
        self.step()
    }

    #[inline(always)]
    fn advance_timed(&mut self) -> Result<Option<Option<i64>>, Error> {
        Ok(self.step()?.then_some(self.ns))
    }

    #[inline]
    fn current_ns(&self) -> Option<i64> {
        self.ns
    }

    fn set_bodies(&mut self, bodies: Bodies) {
        self.reader.set_bodies(bodies);
    }

    #[inline]
    fn current(&self) -> Message<'_> {
        let stream = &*self.stream;
        let at = self.at.expect("advance returned true");
        if at == At::Event {
            // The common case first, without the packet lookup.
            return Message {
                kind: MessageKind::Event(EventView::new(&self.reader, stream)),
                stream,
                clock: self.last_event_clock.filter(|_| self.clock.is_some()),
            };
        }
        self.boundary_message(at)
    }
}

impl CtfStreamIter {
    /// The current message when it is not an event: out of `current`.
    #[inline(never)]
    fn boundary_message(&self, at: At) -> Message<'_> {
        let stream = &*self.stream;
        let p = self.reader.packet();
        let (kind, clock) = match at {
            At::StreamBeginning => (MessageKind::StreamBeginning, None),
            At::StreamEnd => (MessageKind::StreamEnd, None),
            At::DiscardedEvents(d) => (MessageKind::DiscardedEvents(d), d.begin),
            At::DiscardedPackets(d) => (MessageKind::DiscardedPackets(d), d.begin),
            At::PacketBeginning => (MessageKind::PacketBeginning(p), p.timestamp_begin),
            At::PacketEnd => (MessageKind::PacketEnd(p), self.packet_end),
            At::Event => (
                MessageKind::Event(EventView::new(&self.reader, stream)),
                self.reader.event().clock,
            ),
        };
        let clock = clock.filter(|_| self.clock.is_some());
        Message {
            kind,
            stream,
            clock,
        }
    }
}
