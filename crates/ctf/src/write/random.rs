//! Random metadata models for property tests, here rather than in a test
//! file so every crate's tests (parser, encoder, reader) can share them.
//!
//! Models are valid TSDL in every respect a reader checks: unique names
//! (all `_`-prefixed, so stripping one underscore keeps them unique), tags
//! and lengths that name an earlier sibling (or, for some sequences, a field
//! of the stream's event context by absolute path), tag enums whose labels
//! are exactly the variant's options, clock maps that name a declared clock,
//! floats of 32 or 64 bits. Generation is driven by a seed so a failing
//! case is reproduced by its number; no dependency is needed.

use crate::metadata::{
    ArrayType, ByteOrder, Clock, DisplayBase, Encoding, EnumMapping, EnumType, EnvValue,
    EventClass, FieldRef, FieldType, FloatType, IntType, Member, Metadata, SequenceType,
    StreamClass, StringType, StructType, TraceBlock, VariantType,
};

/// The model for `seed`: 1–3 stream classes, a few event classes each,
/// nested types up to depth 3.
pub fn random_metadata(seed: u64) -> Metadata {
    Gen {
        rng: Rng(seed),
        clocks: Vec::new(),
        counter: 0,
        in_array: false,
    }
    .metadata()
}

/// SplitMix64: tiny, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

struct Gen {
    rng: Rng,
    clocks: Vec<String>,
    counter: u64,
    /// Generating an array or sequence element: babeltrace2 2.0 aborts on
    /// a clock-mapped integer anywhere inside one.
    in_array: bool,
}

const WORDS: &[&str] = &[
    "a", "len", "val", "x", "msg", "count", "pid", "data", "ctx", "f",
];
const TEXT_CHARS: &[char] = &[
    'a', 'b', 'z', 'Q', '0', '7', ' ', '_', ':', '.', '-', '"', '\\', '\n', '\t', 'é', '∑', '/',
    '*', '{', ';',
];

impl Gen {
    fn metadata(&mut self) -> Metadata {
        let byte_order = self.order();
        let uuid = self.rng.chance(80).then(|| self.uuid());
        for name in ["monotonic", "realtime", "cycles"] {
            if self.rng.chance(50) {
                self.clocks.push(name.to_string());
            }
        }
        let clocks = self.clocks.clone().iter().map(|n| self.clock(n)).collect();
        let env = self.env();
        let stream_count = self.rng.range(1, 3);
        let mut ids: Vec<u64> = Vec::new();
        while (ids.len() as u64) < stream_count {
            let id = self.rng.below(10);
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let packet_header = self.packet_header(uuid.is_some(), byte_order);
        let mut streams = Vec::new();
        let mut events = Vec::new();
        for &id in &ids {
            let (stream, stream_events) = self.stream(id, ids.len() == 1);
            streams.push(stream);
            events.extend(stream_events);
        }
        Metadata {
            trace: TraceBlock {
                major: Some(1),
                minor: Some(8),
                uuid,
                byte_order,
                packet_header: Some(packet_header),
            },
            env,
            clocks,
            streams,
            events,
        }
    }

    fn order(&mut self) -> ByteOrder {
        if self.rng.chance(50) {
            ByteOrder::Little
        } else {
            ByteOrder::Big
        }
    }

    fn uuid(&mut self) -> [u8; 16] {
        let mut u = [0u8; 16];
        u[..8].copy_from_slice(&self.rng.next().to_le_bytes());
        u[8..].copy_from_slice(&self.rng.next().to_le_bytes());
        u
    }

    fn text(&mut self, min: u64) -> String {
        let len = self.rng.range(min, 12);
        (0..len).map(|_| self.rng.pick(TEXT_CHARS)).collect()
    }

    /// A fresh member name, unique within the model.
    fn name(&mut self) -> String {
        self.counter += 1;
        format!("_{}{}", self.rng.pick(WORDS), self.counter)
    }

    fn clock(&mut self, name: &str) -> Clock {
        let freq = self.rng.pick(&[1_000_000_000, 1_000, 2_400_000_000, 1]);
        Clock {
            name: name.to_string(),
            uuid: self.rng.chance(50).then(|| self.uuid()),
            description: self.rng.chance(50).then(|| self.text(0)),
            freq,
            precision: self.rng.below(1000),
            // Origins babeltrace2 can convert to ns without overflow.
            offset_s: self.rng.below(2_000_000_000) as i64 - 1_000_000,
            offset: self.rng.below(freq * 100_000) as i64 - freq as i64,
            absolute: self.rng.chance(50),
        }
    }

    fn env(&mut self) -> Vec<(String, EnvValue)> {
        let keys = [
            "hostname",
            "domain",
            "trace_name",
            "k1",
            "some_key",
            "_x",
            "answer",
        ];
        let mut env = Vec::new();
        for key in keys {
            if self.rng.chance(40) {
                let value = if self.rng.chance(50) {
                    EnvValue::Str(self.text(0))
                } else {
                    EnvValue::Int(match self.rng.below(4) {
                        0 => i64::MAX,
                        1 => i64::MIN + 1,
                        _ => self.rng.below(100_000) as i64 - 50_000,
                    })
                };
                env.push((key.to_string(), value));
            }
        }
        env
    }

    fn uint(&mut self, size: u32, order: ByteOrder) -> IntType {
        IntType {
            size,
            align: self
                .rng
                .pick(&[8, 8, 8 * size.div_ceil(8).next_power_of_two()]),
            signed: false,
            byte_order: order,
            base: DisplayBase::Decimal,
            encoding: Encoding::None,
            clock: None,
        }
    }

    fn packet_header(&mut self, with_uuid: bool, order: ByteOrder) -> StructType {
        let mut members = vec![member("magic", FieldType::Int(self.uint(32, order)))];
        if with_uuid {
            let byte = self.uint(8, order);
            members.push(member(
                "uuid",
                FieldType::Array(ArrayType {
                    element: Box::new(FieldType::Int(byte)),
                    length: 16,
                }),
            ));
        }
        members.push(member("stream_id", FieldType::Int(self.uint(32, order))));
        members.push(member(
            "stream_instance_id",
            FieldType::Int(self.uint(64, order)),
        ));
        if self.rng.chance(30) {
            let name = self.name();
            let ty = self.scalar();
            members.push(member(&name, ty));
        }
        StructType {
            members,
            min_align: self.struct_align(),
        }
    }

    fn struct_align(&mut self) -> u32 {
        if self.rng.chance(70) {
            1
        } else {
            self.rng.pick(&[8, 16, 32, 64])
        }
    }

    fn clock_uint(&mut self, size: u32) -> IntType {
        let order = self.order();
        let mut t = self.uint(size, order);
        // babeltrace2 wants one clock per stream class, and auto-maps
        // unmapped timestamps only when the trace has a single clock: all
        // maps name the first clock, always when there are several.
        if !self.clocks.is_empty() && (self.clocks.len() > 1 || self.rng.chance(80)) {
            t.clock = Some(self.clocks[0].clone());
        }
        t
    }

    fn lttng_packet_context(&mut self) -> StructType {
        let mut members = Vec::new();
        for name in ["timestamp_begin", "timestamp_end"] {
            let t = self.clock_uint(64);
            members.push(member(name, FieldType::Int(t)));
        }
        for name in [
            "content_size",
            "packet_size",
            "packet_seq_num",
            "events_discarded",
        ] {
            let order = self.order();
            let size = self.rng.pick(&[32, 64]);
            members.push(member(name, FieldType::Int(self.uint(size, order))));
        }
        let order = self.order();
        members.push(member("cpu_id", FieldType::Int(self.uint(32, order))));
        StructType {
            members,
            min_align: 1,
        }
    }

    /// LTTng's compact or large event header, with the stream's clock.
    fn event_header(&mut self, large: bool) -> StructType {
        let (id_size, extended) = if large { (16, 65535) } else { (5, 31) };
        let order = self.order();
        let mut id = self.uint(id_size, order);
        if !large {
            id.align = 1;
        }
        let mut short_ts = self.clock_uint(if large { 32 } else { 27 });
        short_ts.byte_order = order;
        if !large {
            short_ts.align = 1;
        }
        let mut long_ts = self.clock_uint(64);
        long_ts.clock.clone_from(&short_ts.clock);
        let ext_id = self.uint(32, order);
        let tag = EnumType {
            container: id,
            mappings: vec![
                mapping("compact", vec![(0, extended - 1)]),
                mapping("extended", vec![(extended, extended)]),
            ],
        };
        let variant = VariantType {
            tag: FieldRef(vec!["id".to_string()]),
            options: vec![
                member(
                    "compact",
                    FieldType::Struct(StructType {
                        members: vec![member("timestamp", FieldType::Int(short_ts))],
                        min_align: 1,
                    }),
                ),
                member(
                    "extended",
                    FieldType::Struct(StructType {
                        members: vec![
                            member("id", FieldType::Int(ext_id)),
                            member("timestamp", FieldType::Int(long_ts)),
                        ],
                        min_align: 1,
                    }),
                ),
            ],
        };
        StructType {
            members: vec![
                member("id", FieldType::Enum(tag)),
                member("v", FieldType::Variant(variant)),
            ],
            min_align: self.rng.pick(&[8, 16, 32]),
        }
    }

    fn stream(&mut self, id: u64, only: bool) -> (StreamClass, Vec<EventClass>) {
        let packet_context = match self.rng.below(10) {
            0..=4 => Some(self.lttng_packet_context()),
            5..=7 => Some(self.structure(1, None)),
            _ => None,
        };
        let header_kind = self.rng.below(10);
        let event_header = match header_kind {
            0..=4 => Some(self.event_header(true)),
            5..=6 => Some(self.event_header(false)),
            _ => None,
        };
        let event_context = self.rng.chance(40).then(|| self.structure(1, None));
        // An unsigned top-level integer of the event context that event
        // fields may use as a sequence length by absolute path.
        let external_len = event_context.as_ref().and_then(|c| {
            c.members.iter().find_map(|m| match &m.ty {
                FieldType::Int(t) if !t.signed => Some(FieldRef(vec![
                    "stream".to_string(),
                    "event".to_string(),
                    "context".to_string(),
                    m.name.clone(),
                ])),
                _ => None,
            })
        });
        let max_events = match header_kind {
            0..=6 => 4,
            _ => 1, // without an id in the header, one event class only
        };
        let id_limit = if header_kind <= 4 { 100_000 } else { 1_000 };
        let mut event_ids: Vec<u64> = Vec::new();
        let mut events = Vec::new();
        // At least one event class: babeltrace2 2.0 aborts on a sequence
        // or variant in the event context of a stream class without any.
        for _ in 0..self.rng.range(1, max_events) {
            let eid = self.rng.below(id_limit);
            if event_ids.contains(&eid) {
                continue;
            }
            event_ids.push(eid);
            let name = self.text(1);
            events.push(EventClass {
                name,
                id: eid,
                stream_id: if only && self.rng.chance(30) {
                    None
                } else {
                    Some(id)
                },
                loglevel: self.rng.chance(60).then(|| self.rng.below(15) as i64), // babeltrace2: unsigned
                emf_uri: self.rng.chance(20).then(|| self.text(0)),
                context: self.rng.chance(15).then(|| self.flat_structure()),
                fields: self
                    .rng
                    .chance(90)
                    .then(|| self.structure(0, external_len.clone())),
            });
        }
        let stream = StreamClass {
            id,
            packet_context,
            event_header,
            event_context,
        };
        (stream, events)
    }

    fn scalar(&mut self) -> FieldType {
        match self.rng.below(10) {
            0..=4 => FieldType::Int(self.int()),
            5 => FieldType::Float(FloatType {
                exp_dig: 8,
                mant_dig: 24,
                align: self.rng.pick(&[8, 32]),
                byte_order: self.order(),
            }),
            6 => FieldType::Float(FloatType {
                exp_dig: 11,
                mant_dig: 53,
                align: self.rng.pick(&[8, 64]),
                byte_order: self.order(),
            }),
            7 => FieldType::String(StringType {
                encoding: self
                    .rng
                    .pick(&[Encoding::None, Encoding::Utf8, Encoding::Ascii]),
            }),
            _ => FieldType::Enum(self.enumeration()),
        }
    }

    fn int(&mut self) -> IntType {
        let size = match self.rng.below(4) {
            0 => self.rng.range(1, 64) as u32,
            _ => self.rng.pick(&[8, 16, 32, 64]),
        };
        let signed = self.rng.chance(50);
        IntType {
            size,
            align: self.rng.pick(&[1, 8, 8, 16, 32, 64]),
            signed,
            byte_order: self.order(),
            base: self.rng.pick(&[
                DisplayBase::Binary,
                DisplayBase::Octal,
                DisplayBase::Decimal,
                DisplayBase::Hexadecimal,
            ]),
            encoding: if size == 8 {
                self.rng
                    .pick(&[Encoding::None, Encoding::Utf8, Encoding::Ascii])
            } else {
                Encoding::None
            },
            clock: None,
        }
    }

    fn enumeration(&mut self) -> EnumType {
        let mut container = self.int();
        container.encoding = Encoding::None;
        let (lo, hi): (i128, i128) = if container.signed {
            let half = 1i128 << (container.size - 1);
            (-half, half - 1)
        } else {
            (0, (1i128 << container.size) - 1)
        };
        let mut labels: Vec<String> = Vec::new();
        let mut mappings = Vec::new();
        for _ in 0..self.rng.range(1, 4) {
            let label = self.text(1);
            if labels.contains(&label) {
                continue;
            }
            labels.push(label.clone());
            let mut ranges = Vec::new();
            for _ in 0..self.rng.range(1, 2) {
                let a = self.value_in(lo, hi);
                let b = if self.rng.chance(50) {
                    a
                } else {
                    self.value_in(a, hi)
                };
                ranges.push((a, b));
            }
            mappings.push(EnumMapping { label, ranges });
        }
        EnumType {
            container,
            mappings,
        }
    }

    /// A value in `lo..=hi`, often an end point.
    fn value_in(&mut self, lo: i128, hi: i128) -> i128 {
        match self.rng.below(4) {
            0 => lo,
            1 => hi,
            _ => {
                let span = (hi - lo) as u128 + 1;
                lo + (u128::from(self.rng.next()) % span) as i128
            }
        }
    }

    /// A struct; `depth` limits nesting, `external_len` is a length field
    /// outside this struct that a sequence may name by absolute path.
    fn structure(&mut self, depth: u32, external_len: Option<FieldRef>) -> StructType {
        let mut members = Vec::new();
        let count = self.rng.range(0, if depth >= 3 { 2 } else { 5 });
        for _ in 0..count {
            let name = self.name();
            match self.rng.below(12) {
                0..=4 => {
                    let mut ty = self.scalar();
                    if let FieldType::Int(t) = &mut ty {
                        let mappable = !t.signed && !self.clocks.is_empty() && !self.in_array;
                        if mappable && self.rng.chance(15) {
                            t.clock = Some(self.clocks[0].clone());
                        }
                    }
                    members.push(member(&name, ty));
                }
                5 if depth < 3 => {
                    let st = self.structure(depth + 1, None);
                    members.push(member(&name, FieldType::Struct(st)));
                }
                6 | 7 => {
                    let ty = self.array(depth);
                    members.push(member(&name, ty));
                }
                8 | 9 => {
                    let length = match &external_len {
                        Some(r) if self.rng.chance(30) => r.clone(),
                        _ => {
                            let len_name = format!("{name}_length");
                            let order = self.order();
                            let size = self.rng.pick(&[8, 16, 32, 64]);
                            let t = self.uint(size, order);
                            members.push(member(&len_name, FieldType::Int(t)));
                            FieldRef(vec![len_name])
                        }
                    };
                    let element = self.element(depth);
                    members.push(member(
                        &name,
                        FieldType::Sequence(SequenceType {
                            element: Box::new(element),
                            length,
                        }),
                    ));
                }
                10 if depth < 3 => {
                    let (tag, variant) = self.variant(&name, depth);
                    members.push(tag);
                    members.push(member(&name, FieldType::Variant(variant)));
                }
                _ => {
                    let ty = FieldType::Int(self.int());
                    members.push(member(&name, ty));
                }
            }
        }
        StructType {
            members,
            min_align: self.struct_align(),
        }
    }

    /// A struct of scalars and arrays only: babeltrace2 2.0 aborts on a
    /// sequence in an event's own `context` (LTTng never writes one).
    fn flat_structure(&mut self) -> StructType {
        let mut members = Vec::new();
        for _ in 0..self.rng.range(0, 4) {
            let name = self.name();
            let ty = if self.rng.chance(30) {
                let element = self.scalar();
                FieldType::Array(ArrayType {
                    element: Box::new(element),
                    length: self.rng.below(4),
                })
            } else {
                self.scalar()
            };
            members.push(member(&name, ty));
        }
        StructType {
            members,
            min_align: self.struct_align(),
        }
    }

    /// An element type for arrays and sequences.
    fn element(&mut self, depth: u32) -> FieldType {
        let outer = std::mem::replace(&mut self.in_array, true);
        let ty = match self.rng.below(6) {
            0 if depth < 3 => FieldType::Struct(self.structure(depth + 1, None)),
            1 if depth < 3 => self.array(depth + 1),
            _ => self.scalar(),
        };
        self.in_array = outer;
        ty
    }

    fn array(&mut self, depth: u32) -> FieldType {
        let element = self.element(depth);
        FieldType::Array(ArrayType {
            element: Box::new(element),
            length: self.rng.below(5),
        })
    }

    /// A variant and its tag member (declared just before it).
    fn variant(&mut self, name: &str, depth: u32) -> (Member, VariantType) {
        let mut options = Vec::new();
        let mut mappings = Vec::new();
        for i in 0..self.rng.range(1, 4) {
            let opt_name = self.name();
            let ty = match self.rng.below(4) {
                0 => FieldType::Struct(self.structure(depth + 1, None)),
                1 => self.array(depth + 1),
                _ => self.scalar(),
            };
            mappings.push(mapping(&opt_name, vec![(i as i128, i as i128)]));
            options.push(member(&opt_name, ty));
        }
        let order = self.order();
        let tag_name = format!("{name}_tag");
        let tag = EnumType {
            container: self.uint(8, order),
            mappings,
        };
        (
            member(&tag_name, FieldType::Enum(tag)),
            VariantType {
                tag: FieldRef(vec![tag_name]),
                options,
            },
        )
    }
}

fn member(name: &str, ty: FieldType) -> Member {
    Member {
        name: name.to_string(),
        ty,
    }
}

fn mapping(label: &str, ranges: Vec<(i128, i128)>) -> EnumMapping {
    EnumMapping {
        label: label.to_string(),
        ranges,
    }
}
