//! The crate's error type: every error names the file it concerns.

use std::path::{Path, PathBuf};

use crate::metadata::MetadataError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: {error}", path.display())]
    Metadata { path: PathBuf, error: MetadataError },
    #[error("{}: packet at byte offset {offset}: {message}", path.display())]
    Packet {
        path: PathBuf,
        offset: u64,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Trace { path: PathBuf, message: String },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            error: source,
        }
    }

    pub(crate) fn trace(path: &Path, message: impl Into<String>) -> Self {
        Error::Trace {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
