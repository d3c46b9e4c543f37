//! Reading one data stream (one or more files in order): packets through a
//! bounded window, events decoded into a reused slot buffer.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bits::BitReader;
use crate::body::Bodies;
use crate::compiled::{CompiledStream, CompiledTrace, Root};
use crate::decode::{DecodeError, DecodeState, Frames, Slot};
use crate::layout::Special;
use crate::Error;

/// The CTF packet magic number.
pub const PACKET_MAGIC: u64 = 0xC1FC_1FC1;

/// Smallest read window; packets larger than this get a window of their own size.
const WINDOW: usize = 256 * 1024;

/// What the header and context of a packet said.
#[derive(Debug, Clone, Default)]
pub struct PacketInfo {
    /// Index of the file within the stream's files.
    pub file: usize,
    /// Byte offset of the packet in its file.
    pub offset: u64,
    /// Packet size and content size in bits.
    pub packet_size: u64,
    pub content_size: u64,
    /// Index in [`CompiledTrace::streams`].
    pub stream_class: usize,
    pub stream_instance_id: Option<u64>,
    pub timestamp_begin: Option<u64>,
    pub timestamp_end: Option<u64>,
    pub events_discarded: Option<u64>,
    pub seq_num: Option<u64>,
    /// Slots of the packet header, then of the packet context.
    pub slots: Vec<Slot>,
    /// Where the packet context's slots start in `slots`.
    pub context_start: usize,
}

/// Where each root scope's slots lie in an event's slot list.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventScopes {
    pub header: (u32, u32),
    pub stream_context: (u32, u32),
    pub context: (u32, u32),
    pub fields: (u32, u32),
}

/// One decoded event: its class and where its values are.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventInfo {
    /// Index in the stream class's `events`.
    pub event: usize,
    /// Clock value (cycles) after the header and contexts; `None` when the
    /// stream has no clock.
    pub clock: Option<u64>,
    pub scopes: EventScopes,
    /// Byte offset of the event within its packet.
    pub offset: u64,
    /// Bit range of the event after its header (contexts and payload)
    /// within the packet: what a converter can copy as is.
    pub body: (u64, u64),
}

/// Where a packet is, and what identifies it (for ordering and
/// de-duplicating packets of a stream spread over several files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketRef {
    pub file: usize,
    pub offset: u64,
    pub packet_size: u64,
    pub timestamp_begin: Option<u64>,
    pub timestamp_end: Option<u64>,
    pub seq_num: Option<u64>,
}

/// What [`StreamReader::next_item`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    PacketBegin,
    Event,
    PacketEnd,
    End,
}

/// Reads one logical data stream.
pub struct StreamReader {
    trace: Arc<CompiledTrace>,
    files: Vec<PathBuf>,
    file_idx: usize,
    file: Option<File>,
    file_len: u64,
    /// Window of the current file: `buf` holds bytes from `buf_off`.
    buf: Vec<u8>,
    buf_off: u64,
    /// Offset of the next packet in the current file.
    next_packet: u64,
    state: DecodeState,
    frames: Frames,
    packet: PacketInfo,
    in_packet: bool,
    /// Where the current packet's bytes are in `buf`.
    packet_range: std::ops::Range<usize>,
    /// Bit position of the next event in the current packet.
    pos: u64,
    event: EventInfo,
    slots: Vec<Slot>,
    done: bool,
    /// Packets to read, in order, when not simply every packet of every
    /// file in turn.
    plan: Option<std::vec::IntoIter<PacketRef>>,
    /// Which event bodies to decode into slots.
    bodies: Bodies,
}

impl StreamReader {
    /// A reader over `files`, read in order as one stream.
    pub fn new(trace: Arc<CompiledTrace>, files: Vec<PathBuf>) -> Self {
        let state = DecodeState::new(&trace.layout);
        StreamReader {
            trace,
            files,
            file_idx: 0,
            file: None,
            file_len: 0,
            buf: Vec::new(),
            buf_off: 0,
            next_packet: 0,
            state,
            frames: Frames::default(),
            packet: PacketInfo::default(),
            in_packet: false,
            packet_range: 0..0,
            pos: 0,
            event: EventInfo::default(),
            slots: Vec::with_capacity(64),
            done: false,
            plan: None,
            bodies: Bodies::All,
        }
    }

    /// Decodes only the bodies `bodies` asks for into slots: the others
    /// are skipped (by size when fixed, see [`crate::body::fixed_bits`],
    /// else walked without producing slots) and their events have empty
    /// context and payload slot ranges; with [`Bodies::None`] the header's
    /// range may be empty too.
    pub fn set_bodies(&mut self, bodies: Bodies) {
        self.bodies = bodies;
    }

    /// A reader of the packets `plan` lists, in that order.
    pub fn with_plan(trace: Arc<CompiledTrace>, files: Vec<PathBuf>, plan: Vec<PacketRef>) -> Self {
        let mut r = StreamReader::new(trace, files);
        r.plan = Some(plan.into_iter());
        r
    }

    /// Every packet of the files, without decoding events.
    pub fn scan(&mut self) -> Result<Vec<PacketRef>, Error> {
        let mut out = Vec::new();
        loop {
            if self.file.is_none() {
                if self.file_idx >= self.files.len() {
                    return Ok(out);
                }
                self.open_file()?;
            }
            if self.next_packet < self.file_len {
                self.read_packet()?;
                let p = &self.packet;
                out.push(PacketRef {
                    file: p.file,
                    offset: p.offset,
                    packet_size: p.packet_size,
                    timestamp_begin: p.timestamp_begin,
                    timestamp_end: p.timestamp_end,
                    seq_num: p.seq_num,
                });
                continue;
            }
            self.file = None;
            self.file_idx += 1;
        }
    }

    pub fn trace(&self) -> &Arc<CompiledTrace> {
        &self.trace
    }

    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The current file.
    pub fn path(&self) -> &Path {
        &self.files[self.file_idx.min(self.files.len() - 1)]
    }

    /// The current packet (valid after [`Item::PacketBegin`]).
    #[inline]
    pub fn packet(&self) -> &PacketInfo {
        &self.packet
    }

    /// The current packet's stream class.
    pub fn stream_class(&self) -> &CompiledStream {
        &self.trace.streams[self.packet.stream_class]
    }

    /// The current event (valid after [`Item::Event`]).
    #[inline]
    pub fn event(&self) -> &EventInfo {
        &self.event
    }

    /// The current event's slots.
    #[inline]
    pub fn event_slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The bytes of the current packet (string slots index into it).
    #[inline]
    pub fn packet_bytes(&self) -> &[u8] {
        &self.buf[self.packet_range.clone()]
    }

    /// The stream's current clock value (cycles).
    pub fn clock(&self) -> u64 {
        self.state.clock
    }

    /// Advances to the next packet boundary or event.
    #[inline(always)]
    pub fn next_item(&mut self) -> Result<Item, Error> {
        if self.in_packet && self.pos < self.packet.content_size {
            self.read_event()?;
            return Ok(Item::Event);
        }
        self.next_boundary()
    }

    /// Advances to the next packet boundary: out of `next_item`, which
    /// stays small for events.
    #[inline(never)]
    fn next_boundary(&mut self) -> Result<Item, Error> {
        if self.done {
            return Ok(Item::End);
        }
        if self.in_packet {
            self.in_packet = false;
            return Ok(Item::PacketEnd);
        }
        if let Some(plan) = &mut self.plan {
            let Some(next) = plan.next() else {
                self.done = true;
                return Ok(Item::End);
            };
            if self.file.is_none() || self.file_idx != next.file {
                self.file_idx = next.file;
                self.open_file()?;
            }
            self.next_packet = next.offset;
            self.read_packet()?;
            self.in_packet = true;
            return Ok(Item::PacketBegin);
        }
        loop {
            if self.file.is_none() {
                if self.file_idx >= self.files.len() {
                    self.done = true;
                    return Ok(Item::End);
                }
                self.open_file()?;
            }
            if self.next_packet < self.file_len {
                self.read_packet()?;
                self.in_packet = true;
                return Ok(Item::PacketBegin);
            }
            self.file = None;
            self.file_idx += 1;
        }
    }

    fn open_file(&mut self) -> Result<(), Error> {
        let path = &self.files[self.file_idx];
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        self.file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        self.file = Some(file);
        self.buf.clear();
        self.buf_off = 0;
        self.next_packet = 0;
        Ok(())
    }

    /// Makes the window cover `[off, off + len)` of the current file.
    fn fill(&mut self, off: u64, len: u64) -> Result<(), Error> {
        let have_end = self.buf_off + self.buf.len() as u64;
        if off >= self.buf_off && off + len <= have_end {
            return Ok(());
        }
        let want = len.max(WINDOW as u64).min(self.file_len - off) as usize;
        let path = &self.files[self.file_idx];
        let file = self.file.as_mut().expect("file open");
        // read_to_end fills the spare capacity without zeroing it first.
        self.buf.clear();
        file.seek(SeekFrom::Start(off))
            .and_then(|_| file.take(want as u64).read_to_end(&mut self.buf))
            .and_then(|n| match n == want {
                true => Ok(()),
                false => Err(std::io::ErrorKind::UnexpectedEof.into()),
            })
            .map_err(|e| Error::io(path, e))?;
        self.buf_off = off;
        Ok(())
    }

    fn packet_error(&self, offset: u64, message: impl Into<String>) -> Error {
        Error::Packet {
            path: self.files[self.file_idx].clone(),
            offset,
            message: message.into(),
        }
    }

    fn read_packet(&mut self) -> Result<(), Error> {
        let off = self.next_packet;
        let remaining = self.file_len - off;
        self.fill(off, remaining.min(WINDOW as u64))?;
        let trace = Arc::clone(&self.trace);
        let start = (off - self.buf_off) as usize;
        let avail = (self.buf.len() - start) as u64 * 8;
        self.state.reset_packet();
        let mut p = std::mem::take(&mut self.packet);
        p.slots.clear();
        p.file = self.file_idx;
        p.offset = off;
        let mut r = BitReader::new(&self.buf[start..], avail);
        let decode_err = |e: DecodeError, what: &str| Error::Packet {
            path: self.files[self.file_idx].clone(),
            offset: off,
            message: format!("{what}: {e}"),
        };
        if let Some(h) = trace.packet_header {
            self.state
                .run(
                    &trace.programs,
                    h.prog,
                    &mut r,
                    &mut p.slots,
                    &mut self.frames,
                )
                .map_err(|e| decode_err(e, "packet header"))?;
        }
        let sp = self.state.specials;
        if let Some(magic) = sp[Special::Magic as usize] {
            if magic != PACKET_MAGIC {
                return Err(self.packet_error(
                    off,
                    format!("bad packet magic number {magic:#x} (expected {PACKET_MAGIC:#x})"),
                ));
            }
        }
        let stream_class = match sp[Special::StreamId as usize] {
            Some(id) => trace
                .streams
                .iter()
                .position(|s| s.id == id)
                .ok_or_else(|| self.packet_error(off, format!("unknown stream class id {id}")))?,
            None if trace.streams.len() == 1 => 0,
            None if trace.streams.is_empty() => {
                return Err(self.packet_error(off, "the metadata declares no stream class"))
            }
            None => {
                return Err(self.packet_error(
                    off,
                    "packet header has no stream_id and the trace has several stream classes",
                ))
            }
        };
        p.context_start = p.slots.len();
        if let Some(c) = trace.streams[stream_class].packet_context {
            self.state
                .run(
                    &trace.programs,
                    c.prog,
                    &mut r,
                    &mut p.slots,
                    &mut self.frames,
                )
                .map_err(|e| decode_err(e, "packet context"))?;
        }
        let sp = self.state.specials;
        let after_context = r.pos();
        let remaining_bits = remaining * 8;
        let (packet_size, content_size) = match (
            sp[Special::PacketSize as usize],
            sp[Special::ContentSize as usize],
        ) {
            (Some(p), Some(c)) => (p, c),
            (Some(p), None) => (p, p),
            (None, Some(c)) => (c, c),
            (None, None) => (remaining_bits, remaining_bits),
        };
        if content_size > packet_size {
            return Err(self.packet_error(
                off,
                format!(
                    "content size ({content_size} bits) exceeds packet size ({packet_size} bits)"
                ),
            ));
        }
        if packet_size % 8 != 0 || packet_size == 0 {
            return Err(self.packet_error(
                off,
                format!("packet size ({packet_size} bits) is not a positive whole number of bytes"),
            ));
        }
        if packet_size > remaining_bits {
            return Err(self.packet_error(
                off,
                format!(
                    "packet size ({} bytes) goes past the end of the file ({} bytes remain)",
                    packet_size / 8,
                    remaining
                ),
            ));
        }
        if after_context > content_size {
            return Err(self.packet_error(
                off,
                format!("packet header and context ({after_context} bits) exceed the content size ({content_size} bits)"),
            ));
        }
        p.packet_size = packet_size;
        p.content_size = content_size;
        p.stream_class = stream_class;
        p.stream_instance_id = sp[Special::StreamInstanceId as usize];
        p.timestamp_begin = sp[Special::TimestampBegin as usize];
        p.timestamp_end = sp[Special::TimestampEnd as usize];
        p.events_discarded = sp[Special::EventsDiscarded as usize];
        p.seq_num = sp[Special::PacketSeqNum as usize];
        self.packet = p;
        self.fill(off, packet_size / 8)?;
        let start = (off - self.buf_off) as usize;
        self.packet_range = start..start + (packet_size / 8) as usize;
        self.pos = after_context;
        self.next_packet = off + packet_size / 8;
        Ok(())
    }

    #[inline(always)]
    fn read_event(&mut self) -> Result<(), Error> {
        self.decode_event().map_err(|f| self.event_error(f))
    }

    /// The error for an event that could not be read (at `self.pos`,
    /// which only moves past events read whole): built off the hot path.
    #[cold]
    fn event_error(&self, fault: EventFault) -> Error {
        let message = match fault {
            EventFault::Decode(e) => e.to_string(),
            EventFault::UnknownId(id) => format!(
                "unknown event class id {id} in stream class {}",
                self.trace.streams[self.packet.stream_class].id
            ),
            EventFault::NoProgress => "empty event makes no progress".into(),
        };
        Error::Packet {
            path: self.files[self.file_idx].clone(),
            offset: self.packet.offset,
            message: format!("event at byte {} of the packet: {message}", self.pos / 8),
        }
    }

    /// Decodes the event at `self.pos`.
    #[inline(always)]
    fn decode_event(&mut self) -> Result<(), EventFault> {
        let trace = &*self.trace;
        let mut r = BitReader::new(
            &self.buf[self.packet_range.clone()],
            self.packet.content_size,
        );
        let at = self.pos;
        r.set_pos(at);
        let stream = &trace.streams[self.packet.stream_class];
        let bodies = self.bodies;
        self.slots.clear();
        self.state.reset_event();
        let (state, slots) = (&mut self.state, &mut self.slots);
        let frames = &mut self.frames;
        let header = match &stream.lttng_header {
            Some(h) if state.lttng_event_header(h, bodies != Bodies::None, &mut r, slots) => {
                (0, slots.len() as u32)
            }
            _ => decode_scope(state, frames, trace, stream.event_header, &mut r, slots)?,
        };
        let body_start = r.pos();
        let id = state.specials[Special::EventId as usize].unwrap_or(0);
        let index = stream.event_index(id).ok_or(EventFault::UnknownId(id))?;
        let ev = &stream.events[index];
        let needed = bodies.needs(ev.packed);
        let fixed = ev
            .fixed_body
            .filter(|&bits| !needed && r.pos().is_multiple_of(8) && bits <= r.end() - r.pos());
        let n = slots.len() as u32;
        let (stream_context, context, fields) = match fixed {
            Some(bits) => {
                r.set_pos(r.pos() + bits);
                ((n, n), (n, n), (n, n))
            }
            None if !needed => {
                let roots = [stream.event_context, ev.context, ev.fields];
                for root in roots.into_iter().flatten() {
                    state.skip(&trace.programs, root.prog, &mut r, slots, frames)?;
                }
                ((n, n), (n, n), (n, n))
            }
            None => (
                decode_scope(state, frames, trace, stream.event_context, &mut r, slots)?,
                decode_scope(state, frames, trace, ev.context, &mut r, slots)?,
                decode_scope(state, frames, trace, ev.fields, &mut r, slots)?,
            ),
        };
        if r.pos() == at {
            return Err(EventFault::NoProgress);
        }
        self.pos = r.pos();
        self.event = EventInfo {
            event: index,
            clock: stream.clock.map(|_| state.clock),
            scopes: EventScopes {
                header,
                stream_context,
                context,
                fields,
            },
            offset: at / 8,
            body: (body_start, self.pos),
        };
        Ok(())
    }
}

/// Why an event could not be read; [`StreamReader::event_error`] makes
/// the message.
enum EventFault {
    Decode(DecodeError),
    UnknownId(u64),
    NoProgress,
}

impl From<DecodeError> for EventFault {
    fn from(e: DecodeError) -> Self {
        EventFault::Decode(e)
    }
}

/// Decodes one root scope (if the class has it); returns its slot range.
#[inline]
fn decode_scope(
    state: &mut DecodeState,
    frames: &mut Frames,
    trace: &CompiledTrace,
    root: Option<Root>,
    r: &mut BitReader<'_>,
    slots: &mut Vec<Slot>,
) -> Result<(u32, u32), DecodeError> {
    let begin = slots.len() as u32;
    if let Some(root) = root {
        state.run(&trace.programs, root.prog, r, slots, frames)?;
    }
    Ok((begin, slots.len() as u32))
}
