//! Writing CTF 1.8 traces: the inverse of the reader.
//!
//! The one idea: every field is appended to a packet-sized [`BitWriter`]
//! whose bit 0 is the first bit of the packet, so the CTF alignment rules
//! (relative to the packet start) apply exactly as when reading; sizes that
//! are only known when a packet closes (`content_size`, `packet_size`,
//! `timestamp_end`, `events_discarded`) are back-patched in place before the
//! packet goes to the file.
//!
//! - [`BitWriter`]: bit-exact field encoding (both byte orders, any offset).
//! - [`to_tsdl`]: a [`Metadata`] model printed as TSDL text that our parser
//!   and babeltrace2 read back to the same model.
//! - [`packetize_metadata`]: LTTng-style metadata packets.
//! - [`TraceWriter`] / [`StreamWriter`]: a trace directory with `metadata`,
//!   stream files made of page-padded packets, and optional LTTng indexes.
//! - [`SchemaBuilder`], [`HeaderState`], [`encode_large_header`]: an
//!   LTTng-like schema and its event-header encoding rule, for the tracer and
//!   for tests.
//!
//! [`Metadata`]: crate::metadata::Metadata

mod bits;
mod error;
mod packetize;
#[doc(hidden)]
pub mod random;
mod schema;
mod stream;
pub mod tsdl;

pub use bits::BitWriter;
pub use error::WriteError;
pub use packetize::{packetize_metadata, METADATA_PACKET_HEADER_BYTES, METADATA_PACKET_MAGIC};
pub use schema::{
    encode_compact_header, encode_large_header, int_type, large_event_header, HeaderState,
    SchemaBuilder, COMPACT_EXTENDED_ID, LARGE_EXTENDED_ID,
};
pub use stream::{
    PacketInfo, StreamWriter, TraceWriter, WriterOptions, CTF_MAGIC, INDEX_ENTRY_BYTES,
    INDEX_HEADER_BYTES, INDEX_MAGIC,
};
pub use tsdl::to_tsdl;
