//! `ltt view` against the real babeltrace2 on inputs the recorded fixtures
//! do not cover: whole directories holding many traces (muxing across
//! traces), snapshot directories sharing a UUID (packet de-duplication),
//! and option variants. Debian's babeltrace2 2.0.4 prints an empty string
//! as an earlier string of the same stream (fixed in 2.0.5), so string
//! values are masked before comparing; the fixture tests check them.

mod common;

use std::path::Path;
use std::process::Command;

use common::{first_difference, fixtures, ltt, require_tool};

/// Replaces the contents of every double-quoted string with nothing.
fn mask_strings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_str = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
                out.push('"');
            }
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        out.push(c);
    }
    out
}

fn compare(cwd: &Path, args: &[&str]) -> Result<(), String> {
    let bt = Command::new("babeltrace2")
        .args(args)
        .current_dir(cwd)
        .env("TZ", "UTC")
        .output()
        .expect("run babeltrace2");
    let mut full = vec!["view"];
    full.extend_from_slice(args);
    let ours = ltt(cwd, &full);
    let what = format!("{} in {}", args.join(" "), cwd.display());
    if bt.status.success() != ours.status.success() {
        return Err(format!(
            "{what}: babeltrace2 {:?}, ltt {:?}: {}",
            bt.status.code(),
            ours.status.code(),
            String::from_utf8_lossy(&ours.stderr)
        ));
    }
    let want = mask_strings(&String::from_utf8_lossy(&bt.stdout));
    let got = mask_strings(&String::from_utf8_lossy(&ours.stdout));
    if let Some(d) = first_difference(&want, &got) {
        return Err(format!("{what}: stdout differs at {d}"));
    }
    let warnings = |o: &std::process::Output| -> String {
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .filter(|l| l.starts_with("WARNING"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    if let Some(d) = first_difference(&warnings(&bt), &warnings(&ours)) {
        return Err(format!("{what}: warnings differ at {d}"));
    }
    Ok(())
}

#[test]
fn whole_directories_and_merged_snapshots_match_babeltrace2() {
    if !require_tool("babeltrace2") {
        return;
    }
    let fx = fixtures();
    let lttng = fx.join("lttng");
    let corpus = fx.join("babeltrace-corpus");
    let cases: Vec<(&Path, Vec<&str>)> = vec![
        (&lttng, vec!["snapshot"]),
        (&lttng, vec!["filters"]),
        (&lttng, vec!["basic", "discard", "overwrite"]),
        (&lttng, vec!["basic", "--clock-gmt", "--clock-date"]),
        (&lttng, vec!["basic", "--clock-cycles"]),
        (
            &lttng,
            vec!["basic", "-n", "payload,scope", "-f", "loglevel,trace:vpid"],
        ),
        (
            &lttng,
            vec!["basic", "--clock-offset", "-3", "--clock-offset-ns", "5"],
        ),
        (
            &lttng,
            vec![
                "discard",
                "--begin",
                "11:33:01.904",
                "--end",
                "11:33:01.905",
            ],
        ),
        (&corpus, vec!["intersection"]),
        (&corpus, vec!["packet-seq-num"]),
        (&corpus, vec!["succeed/multi-domains"]),
        (
            &corpus,
            vec!["succeed/wk-heartbeat-u", "succeed/lttng-tracefile-rotation"],
        ),
    ];
    let mut failures = Vec::new();
    for (cwd, args) in &cases {
        if let Err(e) = compare(cwd, args) {
            failures.push(e);
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} of {} cases differ:\n\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n\n")
        );
    }
}

/// Every trace directory below `dir`, sorted.
fn trace_dirs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    if dir.join("metadata").is_file() {
        out.push(dir.to_path_buf());
    }
    let mut subdirs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    for d in subdirs {
        trace_dirs(&d, out);
    }
}

#[test]
fn ctf_metadata_output_matches_babeltrace2() {
    let root = fixtures();
    // The recorded expectation, without babeltrace2.
    let basic = root.join("lttng/basic/ust/uid/0/64-bit");
    let out = ltt(
        &root,
        &["view", "-o", "ctf-metadata", basic.to_str().unwrap()],
    );
    assert!(out.status.success());
    let expected = std::fs::read_to_string(root.join("lttng/basic.metadata.tsdl.txt")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    if !require_tool("babeltrace2") {
        return;
    }
    // babeltrace2 refuses metadata with syntax errors here; ltt prints any
    // text (see metadata_text.rs): the fail/ traces are left out.
    let mut dirs = Vec::new();
    trace_dirs(&root, &mut dirs);
    dirs.retain(|d| !d.to_string_lossy().contains("/fail/"));
    assert!(dirs.len() > 100, "{} trace directories", dirs.len());
    for d in &dirs {
        let d = d.to_str().unwrap();
        let theirs = Command::new("babeltrace2")
            .args(["-o", "ctf-metadata", d])
            .output()
            .unwrap();
        let ours = ltt(&root, &["view", "-o", "ctf-metadata", d]);
        assert_eq!(ours.status.success(), theirs.status.success(), "{d}");
        assert!(
            ours.stdout == theirs.stdout,
            "{d}: the metadata text differs"
        );
    }
}
