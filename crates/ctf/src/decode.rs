//! Runs a compiled [`Layout`] over a bit reader, producing a flat list of
//! slots in field pre-order (structs produce none; arrays produce their
//! length then their elements; variants the selected option index then its
//! value). Nothing is allocated once the slot buffer has grown.

use crate::bits::{BitReader, OutOfBounds};
use crate::header::{Decoded, Form, LttngHeader, FUSED_OPS};
use crate::layout::{IntAction, Layout, Length, SPECIALS};
use crate::metadata::ByteOrder;
use crate::packed::{decode_elements, decode_run};
use crate::program::{Op, ProgId, Programs};

/// One decoded value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Slot {
    Uint(u64),
    Sint(i64),
    Float(f64),
    /// A string (or text array, or uuid): byte offset in the window and
    /// length, without the terminating NUL.
    Str {
        off: u32,
        len: u32,
    },
    /// The element count of an array or sequence; its elements follow.
    Len(u64),
    /// The option a variant selected; its value follows.
    Option(u32),
}

/// Why decoding failed, with the bit position (relative to the packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("field at bit {at} needs {need} bits past the end of the packet content")]
    Truncated { at: u64, need: u64 },
    #[error("length {len} at bit {at} exceeds what the packet can hold")]
    Length { len: u64, at: u64 },
    #[error("variant tag value {value} at bit {at} selects no option")]
    Tag { value: i128, at: u64 },
    #[error("field at bit {at} refers to a length or tag that was not decoded")]
    Unset { at: u64 },
    #[error("field at bit {at} changes the byte order in the middle of a byte")]
    ByteOrder { at: u64 },
}

impl From<OutOfBounds> for DecodeError {
    fn from(e: OutOfBounds) -> Self {
        if e.need == 0 {
            return DecodeError::ByteOrder { at: e.at };
        }
        DecodeError::Truncated {
            at: e.at,
            need: e.need,
        }
    }
}

/// What [`DecodeState::step`] did.
enum Step {
    /// Decoded; skip this many following ops (a fused op's generic form).
    Next(u32),
    /// An array or variant: only the loop with frames runs it.
    Frame,
}

/// The interpreter's frame stack, owned by the caller so its allocation
/// is reused from one event to the next.
#[derive(Debug, Default)]
pub struct Frames(Vec<Frame>);

/// A suspended program: where to resume after an option or array.
/// Positions are indexes into [`Programs::all`].
#[derive(Debug, Clone, Copy)]
struct Frame {
    start: u32,
    end: u32,
    pc: u32,
    repeat: u64,
}

/// Registers and clock state carried while decoding one stream.
#[derive(Debug, Clone)]
pub struct DecodeState {
    regs: Vec<Option<u64>>,
    /// Special fields of the current packet/event (see [`crate::layout::Special`]).
    pub specials: [Option<u64>; SPECIALS],
    /// The stream's current clock value, in cycles.
    pub clock: u64,
}

impl DecodeState {
    pub fn new(layout: &Layout) -> Self {
        DecodeState {
            regs: vec![None; layout.registers as usize],
            specials: [None; SPECIALS],
            clock: 0,
        }
    }

    /// Applies a clock-mapped value of `size` bits (CTF wrap rule).
    #[inline]
    pub fn update_clock(&mut self, value: u64, size: u32) {
        if size >= 64 {
            self.clock = value;
            return;
        }
        let mask = (1u64 << size) - 1;
        let mut c = self.clock;
        if value < (c & mask) {
            c = c.wrapping_add(1u64 << size);
        }
        self.clock = (c & !mask) | value;
    }

    /// Stores a decoded integer (when `SLOTS`) and performs its actions.
    #[inline(always)]
    fn int<const SLOTS: bool>(
        &mut self,
        raw: u64,
        size: u32,
        signed: bool,
        action: &IntAction,
        out: &mut Vec<Slot>,
    ) {
        let slot = if signed {
            let shift = 64 - size;
            Slot::Sint(((raw << shift) as i64) >> shift)
        } else {
            Slot::Uint(raw)
        };
        if SLOTS {
            out.push(slot);
        }
        if action.is_none() {
            return;
        }
        if let Some(reg) = action.save {
            self.regs[reg as usize] = Some(match slot {
                Slot::Sint(v) => v as u64,
                _ => raw,
            });
        }
        if let Some(s) = action.special {
            self.specials[s as usize] = Some(raw);
        }
        if action.clock {
            self.update_clock(raw, size);
        }
    }

    /// Runs program `prog` over `r`, appending slots to `out`.
    #[inline]
    pub fn run(
        &mut self,
        programs: &Programs,
        prog: ProgId,
        r: &mut BitReader<'_>,
        out: &mut Vec<Slot>,
        frames: &mut Frames,
    ) -> Result<(), DecodeError> {
        self.run_with::<true>(programs, prog, r, out, frames)
    }

    /// Runs program `prog` over `r` for its effects only: the position,
    /// registers, special fields and clock, and the same errors, as
    /// [`run`](Self::run), but no slots (`out` is left as it is).
    #[inline]
    pub fn skip(
        &mut self,
        programs: &Programs,
        prog: ProgId,
        r: &mut BitReader<'_>,
        out: &mut Vec<Slot>,
        frames: &mut Frames,
    ) -> Result<(), DecodeError> {
        self.run_with::<false>(programs, prog, r, out, frames)
    }

    /// [`run`](Self::run), producing slots when `SLOTS`. Straight runs of
    /// ops go through a tight loop; at the first array or variant the loop
    /// with frames takes over.
    #[inline]
    fn run_with<const SLOTS: bool>(
        &mut self,
        programs: &Programs,
        prog: ProgId,
        r: &mut BitReader<'_>,
        out: &mut Vec<Slot>,
        frames: &mut Frames,
    ) -> Result<(), DecodeError> {
        let (start, end) = programs.range(prog);
        let ops = &programs.all()[start as usize..end as usize];
        let mut i = 0;
        while let Some(op) = ops.get(i) {
            match self.step::<SLOTS>(op, r, out)? {
                Step::Next(skip) => i += 1 + skip as usize,
                Step::Frame => {
                    return self.run_frames::<SLOTS>(
                        programs,
                        (start, end),
                        start + i as u32,
                        r,
                        out,
                        frames,
                    )
                }
            }
        }
        Ok(())
    }

    /// Decodes one op that needs no frame.
    #[inline(always)]
    fn step<const SLOTS: bool>(
        &mut self,
        op: &Op,
        r: &mut BitReader<'_>,
        out: &mut Vec<Slot>,
    ) -> Result<Step, DecodeError> {
        match op {
            Op::Align(a) => r.align(*a)?,
            Op::LttngHeader(h) => {
                // Else the generic ops that follow run.
                if let Some(d) = h.decode(r.data(), r.pos(), r.end()) {
                    self.lttng_header::<SLOTS>(h, &d, r, out);
                    return Ok(Step::Next(FUSED_OPS));
                }
            }
            Op::Run {
                order,
                bytes,
                fields,
            } => {
                r.align(8)?;
                let start = r.read_bytes(*bytes as u64)?;
                if SLOTS {
                    decode_run(r.data(), start, *order, fields, out);
                }
            }
            Op::IntBytes {
                bytes,
                align,
                order,
                signed,
                action,
            } => {
                r.align(*align)?;
                let raw = r.read_bytes_uint(*bytes as u32, *order)?;
                self.int::<SLOTS>(raw, *bytes as u32 * 8, *signed, action, out);
            }
            Op::Int {
                size,
                align,
                order,
                signed,
                action,
            } => {
                r.align(*align)?;
                let raw = r.read_uint(*size as u32, *order)?;
                self.int::<SLOTS>(raw, *size as u32, *signed, action, out);
            }
            Op::Float { size, align, order } => {
                r.align(*align)?;
                let raw = r.read_uint(*size as u32, *order)?;
                if !SLOTS {
                    return Ok(Step::Next(0));
                }
                out.push(Slot::Float(if *size == 32 {
                    f32::from_bits(raw as u32) as f64
                } else {
                    f64::from_bits(raw)
                }));
            }
            Op::String => {
                r.align(8)?;
                let (off, len) = r.read_cstr()?;
                if !SLOTS {
                    return Ok(Step::Next(0));
                }
                out.push(Slot::Str {
                    off: off as u32,
                    len: len as u32,
                });
            }
            Op::Uuid { align } => {
                r.align((*align).max(8))?;
                let off = r.read_bytes(16)?;
                if !SLOTS {
                    return Ok(Step::Next(0));
                }
                out.push(Slot::Str {
                    off: off as u32,
                    len: 16,
                });
            }
            Op::Text { len, align } => {
                r.align((*align).max(8))?;
                let at = r.pos();
                let n = self.length(*len, r, at)?;
                let off = r.read_bytes(n)?;
                if !SLOTS {
                    return Ok(Step::Next(0));
                }
                let bytes = &r.data()[off..off + n as usize];
                let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                out.push(Slot::Str {
                    off: off as u32,
                    len: len as u32,
                });
            }
            Op::ScalarArray {
                len,
                align,
                order,
                field,
            } => {
                // Else the generic array op that follows runs.
                if let Some(n) = self.fitting_array(*len, *align, field.bytes(), r) {
                    r.align(*align)?;
                    let start = r.read_bytes(n * field.bytes() as u64)?;
                    if SLOTS {
                        out.push(Slot::Len(n));
                        decode_elements(r.data(), start, *order, *field, n as usize, out);
                    }
                    return Ok(Step::Next(1));
                }
            }
            Op::Array { .. } | Op::Variant { .. } => return Ok(Step::Frame),
        }
        Ok(Step::Next(0))
    }

    /// The general loop, from op `pc` of the program spanning `range`:
    /// an explicit stack of frames (variant options, array elements), no
    /// recursion, no allocation once the stack has grown.
    #[inline(never)]
    fn run_frames<const SLOTS: bool>(
        &mut self,
        programs: &Programs,
        range: (u32, u32),
        mut pc: u32,
        r: &mut BitReader<'_>,
        out: &mut Vec<Slot>,
        frames: &mut Frames,
    ) -> Result<(), DecodeError> {
        let stack = &mut frames.0;
        stack.clear();
        let all = programs.all();
        let (mut start, mut end) = range;
        // Iterations left of the current frame (array elements).
        let mut repeat = 0u64;
        loop {
            if pc >= end {
                if repeat > 0 {
                    repeat -= 1;
                    pc = start;
                    continue;
                }
                match stack.pop() {
                    Some(f) => {
                        (start, end, pc, repeat) = (f.start, f.end, f.pc, f.repeat);
                        continue;
                    }
                    None => return Ok(()),
                }
            }
            let op = &all[pc as usize];
            pc += 1;
            match op {
                Op::Array {
                    len,
                    align,
                    element,
                } => {
                    r.align(*align)?;
                    let at = r.pos();
                    let n = self.length(*len, r, at)?;
                    if SLOTS {
                        out.push(Slot::Len(n));
                    }
                    if n > 0 {
                        stack.push(Frame {
                            start,
                            end,
                            pc,
                            repeat,
                        });
                        (start, end) = programs.range(*element);
                        (pc, repeat) = (start, n - 1);
                    }
                }
                Op::Variant {
                    tag,
                    tag_signed,
                    choices,
                    options,
                } => {
                    let at = r.pos();
                    let raw = self.regs[*tag as usize].ok_or(DecodeError::Unset { at })?;
                    let value = if *tag_signed {
                        raw as i64 as i128
                    } else {
                        raw as i128
                    };
                    let choice = choices
                        .iter()
                        .find(|(lo, hi, _)| *lo <= value && value <= *hi)
                        .ok_or(DecodeError::Tag { value, at })?
                        .2;
                    if SLOTS {
                        out.push(Slot::Option(choice));
                    }
                    stack.push(Frame {
                        start,
                        end,
                        pc,
                        repeat,
                    });
                    (start, end) = programs.range(options[choice as usize]);
                    (pc, repeat) = (start, 0);
                }
                op => {
                    let Step::Next(skip) = self.step::<SLOTS>(op, r, out)? else {
                        unreachable!("arrays and variants are handled above")
                    };
                    pc += skip;
                }
            }
        }
    }

    /// Decodes a whole-program LTTng header (see
    /// [`LttngHeader::whole_program`]) without the interpreter: aligns to
    /// a byte as the program would, then runs the fused op, producing
    /// slots when `slots`. `false`, with nothing changed, when the program
    /// must run instead.
    #[inline(always)]
    pub fn lttng_event_header(
        &mut self,
        h: &LttngHeader,
        slots: bool,
        r: &mut BitReader<'_>,
        out: &mut Vec<Slot>,
    ) -> bool {
        let pos = (r.pos() + 7) & !7;
        if pos > r.end() {
            return false;
        }
        match h.decode(r.data(), pos, r.end()) {
            Some(d) => {
                r.set_pos(pos);
                match slots {
                    true => self.lttng_header::<true>(h, &d, r, out),
                    false => self.lttng_header::<false>(h, &d, r, out),
                }
                true
            }
            None => false,
        }
    }

    /// Applies a header the fused op read: the same slots, registers,
    /// clock and reader state as its generic ops.
    #[inline(always)]
    fn lttng_header<const SLOTS: bool>(
        &mut self,
        h: &LttngHeader,
        d: &Decoded,
        r: &mut BitReader<'_>,
        out: &mut Vec<Slot>,
    ) {
        self.regs[h.tag_reg as usize] = Some(d.tag);
        let id = d.extended_id.map_or(d.tag, u64::from);
        if SLOTS {
            match d.extended_id {
                None => out.extend_from_slice(&[
                    Slot::Uint(d.tag),
                    Slot::Option(0),
                    Slot::Uint(d.timestamp),
                ]),
                Some(id) => out.extend_from_slice(&[
                    Slot::Uint(d.tag),
                    Slot::Option(1),
                    Slot::Uint(id as u64),
                    Slot::Uint(d.timestamp),
                ]),
            }
        }
        self.specials[crate::layout::Special::EventId as usize] = Some(id);
        self.update_clock(d.timestamp, d.timestamp_bits);
        r.set_pos(r.pos() + d.bits);
        if h.form == Form::Compact {
            // The generic path's last bit-level read was little-endian.
            r.set_order(ByteOrder::Little);
        }
    }

    /// The element count of a scalar array when its length is known and
    /// all its elements lie within the content: then decoding it in bulk
    /// gives what the generic array op would.
    #[inline]
    fn fitting_array(
        &self,
        len: Length,
        align: u32,
        element_bytes: u32,
        r: &BitReader<'_>,
    ) -> Option<u64> {
        let a = align as u64;
        let pos = (r.pos() + a - 1) & !(a - 1);
        let room = r.end().checked_sub(pos)?;
        let n = match len {
            Length::Fixed(n) => n,
            Length::Register(reg) => self.regs[reg as usize]?,
        };
        if n > room.max(4096) {
            return None;
        }
        (n.checked_mul(element_bytes as u64 * 8)? <= room).then_some(n)
    }

    /// The element count of an array or sequence, bounded by what the
    /// packet can hold so a corrupt length cannot make decoding spin.
    fn length(&self, len: Length, r: &BitReader<'_>, at: u64) -> Result<u64, DecodeError> {
        let n = match len {
            Length::Fixed(n) => n,
            Length::Register(reg) => self.regs[reg as usize].ok_or(DecodeError::Unset { at })?,
        };
        if n > (r.end() - r.pos()).max(4096) {
            return Err(DecodeError::Length { len: n, at });
        }
        Ok(n)
    }

    /// Clears per-event special registers (event id).
    #[inline]
    pub fn reset_event(&mut self) {
        self.specials[crate::layout::Special::EventId as usize] = None;
    }

    /// Clears packet-level special registers.
    pub fn reset_packet(&mut self) {
        self.specials = [None; SPECIALS];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiled::CompiledTrace;

    /// Decodes the payload of the only event from `bytes`.
    fn payload(bytes: &[u8]) -> Result<Vec<Slot>, DecodeError> {
        let text = r#"/* CTF 1.8 */
            typealias integer { size = 8; align = 8; signed = false; } := uint8_t;
            typealias integer { size = 16; align = 8; signed = true; } := int16_t;
            trace { major = 1; minor = 8; byte_order = le; };
            event { name = "e"; fields := struct {
                uint8_t n; int16_t seq[n]; uint8_t arr[2];
                integer { size = 24; align = 8; signed = true; byte_order = be; } be[1];
                }; };"#;
        let t = CompiledTrace::new(crate::metadata::parse(text).unwrap()).unwrap();
        let prog = t.streams[0].events[0].fields.unwrap().prog;
        let mut state = DecodeState::new(&t.layout);
        let mut r = BitReader::new(bytes, bytes.len() as u64 * 8);
        let mut out = Vec::new();
        state.run(&t.programs, prog, &mut r, &mut out, &mut Frames::default())?;
        Ok(out)
    }

    /// Scalar arrays decode in bulk, and when they do not fit the error
    /// is the generic one: at the first missing element.
    #[test]
    fn scalar_arrays_in_bulk_and_truncated() {
        let slots = payload(&[2, 0xff, 0xff, 5, 0, 7, 8, 0xff, 0xff, 0xfe]).unwrap();
        use Slot::*;
        assert_eq!(
            slots,
            [
                Uint(2),
                Len(2),
                Sint(-1),
                Sint(5),
                Len(2),
                Uint(7),
                Uint(8),
                Len(1),
                Sint(-2)
            ]
        );
        assert_eq!(
            payload(&[2, 0xff, 0xff, 5]),
            Err(DecodeError::Truncated { at: 24, need: 16 })
        );
        assert_eq!(
            payload(&[2, 0xff, 0xff, 5, 0, 7]),
            Err(DecodeError::Truncated { at: 48, need: 8 })
        );
    }
}
