//! TSDL metadata (packetized or text): `read_metadata` then `CompiledTrace::new`
//! must return Ok or Err, never panic. Seeds: `fuzz/corpus/metadata`.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/targets.rs");

fuzz_target!(|data: &[u8]| ctf_fuzz::fuzz_metadata(data));
