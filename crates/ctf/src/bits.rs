//! The one bit reader every field decoder uses: a cursor over a byte window
//! with bit positions relative to the packet start, so CTF alignment rules
//! apply directly.

use crate::metadata::ByteOrder;

/// Decoding ran past the readable end of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfBounds {
    /// Bit position where the read started (relative to the window start).
    pub at: u64,
    /// Bits the read needed; 0 means the read was refused because the
    /// byte order changed in the middle of a byte (invalid in CTF).
    pub need: u64,
}

/// A cursor reading bit fields from `data[..end/8]`.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    pos: u64,
    end: u64,
    /// Byte order of the last bit-level read: a field that starts inside
    /// a byte must use the same order.
    order: Option<ByteOrder>,
}

impl<'a> BitReader<'a> {
    /// A reader over `data`, starting at bit 0, stopping at bit `end`
    /// (clamped to the data length).
    pub fn new(data: &'a [u8], end: u64) -> Self {
        let end = end.min(data.len() as u64 * 8);
        BitReader {
            data,
            pos: 0,
            end,
            order: None,
        }
    }

    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Current position in bits.
    #[inline]
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// End of readable content in bits.
    #[inline]
    pub fn end(&self) -> u64 {
        self.end
    }

    #[inline]
    pub fn set_pos(&mut self, pos: u64) {
        self.pos = pos;
    }

    /// Records the byte order of a bit-level read done outside the reader
    /// (by a fused op), as if the reader had done it.
    #[inline]
    pub(crate) fn set_order(&mut self, order: ByteOrder) {
        self.order = Some(order);
    }

    /// Narrows the readable end (e.g. to a packet's content size).
    pub fn set_end(&mut self, end: u64) {
        self.end = end.min(self.data.len() as u64 * 8);
    }

    /// Advances to the next multiple of `align` bits (a power of two).
    #[inline(always)]
    pub fn align(&mut self, align: u32) -> Result<(), OutOfBounds> {
        let a = align as u64;
        let new = (self.pos + a - 1) & !(a - 1);
        if new > self.end {
            return Err(OutOfBounds {
                at: self.pos,
                need: new - self.pos,
            });
        }
        self.pos = new;
        Ok(())
    }

    #[inline(always)]
    fn check(&self, bits: u64) -> Result<(), OutOfBounds> {
        if bits > self.end - self.pos {
            Err(OutOfBounds {
                at: self.pos,
                need: bits,
            })
        } else {
            Ok(())
        }
    }

    /// Skips `bits` bits.
    #[inline]
    pub fn skip(&mut self, bits: u64) -> Result<(), OutOfBounds> {
        self.check(bits)?;
        self.pos += bits;
        Ok(())
    }

    /// Reads a whole-byte integer (`bytes` of 1..=8) at a byte-aligned
    /// position: the common case, one unaligned load.
    #[inline(always)]
    pub fn read_bytes_uint(&mut self, bytes: u32, order: ByteOrder) -> Result<u64, OutOfBounds> {
        let bits = bytes as u64 * 8;
        self.check(bits)?;
        let idx = (self.pos / 8) as usize;
        self.pos += bits;
        if let Some(chunk) = self.data.get(idx..idx + 8) {
            let word: [u8; 8] = chunk.try_into().unwrap_or([0; 8]);
            let shift = 64 - bits;
            return Ok(match order {
                ByteOrder::Little => (u64::from_le_bytes(word) << shift) >> shift,
                ByteOrder::Big => u64::from_be_bytes(word) >> shift,
            });
        }
        Ok(peek_uint(self.data, idx as u64 * 8, bits as u32, order))
    }

    /// Reads an unsigned integer of `size` bits (1..=64).
    #[inline(always)]
    pub fn read_uint(&mut self, size: u32, order: ByteOrder) -> Result<u64, OutOfBounds> {
        self.check(size as u64)?;
        if !self.pos.is_multiple_of(8) && self.order.is_some_and(|o| o != order) {
            return Err(OutOfBounds {
                at: self.pos,
                need: 0,
            });
        }
        self.order = Some(order);
        let v = peek_uint(self.data, self.pos, size, order);
        self.pos += size as u64;
        Ok(v)
    }

    /// Reads a two's complement signed integer of `size` bits (1..=64).
    #[inline]
    pub fn read_int(&mut self, size: u32, order: ByteOrder) -> Result<i64, OutOfBounds> {
        let v = self.read_uint(size, order)?;
        let shift = 64 - size;
        Ok(((v << shift) as i64) >> shift)
    }

    /// Reads a NUL-terminated string at a byte boundary; returns the byte
    /// offset of its first byte and its length without the NUL.
    pub fn read_cstr(&mut self) -> Result<(usize, usize), OutOfBounds> {
        debug_assert!(self.pos.is_multiple_of(8));
        let start = (self.pos / 8) as usize;
        let limit = (self.end / 8) as usize;
        match self.data[start..limit].iter().position(|&b| b == 0) {
            Some(n) => {
                self.pos += (n as u64 + 1) * 8;
                Ok((start, n))
            }
            None => Err(OutOfBounds {
                at: self.pos,
                need: (limit - start) as u64 * 8 + 8,
            }),
        }
    }

    /// Reads `len` bytes at a byte boundary; returns their byte offset.
    pub fn read_bytes(&mut self, len: u64) -> Result<usize, OutOfBounds> {
        debug_assert!(self.pos.is_multiple_of(8));
        let bits = len.checked_mul(8).ok_or(OutOfBounds {
            at: self.pos,
            need: u64::MAX,
        })?;
        self.check(bits)?;
        let start = (self.pos / 8) as usize;
        self.pos += bits;
        Ok(start)
    }
}

/// Reads `size` bits at bit `pos` of `data`; the caller checked bounds.
#[inline(always)]
fn peek_uint(data: &[u8], pos: u64, size: u32, order: ByteOrder) -> u64 {
    let idx = (pos / 8) as usize;
    let shift = (pos % 8) as u32;
    let mask = if size == 64 {
        u64::MAX
    } else {
        (1u64 << size) - 1
    };
    match order {
        ByteOrder::Little => {
            if shift == 0 && size == 8 {
                return data[idx] as u64;
            }
            if let Some(bytes) = data.get(idx..idx + 8) {
                let lo = u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
                if shift + size <= 64 {
                    return (lo >> shift) & mask;
                }
                let hi = data[idx + 8] as u64;
                return ((lo >> shift) | (hi << (64 - shift))) & mask;
            }
            let mut buf = [0u8; 16];
            let n = (data.len() - idx).min(16);
            buf[..n].copy_from_slice(&data[idx..idx + n]);
            ((u128::from_le_bytes(buf) >> shift) as u64) & mask
        }
        ByteOrder::Big => {
            let mut buf = [0u8; 16];
            let n = (data.len() - idx).min(16);
            buf[..n].copy_from_slice(&data[idx..idx + n]);
            let x = u128::from_be_bytes(buf);
            ((x >> (128 - shift - size)) as u64) & mask
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_header_little_endian() {
        // id = 3 in the low 5 bits, ts27 in the upper 27 bits.
        let word: u32 = 3 | (0x123_4567 << 5);
        let bytes = word.to_le_bytes();
        let mut r = BitReader::new(&bytes, 32);
        assert_eq!(r.read_uint(5, ByteOrder::Little).unwrap(), 3);
        assert_eq!(r.read_uint(27, ByteOrder::Little).unwrap(), 0x123_4567);
        assert!(r.read_uint(1, ByteOrder::Little).is_err());
    }

    #[test]
    fn big_endian_bitfields_fill_from_msb() {
        let bytes = [0b1010_0000u8, 0xFF];
        let mut r = BitReader::new(&bytes, 16);
        assert_eq!(r.read_uint(3, ByteOrder::Big).unwrap(), 0b101);
        assert_eq!(r.read_uint(5, ByteOrder::Big).unwrap(), 0);
        assert_eq!(r.read_uint(8, ByteOrder::Big).unwrap(), 0xFF);
    }

    #[test]
    fn signed_and_wide_reads() {
        let bytes = (-2i64).to_le_bytes();
        let mut r = BitReader::new(&bytes, 64);
        assert_eq!(r.read_int(64, ByteOrder::Little).unwrap(), -2);
        let mut r = BitReader::new(&bytes, 64);
        r.skip(4).unwrap();
        assert_eq!(r.read_int(60, ByteOrder::Little).unwrap(), -1);
        let v = 0x0123_4567_89AB_CDEFu64.to_be_bytes();
        let mut r = BitReader::new(&v, 64);
        assert_eq!(
            r.read_uint(64, ByteOrder::Big).unwrap(),
            0x0123_4567_89AB_CDEF
        );
    }

    #[test]
    fn unaligned_64_bit_little_endian_spans_nine_bytes() {
        let v: u128 = 0xDEAD_BEEF_CAFE_F00D << 3;
        let bytes = v.to_le_bytes();
        let mut r = BitReader::new(&bytes, 128);
        r.skip(3).unwrap();
        assert_eq!(
            r.read_uint(64, ByteOrder::Little).unwrap(),
            0xDEAD_BEEF_CAFE_F00D
        );
    }
}

#[cfg(test)]
mod byte_order_tests {
    use super::*;

    #[test]
    fn byte_order_change_inside_a_byte_is_refused() {
        let bytes = [0xFFu8; 4];
        let mut r = BitReader::new(&bytes, 32);
        r.read_uint(3, ByteOrder::Little).unwrap();
        let e = r.read_uint(5, ByteOrder::Big).unwrap_err();
        assert_eq!(e, OutOfBounds { at: 3, need: 0 });
        // On a byte boundary the order may change.
        let mut r = BitReader::new(&bytes, 32);
        r.read_uint(8, ByteOrder::Little).unwrap();
        assert_eq!(r.read_uint(8, ByteOrder::Big).unwrap(), 0xFF);
    }
}
