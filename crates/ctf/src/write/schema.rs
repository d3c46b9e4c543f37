//! An LTTng-like schema (packed, little-endian, 64-bit layout) and the
//! event-header encoding rule that goes with it.

use super::BitWriter;
use crate::metadata::{
    ArrayType, ByteOrder, Clock, DisplayBase, Encoding, EnumMapping, EnumType, EnvValue,
    EventClass, FieldRef, FieldType, IntType, Member, Metadata, StreamClass, StructType,
    TraceBlock, VariantType,
};

/// Id marking a compact header as extended (5-bit id field).
pub const COMPACT_EXTENDED_ID: u64 = 31;
/// Id marking a large header as extended (16-bit id field).
pub const LARGE_EXTENDED_ID: u64 = 65535;

/// Bits of timestamp delta a short header may cover: 27 for both header
/// kinds in LTTng's ring buffer client, even though the large header's
/// timestamp field has 32 bits.
const SHORT_TS_BITS: u32 = 27;

/// A little-endian, byte-aligned integer as LTTng declares on x86-64
/// ("packed": every alignment is 8 bits, except sub-byte fields).
pub fn int_type(size: u32, signed: bool) -> IntType {
    IntType {
        size,
        align: if size.is_multiple_of(8) { 8 } else { 1 },
        signed,
        byte_order: ByteOrder::Little,
        base: DisplayBase::Decimal,
        encoding: Encoding::None,
        clock: None,
    }
}

fn clock_int(size: u32, clock: &str) -> IntType {
    IntType {
        clock: Some(clock.to_string()),
        ..int_type(size, false)
    }
}

fn member(name: &str, ty: FieldType) -> Member {
    Member {
        name: name.to_string(),
        ty,
    }
}

fn int_member(name: &str, t: IntType) -> Member {
    member(name, FieldType::Int(t))
}

fn plain_struct(members: Vec<Member>) -> StructType {
    StructType {
        members,
        min_align: 1,
    }
}

/// Builds a typical LTTng UST metadata model: trace block with the LTTng
/// packet header, a `monotonic` 1 GHz clock, one stream class (id 0) with
/// the LTTng packet context and the large event header, and the caller's
/// env entries and event classes.
#[derive(Debug, Clone)]
pub struct SchemaBuilder {
    uuid: [u8; 16],
    clock_offset: i64,
    clock_uuid: Option<[u8; 16]>,
    env: Vec<(String, EnvValue)>,
    event_context: Option<StructType>,
    events: Vec<EventClass>,
}

impl SchemaBuilder {
    /// A schema for the trace `uuid`, with no env and no events yet.
    pub fn new(uuid: [u8; 16]) -> Self {
        SchemaBuilder {
            uuid,
            clock_offset: 0,
            clock_uuid: None,
            env: Vec::new(),
            event_context: None,
            events: Vec::new(),
        }
    }

    /// The clock offset in ns: clock value + offset = ns since the epoch.
    pub fn clock_offset(mut self, offset_ns: i64) -> Self {
        self.clock_offset = offset_ns;
        self
    }

    /// The clock's UUID (LTTng uses the boot id).
    pub fn clock_uuid(mut self, uuid: [u8; 16]) -> Self {
        self.clock_uuid = Some(uuid);
        self
    }

    /// Appends an env entry (keys in the order given).
    pub fn env(mut self, key: &str, value: EnvValue) -> Self {
        self.env.push((key.to_string(), value));
        self
    }

    /// The stream's `event.context` (what `add-context` adds), written by
    /// the caller after each event header.
    pub fn event_context(mut self, context: StructType) -> Self {
        self.event_context = Some(context);
        self
    }

    /// Adds an event class of the stream (id 0).
    pub fn event(mut self, name: &str, id: u64, loglevel: Option<i64>, fields: StructType) -> Self {
        self.events.push(EventClass {
            name: name.to_string(),
            id,
            stream_id: Some(0),
            loglevel,
            emf_uri: None,
            context: None,
            fields: Some(fields),
        });
        self
    }

    /// The metadata model.
    pub fn build(self) -> Metadata {
        let u8_t = int_type(8, false);
        let packet_header = plain_struct(vec![
            int_member("magic", int_type(32, false)),
            member(
                "uuid",
                FieldType::Array(ArrayType {
                    element: Box::new(FieldType::Int(u8_t)),
                    length: 16,
                }),
            ),
            int_member("stream_id", int_type(32, false)),
            int_member("stream_instance_id", int_type(64, false)),
        ]);
        let packet_context = plain_struct(vec![
            int_member("timestamp_begin", clock_int(64, "monotonic")),
            int_member("timestamp_end", clock_int(64, "monotonic")),
            int_member("content_size", int_type(64, false)),
            int_member("packet_size", int_type(64, false)),
            int_member("packet_seq_num", int_type(64, false)),
            int_member("events_discarded", int_type(64, false)),
            int_member("cpu_id", int_type(32, false)),
        ]);
        Metadata {
            trace: TraceBlock {
                major: Some(1),
                minor: Some(8),
                uuid: Some(self.uuid),
                byte_order: ByteOrder::Little,
                packet_header: Some(packet_header),
            },
            env: self.env,
            clocks: vec![Clock {
                name: "monotonic".to_string(),
                uuid: self.clock_uuid,
                description: Some("Monotonic Clock".to_string()),
                freq: 1_000_000_000,
                precision: 0,
                offset_s: 0,
                offset: self.clock_offset,
                absolute: false,
            }],
            streams: vec![StreamClass {
                id: 0,
                packet_context: Some(packet_context),
                event_header: Some(large_event_header("monotonic")),
                event_context: self.event_context,
            }],
            events: self.events,
        }
    }
}

/// LTTng's `struct event_header_large` (packed alignment) for `clock`.
pub fn large_event_header(clock: &str) -> StructType {
    let id = EnumType {
        container: int_type(16, false),
        mappings: vec![
            EnumMapping {
                label: "compact".to_string(),
                ranges: vec![(0, 65534)],
            },
            EnumMapping {
                label: "extended".to_string(),
                ranges: vec![(65535, 65535)],
            },
        ],
    };
    let v = VariantType {
        tag: FieldRef(vec!["id".to_string()]),
        options: vec![
            member(
                "compact",
                FieldType::Struct(plain_struct(vec![int_member(
                    "timestamp",
                    clock_int(32, clock),
                )])),
            ),
            member(
                "extended",
                FieldType::Struct(plain_struct(vec![
                    int_member("id", int_type(32, false)),
                    int_member("timestamp", clock_int(64, clock)),
                ])),
            ),
        ],
    };
    StructType {
        members: vec![
            member("id", FieldType::Enum(id)),
            member("v", FieldType::Variant(v)),
        ],
        min_align: 8,
    }
}

/// Appends an LTTng large event header (packed, little-endian): `u16 id` +
/// `u32` low timestamp bits (6 bytes), or, when `extended` (or the id needs
/// it), `u16 65535` + `u32 id` + `u64 timestamp` (14 bytes).
#[inline]
pub fn encode_large_header(w: &mut BitWriter, id: u64, timestamp: u64, extended: bool) {
    let le = ByteOrder::Little;
    w.align(8);
    if extended || id >= LARGE_EXTENDED_ID {
        w.write_uint(LARGE_EXTENDED_ID, 16, le);
        w.write_uint(id, 32, le);
        w.write_uint(timestamp, 64, le);
    } else {
        // One 6-byte copy: the 16-bit id then the 32-bit time, both
        // little-endian, right after the byte alignment above.
        let mut b = [0u8; 6];
        b[..2].copy_from_slice(&(id as u16).to_le_bytes());
        b[2..].copy_from_slice(&(timestamp as u32).to_le_bytes());
        w.write_bytes(&b);
    }
}

/// Appends an LTTng compact event header (packed, little-endian): 5-bit id
/// and 27-bit timestamp in one 32-bit word, or, when `extended` (or the id
/// needs it), 5 bits of 31 padded to a byte + `u32 id` + `u64 timestamp`
/// (13 bytes).
pub fn encode_compact_header(w: &mut BitWriter, id: u64, timestamp: u64, extended: bool) {
    let le = ByteOrder::Little;
    w.align(8);
    if extended || id >= COMPACT_EXTENDED_ID {
        w.write_uint(COMPACT_EXTENDED_ID, 5, le);
        w.align(8);
        w.write_uint(id, 32, le);
        w.write_uint(timestamp, 64, le);
    } else {
        w.write_uint(id, 5, le);
        w.write_uint(timestamp, 27, le);
    }
}

/// The LTTng ring-buffer rule for short vs full timestamps, per stream:
/// a short header only when the time since the last reservation (or packet
/// switch) fits 27 bits, so a reader rebuilding the 64-bit clock from the
/// short value (assuming at most one wrap) gets it right.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeaderState {
    /// Time of the last event or packet switch; 0 at start, so the first
    /// event of a stream is extended unless its time fits 27 bits.
    pub last_ts: u64,
}

impl HeaderState {
    /// State of a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// A packet was opened (or the buffer switched) at `timestamp`: readers
    /// restart their clock from `timestamp_begin`, so deltas count from it.
    pub fn packet_switch(&mut self, timestamp: u64) {
        self.last_ts = timestamp;
    }

    /// A reservation was discarded: LTTng forgets the last time, so the
    /// next event gets a full timestamp.
    pub fn discarded(&mut self) {
        self.last_ts = 0;
    }

    /// Whether an event `id` at `timestamp` needs the extended form of a
    /// header whose compact form holds ids below `extended_id`.
    pub fn needs_extended(&self, id: u64, timestamp: u64, extended_id: u64) -> bool {
        id >= extended_id || timestamp.wrapping_sub(self.last_ts) >> SHORT_TS_BITS != 0
    }

    /// Encodes a large header for `id` at `timestamp`, choosing the form by
    /// the rule; returns whether it was extended.
    #[inline]
    pub fn write_large(&mut self, w: &mut BitWriter, id: u64, timestamp: u64) -> bool {
        let extended = self.needs_extended(id, timestamp, LARGE_EXTENDED_ID);
        encode_large_header(w, id, timestamp, extended);
        self.last_ts = timestamp;
        extended
    }

    /// Encodes a compact header for `id` at `timestamp`, choosing the form
    /// by the rule; returns whether it was extended.
    pub fn write_compact(&mut self, w: &mut BitWriter, id: u64, timestamp: u64) -> bool {
        let extended = self.needs_extended(id, timestamp, COMPACT_EXTENDED_ID);
        encode_compact_header(w, id, timestamp, extended);
        self.last_ts = timestamp;
        extended
    }
}
