//! The CTF 1.8 packet header and LTTng packet context at the start of every
//! sub-buffer (ctf-1.8.md §4): little-endian, byte-packed, 84 bytes.
//!
//! | off | field | type |
//! |---|---|---|
//! | 0 | magic (0xC1FC1FC1) | u32 |
//! | 4 | uuid | `u8[16]` |
//! | 20 | stream_id | u32 |
//! | 24 | stream_instance_id | u64 |
//! | 32 | timestamp_begin | u64 |
//! | 40 | timestamp_end | u64 |
//! | 48 | content_size (bits) | u64 |
//! | 56 | packet_size (bits) | u64 |
//! | 64 | packet_seq_num | u64 |
//! | 72 | events_discarded | u64 |
//! | 80 | cpu_id | u32 |

/// CTF data packet magic.
pub const CTF_MAGIC: u32 = 0xC1FC_1FC1;
/// Bytes of header plus context; the default space writers leave at the start
/// of each sub-buffer.
pub const HEADER_SIZE: usize = 84;

/// The values of one packet's header and context.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketFields {
    pub uuid: [u8; 16],
    pub stream_id: u32,
    pub stream_instance_id: u64,
    pub timestamp_begin: u64,
    pub timestamp_end: u64,
    /// Bits of meaningful data, header included.
    pub content_size: u64,
    /// Bits including padding.
    pub packet_size: u64,
    pub packet_seq_num: u64,
    /// Cumulative count of records lost in this stream up to this packet's end.
    pub events_discarded: u64,
    pub cpu_id: u32,
}

/// Fill the first [`HEADER_SIZE`] bytes of `buf`. Returns `false` (and writes
/// nothing) if `buf` is shorter.
pub fn write_header(buf: &mut [u8], f: &PacketFields) -> bool {
    let Some(h) = buf.get_mut(..HEADER_SIZE) else {
        return false;
    };
    h[0..4].copy_from_slice(&CTF_MAGIC.to_le_bytes());
    h[4..20].copy_from_slice(&f.uuid);
    h[20..24].copy_from_slice(&f.stream_id.to_le_bytes());
    h[24..32].copy_from_slice(&f.stream_instance_id.to_le_bytes());
    h[32..40].copy_from_slice(&f.timestamp_begin.to_le_bytes());
    h[40..48].copy_from_slice(&f.timestamp_end.to_le_bytes());
    h[48..56].copy_from_slice(&f.content_size.to_le_bytes());
    h[56..64].copy_from_slice(&f.packet_size.to_le_bytes());
    h[64..72].copy_from_slice(&f.packet_seq_num.to_le_bytes());
    h[72..80].copy_from_slice(&f.events_discarded.to_le_bytes());
    h[80..84].copy_from_slice(&f.cpu_id.to_le_bytes());
    true
}

/// Decode a header written by [`write_header`]; `None` if too short or the
/// magic is wrong.
pub fn read_header(buf: &[u8]) -> Option<PacketFields> {
    let h = buf.get(..HEADER_SIZE)?;
    let u32_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().unwrap_or([0; 4]));
    let u64_at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap_or([0; 8]));
    if u32_at(0) != CTF_MAGIC {
        return None;
    }
    let mut uuid = [0u8; 16];
    uuid.copy_from_slice(&h[4..20]);
    Some(PacketFields {
        uuid,
        stream_id: u32_at(20),
        stream_instance_id: u64_at(24),
        timestamp_begin: u64_at(32),
        timestamp_end: u64_at(40),
        content_size: u64_at(48),
        packet_size: u64_at(56),
        packet_seq_num: u64_at(64),
        events_discarded: u64_at(72),
        cpu_id: u32_at(80),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let f = PacketFields {
            uuid: [7; 16],
            stream_id: 3,
            stream_instance_id: 1,
            timestamp_begin: 10,
            timestamp_end: 20,
            content_size: 84 * 8,
            packet_size: 4096 * 8,
            packet_seq_num: 5,
            events_discarded: 9,
            cpu_id: 1,
        };
        let mut b = [0u8; 100];
        assert!(write_header(&mut b, &f));
        assert_eq!(&b[0..4], &[0xC1, 0x1F, 0xFC, 0xC1]);
        assert_eq!(b[80], 1);
        assert_eq!(read_header(&b), Some(f));
        assert!(!write_header(&mut b[..83], &f));
    }
}
