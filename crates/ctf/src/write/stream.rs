//! Trace directories: the `metadata` file, stream files made of packets,
//! and LTTng index files.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{packetize_metadata, to_tsdl, BitWriter, WriteError};
use crate::metadata::{ByteOrder, FieldType, Metadata, StructType};

/// `magic` of every data packet header; babeltrace2 rejects other values.
pub const CTF_MAGIC: u32 = 0xC1FC_1FC1;
/// First field of an LTTng index file.
pub const INDEX_MAGIC: u32 = 0xC1F1_DCC1;
/// Size of an index file header: magic, major, minor, entry size.
pub const INDEX_HEADER_BYTES: usize = 16;
/// Size of an index 1.1 entry: nine big-endian u64.
pub const INDEX_ENTRY_BYTES: usize = 72;

/// How a [`TraceWriter`] lays out its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    /// Write `metadata` as LTTng metadata packets rather than plain TSDL
    /// (both are read by every CTF reader; packets are what LTTng writes).
    pub packetized_metadata: bool,
    /// Size of each metadata packet in bytes (LTTng: one page).
    pub metadata_packet_size: usize,
    /// Data packets are zero-padded to a multiple of this many bytes, as
    /// LTTng's page-sized sub-buffers are; 1 means no padding beyond a byte.
    pub page_size: usize,
    /// Largest data packet in bytes (rounded down to a multiple of
    /// `page_size`): what [`StreamWriter::would_fit`] checks against.
    pub max_packet_size: usize,
    /// Write `index/FILE.idx` (LTTng index 1.1) beside every stream file,
    /// so readers can seek without scanning packets.
    pub write_index: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            packetized_metadata: false,
            metadata_packet_size: 4096,
            page_size: 4096,
            max_packet_size: 1 << 20,
            write_index: false,
        }
    }
}

/// A CTF trace directory being written: owns the `metadata` file and
/// hands out one [`StreamWriter`] per data stream file.
#[derive(Debug)]
pub struct TraceWriter {
    dir: PathBuf,
    metadata: Metadata,
    options: WriterOptions,
}

impl TraceWriter {
    /// Creates `dir` (and its parents) and writes `metadata` as plain TSDL
    /// with default options.
    pub fn create(dir: &Path, metadata: &Metadata) -> Result<TraceWriter, WriteError> {
        Self::create_with(dir, metadata, WriterOptions::default())
    }

    /// Creates `dir` (and its parents) and writes `metadata` per `options`.
    pub fn create_with(
        dir: &Path,
        metadata: &Metadata,
        options: WriterOptions,
    ) -> Result<TraceWriter, WriteError> {
        fs::create_dir_all(dir).map_err(WriteError::io(dir))?;
        let writer = TraceWriter {
            dir: dir.to_path_buf(),
            metadata: metadata.clone(),
            options,
        };
        writer.write_metadata()?;
        Ok(writer)
    }

    /// The trace directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The metadata the trace was declared with.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The options in effect.
    pub fn options(&self) -> &WriterOptions {
        &self.options
    }

    /// Replaces the metadata (new event classes registered while tracing)
    /// and rewrites the `metadata` file. Stream writers already created keep
    /// their packet layouts, so the packet header and contexts must not
    /// change.
    pub fn update_metadata(&mut self, metadata: &Metadata) -> Result<(), WriteError> {
        self.metadata = metadata.clone();
        self.write_metadata()
    }

    fn write_metadata(&self) -> Result<(), WriteError> {
        let path = self.dir.join("metadata");
        let text = to_tsdl(&self.metadata);
        let bytes = if self.options.packetized_metadata {
            packetize_metadata(
                &text,
                self.metadata.trace.uuid.unwrap_or_default(),
                self.metadata.trace.byte_order,
                self.options.metadata_packet_size,
            )
        } else {
            text.into_bytes()
        };
        fs::write(&path, bytes).map_err(WriteError::io(path))
    }

    /// Creates the data stream file `file_name` for the stream class
    /// `stream_class_id` (instance `stream_instance_id`, a CPU number for
    /// LTTng), and its index file when the options ask for one.
    pub fn stream(
        &self,
        stream_class_id: u64,
        stream_instance_id: u64,
        file_name: &str,
    ) -> Result<StreamWriter, WriteError> {
        let context = match self
            .metadata
            .streams
            .iter()
            .find(|s| s.id == stream_class_id)
        {
            Some(s) => s.packet_context.clone(),
            // A trace without stream blocks has one implicit class, id 0.
            None if self.metadata.streams.is_empty() && stream_class_id == 0 => None,
            None => return Err(WriteError::UnknownStreamClass(stream_class_id)),
        };
        let path = self.dir.join(file_name);
        let file = File::create(&path).map_err(WriteError::io(&path))?;
        let index = if self.options.write_index {
            let index_dir = self.dir.join("index");
            fs::create_dir_all(&index_dir).map_err(WriteError::io(&index_dir))?;
            let index_path = index_dir.join(format!("{file_name}.idx"));
            let file = File::create(&index_path).map_err(WriteError::io(&index_path))?;
            let mut out = BufWriter::new(file);
            let mut header = [0u8; INDEX_HEADER_BYTES];
            header[0..4].copy_from_slice(&INDEX_MAGIC.to_be_bytes());
            header[4..8].copy_from_slice(&1u32.to_be_bytes());
            header[8..12].copy_from_slice(&1u32.to_be_bytes());
            header[12..16].copy_from_slice(&(INDEX_ENTRY_BYTES as u32).to_be_bytes());
            out.write_all(&header)
                .map_err(WriteError::io(&index_path))?;
            Some((index_path, out))
        } else {
            None
        };
        let page = self.options.page_size.max(1) as u64 * 8;
        let max_bits = (self.options.max_packet_size as u64 * 8 / page).max(1) * page;
        Ok(StreamWriter {
            path,
            file: BufWriter::with_capacity(1 << 16, file),
            index,
            header: self.metadata.trace.packet_header.clone(),
            context,
            uuid: self.metadata.trace.uuid.unwrap_or_default(),
            stream_id: stream_class_id,
            instance_id: stream_instance_id,
            page_bits: page,
            max_bits,
            packet: BitWriter::with_capacity(self.options.page_size.max(4096)),
            open: None,
            next_seq: 0,
            offset: 0,
            scratch: Vec::new(),
        })
    }
}

/// Where a back-patched integer lives in the packet.
#[derive(Debug, Clone, Copy)]
struct Slot {
    pos: u64,
    size: u32,
    order: ByteOrder,
}

/// The packet being built.
#[derive(Debug, Clone, Copy, Default)]
struct OpenPacket {
    timestamp_begin: u64,
    seq_num: u64,
    content_size: Option<Slot>,
    packet_size: Option<Slot>,
    timestamp_end: Option<Slot>,
    events_discarded: Option<Slot>,
}

/// What was written for one packet: its index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// Byte offset of the packet in the stream file.
    pub offset: u64,
    /// Packet size in bits, padding included.
    pub packet_size: u64,
    /// Content size in bits: headers and events.
    pub content_size: u64,
    pub timestamp_begin: u64,
    pub timestamp_end: u64,
    pub events_discarded: u64,
    pub stream_id: u64,
    pub stream_instance_id: u64,
    pub packet_seq_num: u64,
}

/// One data stream file: builds packets in memory (header and context
/// filled by field name, events appended by the caller), back-patches their
/// sizes when they close, and writes them with buffered IO.
#[derive(Debug)]
pub struct StreamWriter {
    path: PathBuf,
    file: BufWriter<File>,
    index: Option<(PathBuf, BufWriter<File>)>,
    header: Option<StructType>,
    context: Option<StructType>,
    uuid: [u8; 16],
    stream_id: u64,
    instance_id: u64,
    page_bits: u64,
    max_bits: u64,
    packet: BitWriter,
    open: Option<OpenPacket>,
    next_seq: u64,
    offset: u64,
    /// Integers written at the top level of the scope being filled, for
    /// sequence lengths and back-patching; reused across packets.
    scratch: Vec<(usize, Slot, u64)>,
}

/// A value supplied for a header or context field, by name.
#[derive(Clone, Copy)]
enum Fill<'a> {
    Uint(u64),
    Bytes(&'a [u8]),
}

impl StreamWriter {
    /// The stream file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of closed packets written so far (the next packet's offset).
    pub fn bytes_written(&self) -> u64 {
        self.offset
    }

    /// Whether a packet is open.
    pub fn packet_is_open(&self) -> bool {
        self.open.is_some()
    }

    /// The `packet_seq_num` the next packet gets. Setting it past the
    /// expected value records lost packets (as overwrite mode does).
    pub fn set_next_packet_seq_num(&mut self, seq_num: u64) {
        self.next_seq = seq_num;
    }

    /// Largest packet size in bits (padding included).
    pub fn max_packet_bits(&self) -> u64 {
        self.max_bits
    }

    /// Opens a packet: writes the packet header (by name: `magic`, `uuid`,
    /// `stream_id`, `stream_instance_id`; zero for others) and the packet
    /// context (by name: `timestamp_begin`, `packet_seq_num`; `extra`
    /// supplies the others such as `cpu_id`; sizes, `timestamp_end` and
    /// `events_discarded` are patched by [`end_packet`](Self::end_packet);
    /// zero for unknown ones).
    pub fn begin_packet(
        &mut self,
        timestamp_begin: u64,
        extra: &[(&str, u64)],
    ) -> Result<(), WriteError> {
        if self.open.is_some() {
            return Err(WriteError::PacketOpen(self.path.clone()));
        }
        self.packet.clear();
        let seq_num = self.next_seq;
        let mut open = OpenPacket {
            timestamp_begin: 0,
            seq_num,
            ..OpenPacket::default()
        };
        let result = self.write_scopes(timestamp_begin, seq_num, extra, &mut open);
        if let Err(e) = result {
            self.packet.clear();
            return Err(e);
        }
        self.open = Some(open);
        Ok(())
    }

    fn write_scopes(
        &mut self,
        timestamp_begin: u64,
        seq_num: u64,
        extra: &[(&str, u64)],
        open: &mut OpenPacket,
    ) -> Result<(), WriteError> {
        if let Some(header) = &self.header {
            let uuid = &self.uuid;
            let values = |name: &str| match name {
                "magic" => Some(Fill::Uint(u64::from(CTF_MAGIC))),
                "uuid" => Some(Fill::Bytes(uuid)),
                "stream_id" => Some(Fill::Uint(self.stream_id)),
                "stream_instance_id" => Some(Fill::Uint(self.instance_id)),
                _ => None,
            };
            self.scratch.clear();
            fill_struct(
                &mut self.packet,
                header,
                "packet header",
                &values,
                Some(&mut self.scratch),
            )?;
        }
        self.scratch.clear();
        if let Some(context) = &self.context {
            let values = |name: &str| match name {
                "timestamp_begin" => Some(Fill::Uint(timestamp_begin)),
                "packet_seq_num" => Some(Fill::Uint(seq_num)),
                "timestamp_end" | "content_size" | "packet_size" | "events_discarded" => {
                    Some(Fill::Uint(0))
                }
                _ => extra
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|&(_, v)| Fill::Uint(v)),
            };
            fill_struct(
                &mut self.packet,
                context,
                "packet context",
                &values,
                Some(&mut self.scratch),
            )?;
            for &(member, slot, value) in &self.scratch {
                match context.members[member].name.as_str() {
                    "timestamp_begin" => open.timestamp_begin = value,
                    "timestamp_end" => open.timestamp_end = Some(slot),
                    "content_size" => open.content_size = Some(slot),
                    "packet_size" => open.packet_size = Some(slot),
                    "events_discarded" => open.events_discarded = Some(slot),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Where the caller appends events to the open packet (header,
    /// contexts and payload, encoded by the caller). Bit positions are
    /// relative to the packet start, as alignment requires.
    pub fn event_writer(&mut self) -> &mut BitWriter {
        &mut self.packet
    }

    /// Whether `extra_bits` more bits (an event, alignment included) still
    /// fit in the open packet without exceeding the maximum packet size.
    /// When not, close the packet and open a new one first.
    pub fn would_fit(&self, extra_bits: u64) -> bool {
        self.packet.bit_position() + extra_bits <= self.max_bits
    }

    /// Closes the open packet: patches `content_size`, `packet_size`
    /// (content padded to a multiple of the page size), `timestamp_end` and
    /// `events_discarded` (cumulative for the stream, as LTTng counts),
    /// writes the packet and its index entry. A packet over the maximum
    /// size is dropped and reported as an error.
    pub fn end_packet(
        &mut self,
        timestamp_end: u64,
        events_discarded: u64,
    ) -> Result<PacketInfo, WriteError> {
        let Some(open) = self.open.take() else {
            return Err(WriteError::NoPacketOpen(self.path.clone()));
        };
        let content = self.packet.bit_position();
        // Padding is only safe when the reader knows where content ends
        // and where the packet ends; otherwise it would decode it as events.
        let unit = if open.content_size.is_some() && open.packet_size.is_some() {
            self.page_bits
        } else {
            8
        };
        let padded = content.div_ceil(unit).max(1) * unit;
        if padded > self.max_bits {
            self.packet.clear();
            return Err(WriteError::PacketTooLarge {
                path: self.path.clone(),
                bits: padded,
                max_bits: self.max_bits,
            });
        }
        for (slot, value, name) in [
            (open.content_size, content, "content_size"),
            (open.packet_size, padded, "packet_size"),
        ] {
            if let Some(s) = slot {
                if s.size < 64 && value >> s.size != 0 {
                    self.packet.clear();
                    return Err(WriteError::ValueTooLarge {
                        scope: "packet context",
                        field: name.to_string(),
                        size: s.size,
                        value,
                    });
                }
                self.packet.patch_uint_at(s.pos, value, s.size, s.order);
            }
        }
        // Clock values and lost-record counts wrap at their field width.
        for (slot, value) in [
            (open.timestamp_end, timestamp_end),
            (open.events_discarded, events_discarded),
        ] {
            if let Some(s) = slot {
                self.packet.patch_uint_at(s.pos, value, s.size, s.order);
            }
        }
        self.packet.skip_to(padded);
        self.file
            .write_all(self.packet.as_bytes())
            .map_err(WriteError::io(&self.path))?;
        self.packet.clear();
        let info = PacketInfo {
            offset: self.offset,
            packet_size: padded,
            content_size: content,
            timestamp_begin: open.timestamp_begin,
            timestamp_end,
            events_discarded,
            stream_id: self.stream_id,
            stream_instance_id: self.instance_id,
            packet_seq_num: open.seq_num,
        };
        if let Some((path, out)) = &mut self.index {
            let mut entry = [0u8; INDEX_ENTRY_BYTES];
            let fields = [
                info.offset,
                info.packet_size,
                info.content_size,
                info.timestamp_begin,
                info.timestamp_end,
                info.events_discarded,
                info.stream_id,
                info.stream_instance_id,
                info.packet_seq_num,
            ];
            for (chunk, v) in entry.chunks_exact_mut(8).zip(fields) {
                chunk.copy_from_slice(&v.to_be_bytes());
            }
            out.write_all(&entry).map_err(WriteError::io(&*path))?;
        }
        self.offset += padded / 8;
        self.next_seq = open.seq_num.wrapping_add(1);
        Ok(info)
    }

    /// Flushes the stream file (and index) to the OS. A packet still open
    /// is an error: its events would be lost silently otherwise. Dropping
    /// the writer instead flushes too, but ignores errors.
    pub fn finish(mut self) -> Result<(), WriteError> {
        if self.open.is_some() {
            return Err(WriteError::PacketOpen(self.path.clone()));
        }
        self.flush()
    }

    /// Flushes closed packets (and index entries) to the OS.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.file.flush().map_err(WriteError::io(&self.path))?;
        if let Some((path, out)) = &mut self.index {
            out.flush().map_err(WriteError::io(&*path))?;
        }
        Ok(())
    }
}

/// Writes `st` with values looked up by member name (zero when unknown).
/// When `top` is given, records each top-level integer's slot and value.
fn fill_struct<'a>(
    w: &mut BitWriter,
    st: &StructType,
    scope: &'static str,
    values: &dyn Fn(&str) -> Option<Fill<'a>>,
    mut top: Option<&mut Vec<(usize, Slot, u64)>>,
) -> Result<(), WriteError> {
    w.align(st.align());
    // Integers of this struct, for sequence lengths declared by sibling.
    let mut local: Vec<(&str, u64)> = Vec::new();
    for (i, m) in st.members.iter().enumerate() {
        let value = values(&m.name);
        let int = match &m.ty {
            FieldType::Int(t) => Some(t),
            FieldType::Enum(e) => Some(&e.container),
            _ => None,
        };
        if let Some(t) = int {
            let v = match value {
                Some(Fill::Uint(v)) => v,
                _ => 0,
            };
            if !t.signed && t.size < 64 && v >> t.size != 0 {
                return Err(WriteError::ValueTooLarge {
                    scope,
                    field: m.name.clone(),
                    size: t.size,
                    value: v,
                });
            }
            w.align(t.align);
            let slot = Slot {
                pos: w.bit_position(),
                size: t.size,
                order: t.byte_order,
            };
            w.write_uint(v, t.size, t.byte_order);
            local.push((&m.name, v));
            if let Some(top) = top.as_deref_mut() {
                top.push((i, slot, v));
            }
            continue;
        }
        fill_field(w, &m.ty, &m.name, scope, value, values, &local)?;
    }
    Ok(())
}

/// Writes a non-integer field: `value` for byte arrays and strings, zero
/// otherwise; compound members are filled by name too.
fn fill_field<'a>(
    w: &mut BitWriter,
    ty: &FieldType,
    name: &str,
    scope: &'static str,
    value: Option<Fill<'a>>,
    values: &dyn Fn(&str) -> Option<Fill<'a>>,
    siblings: &[(&str, u64)],
) -> Result<(), WriteError> {
    let bytes = match value {
        Some(Fill::Bytes(b)) => b,
        _ => &[],
    };
    match ty {
        FieldType::Int(t) => {
            w.align(t.align);
            w.write_uint(0, t.size, t.byte_order);
        }
        FieldType::Enum(e) => {
            w.align(e.container.align);
            w.write_uint(0, e.container.size, e.container.byte_order);
        }
        FieldType::Float(t) => {
            w.align(t.align);
            w.write_uint(0, t.size().clamp(1, 64), t.byte_order);
        }
        FieldType::String(_) => w.write_str(bytes),
        FieldType::Struct(st) => fill_struct(w, st, scope, values, None)?,
        FieldType::Array(a) => fill_elements(w, &a.element, a.length, name, scope, bytes)?,
        FieldType::Sequence(s) => {
            // The length field was filled by name too: find its value.
            let len_name = s.length.0.last().map(String::as_str).unwrap_or("");
            let len = match siblings.iter().rev().find(|(n, _)| *n == len_name) {
                Some(&(_, v)) => v,
                None => match values(len_name) {
                    Some(Fill::Uint(v)) => v,
                    _ => 0,
                },
            };
            fill_elements(w, &s.element, len, name, scope, bytes)?;
        }
        FieldType::Variant(_) => {
            return Err(WriteError::Unsupported {
                scope,
                field: name.to_string(),
                what: "a variant",
            })
        }
    }
    Ok(())
}

/// The lookup for members nobody supplies values for.
fn no_value(_: &str) -> Option<Fill<'static>> {
    None
}

/// `len` elements of `element`: the given bytes for 8-bit integer
/// elements (zero past their end), zero otherwise.
fn fill_elements(
    w: &mut BitWriter,
    element: &FieldType,
    len: u64,
    name: &str,
    scope: &'static str,
    bytes: &[u8],
) -> Result<(), WriteError> {
    w.align(element.align());
    for i in 0..len {
        match element {
            FieldType::Int(t) if t.size == 8 => {
                let b = usize::try_from(i)
                    .ok()
                    .and_then(|i| bytes.get(i))
                    .copied()
                    .unwrap_or(0);
                w.align(t.align);
                w.write_uint(u64::from(b), 8, t.byte_order);
            }
            _ => fill_field(w, element, name, scope, None, &no_value, &[])?,
        }
    }
    Ok(())
}
