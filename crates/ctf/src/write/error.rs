//! The writer's error type.

use std::path::PathBuf;

/// Why writing a trace failed. IO errors carry the file they concern, so a
/// binary can report them in one line.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("the metadata has no stream class with id {0}")]
    UnknownStreamClass(u64),
    #[error("{}: a packet is already open", .0.display())]
    PacketOpen(PathBuf),
    #[error("{}: no packet is open", .0.display())]
    NoPacketOpen(PathBuf),
    #[error("{}: packet of {bits} bits exceeds the maximum of {max_bits} bits", path.display())]
    PacketTooLarge {
        path: PathBuf,
        bits: u64,
        max_bits: u64,
    },
    #[error("{scope} field `{field}` ({size} bits) cannot hold {value}")]
    ValueTooLarge {
        scope: &'static str,
        field: String,
        size: u32,
        value: u64,
    },
    #[error("{scope} field `{field}`: {what} cannot be filled by name")]
    Unsupported {
        scope: &'static str,
        field: String,
        what: &'static str,
    },
}

impl WriteError {
    /// Wraps an IO error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> WriteError {
        let path = path.into();
        move |error| WriteError::Io { path, error }
    }
}
