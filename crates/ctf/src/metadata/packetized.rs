//! Packetized metadata: what LTTng writes to disk and serves live. Each
//! packet is a 37-byte header (magic, uuid, checksum, content and packet
//! sizes in bits, three scheme bytes, version) and a slice of TSDL text; the
//! text is the concatenation of the slices (cut anywhere, even mid-token or
//! mid-character). Rejected like babeltrace: checksums, compression,
//! encryption, versions other than 1.8, inconsistent sizes, UUID changes.

use super::error::MetadataError;
use super::model::ByteOrder;

/// The metadata packet magic number, in the metadata's byte order.
pub const METADATA_PACKET_MAGIC: u32 = 0x75D1_1D57;

/// Size of a metadata packet header in bytes.
pub const METADATA_PACKET_HEADER_LEN: usize = 37;

/// The text of a packetized metadata stream and what its headers said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketizedMetadata {
    pub text: String,
    /// The UUID in the packet headers (identical in all of them).
    pub uuid: Option<[u8; 16]>,
    /// The byte order of the packet headers (that of the magic).
    pub byte_order: ByteOrder,
}

/// Whether `bytes` starts with a metadata packet magic (either byte order).
pub fn is_packetized(bytes: &[u8]) -> bool {
    magic_order(bytes).is_some()
}

fn magic_order(bytes: &[u8]) -> Option<ByteOrder> {
    let head: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    if u32::from_le_bytes(head) == METADATA_PACKET_MAGIC {
        Some(ByteOrder::Little)
    } else if u32::from_be_bytes(head) == METADATA_PACKET_MAGIC {
        Some(ByteOrder::Big)
    } else {
        None
    }
}

/// One packet header, decoded.
struct Header {
    magic: u32,
    uuid: [u8; 16],
    checksum: u32,
    content_bits: u32,
    packet_bits: u32,
    schemes: [u8; 3],
    version: (u8, u8),
}

impl Header {
    fn read(h: &[u8; METADATA_PACKET_HEADER_LEN], order: ByteOrder) -> Header {
        let u32_at = |at: usize| {
            let b = [h[at], h[at + 1], h[at + 2], h[at + 3]];
            match order {
                ByteOrder::Little => u32::from_le_bytes(b),
                ByteOrder::Big => u32::from_be_bytes(b),
            }
        };
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&h[4..20]);
        Header {
            magic: u32_at(0),
            uuid,
            checksum: u32_at(20),
            content_bits: u32_at(24),
            packet_bits: u32_at(28),
            schemes: [h[32], h[33], h[34]],
            version: (h[35], h[36]),
        }
    }

    /// Why this header is unacceptable, if it is; `room` is how many bytes
    /// are left from the packet start.
    fn problem(&self, room: usize) -> Option<String> {
        let (content, packet) = (self.content_bits, self.packet_bits);
        let header_bits = (METADATA_PACKET_HEADER_LEN * 8) as u32;
        Some(if self.magic != METADATA_PACKET_MAGIC {
            format!("bad metadata packet magic 0x{:08x}", self.magic)
        } else if self.version != (1, 8) {
            format!(
                "invalid metadata packet version {}.{} (expected 1.8)",
                self.version.0, self.version.1
            )
        } else if self.checksum != 0 || self.schemes[2] != 0 {
            "metadata packet checksums are not supported".to_string()
        } else if self.schemes[0] != 0 {
            "compressed metadata packets are not supported".to_string()
        } else if self.schemes[1] != 0 {
            "encrypted metadata packets are not supported".to_string()
        } else if packet == 0 || packet & 7 != 0 {
            format!("invalid metadata packet size {packet} bits")
        } else if content & 7 != 0 || content < header_bits {
            format!("invalid metadata packet content size {content} bits")
        } else if content > packet {
            format!(
                "metadata packet content size {content} bits exceeds its packet size {packet} bits"
            )
        } else if packet as usize / 8 > room {
            format!(
                "metadata packet of {} bytes extends past the end of the stream ({room} bytes left)",
                packet / 8
            )
        } else {
            return None;
        })
    }
}

/// Concatenates the payloads of the metadata packets in `bytes`.
pub fn decode_packetized(bytes: &[u8]) -> Result<PacketizedMetadata, MetadataError> {
    let order = magic_order(bytes).ok_or_else(|| {
        MetadataError::at_offset(0, "not a packetized metadata stream (no magic)")
    })?;
    let mut text = Vec::with_capacity(bytes.len());
    // Where each packet's payload starts in `text` and in `bytes`, to report
    // invalid UTF-8 at its position in the stream.
    let mut starts: Vec<(usize, usize)> = Vec::new();
    let mut uuid: Option<[u8; 16]> = None;
    let mut at = 0usize;
    while at < bytes.len() {
        let Some(raw) = bytes
            .get(at..at + METADATA_PACKET_HEADER_LEN)
            .and_then(|h| <&[u8; METADATA_PACKET_HEADER_LEN]>::try_from(h).ok())
        else {
            return Err(MetadataError::at_offset(
                at as u64,
                "truncated metadata packet header",
            ));
        };
        let h = Header::read(raw, order);
        if let Some(why) = h.problem(bytes.len() - at) {
            return Err(MetadataError::at_offset(at as u64, why));
        }
        match uuid {
            None => uuid = Some(h.uuid),
            Some(u) if u != h.uuid => {
                return Err(MetadataError::at_offset(
                    at as u64,
                    "metadata packet UUID differs from the first packet's",
                ))
            }
            Some(_) => {}
        }
        starts.push((text.len(), at + METADATA_PACKET_HEADER_LEN));
        text.extend_from_slice(
            &bytes[at + METADATA_PACKET_HEADER_LEN..at + h.content_bits as usize / 8],
        );
        at += h.packet_bits as usize / 8;
    }
    let text = String::from_utf8(text).map_err(|e| {
        let bad = e.utf8_error().valid_up_to();
        let (text_start, file_start) = starts
            .iter()
            .rev()
            .find(|(t, _)| *t <= bad)
            .copied()
            .unwrap_or((0, 0));
        MetadataError::at_offset(
            (file_start + bad - text_start) as u64,
            "metadata text is not valid UTF-8",
        )
    })?;
    Ok(PacketizedMetadata {
        text,
        uuid,
        byte_order: order,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian metadata packet holding `payload`, padded to `pad`.
    fn packet(payload: &[u8], pad: usize, uuid: [u8; 16]) -> Vec<u8> {
        let content = METADATA_PACKET_HEADER_LEN + payload.len();
        let size = content + pad;
        let mut p = Vec::new();
        p.extend_from_slice(&METADATA_PACKET_MAGIC.to_le_bytes());
        p.extend_from_slice(&uuid);
        p.extend_from_slice(&0u32.to_le_bytes());
        p.extend_from_slice(&((content * 8) as u32).to_le_bytes());
        p.extend_from_slice(&((size * 8) as u32).to_le_bytes());
        p.extend_from_slice(&[0, 0, 0, 1, 8]);
        p.extend_from_slice(payload);
        p.resize(size, 0);
        p
    }

    #[test]
    fn payloads_concatenate_across_packets() {
        let mut bytes = packet(b"trace { ma", 5, [7; 16]);
        bytes.extend(packet(b"jor = 1; };", 0, [7; 16]));
        let m = decode_packetized(&bytes).unwrap();
        assert_eq!(m.text, "trace { major = 1; };");
        assert_eq!(m.uuid, Some([7; 16]));
        assert_eq!(m.byte_order, ByteOrder::Little);
    }

    #[test]
    fn utf8_split_between_packets_is_fine_but_invalid_utf8_is_located() {
        let mut bytes = packet(&[b'a', 0xC3], 3, [0; 16]);
        bytes.extend(packet(&[0xA9], 0, [0; 16]));
        assert_eq!(decode_packetized(&bytes).unwrap().text, "aé");
        let first = packet(b"ab", 0, [0; 16]);
        let mut bytes = first.clone();
        bytes.extend(packet(&[b'c', 0xFF], 0, [0; 16]));
        let e = decode_packetized(&bytes).unwrap_err();
        assert_eq!(
            e.offset,
            Some((first.len() + METADATA_PACKET_HEADER_LEN + 1) as u64)
        );
    }

    #[test]
    fn bad_packets_are_rejected_with_their_offset() {
        let good = packet(b"x", 0, [1; 16]);
        let bad_uuid = packet(b"y", 0, [2; 16]);
        let e = decode_packetized(&[good.clone(), bad_uuid].concat()).unwrap_err();
        assert_eq!(e.offset, Some(good.len() as u64));
        assert!(e.message.contains("UUID"), "{e}");

        let mut v = good.clone();
        v[35] = 2;
        assert!(decode_packetized(&v)
            .unwrap_err()
            .message
            .contains("version 2.8"));
        for (at, what) in [(20, "checksum"), (32, "compressed"), (33, "encrypted")] {
            let mut v = good.clone();
            v[at] = 1;
            assert!(decode_packetized(&v).unwrap_err().message.contains(what));
        }
        let mut v = good.clone();
        v[28..32].copy_from_slice(&0u32.to_le_bytes());
        assert!(decode_packetized(&v).is_err());
        let mut v = good.clone();
        v[24..28].copy_from_slice(&(8u32 * 100).to_le_bytes());
        assert!(decode_packetized(&v)
            .unwrap_err()
            .message
            .contains("exceeds"));
        let mut v = good.clone();
        v[24..28].copy_from_slice(&8u32.to_le_bytes());
        assert!(decode_packetized(&v).is_err());
        let mut v = good.clone();
        v[28..32].copy_from_slice(&(8u32 * 4096).to_le_bytes());
        v[24..28].copy_from_slice(&(8u32 * 4096).to_le_bytes());
        assert!(decode_packetized(&v)
            .unwrap_err()
            .message
            .contains("past the end"));
        let mut v = good.clone();
        v.extend_from_slice(&[0x57, 0x1D]);
        assert_eq!(
            decode_packetized(&v).unwrap_err().offset,
            Some(good.len() as u64)
        );
        assert!(decode_packetized(b"trace").is_err());
    }

    #[test]
    fn big_endian_packets() {
        let mut p = packet(b"abc", 0, [0; 16]);
        for range in [0..4, 20..24, 24..28, 28..32] {
            p[range].reverse();
        }
        assert!(is_packetized(&p));
        let m = decode_packetized(&p).unwrap();
        assert_eq!((m.text.as_str(), m.byte_order), ("abc", ByteOrder::Big));
    }
}
