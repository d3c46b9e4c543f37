//! The inverse of [`crate::decode`]: writes the slots of a decoded scope
//! back with the same layout, so a converter re-encodes events without
//! building a value tree.

use crate::decode::Slot;
use crate::layout::{Layout, Length, Node, NodeId};
use crate::metadata::FieldType;
use crate::write::BitWriter;

/// Why slots could not be encoded (they do not match the layout).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("slot {index} does not match the field layout")]
pub struct EncodeError {
    pub index: usize,
}

/// Re-encodes decoded slots with a layout; keeps the registers that
/// sequence lengths are read from.
pub struct Encoder {
    regs: Vec<u64>,
}

impl Encoder {
    pub fn new(layout: &Layout) -> Self {
        Encoder {
            regs: vec![0; layout.registers as usize],
        }
    }

    /// Writes `node` from `slots[*i..]` (strings read from `bytes`).
    pub fn encode(
        &mut self,
        layout: &Layout,
        node: NodeId,
        slots: &[Slot],
        i: &mut usize,
        bytes: &[u8],
        w: &mut BitWriter,
    ) -> Result<(), EncodeError> {
        let err = EncodeError { index: *i };
        match &layout.nodes[node as usize] {
            Node::Int {
                size,
                align,
                order,
                action,
                ..
            } => {
                let raw = match slots.get(*i) {
                    Some(Slot::Uint(v)) => *v,
                    Some(Slot::Sint(v)) => *v as u64,
                    _ => return Err(err),
                };
                *i += 1;
                w.align(*align);
                w.write_uint(raw, *size as u32, *order);
                if let Some(r) = action.save {
                    self.regs[r as usize] = raw;
                }
            }
            Node::Float { size, align, order } => {
                let Some(Slot::Float(f)) = slots.get(*i) else {
                    return Err(err);
                };
                *i += 1;
                w.align(*align);
                if *size == 32 {
                    w.write_f32(*f as f32, *order);
                } else {
                    w.write_f64(*f, *order);
                }
            }
            Node::String => {
                let s = str_slot(slots, i, bytes).ok_or(err)?;
                w.align(8);
                w.write_str(s);
            }
            Node::Uuid { align } => {
                let s = str_slot(slots, i, bytes).ok_or(err)?;
                w.align((*align).max(8));
                w.write_bytes(s);
            }
            Node::Text { len, align } => {
                let s = str_slot(slots, i, bytes).ok_or(err.clone())?;
                let n = match len {
                    Length::Fixed(n) => *n,
                    Length::Register(r) => self.regs[*r as usize],
                };
                if (s.len() as u64) > n {
                    return Err(err);
                }
                w.align((*align).max(8));
                w.write_bytes(s);
                for _ in s.len() as u64..n {
                    w.write_uint(0, 8, crate::metadata::ByteOrder::Little);
                }
            }
            Node::Struct { align, members } => {
                w.align(*align);
                for &m in members {
                    self.encode(layout, m, slots, i, bytes, w)?;
                }
            }
            Node::Array { align, element, .. } => {
                let Some(Slot::Len(n)) = slots.get(*i) else {
                    return Err(err);
                };
                *i += 1;
                w.align(*align);
                for _ in 0..*n {
                    self.encode(layout, *element, slots, i, bytes, w)?;
                }
            }
            Node::Variant { options, .. } => {
                let Some(Slot::Option(k)) = slots.get(*i) else {
                    return Err(err);
                };
                *i += 1;
                let option = *options.get(*k as usize).ok_or(err)?;
                self.encode(layout, option, slots, i, bytes, w)?;
            }
        }
        Ok(())
    }
}

fn str_slot<'b>(slots: &[Slot], i: &mut usize, bytes: &'b [u8]) -> Option<&'b [u8]> {
    let Some(Slot::Str { off, len }) = slots.get(*i) else {
        return None;
    };
    *i += 1;
    bytes.get(*off as usize..(*off + *len) as usize)
}

/// Skips the slots of a field of type `ty` starting at `slots[*i]`.
pub fn skip_slots(ty: &FieldType, slots: &[Slot], i: &mut usize) {
    match ty {
        FieldType::Struct(s) => {
            for m in &s.members {
                skip_slots(&m.ty, slots, i);
            }
        }
        FieldType::Array(_) | FieldType::Sequence(_) if crate::layout::is_text(ty) => *i += 1,
        FieldType::Array(a) => skip_elements(&a.element, slots, i),
        FieldType::Sequence(s) => skip_elements(&s.element, slots, i),
        FieldType::Variant(v) => {
            let k = match slots.get(*i) {
                Some(Slot::Option(k)) => *k as usize,
                _ => 0,
            };
            *i += 1;
            if let Some(o) = v.options.get(k) {
                skip_slots(&o.ty, slots, i);
            }
        }
        _ => *i += 1,
    }
}

fn skip_elements(element: &FieldType, slots: &[Slot], i: &mut usize) {
    let n = match slots.get(*i) {
        Some(Slot::Len(n)) => *n,
        _ => 0,
    };
    *i += 1;
    for _ in 0..n {
        skip_slots(element, slots, i);
    }
}
