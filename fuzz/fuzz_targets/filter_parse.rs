//! Filter expressions: lexer, parser, printer round trip, compiler, and the
//! interpreter against the reference evaluator (see `ltt_filter::fuzzing`).
//! Seeds: `crates/filter/tests/corpus/parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ltt_filter::fuzzing::fuzz_parse(data));
