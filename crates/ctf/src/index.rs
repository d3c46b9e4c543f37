//! LTTng index files (`index/FILE.idx`, big-endian): one entry per packet
//! of a stream file, so a reader can list packets without reading them.
//! An index is used only if it passes babeltrace2's checks; otherwise the
//! caller scans the packets, with the same result.

use std::path::Path;

use crate::stream::PacketRef;

const MAGIC: u32 = 0xC1F1_DCC1;
const HEADER: usize = 16;
/// Size of a version 1.0 entry; 1.1 adds stream_instance_id and packet_seq_num.
const ENTRY_1_0: usize = 56;

/// The packets of `data_file` (file number `file` of its stream) from its
/// index, or `None` when there is none or it is not valid.
pub fn read_index(data_file: &Path, file: usize) -> Option<Vec<PacketRef>> {
    let name = data_file.file_name()?;
    let mut idx_name = name.to_os_string();
    idx_name.push(".idx");
    let idx = data_file.parent()?.join("index").join(idx_name);
    let bytes = std::fs::read(idx).ok()?;
    let data_len = std::fs::metadata(data_file).ok()?.len();
    parse(&bytes, file, data_len)
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Parses and validates an index for a data file of `data_len` bytes.
fn parse(bytes: &[u8], file: usize, data_len: u64) -> Option<Vec<PacketRef>> {
    if be32(bytes, 0)? != MAGIC || be32(bytes, 4)? != 1 {
        return None;
    }
    let minor = be32(bytes, 8)?;
    let entry = be32(bytes, 12)? as usize;
    if entry < ENTRY_1_0 || !(bytes.len() - HEADER).is_multiple_of(entry) {
        return None;
    }
    let mut packets = Vec::with_capacity((bytes.len() - HEADER) / entry);
    let mut next = 0u64;
    for e in bytes[HEADER..].chunks_exact(entry) {
        let offset = be64(e, 0)?;
        let packet_size = be64(e, 8)?;
        let content_size = be64(e, 16)?;
        let (begin, end) = (be64(e, 24)?, be64(e, 32)?);
        // Packets must follow each other exactly and fit the file.
        if offset != next
            || packet_size == 0
            || !packet_size.is_multiple_of(8)
            || content_size > packet_size
            || end < begin
        {
            return None;
        }
        next = offset.checked_add(packet_size / 8)?;
        let seq_num = if minor >= 1 && entry >= ENTRY_1_0 + 16 {
            Some(be64(e, 64)?)
        } else {
            None
        };
        packets.push(PacketRef {
            file,
            offset,
            packet_size,
            timestamp_begin: Some(begin),
            timestamp_end: Some(end),
            seq_num,
        });
    }
    (next == data_len).then_some(packets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(entries: &[[u64; 9]]) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [MAGIC, 1, 1, 72] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        for e in entries {
            for v in e {
                b.extend_from_slice(&v.to_be_bytes());
            }
        }
        b
    }

    #[test]
    fn valid_index_lists_packets() {
        let b = index(&[
            [0, 8192, 8000, 10, 20, 0, 0, 0, 0],
            [1024, 8192, 100, 20, 30, 0, 0, 0, 1],
        ]);
        let p = parse(&b, 3, 2048).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[1].file, p[1].offset, p[1].seq_num), (3, 1024, Some(1)));
    }

    #[test]
    fn inconsistent_indexes_are_refused() {
        let ok = [0, 8192, 8000, 10, 20, 0, 0, 0, 0];
        assert!(
            parse(&index(&[ok]), 0, 2048).is_none(),
            "sizes must add up to the file"
        );
        let mut gap = ok;
        gap[0] = 8;
        assert!(
            parse(&index(&[gap]), 0, 1032).is_none(),
            "packets must be contiguous"
        );
        let mut back = ok;
        back[4] = 5;
        assert!(
            parse(&index(&[back]), 0, 1024).is_none(),
            "end before begin"
        );
        let mut b = index(&[ok]);
        b[0] = 0;
        assert!(parse(&b, 0, 1024).is_none(), "magic");
        assert!(parse(&b[..20], 0, 1024).is_none(), "truncated");
    }
}
