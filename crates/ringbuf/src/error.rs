//! The crate's error type.

/// Errors of channel creation, mapping and consumption.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid ring-buffer configuration: {0}")]
    Config(&'static str),
    #[error("not a valid ring-buffer channel: {0}")]
    BadChannel(&'static str),
    #[error("stream {0} does not exist")]
    NoStream(usize),
    #[error("cannot run on CPU {cpu} to flush its buffer: {source}")]
    Pin {
        cpu: usize,
        #[source]
        source: std::io::Error,
    },
    #[error("flush of stream {0} kept aborting")]
    FlushAborted(usize),
    #[error("consumer did not catch up before the deadline ({0} streams still pending)")]
    Timeout(usize),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Why a record could not be reserved (each case is counted in the stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReserveError {
    /// No free sub-buffer (discard mode), or the one to reuse still has a
    /// record being written (overwrite mode): the record is dropped.
    #[error("buffer full: record discarded")]
    Full,
    /// The record does not fit in a sub-buffer.
    #[error("record larger than a sub-buffer")]
    TooBig,
}
