//! `sink.ctf.fs`: writes the messages back as a CTF 1.8 trace. The
//! metadata keeps every class and field type of the input; only the event
//! header becomes a plain `{ id; 64-bit timestamp }`, so events re-encode
//! from their decoded slots whatever was dropped before the sink (a compact
//! 27-bit timestamp could not survive a trimmed gap). Packets mirror the
//! input's, with their sequence numbers and discarded-event counters, so a
//! reader derives the same discarded events and packets.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ltt_ctf::body::Bodies;
use ltt_ctf::compiled::CompiledTrace;
use ltt_ctf::decode::Slot;
use ltt_ctf::encode::{skip_slots, Encoder};
use ltt_ctf::metadata::{ByteOrder, FieldType, Member, Metadata, StructType};
use ltt_ctf::stream::PacketInfo;
use ltt_ctf::write::{
    int_type, large_event_header, HeaderState, StreamWriter, TraceWriter, WriterOptions,
};

use crate::message::{EventView, Message, MessageKind, StreamInfo, TraceInfo};
use crate::sink::Sink;
use crate::Error;

/// One output trace.
struct OutTrace {
    writer: TraceWriter,
}

/// One output stream.
struct OutStream {
    writer: StreamWriter,
    /// LTTng's short/full timestamp decision for the large header.
    header: HeaderState,
    /// Registers for sequence lengths while re-encoding.
    encoder: Encoder,
    last_clock: u64,
    events_discarded: u64,
}

/// The CTF writer sink.
pub struct CtfSink {
    root: PathBuf,
    /// Write each trace directly into `root` (single-trace output).
    single: bool,
    traces: HashMap<*const TraceInfo, OutTrace>,
    /// Open streams by their input stream's address; few, so a vector
    /// with a hint at the last one used beats hashing per event.
    streams: Vec<(*const StreamInfo, OutStream)>,
    last: usize,
    /// Keeps traces alive so their addresses stay unique keys.
    keep: Vec<Arc<TraceInfo>>,
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::Other(e.to_string())
}

impl CtfSink {
    /// Writes into `root`; when `single` is false each trace gets a
    /// subdirectory named after it.
    pub fn new(root: &Path, single: bool) -> Self {
        CtfSink {
            root: root.to_path_buf(),
            single,
            traces: HashMap::new(),
            streams: Vec::new(),
            last: 0,
            keep: Vec::new(),
        }
    }

    fn trace_dir(&self, trace: &TraceInfo) -> PathBuf {
        if self.single {
            return self.root.clone();
        }
        let name = trace
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .map(|n| n.replace('/', "_"))
            .unwrap_or_else(|| "trace".into());
        let mut dir = self.root.join(&name);
        let mut n = 1;
        while dir.exists() {
            dir = self.root.join(format!("{name}-{n}"));
            n += 1;
        }
        dir
    }

    fn open_stream(&mut self, stream: &StreamInfo) -> Result<(), Error> {
        let tkey = Arc::as_ptr(&stream.trace);
        if !self.traces.contains_key(&tkey) {
            let dir = self.trace_dir(&stream.trace);
            std::fs::create_dir_all(&dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
            let metadata = output_metadata(&stream.trace.compiled);
            let options = WriterOptions {
                max_packet_size: 1 << 30,
                ..WriterOptions::default()
            };
            let writer = TraceWriter::create_with(&dir, &metadata, options).map_err(err)?;
            self.traces.insert(tkey, OutTrace { writer });
            self.keep.push(Arc::clone(&stream.trace));
        }
        let trace = &self.traces[&tkey];
        let file = Path::new(&stream.name)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("stream_{}", stream.id));
        let file = unique_name(trace.writer.dir(), &file);
        let writer = trace
            .writer
            .stream(stream.class_id, stream.id, &file)
            .map_err(err)?;
        self.streams.push((
            stream as *const StreamInfo,
            OutStream {
                writer,
                header: HeaderState::new(),
                encoder: Encoder::new(&stream.trace.compiled.layout),
                last_clock: 0,
                events_discarded: 0,
            },
        ));
        Ok(())
    }

    /// The output of `stream`: the last one used (inlined: twice per
    /// event), else found (streams often take turns, so that is no rare
    /// case either) or opened.
    #[inline]
    fn out(&mut self, stream: &StreamInfo) -> Result<&mut OutStream, Error> {
        let key = stream as *const StreamInfo;
        if self.streams.get(self.last).is_none_or(|(k, _)| *k != key) {
            self.last = match self.streams.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => self.open(stream)?,
            };
        }
        Ok(&mut self.streams[self.last].1)
    }

    /// Opens the output of `stream`; returns its index.
    #[cold]
    fn open(&mut self, stream: &StreamInfo) -> Result<usize, Error> {
        self.open_stream(stream)?;
        Ok(self.streams.len() - 1)
    }
}

/// `name`, or `name-N` if a file of that name already exists in `dir`.
fn unique_name(dir: &Path, name: &str) -> String {
    let mut candidate = name.to_owned();
    let mut n = 1;
    while dir.join(&candidate).exists() {
        candidate = format!("{name}-{n}");
        n += 1;
    }
    candidate
}

/// Whether events get LTTng's large header (6 bytes for most events) rather
/// than a plain `{ u64 id; u64 timestamp }`: for little-endian traces with
/// a clock, the form our encoder writes.
fn large_header(m: &Metadata) -> bool {
    m.trace.byte_order == ByteOrder::Little
}

/// The input metadata with every event header replaced by LTTng's large
/// header (or `{ id; timestamp }`) and 64-bit packet sizes.
fn output_metadata(trace: &CompiledTrace) -> Metadata {
    let mut m = trace.metadata.clone();
    let bo = m.trace.byte_order;
    let large = large_header(&m);
    let clocks: Vec<Option<String>> = trace
        .streams
        .iter()
        .map(|cs| cs.clock.map(|i| m.clocks[i].name.clone()))
        .collect();
    for (s, clock) in m.streams.iter_mut().zip(clocks) {
        // Re-encoded packets are larger (wider headers, page padding):
        // sizes get 64 bits. They are hidden fields, readers show the same.
        if let Some(ctx) = &mut s.packet_context {
            for member in &mut ctx.members {
                if let ("content_size" | "packet_size", FieldType::Int(i)) =
                    (member.name.as_str(), &mut member.ty)
                {
                    i.size = 64;
                    i.align = i.align.max(8);
                }
            }
        }
        if let (true, Some(c)) = (large, &clock) {
            s.event_header = Some(large_event_header(c));
            continue;
        }
        let mut members = vec![Member {
            name: "id".into(),
            ty: FieldType::Int(int_type_order(64, bo)),
        }];
        if let Some(c) = &clock {
            let mut ts = int_type_order(64, bo);
            ts.clock = Some(c.clone());
            members.push(Member {
                name: "timestamp".into(),
                ty: FieldType::Int(ts),
            });
        }
        s.event_header = Some(StructType {
            members,
            min_align: 8,
        });
    }
    m
}

fn int_type_order(size: u32, order: ByteOrder) -> ltt_ctf::metadata::IntType {
    let mut t = int_type(size, false);
    t.byte_order = order;
    t
}

/// Top-level integer members of a packet context (such as `cpu_id`), with
/// their values, for the writer to fill by name.
fn context_values<'a>(stream: &'a StreamInfo, p: &PacketInfo) -> Vec<(&'a str, u64)> {
    let Some(ctx) = &stream.stream_class().packet_context else {
        return Vec::new();
    };
    let slots = &p.slots[p.context_start..];
    let mut i = 0;
    let mut out = Vec::new();
    for m in &ctx.members {
        match (&m.ty, slots.get(i)) {
            (FieldType::Int(_) | FieldType::Enum(_), Some(Slot::Uint(v))) => {
                out.push((m.name.as_str(), *v));
                i += 1;
            }
            (FieldType::Int(_) | FieldType::Enum(_), Some(Slot::Sint(v))) => {
                out.push((m.name.as_str(), *v as u64));
                i += 1;
            }
            _ => skip_slots(&m.ty, slots, &mut i),
        }
    }
    out
}

impl CtfSink {
    fn begin(&mut self, stream: &StreamInfo, p: &PacketInfo) -> Result<(), Error> {
        let extra = context_values(stream, p);
        let out = self.out(stream)?;
        if out.writer.packet_is_open() {
            out.writer
                .end_packet(out.last_clock, out.events_discarded)
                .map_err(err)?;
        }
        if let Some(seq) = p.seq_num {
            out.writer.set_next_packet_seq_num(seq);
        }
        let begin = p.timestamp_begin.unwrap_or(out.last_clock);
        out.last_clock = begin;
        out.header.packet_switch(begin);
        out.events_discarded = p.events_discarded.unwrap_or(out.events_discarded);
        out.writer.begin_packet(begin, &extra).map_err(err)
    }

    fn event(
        &mut self,
        stream: &StreamInfo,
        clock: Option<u64>,
        ev: &EventView<'_>,
    ) -> Result<(), Error> {
        if !self.out(stream)?.writer.packet_is_open() {
            self.begin(stream, ev.packet())?;
        }
        let compiled = &stream.trace.compiled;
        let stream_c = stream.compiled();
        let out = self.out(stream)?;
        let enc = &mut out.encoder;
        let bo = compiled.metadata.trace.byte_order;
        let ce = ev.compiled();
        let w = out.writer.event_writer();
        match clock {
            Some(c) if large_header(&compiled.metadata) => {
                out.header.write_large(w, ce.id, c);
                out.last_clock = c;
            }
            _ => {
                w.align(8);
                w.write_uint(ce.id, 64, bo);
                if let Some(c) = clock {
                    w.write_uint(c, 64, bo);
                    out.last_clock = c;
                }
            }
        }
        // Packed layouts (no alignment above a byte) keep every field's
        // position relative to the byte-aligned body: copy it as is.
        let (b0, b1) = ev.body();
        if b0 % 8 == 0 && b1 % 8 == 0 && ce.packed {
            w.write_bytes(&ev.bytes()[(b0 / 8) as usize..(b1 / 8) as usize]);
            return Ok(());
        }
        let scopes = [
            (stream_c.event_context, ev.scopes().stream_context),
            (ce.context, ev.scopes().context),
            (ce.fields, ev.scopes().fields),
        ];
        for (root, range) in scopes {
            if let Some(root) = root {
                let mut i = 0;
                enc.encode(
                    &compiled.layout,
                    root.node,
                    ev.scope(range),
                    &mut i,
                    ev.bytes(),
                    w,
                )
                .map_err(|e| err(format!("event `{}`: {e}", ev.class().name)))?;
            }
        }
        Ok(())
    }
}

impl Sink for CtfSink {
    /// Packed bodies are copied as bytes.
    fn bodies(&self) -> Bodies {
        Bodies::Unpacked
    }

    fn consume(&mut self, msg: &Message<'_>) -> Result<(), Error> {
        match &msg.kind {
            MessageKind::StreamBeginning => {
                self.out(msg.stream)?;
            }
            MessageKind::PacketBeginning(p) => self.begin(msg.stream, p)?,
            MessageKind::Event(ev) => self.event(msg.stream, msg.clock, ev)?,
            MessageKind::PacketEnd(p) => {
                let out = self.out(msg.stream)?;
                if out.writer.packet_is_open() {
                    let end = p.timestamp_end.unwrap_or(out.last_clock);
                    let discarded = p.events_discarded.unwrap_or(out.events_discarded);
                    out.writer.end_packet(end, discarded).map_err(err)?;
                }
            }
            MessageKind::StreamEnd => {
                let key = msg.stream as *const StreamInfo;
                if let Some(i) = self.streams.iter().position(|(k, _)| *k == key) {
                    let (_, mut out) = self.streams.swap_remove(i);
                    self.last = 0;
                    if out.writer.packet_is_open() {
                        out.writer
                            .end_packet(out.last_clock, out.events_discarded)
                            .map_err(err)?;
                    }
                    out.writer.finish().map_err(err)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        for (_, mut out) in self.streams.drain(..) {
            if out.writer.packet_is_open() {
                out.writer
                    .end_packet(out.last_clock, out.events_discarded)
                    .map_err(err)?;
            }
            out.writer.finish().map_err(err)?;
        }
        Ok(())
    }
}
