//! Metadata and data both fuzzed: bytes 0-1 (LE) are the metadata length n,
//! then n bytes of metadata (packetized or text), then stream data decoded
//! with `StreamReader` when the metadata compiles. Seeds: `fuzz/corpus/trace`.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/targets.rs");

fuzz_target!(|data: &[u8]| ctf_fuzz::fuzz_trace(data));
