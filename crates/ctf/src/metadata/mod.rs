//! TSDL metadata: the model, the parser, and packetized-metadata decoding.
//!
//! [`read_metadata`] takes a `metadata` file's bytes (packetized or text)
//! and returns the [`Metadata`] model with every type resolved; [`parse`]
//! does the same from TSDL text. Errors carry a line and column (or a byte
//! offset for packet-level problems). Any input is safe: no panic, bounded
//! recursion, bounded memory growth from nested typealiases.

mod blocks;
mod enums;
mod error;
mod lexer;
pub mod model;
mod packetized;
mod parser;
mod refs;
mod scalars;
mod types;
mod values;

pub use error::MetadataError;
pub use model::*;
pub use packetized::{
    decode_packetized, is_packetized, PacketizedMetadata, METADATA_PACKET_HEADER_LEN,
    METADATA_PACKET_MAGIC,
};
pub use parser::parse;

/// Reads a metadata stream, packetized or plain text.
///
/// Plain text must be UTF-8; a leading `/* CTF M.N` signature, when
/// present, must say 1.8 (babeltrace checks it too). For packetized
/// metadata, the packets' UUID must match the `trace` block's when both
/// are given.
pub fn read_metadata(bytes: &[u8]) -> Result<Metadata, MetadataError> {
    if is_packetized(bytes) {
        let packets = decode_packetized(bytes)?;
        let metadata = parse(&packets.text)?;
        if let (Some(packet_uuid), Some(trace_uuid)) = (packets.uuid, metadata.trace.uuid) {
            if packet_uuid != trace_uuid {
                return Err(MetadataError::at_offset(
                    4,
                    "metadata packet UUID differs from the trace block's `uuid`",
                ));
            }
        }
        return Ok(metadata);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        MetadataError::at_offset(e.valid_up_to() as u64, "metadata text is not valid UTF-8")
    })?;
    check_signature(text)?;
    parse(text)
}

/// Checks the version in a leading `/* CTF M.N` comment, if there is one.
fn check_signature(text: &str) -> Result<(), MetadataError> {
    let Some(rest) = text.strip_prefix("/* CTF ") else {
        return Ok(());
    };
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = version.splitn(2, '.');
    let major = parts.next().and_then(|s| s.parse::<u32>().ok());
    let minor = parts
        .next()
        .and_then(|s| s.split('.').next())
        .and_then(|s| s.parse::<u32>().ok());
    match (major, minor) {
        (Some(1), Some(8)) | (None, _) | (_, None) => Ok(()),
        (Some(major), Some(minor)) => Err(MetadataError::in_text(
            text,
            7,
            format!("metadata signature says CTF {major}.{minor}; only CTF 1.8 is supported"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_versions() {
        assert!(check_signature("/* CTF 1.8 */").is_ok());
        assert!(check_signature("/* CTF 1.8\n *").is_ok());
        assert!(check_signature("trace {}").is_ok());
        assert!(check_signature("/* CTF x */").is_ok());
        let e = check_signature("/* CTF 2.0 */").unwrap_err();
        assert_eq!((e.line, e.column), (1, 8));
    }
}
