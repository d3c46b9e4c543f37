//! Filter bytecode as a tracer receives it: loader/verifier, then the
//! interpreter on sample events (see `ltt_filter::fuzzing`).
//! Seeds: `crates/filter/tests/corpus/bytecode`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ltt_filter::fuzzing::fuzz_bytecode(data));
