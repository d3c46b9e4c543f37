//! Where a stream iterator gets its decoded events: straight from a
//! [`StreamReader`], or from a reader running on its own thread that hands
//! over decoded chunks, so decoding overlaps with muxing and printing on
//! another core. Memory stays bounded: a chunk is at most one packet and
//! `CHUNK_EVENTS` events, and at most `CHUNKS_AHEAD` are in flight.

use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use ltt_ctf::body::Bodies;
use ltt_ctf::compiled::CompiledTrace;
use ltt_ctf::decode::Slot;
use ltt_ctf::stream::{EventInfo, Item, PacketInfo, PacketRef, StreamReader};

use crate::Error;

/// Events per chunk.
const CHUNK_EVENTS: usize = 2048;
/// Chunks decoded ahead of the consumer.
const CHUNKS_AHEAD: usize = 1;

/// A packet as the decoding thread saw it: its context values and bytes.
struct Packet {
    info: PacketInfo,
    bytes: Vec<u8>,
}

enum Entry {
    PacketBegin(Arc<Packet>),
    /// An event and where its slots are in the chunk.
    Event(EventInfo, u32, u32),
    PacketEnd,
}

/// Decoded messages of one stream, in order.
#[derive(Default)]
struct Chunk {
    entries: Vec<Entry>,
    slots: Vec<Slot>,
    /// What ended the chunk when it is the last: the end, or an error.
    last: Option<Result<(), ltt_ctf::Error>>,
}

/// The consumer side of a decoding thread.
pub struct Prefetch {
    rx: Receiver<Chunk>,
    chunk: Chunk,
    next: usize,
    packet: Option<Arc<Packet>>,
    event: EventInfo,
    slots: (u32, u32),
    thread: Option<JoinHandle<()>>,
}

impl Prefetch {
    fn spawn(mut reader: StreamReader) -> Self {
        let (tx, rx) = sync_channel::<Chunk>(CHUNKS_AHEAD);
        let thread = std::thread::Builder::new()
            .name("ltt-decode".into())
            .spawn(move || {
                let mut chunk = Chunk::default();
                let mut events = 0;
                loop {
                    let item = match reader.next_item() {
                        Ok(item) => item,
                        Err(e) => {
                            chunk.last = Some(Err(e));
                            let _ = tx.send(chunk);
                            return;
                        }
                    };
                    match item {
                        Item::PacketBegin => {
                            let packet = Packet {
                                info: reader.packet().clone(),
                                bytes: reader.packet_bytes().to_vec(),
                            };
                            chunk.entries.push(Entry::PacketBegin(Arc::new(packet)));
                        }
                        Item::Event => {
                            let start = chunk.slots.len() as u32;
                            chunk.slots.extend_from_slice(reader.event_slots());
                            let end = chunk.slots.len() as u32;
                            chunk
                                .entries
                                .push(Entry::Event(*reader.event(), start, end));
                            events += 1;
                        }
                        Item::PacketEnd => chunk.entries.push(Entry::PacketEnd),
                        Item::End => {
                            chunk.last = Some(Ok(()));
                            let _ = tx.send(chunk);
                            return;
                        }
                    }
                    if events >= CHUNK_EVENTS || matches!(item, Item::PacketEnd) {
                        events = 0;
                        let full = std::mem::take(&mut chunk);
                        if tx.send(full).is_err() {
                            return; // the consumer is gone
                        }
                    }
                }
            })
            .expect("spawn decoding thread");
        Prefetch {
            rx,
            chunk: Chunk::default(),
            next: 0,
            packet: None,
            event: EventInfo::default(),
            slots: (0, 0),
            thread: Some(thread),
        }
    }

    fn next_item(&mut self) -> Result<Item, Error> {
        loop {
            if let Some(entry) = self.chunk.entries.get(self.next) {
                self.next += 1;
                return Ok(match entry {
                    Entry::PacketBegin(p) => {
                        self.packet = Some(Arc::clone(p));
                        Item::PacketBegin
                    }
                    Entry::Event(info, start, end) => {
                        self.event = *info;
                        self.slots = (*start, *end);
                        Item::Event
                    }
                    Entry::PacketEnd => Item::PacketEnd,
                });
            }
            if let Some(last) = self.chunk.last.take() {
                self.chunk.entries.clear();
                self.next = 0;
                if let Some(t) = self.thread.take() {
                    let _ = t.join();
                }
                last?;
                return Ok(Item::End);
            }
            if self.thread.is_none() {
                return Ok(Item::End);
            }
            match self.rx.recv() {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.next = 0;
                }
                Err(_) => {
                    // The thread died without a last chunk: it panicked.
                    let _ = self.thread.take().map(|t| t.join());
                    return Err(Error::Other("the decoding thread failed".into()));
                }
            }
        }
    }
}

/// Decoded events of one stream, from this thread or another.
pub enum Feed {
    Direct(Box<StreamReader>),
    Threaded(Box<Prefetch>),
}

impl Feed {
    /// A feed over a stream's files (with a packet plan when it spans
    /// several), decoded on its own thread when `threaded`.
    pub fn new(
        trace: Arc<CompiledTrace>,
        files: Vec<PathBuf>,
        plan: Option<Vec<PacketRef>>,
        threaded: bool,
    ) -> Self {
        let reader = match plan {
            Some(plan) => StreamReader::with_plan(trace, files, plan),
            None => StreamReader::new(trace, files),
        };
        if threaded {
            Feed::Threaded(Box::new(Prefetch::spawn(reader)))
        } else {
            Feed::Direct(Box::new(reader))
        }
    }

    #[inline(always)]
    pub fn next_item(&mut self) -> Result<Item, Error> {
        match self {
            Feed::Direct(r) => Ok(r.next_item()?),
            Feed::Threaded(p) => p.next_item(),
        }
    }

    /// Which event bodies to decode; a decoding thread, already running,
    /// keeps decoding them all.
    pub fn set_bodies(&mut self, bodies: Bodies) {
        if let Feed::Direct(r) = self {
            r.set_bodies(bodies);
        }
    }

    /// The current packet.
    #[inline]
    pub fn packet(&self) -> &PacketInfo {
        match self {
            Feed::Direct(r) => r.packet(),
            Feed::Threaded(p) => p.packet.as_ref().map_or(&EMPTY_PACKET, |p| &p.info),
        }
    }

    /// The current packet's bytes.
    #[inline]
    pub fn packet_bytes(&self) -> &[u8] {
        match self {
            Feed::Direct(r) => r.packet_bytes(),
            Feed::Threaded(p) => p.packet.as_ref().map_or(&[][..], |p| &p.bytes),
        }
    }

    /// The current event.
    #[inline]
    pub fn event(&self) -> &EventInfo {
        match self {
            Feed::Direct(r) => r.event(),
            Feed::Threaded(p) => &p.event,
        }
    }

    /// The current event's slots.
    #[inline]
    pub fn event_slots(&self) -> &[Slot] {
        match self {
            Feed::Direct(r) => r.event_slots(),
            Feed::Threaded(p) => &p.chunk.slots[p.slots.0 as usize..p.slots.1 as usize],
        }
    }
}

static EMPTY_PACKET: PacketInfo = PacketInfo {
    file: 0,
    offset: 0,
    packet_size: 0,
    content_size: 0,
    stream_class: 0,
    stream_instance_id: None,
    timestamp_begin: None,
    timestamp_end: None,
    events_discarded: None,
    seq_num: None,
    slots: Vec::new(),
    context_start: 0,
};
