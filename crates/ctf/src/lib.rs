//! CTF 1.8: the metadata model and its TSDL parser, bit-exact decoding of
//! data streams, and the writer. The one idea: a trace's metadata compiles
//! into a layout (an arena of nodes with field references resolved to
//! registers); events decode by running it over a bounded window of the
//! stream file into a reused slot buffer, and re-encode by running it the
//! other way.

pub mod bits;
pub mod body;
pub mod compiled;
pub mod decode;
pub mod encode;
mod error;
pub mod header;
pub mod index;
pub mod layout;
pub mod metadata;
mod packed;
pub mod program;
pub mod stream;
pub mod trace;
pub mod write;

pub use error::Error;
