//! TSDL metadata that reads prints with `to_tsdl` and parses back to the
//! same model. Seeds: `fuzz/corpus/metadata`.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/targets.rs");

fuzz_target!(|data: &[u8]| ctf_fuzz::fuzz_metadata_roundtrip(data));
