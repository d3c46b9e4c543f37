//! The CTF writer through its public API: bit-exact field encoding checked
//! against a naive bit-by-bit decoder, LTTng byte sequences, a real LTTng
//! stream file rebuilt byte for byte, TSDL and packetized metadata, and
//! traces read back by babeltrace2.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use ltt_ctf::metadata::{
    decode_packetized, parse, read_metadata, ArrayType, ByteOrder, DisplayBase, Encoding,
    EnumMapping, EnumType, EnvValue, FieldRef, FieldType, IntType, Member, SequenceType,
    StringType, StructType, VariantType,
};
use ltt_ctf::write::random::random_metadata;
use ltt_ctf::write::{
    encode_compact_header, encode_large_header, int_type, packetize_metadata, to_tsdl, BitWriter,
    HeaderState, SchemaBuilder, TraceWriter, WriteError, WriterOptions, INDEX_ENTRY_BYTES,
    INDEX_HEADER_BYTES, METADATA_PACKET_HEADER_BYTES,
};
use proptest::prelude::*;

const LE: ByteOrder = ByteOrder::Little;
const BE: ByteOrder = ByteOrder::Big;

// ---------------------------------------------------------------------------
// Helpers

/// The shared fixtures folder (`$LTT_FIXTURES` or `../shared/fixtures`
/// beside the workspace); fails clearly when it is missing.
fn fixtures() -> PathBuf {
    let dir = std::env::var_os("LTT_FIXTURES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
        PathBuf::from,
    );
    assert!(
        dir.is_dir(),
        "fixtures folder {} is missing (set LTT_FIXTURES)",
        dir.display()
    );
    dir
}

/// A fresh, empty directory for one test.
fn scratch_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir()
        .join("ltt-writer-tests")
        .join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// One bit of `bytes` at stream position `p`, numbered per byte order:
/// LE counts from each byte's least significant bit, BE from its most.
fn bit_at(bytes: &[u8], p: u64, order: ByteOrder) -> u64 {
    let byte = bytes[(p / 8) as usize];
    let i = (p % 8) as u32;
    match order {
        ByteOrder::Little => u64::from(byte >> i) & 1,
        ByteOrder::Big => u64::from(byte >> (7 - i)) & 1,
    }
}

/// The reference decoder: CTF 1.8 §3.1 read literally, one bit at a time.
fn naive_read(bytes: &[u8], pos: u64, size: u32, order: ByteOrder) -> u64 {
    let mut v = 0u64;
    for i in 0..u64::from(size) {
        let b = bit_at(bytes, pos + i, order);
        match order {
            ByteOrder::Little => v |= b << i,
            ByteOrder::Big => v = (v << 1) | b,
        }
    }
    v
}

/// The physical bit (byte, bit counted from the LSB) that stream position
/// `p` designates in `order`.
fn physical_bit(p: u64, order: ByteOrder) -> (u64, u32) {
    let i = (p % 8) as u32;
    match order {
        ByteOrder::Little => (p / 8, i),
        ByteOrder::Big => (p / 8, 7 - i),
    }
}

fn mask(v: u64, size: u32) -> u64 {
    if size == 64 {
        v
    } else {
        v & ((1 << size) - 1)
    }
}

/// Runs babeltrace2 on `dir` with TZ=UTC and returns its stdout, or `None`
/// (after a loud SKIP) when it is not installed and LTT_REQUIRE_TOOLS is
/// not 1.
fn babeltrace(dir: &Path) -> Option<String> {
    babeltrace_run(dir).map(|(ok, out, err)| {
        assert!(ok, "babeltrace2 failed on {}:\n{err}", dir.display());
        out
    })
}

/// Runs babeltrace2 on `dir`: (success, stdout, stderr).
fn babeltrace_run(dir: &Path) -> Option<(bool, String, String)> {
    let output = Command::new("babeltrace2")
        .arg(dir)
        .env("TZ", "UTC")
        .output();
    match output {
        Ok(o) => Some((
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )),
        Err(e) => {
            assert!(
                std::env::var("LTT_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "babeltrace2 is required (LTT_REQUIRE_TOOLS=1) but cannot run: {e}"
            );
            eprintln!("\n*** SKIP: babeltrace2 not available ({e}); interop not checked ***\n");
            None
        }
    }
}

// ---------------------------------------------------------------------------
// BitWriter against the naive decoder

#[derive(Debug, Clone)]
enum Op {
    Uint {
        size: u32,
        order: ByteOrder,
        value: u64,
        align: u32,
    },
    Int {
        size: u32,
        order: ByteOrder,
        value: i64,
        align: u32,
    },
    F32(f32, ByteOrder),
    F64(f64, ByteOrder),
    Str(Vec<u8>),
    Bytes(Vec<u8>),
}

fn order_strategy() -> impl Strategy<Value = ByteOrder> {
    prop_oneof![Just(LE), Just(BE)]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let align = prop_oneof![
        Just(1u32),
        Just(2),
        Just(4),
        Just(8),
        Just(16),
        Just(32),
        Just(64)
    ];
    prop_oneof![
        6 => (1u32..=64, order_strategy(), any::<u64>(), align.clone())
            .prop_map(|(size, order, value, align)| Op::Uint { size, order, value, align }),
        2 => (1u32..=64, order_strategy(), any::<i64>(), align)
            .prop_map(|(size, order, value, align)| Op::Int { size, order, value, align }),
        1 => (any::<f32>(), order_strategy()).prop_map(|(v, o)| Op::F32(v, o)),
        1 => (any::<f64>(), order_strategy()).prop_map(|(v, o)| Op::F64(v, o)),
        1 => proptest::collection::vec(any::<u8>(), 0..6).prop_map(Op::Str),
        1 => proptest::collection::vec(any::<u8>(), 0..6).prop_map(Op::Bytes),
    ]
}

/// An integer field as written: where, how, what.
#[derive(Debug)]
struct Written {
    pos: u64,
    size: u32,
    order: ByteOrder,
    value: u64,
}

/// Expected fields, and the byte-order bookkeeping of [`apply`].
struct Expect {
    fields: Vec<Written>,
    last_order: Option<ByteOrder>,
}

impl Expect {
    /// Positions an integer as a schema would (byte order changes only on
    /// a byte boundary, the one CTF constraint the writer leaves to
    /// schemas), and records what it should read back as.
    fn int(&mut self, w: &mut BitWriter, size: u32, order: ByteOrder, value: u64, align: u32) {
        if self.last_order.is_some_and(|o| o != order) {
            w.align(8);
        }
        self.last_order = Some(order);
        w.align(align);
        self.fields.push(Written {
            pos: w.bit_position(),
            size,
            order,
            value: mask(value, size),
        });
    }

    /// Records byte-aligned bytes about to be written at `w`'s position
    /// (after its alignment to a byte).
    fn bytes(&mut self, w: &BitWriter, bytes: &[u8]) {
        let start = w.bit_position().next_multiple_of(8);
        for (j, b) in bytes.iter().enumerate() {
            self.fields.push(Written {
                pos: start + 8 * j as u64,
                size: 8,
                order: LE,
                value: u64::from(*b),
            });
        }
    }
}

/// Applies `ops` and returns what each field should read back as.
fn apply(w: &mut BitWriter, ops: &[Op]) -> Vec<Written> {
    let mut e = Expect {
        fields: Vec::new(),
        last_order: None,
    };
    for op in ops {
        match op {
            &Op::Uint {
                size,
                order,
                value,
                align,
            } => {
                e.int(w, size, order, value, align);
                w.write_uint(value, size, order);
            }
            &Op::Int {
                size,
                order,
                value,
                align,
            } => {
                e.int(w, size, order, value as u64, align);
                w.write_int(value, size, order);
            }
            &Op::F32(v, order) => {
                e.int(w, 32, order, u64::from(v.to_bits()), 8);
                w.write_f32(v, order);
            }
            &Op::F64(v, order) => {
                e.int(w, 64, order, v.to_bits(), 8);
                w.write_f64(v, order);
            }
            Op::Str(bytes) => {
                let mut text: Vec<u8> = bytes.iter().copied().take_while(|&b| b != 0).collect();
                text.push(0);
                e.bytes(w, &text);
                w.write_str(bytes);
            }
            Op::Bytes(bytes) => {
                e.bytes(w, bytes);
                w.write_bytes(bytes);
            }
        }
    }
    e.fields
}

/// Every field reads back, every other bit is zero, and the buffer holds
/// exactly the bits written.
fn check(w: &BitWriter, fields: &[Written]) -> Result<(), TestCaseError> {
    let bytes = w.as_bytes();
    prop_assert_eq!(bytes.len() as u64, w.bit_position().div_ceil(8));
    let mut covered = vec![0u8; bytes.len()];
    for f in fields {
        prop_assert!(f.pos + u64::from(f.size) <= w.bit_position());
        let got = naive_read(bytes, f.pos, f.size, f.order);
        prop_assert_eq!(got, f.value, "field {:?}", f);
        for i in 0..u64::from(f.size) {
            let (byte, bit) = physical_bit(f.pos + i, f.order);
            covered[byte as usize] |= 1 << bit;
        }
    }
    for (i, (&b, &c)) in bytes.iter().zip(&covered).enumerate() {
        prop_assert_eq!(b & !c, 0, "padding bits set in byte {}", i);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn bitwriter_matches_naive_decoder(ops in proptest::collection::vec(op_strategy(), 0..40)) {
        let mut w = BitWriter::new();
        let fields = apply(&mut w, &ops);
        check(&w, &fields)?;
    }

    #[test]
    fn patches_replace_exactly_their_bits(
        ops in proptest::collection::vec(op_strategy(), 1..30),
        patches in proptest::collection::vec((any::<prop::sample::Index>(), any::<u64>()), 0..10),
    ) {
        let mut w = BitWriter::new();
        let mut fields = apply(&mut w, &ops);
        if !fields.is_empty() {
            let n = fields.len();
            for (index, value) in patches {
                let f = &mut fields[index.index(n)];
                w.patch_uint_at(f.pos, value, f.size, f.order);
                f.value = mask(value, f.size);
            }
        }
        check(&w, &fields)?;
    }

    #[test]
    fn clear_reuses_the_writer(ops in proptest::collection::vec(op_strategy(), 0..20)) {
        let mut fresh = BitWriter::new();
        apply(&mut fresh, &ops);
        let mut reused = BitWriter::with_capacity(16);
        apply(&mut reused, &[Op::Uint { size: 64, order: BE, value: u64::MAX, align: 1 }]);
        reused.clear();
        apply(&mut reused, &ops);
        prop_assert_eq!(fresh.as_bytes(), reused.as_bytes());
        prop_assert_eq!(fresh.bit_position(), reused.bit_position());
    }
}

#[test]
fn aligned_fields_are_plain_bytes() {
    let mut w = BitWriter::new();
    w.write_uint(0x1122_3344, 32, LE);
    w.write_uint(0x5566, 16, BE);
    w.write_int(-2, 8, LE);
    w.write_f64(1.5, BE);
    w.write_str(b"hi\0ignored");
    w.write_uint(7, 3, LE);
    w.align(16);
    assert_eq!(w.bit_position(), 160);
    let mut expect = vec![0x44, 0x33, 0x22, 0x11, 0x55, 0x66, 0xfe];
    expect.extend_from_slice(&1.5f64.to_be_bytes());
    expect.extend_from_slice(b"hi\0");
    expect.extend_from_slice(&[7, 0]);
    assert_eq!(w.as_bytes(), &expect[..]);
}

// ---------------------------------------------------------------------------
// Event headers: the byte sequences of ctf-1.8.md §5

#[test]
fn compact_header_bytes() {
    let (id, ts) = (5u64, 0x0123_4567u64);
    let mut w = BitWriter::new();
    encode_compact_header(&mut w, id, ts, false);
    assert_eq!(w.as_bytes(), &((id | (ts << 5)) as u32).to_le_bytes());

    let mut w = BitWriter::new();
    encode_compact_header(&mut w, 40, 0x1122_3344_5566_7788, false);
    let mut expect = vec![31u8];
    expect.extend_from_slice(&40u32.to_le_bytes());
    expect.extend_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
    assert_eq!(w.as_bytes(), &expect[..]);
    assert_eq!(expect.len(), 13);
}

#[test]
fn large_header_bytes() {
    let mut w = BitWriter::new();
    encode_large_header(&mut w, 7, 0xAABB_CCDD_EEFF, false);
    assert_eq!(w.as_bytes(), &[7, 0, 0xFF, 0xEE, 0xDD, 0xCC]);

    let mut w = BitWriter::new();
    encode_large_header(&mut w, 70_000, 0x1122_3344_5566_7788, false);
    let mut expect = vec![0xFF, 0xFF];
    expect.extend_from_slice(&70_000u32.to_le_bytes());
    expect.extend_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
    assert_eq!(w.as_bytes(), &expect[..]);
    assert_eq!(expect.len(), 14);
}

#[test]
fn header_rule_is_lttngs() {
    let mut s = HeaderState::new();
    let mut w = BitWriter::new();
    // First event of a stream: last_ts = 0, so a large time is extended.
    assert!(s.write_large(&mut w, 1, 1 << 30));
    assert!(!s.write_large(&mut w, 1, (1 << 30) + (1 << 27) - 1));
    assert!(s.write_large(&mut w, 1, (1 << 30) + (1 << 28)));
    // 27 bits, not 32, even for the large header.
    let t = (1 << 30) + (1 << 28);
    assert!(s.write_large(&mut w, 1, t + (1 << 27)));
    // Ids that do not fit are extended whatever the time.
    assert!(s.write_large(&mut w, 65_535, t + (1 << 27) + 1));
    assert!(s.write_compact(&mut w, 31, t + (1 << 27) + 2));
    assert!(!s.write_compact(&mut w, 30, t + (1 << 27) + 3));
    // Time going backwards is never short.
    assert!(s.needs_extended(1, t, 65_535));
    s.discarded();
    assert!(s.needs_extended(1, t, 65_535));
    s.packet_switch(t);
    assert!(!s.needs_extended(1, t + 5, 65_535));
}

// ---------------------------------------------------------------------------
// A real LTTng stream file rebuilt byte for byte

/// A parsed LTTng 2.13 event (large header, one `int32 _v` payload).
struct RealEvent {
    extended: bool,
    id: u64,
    /// Low 32 bits of the time for compact headers, full time otherwise.
    ts: u64,
    v: i32,
}

struct RealPacket {
    begin: u64,
    end: u64,
    seq: u64,
    discarded: u64,
    cpu: u64,
    content_bits: u64,
    events: Vec<RealEvent>,
}

fn u32_at(d: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(d[at..at + 4].try_into().unwrap()))
}

fn u64_at(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}

/// Decodes the fixture's packets with the offsets of ctf-1.8.md §4.
fn real_packets(data: &[u8]) -> Vec<RealPacket> {
    let mut packets = Vec::new();
    let mut off = 0;
    while off < data.len() {
        let content_bits = u64_at(data, off + 48);
        let packet_bits = u64_at(data, off + 56);
        let mut events = Vec::new();
        let mut p = off + 84;
        let end = off + (content_bits / 8) as usize;
        while p < end {
            let id = u64::from(u16::from_le_bytes([data[p], data[p + 1]]));
            let ev = if id == 65535 {
                let e = RealEvent {
                    extended: true,
                    id: u32_at(data, p + 2),
                    ts: u64_at(data, p + 6),
                    v: u32_at(data, p + 14) as i32,
                };
                p += 18;
                e
            } else {
                let e = RealEvent {
                    extended: false,
                    id,
                    ts: u32_at(data, p + 2),
                    v: u32_at(data, p + 6) as i32,
                };
                p += 10;
                e
            };
            events.push(ev);
        }
        packets.push(RealPacket {
            begin: u64_at(data, off + 32),
            end: u64_at(data, off + 40),
            seq: u64_at(data, off + 64),
            discarded: u64_at(data, off + 72),
            cpu: u32_at(data, off + 80),
            content_bits,
            events,
        });
        off += (packet_bits / 8) as usize;
    }
    packets
}

/// The uuid of a packetized LTTng metadata file (bytes 4..20).
fn metadata_uuid(dir: &Path) -> [u8; 16] {
    let meta = std::fs::read(dir.join("metadata")).expect("read fixture metadata");
    meta[4..20].try_into().unwrap()
}

#[test]
fn rebuilds_a_real_lttng_stream_file_and_index() {
    let src = fixtures().join("lttng/discard/ust/uid/0/64-bit");
    let real = std::fs::read(src.join("tiny_1")).expect("read fixture stream");
    let real_index = std::fs::read(src.join("index/tiny_1.idx")).expect("read fixture index");
    let packets = real_packets(&real);
    assert_eq!(packets.len(), 7);

    let fields = StructType {
        members: vec![Member {
            name: "_v".into(),
            ty: FieldType::Int(int_type(32, true)),
        }],
        min_align: 1,
    };
    let metadata = SchemaBuilder::new(metadata_uuid(&src))
        .event("lab:one_int", 0, Some(14), fields)
        .build();
    let dir = scratch_dir("rebuild");
    let options = WriterOptions {
        packetized_metadata: true,
        write_index: true,
        max_packet_size: 4096,
        ..WriterOptions::default()
    };
    let trace = TraceWriter::create_with(&dir, &metadata, options).expect("create trace");
    let mut stream = trace.stream(0, 1, "tiny_1").expect("create stream");
    let mut state = HeaderState::new();
    let mut clock = 0u64;
    let mut extended_seen = 0;
    for p in &packets {
        stream
            .begin_packet(p.begin, &[("cpu_id", p.cpu)])
            .expect("begin packet");
        clock = clock.max(p.begin);
        for e in &p.events {
            // Rebuild the full time as a reader does (§6), then let the
            // LTTng rule choose the header form: it must choose as LTTng did.
            let ts = if e.extended {
                e.ts
            } else {
                let mut c = clock;
                if e.ts < (c & 0xffff_ffff) {
                    c += 1 << 32;
                }
                (c & !0xffff_ffff) | e.ts
            };
            clock = ts;
            assert_eq!(state.needs_extended(e.id, ts, 65535), e.extended);
            extended_seen += usize::from(e.extended);
            let w = stream.event_writer();
            assert!(state.write_large(w, e.id, ts) == e.extended);
            w.align(8);
            w.write_int(i64::from(e.v), 32, LE);
        }
        let info = stream.end_packet(p.end, p.discarded).expect("end packet");
        assert_eq!(info.content_size, p.content_bits);
        assert_eq!(info.packet_seq_num, p.seq);
    }
    assert_eq!(extended_seen, 1);
    stream.finish().expect("finish");
    let ours = std::fs::read(dir.join("tiny_1")).expect("read written stream");
    assert_eq!(ours.len(), real.len());
    assert!(ours == real, "stream file differs from LTTng's");
    let our_index = std::fs::read(dir.join("index/tiny_1.idx")).expect("read written index");
    assert_eq!(our_index, real_index);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// TSDL printing

fn member(name: &str, ty: FieldType) -> Member {
    Member {
        name: name.into(),
        ty,
    }
}

fn array(element: FieldType, length: u64) -> FieldType {
    FieldType::Array(ArrayType {
        element: Box::new(element),
        length,
    })
}

#[test]
fn tsdl_declarators_and_escapes() {
    let u8t = FieldType::Int(int_type(8, false));
    let fields = StructType {
        members: vec![
            member("_grid", array(array(u8t.clone(), 3), 2)),
            member("_n", FieldType::Int(int_type(32, false))),
            member(
                "_seq",
                FieldType::Sequence(SequenceType {
                    element: Box::new(array(u8t.clone(), 4)),
                    length: FieldRef(vec!["_n".into()]),
                }),
            ),
            member(
                "_ext",
                FieldType::Sequence(SequenceType {
                    element: Box::new(u8t.clone()),
                    length: FieldRef(
                        ["stream", "event", "context", "_len"]
                            .map(String::from)
                            .to_vec(),
                    ),
                }),
            ),
            member(
                "_tag",
                FieldType::Enum(EnumType {
                    container: int_type(8, false),
                    mappings: vec![
                        EnumMapping {
                            label: "_a".into(),
                            ranges: vec![(0, 0), (5, 9)],
                        },
                        EnumMapping {
                            label: "say \"hi\"\\".into(),
                            ranges: vec![(1, 1)],
                        },
                    ],
                }),
            ),
            member(
                "_var",
                FieldType::Variant(VariantType {
                    tag: FieldRef(vec!["_tag".into()]),
                    options: vec![member("_a", FieldType::String(StringType::default()))],
                }),
            ),
            member(
                "_pad",
                FieldType::Struct(StructType {
                    members: vec![],
                    min_align: 64,
                }),
            ),
        ],
        min_align: 1,
    };
    let m = SchemaBuilder::new([0x11; 16])
        .env("trace_name", EnvValue::Str("a \"b\" \\ c\nd".into()))
        .env("tracer_major", EnvValue::Int(-3))
        .event("ev\"x", 3, Some(-1), fields)
        .build();
    let text = to_tsdl(&m);
    assert!(text.starts_with("/* CTF 1.8 */\n"));
    for needle in [
        "uuid = \"11111111-1111-1111-1111-111111111111\";",
        "byte_order = le;",
        " _grid[2][3];",
        " _seq[_n][4];",
        " _ext[stream.event.context._len];",
        "\"_a\" = 0,",
        "\"_a\" = 5 ... 9,",
        "\"say \\\"hi\\\"\\\\\" = 1,",
        "variant <_tag> {",
        "string { encoding = none; } _a;",
        "struct {\n\t\t} align(64) _pad;",
        "trace_name = \"a \\\"b\\\" \\\\ c\\nd\";",
        "tracer_major = -3;",
        "name = \"ev\\\"x\";",
        "loglevel = -1;",
        "map = clock.monotonic.value;",
        "enum : integer { size = 16; align = 8; signed = false; encoding = none; base = 10; byte_order = le; } {",
        "\"extended\" = 65535,\n\t\t} id;",
        "event.header := struct {",
        "} align(8);",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

/// Every `metadata` file under `dir` (recursively).
fn metadata_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            metadata_files(&path, out);
        } else if path.file_name().is_some_and(|n| n == "metadata") {
            out.push(path);
        }
    }
}

/// What LTTng and the babeltrace corpus declare, printed by us, parses
/// back to the same model.
#[test]
fn tsdl_round_trips_fixture_metadata() {
    let mut files = Vec::new();
    metadata_files(&fixtures(), &mut files);
    let mut checked = 0;
    for path in &files {
        let bytes = std::fs::read(path).expect("read fixture metadata");
        let Ok(model) = read_metadata(&bytes) else {
            continue; // a fixture of metadata that must fail
        };
        let text = to_tsdl(&model);
        let back = parse(&text)
            .unwrap_or_else(|e| panic!("{}: our TSDL does not parse: {e}\n{text}", path.display()));
        assert!(
            back == model,
            "{}: model differs after round trip",
            path.display()
        );
        checked += 1;
    }
    assert!(
        checked >= 100,
        "only {checked} fixture metadata files parsed"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random models (every type form, escapes, dotted paths, both byte
    /// orders) print and parse back to themselves.
    #[test]
    fn tsdl_round_trips_random_models(seed in any::<u64>()) {
        let model = random_metadata(seed);
        let text = to_tsdl(&model);
        let back = parse(&text);
        prop_assert!(back.is_ok(), "seed {}: {:?}\n{}", seed, back.err(), text);
        prop_assert!(back.as_ref().ok() == Some(&model), "seed {}: model differs\n{}", seed, text);
    }
}

#[test]
fn random_models_are_reproducible() {
    assert_eq!(random_metadata(42), random_metadata(42));
    assert_ne!(random_metadata(1), random_metadata(2));
}

/// babeltrace2 accepts what we print for random models (it parses the
/// metadata even without data), and the packet header and context we fill
/// by name: one empty packet of one stream class (classes may disagree on
/// having a clock, which babeltrace2's muxer refuses though the metadata is
/// valid), when that class gives a packet size (without one, babeltrace2
/// 2.0 rejects an empty packet whose end is not aligned for an event
/// header).
#[test]
fn babeltrace_reads_random_models() {
    let seeds: u64 = std::env::var("LTT_RANDOM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    for seed in 0..seeds {
        let m = random_metadata(seed);
        let dir = scratch_dir("random");
        let trace = TraceWriter::create(&dir, &m).expect("create trace");
        let class = &m.streams[seed as usize % m.streams.len()];
        let sized = class
            .packet_context
            .as_ref()
            .is_some_and(|c| c.member("packet_size").is_some());
        if sized {
            let mut w = trace.stream(class.id, 0, "s").expect("create stream");
            match w.begin_packet(1000, &[]) {
                Ok(()) => {
                    w.end_packet(2000, 0).expect("end packet");
                    w.finish().expect("finish");
                }
                Err(WriteError::Unsupported { .. }) => {} // a variant in a context
                Err(e) => panic!("seed {seed}: {e}"),
            }
        }
        let Some((ok, _, err)) = babeltrace_run(&dir) else {
            return;
        };
        assert!(
            ok,
            "seed {seed}: babeltrace2 rejected:\n{err}\n{}",
            to_tsdl(&m)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

// ---------------------------------------------------------------------------
// Packetized metadata

/// Reads metadata packets back naively: (uuid, text) plus header checks.
fn unpacketize(data: &[u8], order: ByteOrder, packet_size: usize) -> ([u8; 16], String) {
    assert_eq!(data.len() % packet_size, 0);
    let mut text = Vec::new();
    let mut uuid = [0u8; 16];
    for packet in data.chunks(packet_size) {
        let r = |at: usize| naive_read(packet, at as u64 * 8, 32, order);
        assert_eq!(r(0), 0x75D1_1D57);
        uuid.copy_from_slice(&packet[4..20]);
        assert_eq!(r(20), 0);
        let content = (r(24) / 8) as usize;
        assert_eq!(r(28), packet_size as u64 * 8);
        assert_eq!(&packet[32..37], &[0, 0, 0, 1, 8]);
        assert!(packet[content..].iter().all(|&b| b == 0));
        text.extend_from_slice(&packet[METADATA_PACKET_HEADER_BYTES..content]);
    }
    (uuid, String::from_utf8(text).expect("utf-8 text"))
}

proptest! {
    #[test]
    fn packetized_metadata_round_trips(
        text in "[ -~é\n]{0,300}",
        uuid in any::<[u8; 16]>(),
        big in any::<bool>(),
        size in 38usize..200,
    ) {
        let order = if big { BE } else { LE };
        let data = packetize_metadata(&text, uuid, order, size);
        let (u, t) = unpacketize(&data, order, size);
        prop_assert_eq!(u, uuid);
        prop_assert_eq!(&t, &text);
        let decoded = decode_packetized(&data);
        prop_assert!(decoded.is_ok(), "{:?}", decoded.err());
        let decoded = decoded.unwrap();
        prop_assert_eq!(decoded.text, text);
        prop_assert_eq!(decoded.uuid.unwrap_or_default(), uuid);
        prop_assert_eq!(decoded.byte_order, order);
    }
}

#[test]
fn packetized_metadata_is_lttng_shaped() {
    let text = "x".repeat(5000);
    let data = packetize_metadata(&text, [7; 16], LE, 4096);
    assert_eq!(data.len(), 8192);
    // A full packet: content = packet = 32768 bits.
    assert_eq!(&data[24..32], &[0, 0x80, 0, 0, 0, 0x80, 0, 0]);
    let (_, back) = unpacketize(&data, LE, 4096);
    assert_eq!(back, text);
    assert_eq!(packetize_metadata("", [0; 16], BE, 4096).len(), 4096);
}

// ---------------------------------------------------------------------------
// Trace directories read by babeltrace2

fn lab_schema() -> ltt_ctf::metadata::Metadata {
    let string = FieldType::String(StringType {
        encoding: Encoding::Utf8,
    });
    let fields = StructType {
        members: vec![
            member("_v", FieldType::Int(int_type(32, true))),
            member("_s", string),
        ],
        min_align: 1,
    };
    let hex = IntType {
        base: DisplayBase::Hexadecimal,
        ..int_type(64, false)
    };
    SchemaBuilder::new(*b"0123456789abcdef")
        .clock_offset(1_700_000_000_000_000_000)
        .env("domain", EnvValue::Str("ust".into()))
        .env("tracer_name", EnvValue::Str("lttng-ust".into()))
        .env("tracer_major", EnvValue::Int(2))
        .env("tracer_minor", EnvValue::Int(13))
        .env("hostname", EnvValue::Str("lab".into()))
        .event("lab:ev", 0, Some(13), fields)
        .event(
            "lab:big",
            70_000,
            None,
            StructType {
                members: vec![member("_x", FieldType::Int(hex))],
                min_align: 1,
            },
        )
        .build()
}

fn write_lab_event(w: &mut BitWriter, state: &mut HeaderState, ts: u64, v: i32, s: &str) {
    state.write_large(w, 0, ts);
    w.align(8);
    w.write_int(i64::from(v), 32, LE);
    w.write_str(s.as_bytes());
}

#[test]
fn babeltrace_reads_a_small_trace() {
    let dir = scratch_dir("small");
    let trace = TraceWriter::create(&dir, &lab_schema()).expect("create trace");
    let mut stream = trace.stream(0, 0, "channel0_0").expect("create stream");
    let mut state = HeaderState::new();
    stream
        .begin_packet(1_000_000_000, &[("cpu_id", 0)])
        .expect("begin");
    state.packet_switch(1_000_000_000);
    let w = stream.event_writer();
    write_lab_event(w, &mut state, 1_000_000_100, 42, "hi");
    write_lab_event(w, &mut state, 1_000_000_200, -7, "é \"q\"");
    // A large id needs the extended header.
    assert!(state.write_large(w, 70_000, 1_500_000_000));
    w.align(8);
    w.write_uint(0xbeef, 64, LE);
    stream.end_packet(1_500_000_000, 0).expect("end");
    stream.finish().expect("finish");

    let Some(out) = babeltrace(&dir) else {
        return;
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "[22:13:21.000000100] (+?.?????????) lab lab:ev: { cpu_id = 0 }, { v = 42, s = \"hi\" }",
            "[22:13:21.000000200] (+0.000000100) lab lab:ev: { cpu_id = 0 }, { v = -7, s = \"é \\\"q\\\"\" }",
            "[22:13:21.500000000] (+0.499999800) lab lab:big: { cpu_id = 0 }, { x = 0xBEEF }",
        ],
        "babeltrace2 output:\n{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Many packets (closed when the next event would not fit), packetized
/// metadata, an index, timestamps that need extended headers and a 32-bit
/// wrap of a compact one, discarded events and a packet sequence gap: all
/// read back by babeltrace2 with exact times.
#[test]
fn babeltrace_reads_packets_index_and_losses() {
    let dir = scratch_dir("packets");
    let options = WriterOptions {
        packetized_metadata: true,
        write_index: true,
        max_packet_size: 4096,
        ..WriterOptions::default()
    };
    let trace = TraceWriter::create_with(&dir, &lab_schema(), options).expect("create trace");
    let meta = std::fs::read(dir.join("metadata")).expect("read metadata");
    assert_eq!(meta.len() % 4096, 0);
    assert_eq!(read_metadata(&meta).expect("parse metadata"), lab_schema());
    let mut stream = trace.stream(0, 3, "channel0_3").expect("create stream");
    let mut state = HeaderState::new();
    let mut infos = Vec::new();
    let mut expected = Vec::new();
    // Times: steady steps, a jump needing a full timestamp, and a step
    // over a 2^32 boundary (short header, reader must carry the wrap).
    let mut times = Vec::new();
    let mut t = (1u64 << 32) - 5_000_000;
    for i in 0..3000u64 {
        t += if i == 1500 { 1 << 28 } else { 10_007 };
        times.push(t);
    }
    let mut discarded = 0;
    let mut open_at = times[0];
    stream
        .begin_packet(open_at, &[("cpu_id", 3)])
        .expect("begin");
    state.packet_switch(open_at);
    for (i, &ts) in times.iter().enumerate() {
        let text = format!("event {i}");
        let size = 8 * (14 + 4 + text.len() as u64 + 1);
        if !stream.would_fit(size) {
            if infos.len() == 2 {
                discarded += 17; // cumulative count, as LTTng reports it
            }
            infos.push(stream.end_packet(ts - 1, discarded).expect("end"));
            if infos.len() == 4 {
                stream.set_next_packet_seq_num(6); // two packets lost
            }
            open_at = ts - 1;
            stream
                .begin_packet(open_at, &[("cpu_id", 3)])
                .expect("begin");
            state.packet_switch(open_at);
        }
        write_lab_event(stream.event_writer(), &mut state, ts, i as i32, &text);
        expected.push((ts, i));
    }
    infos.push(stream.end_packet(t, discarded).expect("end"));
    stream.finish().expect("finish");
    assert!(infos.len() > 8, "only {} packets", infos.len());

    // The index describes the file exactly.
    let index = std::fs::read(dir.join("index/channel0_3.idx")).expect("read index");
    assert_eq!(
        index.len(),
        INDEX_HEADER_BYTES + infos.len() * INDEX_ENTRY_BYTES
    );
    let be = |at: usize| u64::from_be_bytes(index[at..at + 8].try_into().unwrap());
    let file_len = std::fs::metadata(dir.join("channel0_3"))
        .expect("stat stream")
        .len();
    let mut total = 0;
    for (k, info) in infos.iter().enumerate() {
        let e = INDEX_HEADER_BYTES + k * INDEX_ENTRY_BYTES;
        let entry: Vec<u64> = (0..9).map(|f| be(e + 8 * f)).collect();
        assert_eq!(
            entry,
            [
                info.offset,
                info.packet_size,
                info.content_size,
                info.timestamp_begin,
                info.timestamp_end,
                info.events_discarded,
                0,
                3,
                info.packet_seq_num
            ]
        );
        assert_eq!(info.offset, total);
        assert_eq!(info.packet_size % (4096 * 8), 0);
        total += info.packet_size / 8;
    }
    assert_eq!(total, file_len);
    assert_eq!(infos[4].packet_seq_num, 6);

    let Some((ok, out, err)) = babeltrace_run(&dir) else {
        return;
    };
    assert!(ok, "babeltrace2 failed:\n{err}");
    let mut events = out.lines().filter(|l| l.contains("lab:ev"));
    for (ts, i) in expected {
        let line = events.next().expect("as many events as written");
        let ns = 1_700_000_000_000_000_000u64 + ts;
        let (secs, frac) = (ns / 1_000_000_000 % 86_400, ns % 1_000_000_000);
        let stamp = format!(
            "[{:02}:{:02}:{:02}.{frac:09}]",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        assert!(line.starts_with(&stamp), "event {i}: {line} (want {stamp})");
        assert!(
            line.ends_with(&format!("{{ v = {i}, s = \"event {i}\" }}")),
            "{line}"
        );
    }
    assert!(events.next().is_none());
    assert!(
        out.contains("discarded 17 events") || err.contains("discarded 17 events"),
        "no discarded-events report:\n{out}\n{err}"
    );
    assert!(
        out.contains("discarded 2 packets") || err.contains("discarded 2 packets"),
        "no discarded-packets report:\n{out}\n{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stream_writer_misuse_is_an_error() {
    let dir = scratch_dir("misuse");
    let trace = TraceWriter::create(&dir, &lab_schema()).expect("create trace");
    assert!(matches!(
        trace.stream(9, 0, "x"),
        Err(WriteError::UnknownStreamClass(9))
    ));
    let mut s = trace.stream(0, 0, "s").expect("stream");
    assert!(matches!(
        s.end_packet(0, 0),
        Err(WriteError::NoPacketOpen(_))
    ));
    s.begin_packet(0, &[]).expect("begin");
    assert!(matches!(
        s.begin_packet(0, &[]),
        Err(WriteError::PacketOpen(_))
    ));
    assert!(matches!(s.finish(), Err(WriteError::PacketOpen(_))));
    let small = WriterOptions {
        max_packet_size: 4096,
        ..WriterOptions::default()
    };
    let trace = TraceWriter::create_with(&dir, &lab_schema(), small).expect("create trace");
    let mut s = trace.stream(0, 0, "t").expect("stream");
    assert!(matches!(
        s.begin_packet(0, &[("cpu_id", 1 << 40)]),
        Err(WriteError::ValueTooLarge { .. })
    ));
    s.begin_packet(0, &[]).expect("begin");
    s.event_writer().write_bytes(&[0; 5000]);
    assert!(!s.would_fit(0));
    assert!(matches!(
        s.end_packet(0, 0),
        Err(WriteError::PacketTooLarge { .. })
    ));
    let file = dir.join("plain-file");
    std::fs::write(&file, b"").expect("write a plain file");
    let err = TraceWriter::create(&file.join("trace"), &lab_schema())
        .expect_err("no directory under a plain file");
    assert!(matches!(err, WriteError::Io { .. }));
    assert!(err.to_string().contains("plain-file"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
