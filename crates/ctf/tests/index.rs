//! LTTng index files agree with the packets they describe.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ltt_ctf::compiled::CompiledTrace;
use ltt_ctf::index::read_index;
use ltt_ctf::stream::StreamReader;
use ltt_ctf::trace::{data_files, find_trace_dirs, read_metadata};

fn fixtures() -> PathBuf {
    std::env::var_os("LTT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"))
}

#[test]
fn lttng_indexes_match_a_scan_of_the_packets() {
    let root = fixtures().join("lttng");
    assert!(
        root.is_dir(),
        "fixtures missing at {}: set LTT_FIXTURES",
        root.display()
    );
    let mut checked = 0;
    for dir in find_trace_dirs(&root).unwrap() {
        let trace = Arc::new(CompiledTrace::new(read_metadata(&dir).unwrap()).unwrap());
        for file in data_files(&dir).unwrap() {
            let Some(indexed) = read_index(&file, 0) else {
                continue;
            };
            let scanned = StreamReader::new(Arc::clone(&trace), vec![file.clone()])
                .scan()
                .unwrap();
            assert_eq!(indexed, scanned, "{}", file.display());
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} indexed files");
}
