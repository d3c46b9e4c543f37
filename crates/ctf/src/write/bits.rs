//! Bit-exact field encoding: the mirror of the reader's bit cursor.

use crate::metadata::ByteOrder;

/// Appends CTF fields to a growable byte buffer at any bit position.
///
/// Bit 0 is the first bit of the buffer, which is the start of the packet
/// being built: alignment is relative to it, as CTF requires. Layout rules
/// (CTF 1.8 §3.1): a little-endian field fills each byte from its least
/// significant bit upward, a big-endian one from its most significant bit
/// downward. Byte order may only change on a byte boundary; the writer does
/// not check it (it would cost a branch per field for a rule the schema
/// already guarantees).
///
/// Invariant: the buffer holds exactly `ceil(bit_position / 8)` bytes and
/// every bit at or past the position is zero, so appends only OR bits in and
/// padding is zero for free.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    buf: Vec<u8>,
    pos: u64,
}

/// `value` with only its low `size` bits kept.
#[inline]
fn low_bits(value: u64, size: u32) -> u64 {
    if size >= 64 {
        value
    } else {
        value & ((1u64 << size) - 1)
    }
}

/// Bytes needed to hold `bits` bits.
#[inline]
fn bytes_for(bits: u64) -> usize {
    usize::try_from(bits.div_ceil(8)).expect("bit position exceeds the address space")
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer with room for `bytes` bytes, so a packet's worth of
    /// events is written without reallocating.
    pub fn with_capacity(bytes: usize) -> Self {
        BitWriter {
            buf: Vec::with_capacity(bytes),
            pos: 0,
        }
    }

    /// Bits written so far (including alignment padding).
    #[inline]
    pub fn bit_position(&self) -> u64 {
        self.pos
    }

    /// The bytes written so far; a trailing partial byte is zero-padded.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The buffer, ending with the zero-padded partial byte if any.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Empties the writer, keeping its allocation for the next packet.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
    }

    /// Moves to `bit_pos` (at or past the current position), writing zero
    /// bits in between: padding up to a packet size, for instance.
    ///
    /// # Panics
    /// If `bit_pos` is before the current position.
    pub fn skip_to(&mut self, bit_pos: u64) {
        assert!(
            bit_pos >= self.pos,
            "skip_to({bit_pos}) before the current position {}",
            self.pos
        );
        self.pos = bit_pos;
        self.buf.resize(bytes_for(bit_pos), 0);
    }

    /// Advances to the next multiple of `bits` (an alignment in bits, as in
    /// TSDL `align`), writing zero padding. 0 and 1 mean no alignment.
    #[inline]
    pub fn align(&mut self, bits: u32) {
        if bits <= 1 {
            return;
        }
        let rem = self.pos % u64::from(bits);
        if rem != 0 {
            self.skip_to(self.pos + u64::from(bits) - rem);
        }
    }

    /// Appends the low `size` bits of `value` (1..=64) at the current
    /// position. Higher bits of `value` are ignored.
    ///
    /// # Panics
    /// If `size` is 0 or above 64.
    #[inline]
    pub fn write_uint(&mut self, value: u64, size: u32, order: ByteOrder) {
        assert!(
            (1..=64).contains(&size),
            "integer size {size} not in 1..=64"
        );
        let value = low_bits(value, size);
        if self.pos.is_multiple_of(8) && size.is_multiple_of(8) {
            // The common case: a whole number of bytes on a byte boundary is
            // a plain copy of the value's first (LE) or last (BE) bytes.
            // Fixed-size copies for the usual widths, so no length-dependent
            // memcpy call is made per field.
            match (order, size) {
                (_, 8) => self.buf.push(value as u8),
                (ByteOrder::Little, 16) => {
                    self.buf.extend_from_slice(&(value as u16).to_le_bytes())
                }
                (ByteOrder::Little, 32) => {
                    self.buf.extend_from_slice(&(value as u32).to_le_bytes())
                }
                (ByteOrder::Little, 64) => self.buf.extend_from_slice(&value.to_le_bytes()),
                (ByteOrder::Little, _) => {
                    self.buf
                        .extend_from_slice(&value.to_le_bytes()[..(size / 8) as usize]);
                }
                (ByteOrder::Big, _) => {
                    self.buf
                        .extend_from_slice(&value.to_be_bytes()[8 - (size / 8) as usize..]);
                }
            }
            self.pos += u64::from(size);
            return;
        }
        let at = self.pos;
        self.pos += u64::from(size);
        self.buf.resize(bytes_for(self.pos), 0);
        put_bits(&mut self.buf, at, value, size, order);
    }

    /// Appends a signed integer as `size`-bit two's complement (the value
    /// is truncated to `size` bits).
    #[inline]
    pub fn write_int(&mut self, value: i64, size: u32, order: ByteOrder) {
        self.write_uint(value as u64, size, order);
    }

    /// Appends an IEEE-754 binary32 value (alignment is the caller's).
    #[inline]
    pub fn write_f32(&mut self, value: f32, order: ByteOrder) {
        self.write_uint(u64::from(value.to_bits()), 32, order);
    }

    /// Appends an IEEE-754 binary64 value (alignment is the caller's).
    #[inline]
    pub fn write_f64(&mut self, value: f64, order: ByteOrder) {
        self.write_uint(value.to_bits(), 64, order);
    }

    /// Aligns to a byte and appends raw bytes (text arrays, UUIDs).
    #[inline]
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        self.align(8);
        self.buf.extend_from_slice(bytes);
        self.pos += bytes.len() as u64 * 8;
    }

    /// Aligns to a byte and appends a CTF string: `bytes` up to its first
    /// NUL (a reader stops there anyway), then a NUL terminator.
    #[inline]
    pub fn write_str(&mut self, bytes: &[u8]) {
        let text = match bytes.iter().position(|&b| b == 0) {
            Some(nul) => &bytes[..nul],
            None => bytes,
        };
        self.write_bytes(text);
        self.buf.push(0);
        self.pos += 8;
    }

    /// Overwrites `size` bits at `bit_pos` with `value`: fields whose value
    /// is only known later (`content_size`, `packet_size`, `timestamp_end`).
    ///
    /// # Panics
    /// If the field is not entirely within what was written, or `size` is
    /// not in 1..=64.
    pub fn patch_uint_at(&mut self, bit_pos: u64, value: u64, size: u32, order: ByteOrder) {
        assert!(
            (1..=64).contains(&size),
            "integer size {size} not in 1..=64"
        );
        assert!(
            bit_pos + u64::from(size) <= self.pos,
            "patch of {size} bits at {bit_pos} past the written {} bits",
            self.pos
        );
        put_bits(&mut self.buf, bit_pos, low_bits(value, size), size, order);
    }
}

/// Stores `value` (already reduced to `size` bits) at bit `at` of `buf`,
/// replacing what was there. Byte by byte: only unaligned or odd-sized
/// fields get here.
fn put_bits(buf: &mut [u8], at: u64, value: u64, size: u32, order: ByteOrder) {
    let mut byte = (at / 8) as usize;
    let mut bit = (at % 8) as u32;
    let mut left = size;
    match order {
        ByteOrder::Little => {
            // Low bits of the value go first, into the low free bits.
            let mut v = value;
            while left > 0 {
                let n = (8 - bit).min(left);
                let mask = (((1u16 << n) - 1) << bit) as u8;
                buf[byte] = (buf[byte] & !mask) | (((v << bit) as u8) & mask);
                v >>= n;
                left -= n;
                byte += 1;
                bit = 0;
            }
        }
        ByteOrder::Big => {
            // High bits of the value go first, into the high free bits.
            while left > 0 {
                let n = (8 - bit).min(left);
                let chunk = (value >> (left - n)) & ((1u64 << n) - 1);
                let shift = 8 - bit - n;
                let mask = (((1u16 << n) - 1) << shift) as u8;
                buf[byte] = (buf[byte] & !mask) | (((chunk << shift) as u8) & mask);
                left -= n;
                byte += 1;
                bit = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_header_shares_a_word() {
        let mut w = BitWriter::new();
        w.write_uint(3, 5, ByteOrder::Little);
        w.write_uint(0x7ff_ffff, 27, ByteOrder::Little);
        assert_eq!(w.as_bytes(), &(3u32 | (0x7ff_ffff << 5)).to_le_bytes());
    }

    #[test]
    fn big_endian_fills_from_the_msb() {
        let mut w = BitWriter::new();
        w.write_uint(0b101, 3, ByteOrder::Big);
        w.write_uint(0x1ff, 9, ByteOrder::Big);
        assert_eq!(w.as_bytes(), &[0b1011_1111, 0b1111_0000]);
        assert_eq!(w.bit_position(), 12);
    }

    #[test]
    fn patch_replaces_bits() {
        let mut w = BitWriter::new();
        w.write_uint(0, 3, ByteOrder::Little);
        w.write_uint(u64::MAX, 64, ByteOrder::Little);
        w.patch_uint_at(3, 0x1234, 64, ByteOrder::Little);
        let mut expect = BitWriter::new();
        expect.write_uint(0, 3, ByteOrder::Little);
        expect.write_uint(0x1234, 64, ByteOrder::Little);
        assert_eq!(w.as_bytes(), expect.as_bytes());
    }
}
