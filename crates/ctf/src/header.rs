//! LTTng's event headers decoded in one step. Every LTTng event starts
//! with `struct event_header_compact` (5-bit id, 27-bit timestamp, or id
//! 31 then a 32-bit id and a 64-bit timestamp) or `struct
//! event_header_large` (16-bit id, 32-bit timestamp, or id 65535 then the
//! same extended pair). Generically that is a tag integer, a variant
//! dispatch with a frame push, and two or three integer ops per event; the
//! fused op reads the header word once instead.
//!
//! The fused op is only emitted when the flattened ops are exactly those of
//! these headers (same sizes, alignments, byte order, actions and variant
//! choices), and the generic ops stay in the program right after it: when
//! the fast path cannot apply (unaligned start, bytes too close to the
//! packet end) the interpreter simply runs them, so slots, registers,
//! clock and errors are the same as without it.

use crate::layout::{IntAction, Special};
use crate::metadata::ByteOrder;
use crate::program::{Op, ProgId, Programs};

/// Which LTTng header a [`LttngHeader`] decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// 5-bit id, 27-bit timestamp in one 32-bit word.
    Compact,
    /// 16-bit id, then a 32-bit timestamp.
    Large,
}

/// A fused LTTng event header: replaces the tag op and the variant op that
/// follow it in the program ([`FUSED_OPS`] of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LttngHeader {
    pub form: Form,
    /// The register the variant reads its tag from.
    pub tag_reg: u16,
}

/// How many generic ops a fused header stands for.
pub const FUSED_OPS: u32 = 2;

/// What the fast path read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// The tag (the short id field).
    pub tag: u64,
    /// The full id, for the extended form.
    pub extended_id: Option<u32>,
    /// The timestamp and its size in bits.
    pub timestamp: u64,
    pub timestamp_bits: u32,
    /// Bits consumed from the start position.
    pub bits: u64,
}

impl LttngHeader {
    /// Recognises the ops of an LTTng event header at the start of `ops`
    /// (whose variant options are already in `programs`).
    pub fn detect(ops: &[Op], programs: &Programs) -> Option<LttngHeader> {
        let [tag_op, Op::Variant {
            tag,
            tag_signed: false,
            choices,
            options,
        }, ..] = ops
        else {
            return None;
        };
        let tag_action = IntAction {
            save: Some(*tag),
            special: Some(Special::EventId),
            clock: false,
        };
        let form = match tag_op {
            Op::Int {
                size: 5,
                align: 1,
                order: ByteOrder::Little,
                signed: false,
                action,
            } if *action == tag_action => Form::Compact,
            Op::IntBytes {
                bytes: 2,
                align: 8,
                order: ByteOrder::Little,
                signed: false,
                action,
            } if *action == tag_action => Form::Large,
            _ => return None,
        };
        let max = form.tag_max() as i128;
        if **choices != [(0, max - 1, 0), (max, max, 1)] || options.len() != 2 {
            return None;
        }
        let ok = form.is_compact_option(programs, options[0])
            && is_extended_option(programs, options[1]);
        ok.then_some(LttngHeader {
            form,
            tag_reg: *tag,
        })
    }

    /// The fused header a whole program amounts to: its op after an
    /// optional byte alignment (the compact form's struct alignment), then
    /// the generic ops it stands for, and nothing else. Both forms start
    /// by aligning to a byte.
    pub fn whole_program(ops: &[Op]) -> Option<LttngHeader> {
        let ops = match ops {
            [Op::Align(8), rest @ ..] => rest,
            rest => rest,
        };
        match ops {
            [Op::LttngHeader(h), rest @ ..] if rest.len() == FUSED_OPS as usize => Some(*h),
            _ => None,
        }
    }

    /// Decodes the header at bit `pos` of `data` (readable up to bit
    /// `end`); `None` when the generic ops must run instead.
    #[inline(always)]
    pub fn decode(&self, data: &[u8], pos: u64, end: u64) -> Option<Decoded> {
        if !pos.is_multiple_of(8) {
            return None;
        }
        let idx = (pos / 8) as usize;
        // 14 bytes cover the longest form; near the end of the window the
        // generic ops take over.
        let bytes: &[u8; 16] = data.get(idx..idx + 16)?.try_into().ok()?;
        let word = u64::from_le_bytes(bytes[..8].try_into().ok()?);
        let (tag, short_bits, ts_bits, ext_at) = match self.form {
            Form::Compact => (word & 0x1f, 32, 27, 1),
            Form::Large => (word & 0xffff, 48, 32, 2),
        };
        let d = if tag < self.form.tag_max() {
            Decoded {
                tag,
                extended_id: None,
                timestamp: match self.form {
                    Form::Compact => (word >> 5) & 0x7ff_ffff,
                    Form::Large => (word >> 16) & 0xffff_ffff,
                },
                timestamp_bits: ts_bits,
                bits: short_bits,
            }
        } else {
            let id = u32::from_le_bytes(bytes[ext_at..ext_at + 4].try_into().ok()?);
            let ts = u64::from_le_bytes(bytes[ext_at + 4..ext_at + 12].try_into().ok()?);
            Decoded {
                tag,
                extended_id: Some(id),
                timestamp: ts,
                timestamp_bits: 64,
                bits: (ext_at as u64 + 12) * 8,
            }
        };
        (d.bits <= end.saturating_sub(pos)).then_some(d)
    }
}

impl Form {
    /// The tag value selecting the extended option.
    fn tag_max(self) -> u64 {
        match self {
            Form::Compact => 31,
            Form::Large => 65535,
        }
    }

    /// The compact option: the short clock-mapped timestamp alone.
    fn is_compact_option(self, programs: &Programs, prog: ProgId) -> bool {
        let clock = IntAction {
            save: None,
            special: None,
            clock: true,
        };
        match (self, programs.ops(prog)) {
            (
                Form::Compact,
                [Op::Int {
                    size: 27,
                    align: 1,
                    order: ByteOrder::Little,
                    signed: false,
                    action,
                }],
            )
            | (
                Form::Large,
                [Op::IntBytes {
                    bytes: 4,
                    align: 8,
                    order: ByteOrder::Little,
                    signed: false,
                    action,
                }],
            ) => *action == clock,
            _ => false,
        }
    }
}

/// The extended option: a 32-bit id then a 64-bit clock-mapped timestamp.
fn is_extended_option(programs: &Programs, prog: ProgId) -> bool {
    let [Op::IntBytes {
        bytes: 4,
        align: 8,
        order: ByteOrder::Little,
        signed: false,
        action: id,
    }, Op::IntBytes {
        bytes: 8,
        align: 8,
        order: ByteOrder::Little,
        signed: false,
        action: ts,
    }] = programs.ops(prog)
    else {
        return false;
    };
    *id == IntAction {
        save: None,
        special: Some(Special::EventId),
        clock: false,
    } && *ts
        == IntAction {
            save: None,
            special: None,
            clock: true,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bits::BitReader;
    use crate::compiled::CompiledTrace;
    use crate::decode::{DecodeState, Frames, Slot};

    const METADATA: &str = r#"/* CTF 1.8 */
        typealias integer { size = 5; align = 1; signed = false; } := uint5_t;
        typealias integer { size = 16; align = 8; signed = false; } := uint16_t;
        typealias integer { size = 32; align = 8; signed = false; } := uint32_t;
        typealias integer { size = 64; align = 8; signed = false; } := uint64_t;
        trace { major = 1; minor = 8; byte_order = le; };
        clock { name = "monotonic"; freq = 1000000000; };
        typealias integer { size = 27; align = 1; signed = false;
            map = clock.monotonic.value; } := uint27_clock_t;
        typealias integer { size = 32; align = 8; signed = false;
            map = clock.monotonic.value; } := uint32_clock_t;
        typealias integer { size = 64; align = 8; signed = false;
            map = clock.monotonic.value; } := uint64_clock_t;
        struct compact {
            enum : uint5_t { compact = 0 ... 30, extended = 31 } id;
            variant <id> {
                struct { uint27_clock_t timestamp; } compact;
                struct { uint32_t id; uint64_clock_t timestamp; } extended;
            } v;
        } align(8);
        struct large {
            enum : uint16_t { compact = 0 ... 65534, extended = 65535 } id;
            variant <id> {
                struct { uint32_clock_t timestamp; } compact;
                struct { uint32_t id; uint64_clock_t timestamp; } extended;
            } v;
        } align(8);
        stream { id = 0; event.header := struct compact; };
        stream { id = 1; event.header := struct large; };
        event { name = "a"; id = 0; stream_id = 0; };
        event { name = "b"; id = 0; stream_id = 1; };"#;

    /// Decodes the header of stream class `stream` from `bytes` after
    /// `clock`; returns slots, event id, clock and end position.
    fn run(
        t: &CompiledTrace,
        stream: usize,
        bytes: &[u8],
        clock: u64,
    ) -> (Vec<Slot>, Option<u64>, u64, u64) {
        let mut state = DecodeState::new(&t.layout);
        state.clock = clock;
        let mut r = BitReader::new(bytes, bytes.len() as u64 * 8);
        let mut out = Vec::new();
        let s = &t.streams[stream];
        let prog = s.event_header.unwrap().prog;
        // The reader's direct path first, as it does it.
        let direct = s.lttng_header.expect("whole-program header");
        let res = match state.lttng_event_header(&direct, true, &mut r, &mut out) {
            true => Ok(()),
            false => state.run(&t.programs, prog, &mut r, &mut out, &mut Frames::default()),
        };
        if res.is_err() {
            out.clear();
        }
        let id = state.specials[Special::EventId as usize];
        (out, id, state.clock, r.pos())
    }

    /// The fused and generic paths agree: the same bytes decoded with
    /// room after them (fast path) and at the very end of the window
    /// (generic ops), including truncated headers.
    #[test]
    fn fused_headers_match_generic_ops() {
        let t = CompiledTrace::new(crate::metadata::parse(METADATA).unwrap()).unwrap();
        for s in &t.streams {
            let ops = t.programs.ops(s.event_header.unwrap().prog);
            assert!(ops.iter().any(|o| matches!(o, Op::LttngHeader(_))));
        }
        let ts: u64 = 0x0123_4567_89ab_cdef;
        let mut cases: Vec<(usize, Vec<u8>)> = Vec::new();
        // Compact: id 3 with a 27-bit time below and above the clock's
        // low bits (wrap), then the extended form.
        for word in [3u32 | (0x10 << 5), 3 | (0x7ff_fff0 << 5)] {
            cases.push((0, word.to_le_bytes().to_vec()));
        }
        let mut ext = vec![31u8];
        ext.extend(70_000u32.to_le_bytes());
        ext.extend(ts.to_le_bytes());
        cases.push((0, ext));
        let mut large = 7u16.to_le_bytes().to_vec();
        large.extend(0xfff0_0000u32.to_le_bytes());
        cases.push((1, large));
        let mut ext = 65535u16.to_le_bytes().to_vec();
        ext.extend(70_000u32.to_le_bytes());
        ext.extend(ts.to_le_bytes());
        cases.push((1, ext));
        for (stream, bytes) in cases {
            for cut in 0..=bytes.len() {
                let exact = &bytes[..cut];
                let mut padded = exact.to_vec();
                padded.resize(cut + 16, 0xAA);
                let clock = 0x5555_5555_5555_5555;
                let generic = run(&t, stream, exact, clock);
                let mut fused = run(&t, stream, &padded, clock);
                if fused.3 > cut as u64 * 8 {
                    // Decoded into the padding: the exact bytes were truncated.
                    assert!(generic.0.is_empty(), "{stream} {bytes:?} {cut}");
                    continue;
                }
                if generic.0.is_empty() {
                    fused.0.clear();
                }
                assert_eq!(fused, generic, "stream {stream} bytes {bytes:?} cut {cut}");
            }
        }
    }
}
