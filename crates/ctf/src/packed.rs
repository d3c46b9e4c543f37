//! Packed scalars (whole bytes, byte-aligned, no actions: [`RunField`]s)
//! decoded straight from the bytes, for runs of fields
//! ([`Op::Run`](crate::program::Op::Run)) and arrays of them
//! ([`Op::ScalarArray`](crate::program::Op::ScalarArray)): the caller
//! checks the bounds once for all of them, so each value is a load and a
//! push.

use crate::decode::Slot;
use crate::metadata::ByteOrder;
use crate::program::RunField;

/// Decodes the packed fields of an
/// [`Op::Run`](crate::program::Op::Run) starting at byte `off` of
/// `data` (the caller checked they are all within it). Plain pushes after
/// one reserve: `extend` does not inline here and costs a call.
#[inline]
pub(crate) fn decode_run(
    data: &[u8],
    off: usize,
    order: ByteOrder,
    fields: &[(u32, RunField)],
    out: &mut Vec<Slot>,
) {
    out.reserve(fields.len());
    for &(at, f) in fields {
        out.push(load(data, off + at as usize, order, f));
    }
}

/// Decodes `n` packed elements of an
/// [`Op::ScalarArray`](crate::program::Op::ScalarArray) starting at
/// byte `off` of `data` (the caller checked they are all within it): one
/// loop per element size.
#[inline]
pub(crate) fn decode_elements(
    data: &[u8],
    off: usize,
    order: ByteOrder,
    f: RunField,
    n: usize,
    out: &mut Vec<Slot>,
) {
    let bytes = &data[off..off + n * f.bytes() as usize];
    match f.bytes() {
        1 => elements::<1>(bytes, order, f, out),
        2 => elements::<2>(bytes, order, f, out),
        3 => elements::<3>(bytes, order, f, out),
        4 => elements::<4>(bytes, order, f, out),
        5 => elements::<5>(bytes, order, f, out),
        6 => elements::<6>(bytes, order, f, out),
        7 => elements::<7>(bytes, order, f, out),
        _ => elements::<8>(bytes, order, f, out),
    }
}

/// [`decode_elements`] for `N`-byte elements.
#[inline(always)]
fn elements<const N: usize>(bytes: &[u8], order: ByteOrder, f: RunField, out: &mut Vec<Slot>) {
    out.reserve(bytes.len() / N);
    for c in bytes.chunks_exact(N) {
        let mut w = [0u8; 8];
        let raw = match order {
            ByteOrder::Little => {
                w[..N].copy_from_slice(c);
                u64::from_le_bytes(w)
            }
            ByteOrder::Big => {
                w[8 - N..].copy_from_slice(c);
                u64::from_be_bytes(w)
            }
        };
        out.push(slot(raw, f));
    }
}

/// The slot of a packed field's raw bits.
#[inline(always)]
fn slot(raw: u64, f: RunField) -> Slot {
    match f {
        RunField::Uint(_) => Slot::Uint(raw),
        RunField::Sint(b) => {
            let shift = 64 - b as u32 * 8;
            Slot::Sint(((raw << shift) as i64) >> shift)
        }
        RunField::F32 => Slot::Float(f32::from_bits(raw as u32) as f64),
        RunField::F64 => Slot::Float(f64::from_bits(raw)),
    }
}

/// One packed field at byte `off` of `data` (within it).
#[inline(always)]
fn load(data: &[u8], off: usize, order: ByteOrder, f: RunField) -> Slot {
    let n = f.bytes();
    let bits = n * 8;
    let raw =
        match data.get(off..off + 8) {
            Some(w) => {
                let w: [u8; 8] = w.try_into().unwrap_or([0; 8]);
                match order {
                    ByteOrder::Little => u64::from_le_bytes(w) & (u64::MAX >> (64 - bits)),
                    ByteOrder::Big => u64::from_be_bytes(w) >> (64 - bits),
                }
            }
            None => data[off..off + n as usize]
                .iter()
                .enumerate()
                .fold(0u64, |acc, (i, &b)| match order {
                    ByteOrder::Little => acc | (b as u64) << (8 * i),
                    ByteOrder::Big => (acc << 8) | b as u64,
                }),
        };
    slot(raw, f)
}
