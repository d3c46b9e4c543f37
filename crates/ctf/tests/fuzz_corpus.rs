//! Replays the cargo-fuzz corpora (`fuzz/corpus/{metadata,packet,trace}`) through
//! the very same checks the fuzz targets run (`fuzz/common/targets.rs`,
//! included below), each file as it is and in deterministic mutants, so a
//! plain `cargo test` catches regressions on every input the fuzzers ever
//! kept, without a nightly toolchain or libFuzzer. Checks: no panic, and
//! the reader ends within the bound its input allows (plus a wall-clock
//! watchdog for hangs inside a single call).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

include!("../../../fuzz/common/targets.rs");

/// Mutants of each corpus file.
const MUTANTS: u64 = 50;
/// Wall-clock budget of one corpus replay (debug build).
const WATCHDOG: Duration = Duration::from_secs(600);

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files
}

/// SplitMix64: a fixed, dependency-free PRNG so mutants are the same on
/// every run and machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Mutant `k` of `data`: 1 to 4 edits (byte flips mostly, also boundary
/// values, 8-byte all-ones words and truncation). `keep` leading bytes are
/// never touched (the packet target's metadata selector).
fn mutant(data: &[u8], seed: u64, k: u64, keep: usize) -> Vec<u8> {
    let mut rng = Rng(seed ^ k.wrapping_mul(0xA076_1D64_78BD_642F));
    let mut out = data.to_vec();
    if out.len() <= keep {
        out.extend_from_slice(&rng.next().to_le_bytes());
        return out;
    }
    let edits = 1 + rng.below(4);
    for _ in 0..edits {
        if out.len() <= keep {
            break;
        }
        let span = out.len() - keep;
        let at = keep + rng.below(span);
        match rng.below(8) {
            0..=3 => out[at] ^= 1 << rng.below(8),
            4 => out[at] = [0x00, 0xFF, 0x7F, 0x80, 0x01][rng.below(5)],
            5 => {
                let end = (at + 8).min(out.len());
                out[at..end].fill(0xFF);
            }
            6 => out.truncate(at),
            _ => out[at] = rng.next() as u8,
        }
    }
    out
}

fn name_seed(name: &str) -> u64 {
    // FNV-1a: a stable per-file seed.
    name.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01B3)
    })
}

/// Runs `check` over every corpus file of `target` and `MUTANTS` mutants
/// of each, on a worker thread under a watchdog; fails with the list of
/// inputs that panicked (mutants are written to the temp folder so they
/// can be replayed with `cargo fuzz run TARGET FILE`).
fn replay(target: &'static str, keep: usize, check: fn(&[u8])) {
    let current = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    let cur = Arc::clone(&current);
    let worker = std::thread::spawn(move || {
        let mut failures = Vec::new();
        let mut runs = 0u64;
        for path in corpus_files(target) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let data = std::fs::read(&path).expect("read corpus file");
            let seed = name_seed(&name);
            for k in 0..=MUTANTS {
                let input = if k == 0 {
                    data.clone()
                } else {
                    mutant(&data, seed, k, keep)
                };
                let label = if k == 0 {
                    name.clone()
                } else {
                    format!("{name} (mutant {k})")
                };
                *cur.lock().unwrap() = label.clone();
                runs += 1;
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| check(&input))) {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    let saved = std::env::temp_dir().join(format!("ltt-fuzz-{target}-{name}-{k}"));
                    let _ = std::fs::write(&saved, &input);
                    failures.push(format!("{label} [saved as {}]: {msg}", saved.display()));
                }
            }
        }
        let _ = tx.send((runs, failures));
    });
    let (runs, failures) = match rx.recv_timeout(WATCHDOG) {
        Ok(r) => r,
        Err(_) => panic!(
            "{target}: corpus replay did not finish within {WATCHDOG:?}; stuck on {}",
            current.lock().unwrap()
        ),
    };
    worker.join().expect("worker thread");
    assert!(
        failures.is_empty(),
        "{target}: {} of {runs} inputs panicked:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn metadata_corpus_never_panics() {
    replay("metadata", 0, ctf_fuzz::fuzz_metadata);
}

#[test]
fn metadata_corpus_round_trips() {
    replay("metadata", 0, ctf_fuzz::fuzz_metadata_roundtrip);
}

#[test]
fn packet_corpus_never_panics_and_terminates() {
    replay("packet", 1, ctf_fuzz::fuzz_packet);
}

#[test]
fn trace_corpus_never_panics_and_terminates() {
    replay("trace", 2, ctf_fuzz::fuzz_trace);
}

/// The packet target's fixed metadata all read and compile, and every one
/// has at least one real data file in the corpus.
#[test]
fn packet_seed_metadata_compile_and_have_data() {
    let files = corpus_files("packet");
    for (i, (name, _)) in ctf_fuzz::SEED_METADATA.iter().enumerate() {
        let trace = ctf_fuzz::seed_trace(i);
        assert!(!trace.streams.is_empty(), "{name}: no stream class");
        let prefix = format!("real-{i:02}-");
        assert!(
            files.iter().any(|f| f
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&prefix)),
            "no corpus file {prefix}* for seed metadata {name}"
        );
    }
}

/// The real (unmutated) stream files decode to the end, with events: the
/// corpus exercises the decoder, not only its error paths.
#[test]
fn real_packet_seeds_decode_events() {
    use ltt_ctf::stream::{Item, StreamReader};
    let mut with_events = 0;
    for path in corpus_files("packet") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("real-") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let (index, split) = ctf_fuzz::packet_selector(data[0]);
        if split {
            continue;
        }
        let file =
            std::env::temp_dir().join(format!("ltt-fuzz-seed-{}-{name}", std::process::id()));
        std::fs::write(&file, &data[1..]).unwrap();
        let mut r = StreamReader::new(ctf_fuzz::seed_trace(index), vec![file.clone()]);
        let mut events = 0u64;
        let result = loop {
            match r.next_item() {
                Ok(Item::End) => break Ok(()),
                Ok(Item::Event) => events += 1,
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        let _ = std::fs::remove_file(&file);
        if events > 0 {
            with_events += 1;
        }
        // Decoding errors are expected only where the data is known bad
        // (failing babeltrace traces, truncated copies).
        if let Err(e) = result {
            assert!(
                name.contains("invalid")
                    || name.contains("fail")
                    || name.contains("succeed1-2packets")
                    || name.contains("kernel-ch0"),
                "{name}: {e}"
            );
        }
    }
    assert!(
        with_events >= 10,
        "only {with_events} real seeds decoded events"
    );
}
