//! Benchmark traces written by ltt's own CTF writer, for machines without
//! LTTng. They copy what LTTng-UST 2.13 records for the C provider in
//! `crates/bench/c` (same TSDL field types, large event headers, LTTng
//! packet context, page-padded 4 MiB packets, per-CPU stream files and
//! indexes), so both readers do the same work as on a real trace.

use std::path::Path;

use anyhow::{Context, Result};
use ltt_ctf::metadata::{
    ArrayType, ByteOrder, DisplayBase, Encoding, EnumMapping, EnumType, EnvValue, FieldRef,
    FieldType, FloatType, IntType, Member, SequenceType, StringType, StructType,
};
use ltt_ctf::write::{int_type, HeaderState, SchemaBuilder, TraceWriter, WriterOptions};

use super::{fnv1a, Kind};

/// Bump when the generated traces change, so cached ones are rewritten.
const FORMAT: &str = "ltt-bench writer traces v1";

/// LTTng's sub-buffer size in our channel (`--subbuf-size=4M`).
const PACKET_BYTES: usize = 4 << 20;

/// Consecutive events written to one stream before moving to the next, as
/// a thread runs on one CPU for a while: readers merge runs of events.
const RUN: u64 = 4096;

/// Time between events in ns, about what LTTng-UST takes per event.
const EVENT_NS: u64 = 80;

/// Bound on an encoded event, header included (the longest all-types
/// event is under 200 bytes).
const MAX_EVENT_BITS: u64 = 512 * 8;

const TEXTS: [&str; 4] = [
    "hello, world",
    "lab-bench",
    "a somewhat longer string, to vary the event sizes",
    "tab\there",
];
const BYTES: [u8; 8] = [1, 2, 3, 0x7f, 0x80, 0xfe, 0xff, 42];

/// The cache stamp of traces written here.
pub fn format_hash() -> u64 {
    fnv1a(FORMAT.as_bytes())
}

fn member(name: &str, ty: FieldType) -> Member {
    Member {
        name: name.to_string(),
        ty,
    }
}

fn int(name: &str, size: u32, signed: bool) -> Member {
    member(name, FieldType::Int(int_type(size, signed)))
}

fn hex(size: u32) -> IntType {
    IntType {
        base: DisplayBase::Hexadecimal,
        ..int_type(size, false)
    }
}

fn network(t: IntType) -> IntType {
    IntType {
        byte_order: ByteOrder::Big,
        ..t
    }
}

/// `char` of a text array or sequence: signed 8-bit, UTF-8 encoded.
fn text_char() -> FieldType {
    FieldType::Int(IntType {
        encoding: Encoding::Utf8,
        ..int_type(8, true)
    })
}

fn float(exp_dig: u32, mant_dig: u32) -> FieldType {
    FieldType::Float(FloatType {
        exp_dig,
        mant_dig,
        align: 8,
        byte_order: ByteOrder::Little,
    })
}

fn array(element: FieldType, length: u64) -> FieldType {
    FieldType::Array(ArrayType {
        element: Box::new(element),
        length,
    })
}

fn sequence(element: FieldType, length: &str) -> FieldType {
    FieldType::Sequence(SequenceType {
        element: Box::new(element),
        length: FieldRef(vec![length.to_string()]),
    })
}

fn fields(kind: Kind) -> StructType {
    let members = match kind {
        Kind::OneInt => vec![int("_v", 32, true)],
        Kind::AllTypes => vec![
            int("_s8", 8, true),
            int("_u8", 8, false),
            int("_s16", 16, true),
            int("_u16", 16, false),
            int("_s32", 32, true),
            int("_u32", 32, false),
            int("_s64", 64, true),
            int("_u64", 64, false),
            member("_hex32", FieldType::Int(hex(32))),
            member("_hex64", FieldType::Int(hex(64))),
            member("_net32", FieldType::Int(network(int_type(32, false)))),
            member("_nethex16", FieldType::Int(network(hex(16)))),
            member("_f32", float(8, 24)),
            member("_f64", float(11, 53)),
            member(
                "_str",
                FieldType::String(StringType {
                    encoding: Encoding::Utf8,
                }),
            ),
            member("_arr", array(FieldType::Int(int_type(8, false)), 4)),
            member("_arrhex", array(FieldType::Int(hex(16)), 2)),
            member("_arrtext", array(text_char(), 8)),
            int("__seq_length", 64, false),
            member(
                "_seq",
                sequence(FieldType::Int(int_type(8, false)), "__seq_length"),
            ),
            int("__seqhex_length", 32, false),
            member(
                "_seqhex",
                sequence(FieldType::Int(hex(8)), "__seqhex_length"),
            ),
            int("__seqtext_length", 64, false),
            member("_seqtext", sequence(text_char(), "__seqtext_length")),
            member(
                "_state",
                FieldType::Enum(EnumType {
                    container: int_type(32, true),
                    mappings: [
                        ("IDLE", 0, 0),
                        ("RUNNING", 1, 1),
                        ("WAITING", 2, 9),
                        ("AUTO", 10, 10),
                    ]
                    .into_iter()
                    .map(|(label, lo, hi)| EnumMapping {
                        label: label.to_string(),
                        ranges: vec![(lo, hi)],
                    })
                    .collect(),
                }),
            ),
        ],
    };
    StructType {
        members,
        min_align: 1,
    }
}

/// Appends event `i`'s payload: the same values as `lab_app.c`.
fn write_payload(w: &mut ltt_ctf::write::BitWriter, kind: Kind, i: u64) {
    let le = ByteOrder::Little;
    match kind {
        Kind::OneInt => w.write_int(i64::from(i as i32), 32, le),
        Kind::AllTypes => {
            let text = TEXTS[(i % 4) as usize].as_bytes();
            let len = (i % 9) as usize;
            let d = i as f64 / 8.0;
            w.write_int(i64::from(i as i8), 8, le);
            w.write_uint(u64::from(i as u8), 8, le);
            w.write_int(i64::from((i as i16).wrapping_neg()), 16, le);
            w.write_uint(u64::from(i.wrapping_mul(3) as u16), 16, le);
            w.write_int(i64::from((i.wrapping_mul(7) as i32).wrapping_neg()), 32, le);
            w.write_uint(u64::from(i.wrapping_mul(11) as u32), 32, le);
            w.write_int((i.wrapping_mul(1_000_003) as i64).wrapping_neg(), 64, le);
            w.write_uint(i.wrapping_mul(0x9e37_79b9_7f4a_7c15), 64, le);
            w.write_uint(u64::from(i as u32), 32, le);
            w.write_uint(i << 20, 64, le);
            w.write_uint(u64::from(i as u32), 32, ByteOrder::Big);
            w.write_uint(u64::from(i as u16), 16, ByteOrder::Big);
            w.write_f32(d as f32, le);
            w.write_f64(d, le);
            w.write_str(text);
            w.write_bytes(&BYTES[..4]);
            w.write_bytes(&BYTES[..4]); // two little-endian u16
            w.write_bytes(&text[..8]);
            w.write_uint(len as u64, 64, le);
            w.write_bytes(&BYTES[..len]);
            w.write_uint(len as u64, 32, le);
            w.write_bytes(&BYTES[..len]);
            w.write_uint(len as u64, 64, le);
            w.write_bytes(&text[..len]);
            w.write_int((i % 12) as i64, 32, le);
        }
    }
}

/// Writes `events` events of `kind` over `streams` per-CPU streams into
/// the new directory `out`, laid out as LTTng's per-user buffers are.
pub fn write_trace(kind: Kind, events: u64, streams: u32, out: &Path) -> Result<()> {
    let seed = fnv1a(format!("{FORMAT} {} {events}", kind.name()).as_bytes());
    let mut uuid = [0u8; 16];
    uuid[..8].copy_from_slice(&seed.to_le_bytes());
    uuid[8..].copy_from_slice(&fnv1a(&seed.to_le_bytes()).to_le_bytes());
    // A fixed time (2024-01-01) keeps the traces, and the text, reproducible.
    let clock_offset: i64 = 1_704_067_200_000_000_000;
    let metadata = SchemaBuilder::new(uuid)
        .clock_offset(clock_offset)
        .env("domain", EnvValue::Str("ust".into()))
        .env("tracer_name", EnvValue::Str("lttng-ust".into()))
        .env("tracer_major", EnvValue::Int(2))
        .env("tracer_minor", EnvValue::Int(13))
        .env("tracer_buffering_scheme", EnvValue::Str("uid".into()))
        .env("architecture_bit_width", EnvValue::Int(64))
        .env(
            "trace_name",
            EnvValue::Str(format!("ltt-bench-{}", kind.name())),
        )
        .env("hostname", EnvValue::Str("ltt-bench".into()))
        .event(&format!("lab:{}", kind.name()), 0, Some(13), fields(kind))
        .build();
    let dir = out.join("ust/uid/0/64-bit");
    let options = WriterOptions {
        packetized_metadata: true,
        max_packet_size: PACKET_BYTES,
        write_index: true,
        ..WriterOptions::default()
    };
    let trace = TraceWriter::create_with(&dir, &metadata, options)
        .with_context(|| format!("cannot create the trace {}", dir.display()))?;
    let mut cpus = (0..u64::from(streams.max(1)))
        .map(|cpu| {
            Ok(Cpu {
                stream: trace.stream(0, cpu, &format!("bench_{cpu}"))?,
                header: HeaderState::new(),
                cpu,
                last_ts: 0,
            })
        })
        .collect::<Result<Vec<_>, ltt_ctf::write::WriteError>>()?;

    let start = 1_000_000_000u64;
    let n = cpus.len() as u64;
    for i in 0..events {
        let ts = start + i * EVENT_NS;
        let c = &mut cpus[((i / RUN) % n) as usize];
        if c.stream.packet_is_open() && !c.stream.would_fit(MAX_EVENT_BITS) {
            c.stream.end_packet(c.last_ts, 0)?;
        }
        if !c.stream.packet_is_open() {
            c.stream.begin_packet(ts, &[("cpu_id", c.cpu)])?;
            c.header.packet_switch(ts);
        }
        let w = c.stream.event_writer();
        c.header.write_large(w, 0, ts);
        write_payload(w, kind, i);
        c.last_ts = ts;
    }
    for mut c in cpus {
        if !c.stream.packet_is_open() && c.stream.bytes_written() == 0 {
            // A CPU without events still has a packet, as in LTTng traces.
            c.stream.begin_packet(start, &[("cpu_id", c.cpu)])?;
            c.last_ts = start;
        }
        if c.stream.packet_is_open() {
            c.stream.end_packet(c.last_ts, 0)?;
        }
        c.stream.finish()?;
    }
    Ok(())
}

/// One per-CPU stream being written.
struct Cpu {
    stream: ltt_ctf::write::StreamWriter,
    header: HeaderState,
    cpu: u64,
    last_ts: u64,
}
