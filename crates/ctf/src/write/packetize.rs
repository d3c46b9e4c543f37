//! LTTng-style packetized metadata: what LTTng writes to disk and serves
//! over live, so that our traces look like theirs to every reader.

use super::BitWriter;
use crate::metadata::ByteOrder;

/// First field of every metadata packet; readers detect packetized
/// metadata (and its byte order) by it.
pub const METADATA_PACKET_MAGIC: u32 = 0x75D1_1D57;

/// Size of a metadata packet header: byte-packed, no alignment holes.
pub const METADATA_PACKET_HEADER_BYTES: usize = 37;

/// Splits TSDL `text` into metadata packets of exactly `packet_size_bytes`
/// bytes each (LTTng uses one page, 4096), the last one zero-padded.
///
/// Each packet has the 37-byte header (magic, `uuid`, checksum 0,
/// content_size and packet_size in bits, schemes 0, version 1.8) in
/// `byte_order`, then a slice of the text; text may be split anywhere, even
/// mid-token, as readers concatenate payloads. Empty text still gives one
/// (header-only) packet, so the file is never empty.
///
/// # Panics
/// If `packet_size_bytes` leaves no room for text after the header, or its
/// size in bits does not fit the header's 32-bit fields.
pub fn packetize_metadata(
    text: &str,
    uuid: [u8; 16],
    byte_order: ByteOrder,
    packet_size_bytes: usize,
) -> Vec<u8> {
    assert!(
        packet_size_bytes > METADATA_PACKET_HEADER_BYTES,
        "metadata packet size {packet_size_bytes} leaves no room for text"
    );
    let packet_bits =
        u32::try_from(packet_size_bytes * 8).expect("metadata packet size exceeds 32-bit bits");
    let room = packet_size_bytes - METADATA_PACKET_HEADER_BYTES;
    let bytes = text.as_bytes();
    let chunks: Vec<&[u8]> = if bytes.is_empty() {
        vec![&[][..]]
    } else {
        bytes.chunks(room).collect()
    };
    let mut w = BitWriter::with_capacity(chunks.len() * packet_size_bytes);
    for chunk in chunks {
        let start = w.bit_position();
        let content_bits = ((METADATA_PACKET_HEADER_BYTES + chunk.len()) * 8) as u64;
        w.write_uint(u64::from(METADATA_PACKET_MAGIC), 32, byte_order);
        w.write_bytes(&uuid);
        w.write_uint(0, 32, byte_order); // checksum: readers reject others
        w.write_uint(content_bits, 32, byte_order);
        w.write_uint(u64::from(packet_bits), 32, byte_order);
        w.write_bytes(&[0, 0, 0]); // compression, encryption, checksum schemes
        w.write_bytes(&[1, 8]); // CTF major, minor
        w.write_bytes(chunk);
        w.skip_to(start + u64::from(packet_bits));
    }
    w.into_bytes()
}
