//! The Babeltrace 2 processing model in Rust: messages flow from sources
//! (`source.ctf.fs`) through filters (muxer, trimmer) to sinks (pretty
//! text, details, counter, dummy, CTF). Iterators lend their messages:
//! an event borrows its decoded values in place, so nothing is copied or
//! allocated per event.

pub mod checked;
pub mod clock;
pub mod color;
pub mod feed;
pub mod filter;
pub mod ir;
pub mod iter;
pub mod message;
pub mod muxer;
pub mod sink;
pub mod source;
pub mod text;
pub mod timefmt;
pub mod trimmer;

pub use iter::MessageIterator;
pub use message::{Message, MessageKind};

/// A graph error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Ctf(#[from] ltt_ctf::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

/// Formats a UUID the canonical way.
pub fn format_uuid(u: &[u8; 16]) -> String {
    let h: Vec<String> = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..].concat()
    )
}
