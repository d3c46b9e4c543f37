//! TSDL metadata: the model, the parser, and packetized-metadata decoding.

pub mod model;
pub use model::*;
