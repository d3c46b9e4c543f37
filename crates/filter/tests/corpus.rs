//! Replays the fuzzing seed corpus (`tests/corpus/parse`, `tests/corpus/bytecode`)
//! through the same entry points cargo-fuzz uses, plus cheap deterministic
//! mutations of every seed (truncations, byte flips), so that the fuzz
//! targets' checks run in every `cargo test`.
//!
//! `LTT_FILTER_WRITE_CORPUS=1 cargo test -p ltt-filter --test corpus`
//! regenerates the bytecode seeds from the parse seeds.

use std::path::{Path, PathBuf};

use ltt_filter::fuzzing::{fuzz_bytecode, fuzz_parse, SampleEvent};
use ltt_filter::{compile_str, Bytecode};

fn corpus(kind: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(kind);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .map(|p| {
            let b =
                std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            (p, b)
        })
        .collect();
    files.sort();
    files
}

fn name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn parse_corpus() {
    let files = corpus("parse");
    assert!(files.len() >= 90, "parse corpus has {} files", files.len());
    for (path, data) in &files {
        fuzz_parse(data);
        // Every prefix, too: unfinished expressions must fail cleanly.
        for end in 0..data.len() {
            fuzz_parse(&data[..end]);
        }
        let ok = compile_str(std::str::from_utf8(data).expect("utf-8 seed"), None).is_ok();
        let n = name(path);
        let refused = n.starts_with("err_")
            || ["f22.txt", "f42.txt", "f43.txt", "f44.txt"].contains(&n.as_str());
        assert_eq!(ok, !refused, "{n}");
    }
}

#[test]
fn bytecode_corpus() {
    let files = corpus("bytecode");
    assert!(
        files.len() >= 20,
        "bytecode corpus has {} files",
        files.len()
    );
    for (path, data) in &files {
        fuzz_bytecode(data);
        let n = name(path);
        assert_eq!(
            Bytecode::from_bytes(data).is_ok(),
            !n.starts_with("bad_"),
            "{n}"
        );
        // Flip every byte a few ways and truncate everywhere.
        let mut m = data.clone();
        for i in 0..data.len() {
            for x in [0x00, 0xff, 0x01, 0x80] {
                m[i] = data[i] ^ x;
                fuzz_bytecode(&m);
            }
            m[i] = data[i];
            fuzz_bytecode(&data[..i]);
        }
    }
}

/// Bytecode that must be refused: each breaks one verifier rule.
fn bad_programs() -> Vec<(&'static str, Vec<u8>)> {
    fn program(consts: &[u8], refs: &[u8], code: &[&[u8]]) -> Vec<u8> {
        let mut v = b"LTTF\x01".to_vec();
        v.extend_from_slice(consts);
        v.extend_from_slice(refs);
        v.extend_from_slice(&(code.len() as u32).to_le_bytes());
        for c in code {
            v.extend_from_slice(c);
        }
        v
    }
    let none = &0u32.to_le_bytes()[..];
    let int1: &[u8] = &[1, 1, 0, 0, 0, 0, 0, 0, 0];
    let ret: &[u8] = &[0];
    let and_to = |t: u32| -> Vec<u8> {
        let mut v = vec![12];
        v.extend_from_slice(&t.to_le_bytes());
        v
    };
    vec![
        ("bad_magic", b"LTTX\x01".to_vec()),
        ("bad_version", b"LTTF\x09".to_vec()),
        ("bad_empty_code", program(none, none, &[])),
        ("bad_no_return", program(none, none, &[int1])),
        ("bad_underflow", program(none, none, &[ret])),
        (
            "bad_backward_jump",
            program(none, none, &[int1, &and_to(0), int1, ret]),
        ),
        (
            "bad_jump_outside",
            program(none, none, &[int1, &and_to(9), int1, ret]),
        ),
        (
            "bad_depth_mismatch",
            program(none, none, &[int1, &and_to(3), int1, int1, ret]),
        ),
        ("bad_stack_overflow", program(none, none, &[int1; 11])),
        (
            "bad_missing_const",
            program(none, none, &[&[3, 0, 0, 0, 0], ret]),
        ),
        (
            "bad_missing_ref",
            program(none, none, &[&[5, 7, 0, 0, 0], ret]),
        ),
        ("bad_unknown_opcode", program(none, none, &[&[99], ret])),
        (
            "bad_huge_count",
            program(&u32::MAX.to_le_bytes(), none, &[int1, ret]),
        ),
        ("bad_trailing", {
            let mut v = program(none, none, &[int1, ret]);
            v.push(0);
            v
        }),
        (
            "bad_unreachable",
            program(none, none, &[int1, ret, int1, ret]),
        ),
        ("bad_return_depth", program(none, none, &[int1, int1, ret])),
    ]
}

#[test]
fn write_bytecode_corpus() {
    if std::env::var_os("LTT_FILTER_WRITE_CORPUS").is_none() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/bytecode");
    let schema = SampleEvent::schema();
    for (path, data) in corpus("parse") {
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        let stem = name(&path).trim_end_matches(".txt").to_string();
        for (suffix, schema) in [("named", None), ("indexed", Some(&schema))] {
            if let Ok(bc) = compile_str(text, schema) {
                if bc.never_matches() && suffix == "indexed" {
                    continue;
                }
                std::fs::write(dir.join(format!("{stem}.{suffix}.bin")), bc.to_bytes())
                    .expect("write seed");
            }
        }
    }
    for (n, bytes) in bad_programs() {
        std::fs::write(dir.join(format!("{n}.bin")), bytes).expect("write seed");
    }
}

#[test]
fn bad_programs_are_refused_with_a_reason() {
    for (n, bytes) in bad_programs() {
        let e = Bytecode::from_bytes(&bytes).expect_err(n);
        assert!(
            e.to_string().starts_with("invalid filter bytecode at byte"),
            "{n}: {e}"
        );
    }
}
