//! Round trip through the CTF writer: `ltt convert -o ctf` on every
//! fixture trace, then real babeltrace2 on the result prints the same text
//! as real babeltrace2 on the original (trace names and stream paths aside).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{first_difference, fixtures, ltt, require_tool};

/// Runs babeltrace2 on `path`; returns (stdout, warnings with stream paths
/// and trace names masked).
fn babeltrace2(path: &Path) -> (String, String) {
    let out = Command::new("babeltrace2")
        .arg(path)
        .env("TZ", "UTC")
        .output()
        .expect("run babeltrace2");
    assert!(
        out.status.success(),
        "babeltrace2 {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let warnings = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("WARNING"))
        .map(|l| {
            // Keep the message up to the trace name: the rest names paths.
            let cut = l.find(" in trace ").unwrap_or(l.len());
            format!("{}\n", &l[..cut])
        })
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), warnings)
}

fn trace_inputs() -> Vec<PathBuf> {
    let fx = fixtures();
    let mut inputs = Vec::new();
    let lttng = fx.join("lttng");
    for name in ["basic", "rotation", "overwrite", "discard", "streamed"] {
        inputs.push(lttng.join(name));
    }
    for sub in ["snapshot", "filters"] {
        for e in std::fs::read_dir(lttng.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                inputs.push(p);
            }
        }
    }
    let corpus = fx.join("babeltrace-corpus");
    for group in ["succeed", "packet-seq-num", "intersection"] {
        for e in std::fs::read_dir(corpus.join(group)).unwrap() {
            let p = e.unwrap().path();
            // babeltrace2 2.0.4 aborts on this one (fixed in 2.0.5).
            if p.is_dir() && !p.ends_with("meta-ctx-sequence") {
                inputs.push(p);
            }
        }
    }
    inputs.sort();
    inputs
}

#[test]
fn converted_traces_print_the_same_in_babeltrace2() {
    if !require_tool("babeltrace2") {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("ltt-roundtrip-{}", std::process::id()));
    let mut failures = Vec::new();
    let inputs = trace_inputs();
    for (i, input) in inputs.iter().enumerate() {
        let out_dir = tmp.join(i.to_string());
        let run = ltt(
            Path::new("/"),
            &[
                "convert",
                input.to_str().unwrap(),
                "-o",
                "ctf",
                "-w",
                out_dir.to_str().unwrap(),
            ],
        );
        if !run.status.success() {
            failures.push(format!(
                "{}: convert failed: {}",
                input.display(),
                String::from_utf8_lossy(&run.stderr)
            ));
            continue;
        }
        let (want, want_warn) = babeltrace2(input);
        if want.is_empty() && !out_dir.join("metadata").exists() {
            // A trace without streams: nothing for a reader to show.
            continue;
        }
        let (got, got_warn) = babeltrace2(&out_dir);
        if let Some(d) = first_difference(&want, &got) {
            failures.push(format!("{}: stdout differs at {d}", input.display()));
        } else if let Some(d) = first_difference(&want_warn, &got_warn) {
            failures.push(format!("{}: warnings differ at {d}", input.display()));
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    if !failures.is_empty() {
        panic!(
            "{} of {} traces differ:\n\n{}",
            failures.len(),
            inputs.len(),
            failures.join("\n\n")
        );
    }
}

/// Dropping events before the CTF sink (trimmer, filter) keeps every
/// remaining event exact: timestamps re-encoded across the gaps.
#[test]
fn trimmed_and_filtered_conversions_read_back_exactly() {
    if !require_tool("babeltrace2") {
        return;
    }
    let lttng = fixtures().join("lttng");
    let tmp = std::env::temp_dir().join(format!("ltt-roundtrip-cut-{}", std::process::id()));
    let cases: [(&str, &[&str]); 2] = [
        (
            "discard",
            &["--begin", "11:33:01.904", "--end", "11:33:01.908"],
        ),
        ("basic", &["--filter", "v > 50 || s8 < 0"]),
    ];
    for (i, (trace, opts)) in cases.iter().enumerate() {
        let out_dir = tmp.join(i.to_string());
        let mut args = vec!["convert", trace];
        args.extend_from_slice(opts);
        args.extend_from_slice(&["-o", "ctf", "-w", out_dir.to_str().unwrap()]);
        let run = ltt(&lttng, &args);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let mut view = vec!["view", trace];
        view.extend_from_slice(opts);
        let want = ltt(&lttng, &view);
        let (got, _) = babeltrace2(&out_dir);
        let want = String::from_utf8_lossy(&want.stdout);
        // Trace names differ (the output directory has no relative path).
        let strip = |s: &str| s.replace(" vm/ust/uid/0/64-bit ", " vm ");
        if let Some(d) = first_difference(&strip(&want), &strip(&got)) {
            panic!("{trace} {opts:?}: {d}");
        }
        assert!(!got.is_empty());
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
