//! CTF 1.8: the metadata model and its TSDL parser, bit-exact decoding of
//! data streams, and the writer. The one idea: a trace's metadata compiles
//! into a flat layout program per scope; events decode by running it over a
//! bounded window of the stream file, into a reused slot buffer.

pub mod metadata;
