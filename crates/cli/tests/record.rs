//! `ltt record` end to end: record the instrumented demo, read the trace
//! back with `ltt view` and with real babeltrace2, and check that the demo
//! is unaffected when there is no session (or a broken one).

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{assert_babeltrace2_prints, demo_bin, field, ltt, require_tool, scratch};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `ltt record -o OUT [extra...] -- ltt-demo demo_args...`
fn record(out: &Path, extra: &[&str], demo_args: &[&str]) -> Output {
    let demo = demo_bin().to_str().unwrap().to_string();
    let mut args = vec!["record", "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push("--");
    args.push(&demo);
    args.extend_from_slice(demo_args);
    let o = ltt(out.parent().unwrap(), &args);
    assert!(
        o.status.success(),
        "ltt record failed: {}\n{}",
        text(&o.stderr),
        text(&o.stdout)
    );
    o
}

/// The number before `label` in the record summary (`  1499  recorded`).
fn summary_count(stderr: &str, label: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            let n = w.next()?.parse().ok()?;
            (w.next()? == label && w.next().is_none()).then_some(n)
        })
        .unwrap_or_else(|| panic!("no `{label}` line in the summary:\n{stderr}"))
}

fn view(dir: &Path) -> String {
    let o = ltt(dir.parent().unwrap(), &["view", dir.to_str().unwrap()]);
    assert!(o.status.success(), "ltt view failed: {}", text(&o.stderr));
    text(&o.stdout)
}

#[test]
fn record_demo_all_types() {
    let dir = scratch("all-types");
    let out = dir.join("trace");
    let (n, t) = (40u64, 2u64);
    let o = record(
        &out,
        &[],
        &[
            "--iterations",
            &n.to_string(),
            "--threads",
            &t.to_string(),
            "--payload",
            "all-types",
        ],
    );
    let stdout = text(&o.stdout);
    let stderr = text(&o.stderr);
    assert!(
        stdout
            .lines()
            .last()
            .is_some_and(|l| l.starts_with(&format!("RESULT iterations={n} threads={t} "))),
        "{stdout}"
    );
    assert!(stderr.contains(&format!("Trace written to {}", out.display())));
    assert_eq!(summary_count(&stderr, "demo:all_types"), n * t);
    assert_eq!(summary_count(&stderr, "demo:one_int"), 0);
    assert_eq!(summary_count(&stderr, "discarded"), 0);

    // LTTng's layout.
    let uid = std::fs::metadata(&dir).map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid()
    });
    let trace = out.join(format!("ust/uid/{}/64-bit", uid.unwrap()));
    assert!(trace.join("metadata").is_file());
    assert!(std::fs::read_dir(&trace).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("channel0_")));

    let printed = view(&out);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len() as u64, n * t, "{printed}");
    let mut per_thread: std::collections::BTreeMap<&str, Vec<i64>> = Default::default();
    for l in &lines {
        assert!(l.contains(" demo:all_types: { cpu_id = "), "{l}");
        assert!(l.contains(r#"procname = "ltt-demo""#), "{l}");
        let i: i64 = field(l, "s8").parse().unwrap();
        assert_eq!(field(l, "s16"), (-i).to_string());
        assert_eq!(field(l, "hex32"), format!("0xDEAD{i:04X}"));
        assert_eq!(field(l, "net32"), (i << 8).to_string());
        assert_eq!(field(l, "f32"), format!("{}", i as f64 * 0.5));
        assert!(l.contains(r#"text8 = "abcdefgh""#), "{l}");
        per_thread.entry(field(l, "vtid")).or_default().push(i);
    }
    assert_eq!(per_thread.len() as u64, t);
    for values in per_thread.values() {
        // Each thread's events are in order and complete.
        assert_eq!(*values, (0..n as i64).collect::<Vec<_>>());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn babeltrace2_prints_the_same() {
    if !require_tool("babeltrace2") {
        return;
    }
    let dir = scratch("babeltrace2");
    let out = dir.join("trace");
    record(
        &out,
        &[],
        &[
            "--iterations",
            "30",
            "--threads",
            "2",
            "--payload",
            "all-types",
        ],
    );
    let ours = view(&out);
    assert_babeltrace2_prints(&out, &ours);
    assert_eq!(ours.lines().count(), 60);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Events per thread and threads of [`record_tiny`].
const TINY: (u64, u64) = (20_000, 2);

/// `ltt record` with two 4 KiB sub-buffers per CPU (and `extra` options)
/// around two threads of one-int events at full rate: its scratch
/// directory, trace and stderr.
fn record_tiny(name: &str, extra: &[&str]) -> (PathBuf, PathBuf, String) {
    let dir = scratch(name);
    let out = dir.join("trace");
    let (n, t) = TINY;
    let mut opts = vec!["--subbuf-size", "4k", "--num-subbuf", "2"];
    opts.extend_from_slice(extra);
    let o = record(
        &out,
        &opts,
        &[
            "--iterations",
            &n.to_string(),
            "--threads",
            &t.to_string(),
            "--payload",
            "one-int",
        ],
    );
    (dir, out, text(&o.stderr))
}

#[test]
fn tiny_buffers_account_for_every_event() {
    let (dir, out, stderr) = record_tiny("tiny", &[]);
    let recorded = summary_count(&stderr, "recorded");
    let discarded = summary_count(&stderr, "discarded");
    assert_eq!(recorded + discarded, TINY.0 * TINY.1, "{stderr}");
    assert!(discarded > 0, "4 KiB buffers should overflow: {stderr}");
    let printed = view(&out);
    assert_eq!(printed.lines().count() as u64, recorded);
    assert!(printed.lines().all(|l| l.contains(" demo:one_int: ")));
    // Discarded-event warnings and all: babeltrace2 agrees.
    assert_babeltrace2_prints(&out, &printed);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same tiny buffers with a blocking channel: writers wait for the
/// consumer, and nothing is lost.
#[test]
fn a_blocking_channel_loses_nothing() {
    let (dir, out, stderr) = record_tiny("blocking", &["--blocking-timeout", "inf"]);
    let all = TINY.0 * TINY.1;
    assert_eq!(summary_count(&stderr, "discarded"), 0, "{stderr}");
    assert_eq!(summary_count(&stderr, "recorded"), all, "{stderr}");
    assert_eq!(view(&out).lines().count() as u64, all);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn event_globs_select_events() {
    let dir = scratch("globs");
    let out = dir.join("trace");
    let o = record(
        &out,
        &["-u", "demo:empty,other:*"],
        &["--iterations", "10", "--payload", "one-int"],
    );
    let stderr = text(&o.stderr);
    assert_eq!(summary_count(&stderr, "recorded"), 0, "{stderr}");
    assert_eq!(view(&out), "");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The `v` of every `demo:one_int` line, in order.
fn one_int_values(printed: &str) -> Vec<i64> {
    printed
        .lines()
        .map(|l| {
            assert!(l.contains(" demo:one_int: "), "{l}");
            field(l, "v").trim_end_matches('}').trim().parse().unwrap()
        })
        .collect()
}

#[test]
fn filters_apply_in_the_tracer() {
    let dir = scratch("filter");
    let out = dir.join("trace");
    let o = record(
        &out,
        &["-u", "demo:one_int", "--filter", "v < 10 || v >= 990"],
        &["--iterations", "1000", "--payload", "one-int"],
    );
    let stderr = text(&o.stderr);
    let expected: Vec<i64> = (0..10).chain(990..1000).collect();
    assert_eq!(summary_count(&stderr, "recorded"), 20, "{stderr}");
    // Rejected events were never reserved: not counted as discarded.
    assert_eq!(summary_count(&stderr, "discarded"), 0, "{stderr}");
    assert_eq!(one_int_values(&view(&out)), expected);

    // Several filters: an event is recorded if any accepts it.
    let out = dir.join("several");
    let o = record(
        &out,
        &["--filter", "v == 3", "--filter", "v > 995 && v != 997"],
        &[
            "--iterations",
            "1000",
            "--threads",
            "2",
            "--payload",
            "one-int",
        ],
    );
    let stderr = text(&o.stderr);
    assert_eq!(summary_count(&stderr, "demo:one_int"), 8, "{stderr}");
    let mut values = one_int_values(&view(&out));
    values.sort();
    assert_eq!(values, [3, 3, 996, 996, 998, 998, 999, 999]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn filters_read_contexts() {
    let dir = scratch("filter-ctx");
    let out = dir.join("trace");
    record(
        &out,
        &[
            "--filter",
            r#"$ctx.procname == "ltt-*" && v < 5 && $ctx.vtid != $ctx.vpid"#,
        ],
        &["--iterations", "100", "--payload", "one-int"],
    );
    let printed = view(&out);
    assert_eq!(one_int_values(&printed), [0, 1, 2, 3, 4]);
    // The demo's events come from a thread other than the main one.
    for l in printed.lines() {
        assert_ne!(field(l, "vpid"), field(l, "vtid"), "{l}");
    }
    // A procname that does not match: nothing.
    let out = dir.join("none");
    let o = record(
        &out,
        &["--filter", r#"$ctx.procname == "other*""#],
        &["--iterations", "100", "--payload", "one-int"],
    );
    assert_eq!(summary_count(&text(&o.stderr), "recorded"), 0);
    // A field the event does not have never matches, as in LTTng.
    let out = dir.join("missing");
    let o = record(
        &out,
        &["--filter", "missing == 1 || v == 1"],
        &["--iterations", "100", "--payload", "one-int"],
    );
    assert_eq!(summary_count(&text(&o.stderr), "recorded"), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_filter_fails_before_running_the_command() {
    let dir = scratch("filter-bad");
    let marker = dir.join("ran");
    let o = ltt(
        &dir,
        &[
            "record",
            "-o",
            "t",
            "--filter",
            "v < 10 + 1",
            "--",
            "sh",
            "-c",
            &format!("touch {}", marker.display()),
        ],
    );
    assert!(!o.status.success());
    let stderr = text(&o.stderr);
    assert!(stderr.contains("invalid filter"), "{stderr}");
    // The caret under the refused operator.
    assert!(stderr.contains("v < 10 + 1\n         ^"), "{stderr}");
    assert!(!marker.exists(), "the command ran");
    assert!(!dir.join("t").exists(), "a trace was started");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn record_exits_with_the_command_status() {
    let dir = scratch("status");
    let o = ltt(
        &dir,
        &["record", "-o", "t", "--", "sh", "-c", "echo out; exit 3"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "out\n");
    let o = ltt(&dir, &["record", "-o", "u", "--", "/nonexistent/command"]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot run /nonexistent/command"), "{err}");
    assert!(!dir.join("u/ust").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Run the demo with `socket` in LTT_UST_SOCKET (or unset); it must finish
/// normally and quickly.
fn demo_alone(socket: Option<&Path>) {
    let mut cmd = Command::new(demo_bin());
    cmd.args([
        "--iterations",
        "1000",
        "--threads",
        "2",
        "--payload",
        "all-types",
    ]);
    match socket {
        Some(s) => cmd.env("LTT_UST_SOCKET", s),
        None => cmd.env_remove("LTT_UST_SOCKET"),
    };
    let start = Instant::now();
    let o = cmd.output().expect("run ltt-demo");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).starts_with("RESULT iterations=1000 threads=2 "),
        "{}",
        text(&o.stdout)
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the demo took {:?} with socket {socket:?}",
        start.elapsed()
    );
}

#[test]
fn demo_runs_without_a_session_or_with_a_broken_one() {
    let dir = scratch("alone");
    demo_alone(None);
    demo_alone(Some(&dir.join("no-such-socket")));
    std::fs::write(dir.join("file"), "not a socket").unwrap();
    demo_alone(Some(&dir.join("file")));

    // A daemon that accepts and then never answers, and one that answers
    // garbage: the demo waits at most its handshake timeout.
    for (name, reply) in [("silent", None), ("garbage", Some(&b"\x05\0\0\0hello"[..]))] {
        let path = dir.join(name);
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 256];
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let _ = s.read(&mut buf);
                if let Some(r) = reply {
                    let _ = s.write_all(r);
                }
                std::thread::sleep(Duration::from_secs(2));
            }
        });
        demo_alone(Some(&path));
        server.join().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_forked_child_registers_on_its_own() {
    let dir = scratch("fork");
    let out = dir.join("trace");
    let o = record(
        &out,
        &[],
        &["--fork", "--iterations", "150", "--payload", "one-int"],
    );
    let stderr = text(&o.stderr);
    // The child connected itself: the session saw two processes.
    assert!(stderr.contains("2 traced processes"), "{stderr}");
    assert_eq!(summary_count(&stderr, "demo:one_int"), 300);
    let shown = view(&out);
    let mut pids: Vec<&str> = shown.lines().map(|l| field(l, "vpid")).collect();
    pids.sort();
    pids.dedup();
    assert_eq!(pids.len(), 2, "{pids:?}");
}

#[test]
fn per_process_buffers_give_each_process_its_own_trace() {
    let dir = scratch("buffers-pid");
    let out = dir.join("trace");
    let o = record(
        &out,
        &["--buffers-pid"],
        &["--fork", "--iterations", "120", "--payload", "all-types"],
    );
    let stderr = text(&o.stderr);
    assert_eq!(summary_count(&stderr, "demo:all_types"), 240, "{stderr}");
    let traces: Vec<_> = std::fs::read_dir(out.join("ust/pid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(traces.len(), 2, "{traces:?}");
    for t in &traces {
        let name = t.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("ltt-demo-"), "{name}");
        assert!(t.join("metadata").is_file());
        // Each trace holds only its own process's events.
        let shown = view(t);
        let pid = name.split('-').nth(2).unwrap();
        assert_eq!(shown.lines().count(), 120);
        assert!(shown.lines().all(|l| field(l, "vpid") == pid), "{name}");
    }
    assert_babeltrace2_prints(&out, &view(&out));
}
