//! Messages, and the objects they refer to: traces and streams.

use std::sync::Arc;

use ltt_ctf::compiled::{CompiledEvent, CompiledStream, CompiledTrace};
use ltt_ctf::decode::Slot;
use ltt_ctf::metadata::{EventClass, StreamClass};
use ltt_ctf::stream::{EventInfo, EventScopes, PacketInfo};

use crate::feed::Feed;

use crate::clock::ClockClass;
use crate::ir::StreamIr;

/// A trace as the graph sees it.
#[derive(Debug)]
pub struct TraceInfo {
    /// The trace name (`hostname/relative-path`, see [`crate::source`]).
    pub name: Option<String>,
    pub uuid: Option<[u8; 16]>,
    pub compiled: Arc<CompiledTrace>,
    /// Clock classes in metadata order.
    pub clocks: Vec<ClockClass>,
    /// Field classes per stream class (index as `compiled.streams`).
    pub ir: Vec<StreamIr>,
    /// Every stream of the trace as (stream id, stream class id), known
    /// up front as src.ctf.fs knows them.
    pub streams: Vec<(u64, u64)>,
}

/// A stream of a trace.
#[derive(Debug)]
pub struct StreamInfo {
    pub trace: Arc<TraceInfo>,
    /// Index in `trace.compiled.streams`.
    pub class: usize,
    pub class_id: u64,
    /// Stream ID: the instance id, else a number by file order.
    pub id: u64,
    /// Absolute path of the stream's first data file.
    pub name: String,
}

impl StreamInfo {
    pub fn compiled(&self) -> &CompiledStream {
        &self.trace.compiled.streams[self.class]
    }

    pub fn stream_class(&self) -> &StreamClass {
        &self.trace.compiled.metadata.streams[self.compiled().class]
    }

    /// The stream class's field classes.
    pub fn ir(&self) -> &StreamIr {
        &self.trace.ir[self.class]
    }

    /// The stream class's default clock.
    pub fn clock(&self) -> Option<&ClockClass> {
        self.compiled().clock.map(|i| &self.trace.clocks[i])
    }
}

/// An event: a view of the reader positioned on it. Accessors look
/// things up on demand, so handing out a view costs nothing.
#[derive(Clone, Copy)]
pub struct EventView<'a> {
    reader: &'a Feed,
    /// The reader's current event, looked up once.
    event: &'a EventInfo,
    stream: &'a StreamInfo,
}

impl<'a> EventView<'a> {
    #[inline]
    pub(crate) fn new(reader: &'a Feed, stream: &'a StreamInfo) -> Self {
        EventView {
            reader,
            event: reader.event(),
            stream,
        }
    }

    /// Index of the event class in its compiled stream class.
    #[inline]
    pub fn index(&self) -> usize {
        self.event.event
    }

    /// The compiled event class.
    #[inline]
    pub fn compiled(&self) -> &'a CompiledEvent {
        &self.stream.compiled().events[self.index()]
    }

    /// The event class.
    #[inline]
    pub fn class(&self) -> &'a EventClass {
        &self.stream.trace.compiled.metadata.events[self.compiled().class]
    }

    /// All the event's slots (header, contexts, payload).
    #[inline]
    pub fn slots(&self) -> &'a [Slot] {
        self.reader.event_slots()
    }

    /// Where each scope's slots are.
    #[inline]
    pub fn scopes(&self) -> EventScopes {
        self.event.scopes
    }

    /// The packet's bytes: string slots point into them.
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.reader.packet_bytes()
    }

    /// The packet the event is in.
    #[inline]
    pub fn packet(&self) -> &'a PacketInfo {
        self.reader.packet()
    }

    /// Bit range of the event's contexts and payload in its packet.
    #[inline]
    pub fn body(&self) -> (u64, u64) {
        self.event.body
    }

    /// Slots of a scope.
    #[inline]
    pub fn scope(&self, range: (u32, u32)) -> &'a [Slot] {
        &self.slots()[range.0 as usize..range.1 as usize]
    }
}

/// A time range of a discarded-items message, in cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discarded {
    pub count: Option<u64>,
    pub begin: Option<u64>,
    pub end: Option<u64>,
}

/// What a message says.
#[derive(Clone, Copy)]
pub enum MessageKind<'a> {
    StreamBeginning,
    PacketBeginning(&'a PacketInfo),
    Event(EventView<'a>),
    DiscardedEvents(Discarded),
    DiscardedPackets(Discarded),
    PacketEnd(&'a PacketInfo),
    StreamEnd,
    /// A live source has nothing older than this time.
    Inactivity,
}

impl MessageKind<'_> {
    /// babeltrace2's weight for ordering messages of equal time.
    pub fn weight(&self) -> i32 {
        match self {
            MessageKind::StreamBeginning => 7,
            MessageKind::PacketBeginning(_) => 6,
            MessageKind::Event(_) => 5,
            MessageKind::DiscardedEvents(_) => 4,
            MessageKind::PacketEnd(_) => 3,
            MessageKind::Inactivity => 2,
            MessageKind::DiscardedPackets(_) => 1,
            MessageKind::StreamEnd => 0,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            MessageKind::StreamBeginning => "stream beginning",
            MessageKind::PacketBeginning(_) => "packet beginning",
            MessageKind::Event(_) => "event",
            MessageKind::DiscardedEvents(_) => "discarded events",
            MessageKind::DiscardedPackets(_) => "discarded packets",
            MessageKind::PacketEnd(_) => "packet end",
            MessageKind::StreamEnd => "stream end",
            MessageKind::Inactivity => "message iterator inactivity",
        }
    }
}

/// A message, borrowed from the iterator that produced it until its next
/// advance.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    pub kind: MessageKind<'a>,
    pub stream: &'a StreamInfo,
    /// Default clock snapshot (cycles), when the message has one.
    pub clock: Option<u64>,
}

impl Message<'_> {
    /// Nanoseconds from origin of the message's clock snapshot.
    #[inline]
    pub fn ns(&self) -> Option<i64> {
        let c = self.clock?;
        self.stream.clock()?.ns_from_origin(c)
    }
}
