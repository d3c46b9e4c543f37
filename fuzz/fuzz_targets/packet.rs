//! Data streams: byte 0 picks a seed metadata (`fuzz/seeds/metadata`), the
//! rest is decoded packet by packet, event by event with `StreamReader`.
//! Seeds: `fuzz/corpus/packet`.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/targets.rs");

fuzz_target!(|data: &[u8]| ctf_fuzz::fuzz_packet(data));
