//! Runs a compiled [`Layout`] over a bit reader, producing a flat list of
//! slots in field pre-order (structs produce none; arrays produce their
//! length then their elements; variants the selected option index then its
//! value). Nothing is allocated once the slot buffer has grown.

use crate::bits::{BitReader, OutOfBounds};
use crate::layout::{Layout, Length, Node, NodeId, SPECIALS};

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
}

impl From<OutOfBounds> for DecodeError {
    fn from(e: OutOfBounds) -> Self {
        DecodeError::Truncated {
            at: e.at,
            need: e.need,
        }
    }
}

/// Registers and clock state carried while decoding one stream.
#[derive(Debug, Clone)]
pub struct DecodeState {
    regs: Vec<Option<u64>>,
    /// Special fields of the current packet/event (see [`crate::layout::Special`]).
    pub specials: [Option<u64>; SPECIALS],
    /// The stream's current clock value, in cycles.
    pub clock: u64,
    /// Whether any clock-mapped field was decoded since the last reset.
    pub clock_updated: bool,
}

impl DecodeState {
    pub fn new(layout: &Layout) -> Self {
        DecodeState {
            regs: vec![None; layout.registers as usize],
            specials: [None; SPECIALS],
            clock: 0,
            clock_updated: false,
        }
    }

    /// Applies a clock-mapped value of `size` bits (CTF wrap rule).
    #[inline]
    pub fn update_clock(&mut self, value: u64, size: u32) {
        self.clock_updated = true;
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

    /// Decodes `node` from `r`, appending slots to `out`.
    pub fn decode(
        &mut self,
        layout: &Layout,
        node: NodeId,
        r: &mut BitReader<'_>,
        out: &mut Vec<Slot>,
    ) -> Result<(), DecodeError> {
        match &layout.nodes[node as usize] {
            Node::Int {
                size,
                align,
                order,
                signed,
                action,
            } => {
                r.align(*align)?;
                let raw = r.read_uint(*size as u32, *order)?;
                let slot = if *signed {
                    let shift = 64 - *size as u32;
                    Slot::Sint(((raw << shift) as i64) >> shift)
                } else {
                    Slot::Uint(raw)
                };
                out.push(slot);
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
                    self.update_clock(raw, *size as u32);
                }
            }
            Node::Float { size, align, order } => {
                r.align(*align)?;
                let raw = r.read_uint(*size as u32, *order)?;
                out.push(Slot::Float(if *size == 32 {
                    f32::from_bits(raw as u32) as f64
                } else {
                    f64::from_bits(raw)
                }));
            }
            Node::String => {
                r.align(8)?;
                let (off, len) = r.read_cstr()?;
                out.push(Slot::Str {
                    off: off as u32,
                    len: len as u32,
                });
            }
            Node::Uuid { align } => {
                r.align((*align).max(8))?;
                let off = r.read_bytes(16)?;
                out.push(Slot::Str {
                    off: off as u32,
                    len: 16,
                });
            }
            Node::Text { len, align } => {
                r.align((*align).max(8))?;
                let at = r.pos();
                let n = self.length(*len, r, at)?;
                let off = r.read_bytes(n)?;
                let bytes = &r.data()[off..off + n as usize];
                let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                out.push(Slot::Str {
                    off: off as u32,
                    len: len as u32,
                });
            }
            Node::Struct { align, members } => {
                r.align(*align)?;
                for &m in members {
                    self.decode(layout, m, r, out)?;
                }
            }
            Node::Array {
                len,
                align,
                element,
            } => {
                r.align(*align)?;
                let at = r.pos();
                let n = self.length(*len, r, at)?;
                out.push(Slot::Len(n));
                for _ in 0..n {
                    self.decode(layout, *element, r, out)?;
                }
            }
            Node::Variant {
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
                out.push(Slot::Option(choice));
                let option = options[choice as usize];
                self.decode(layout, option, r, out)?;
            }
        }
        Ok(())
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
