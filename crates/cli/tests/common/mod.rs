//! Shared helpers for the CLI's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The fixtures folder (`$LTT_FIXTURES`, else `../shared/fixtures` beside
/// the checkout); panics with a clear message when it is missing.
pub fn fixtures() -> PathBuf {
    let dir = std::env::var_os("LTT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"));
    let dir = std::fs::canonicalize(&dir).unwrap_or_else(|_| {
        panic!(
            "fixtures folder {} is missing: set LTT_FIXTURES to the shared fixtures directory",
            dir.display()
        )
    });
    dir
}

/// Runs the `ltt` binary with `args` in `cwd`, TZ=UTC and no colors.
pub fn ltt(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ltt"))
        .args(args)
        .current_dir(cwd)
        .env("TZ", "UTC")
        .env("BABELTRACE_TERM_COLOR", "NEVER")
        .output()
        .expect("run ltt")
}

/// The first line where two texts differ, for a readable failure.
pub fn first_difference(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        if x != y {
            return Some(format!(
                "line {}:\n  expected: {}\n  actual:   {}\n  ({} expected lines, {} actual)",
                i + 1,
                x.unwrap_or(&"<none>"),
                y.unwrap_or(&"<none>"),
                e.len(),
                a.len()
            ));
        }
    }
    Some("texts differ in trailing newline".into())
}

/// Whether a tool is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Skips loudly, or fails when LTT_REQUIRE_TOOLS=1 (CI sets it).
pub fn require_tool(tool: &str) -> bool {
    if have(tool) {
        return true;
    }
    if std::env::var("LTT_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{tool} is required (LTT_REQUIRE_TOOLS=1) but is not installed");
    }
    eprintln!("SKIP: {tool} is not installed; install it to run this test");
    false
}

/// The `ltt-demo` binary beside `ltt`, built on first use (cargo builds
/// only this package's binaries for its tests).
pub fn demo_bin() -> &'static Path {
    static DEMO: OnceLock<PathBuf> = OnceLock::new();
    DEMO.get_or_init(|| {
        let ltt = Path::new(env!("CARGO_BIN_EXE_ltt"));
        let profile_dir = ltt.parent().expect("ltt has a parent directory");
        let mut cmd = Command::new(option_env!("CARGO").unwrap_or("cargo"));
        cmd.args(["build", "--quiet", "-p", "ltt-demo"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        if let Some(target) = profile_dir.parent() {
            cmd.arg("--target-dir").arg(target);
        }
        let status = cmd.status().expect("run cargo to build ltt-demo");
        assert!(status.success(), "building ltt-demo failed");
        let demo = profile_dir.join("ltt-demo");
        assert!(demo.exists(), "{} was not built", demo.display());
        demo
    })
}

/// A fresh, empty scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ltt-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The value printed for `name` in an event line (`name = VALUE` up to the
/// next `,` or space).
pub fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let key = format!(" {name} = ");
    let start = line
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {line}"))
        + key.len();
    let rest = &line[start..];
    &rest[..rest.find([',', ' ']).unwrap_or(rest.len())]
}

/// [`field`] as an integer.
pub fn int_field(line: &str, name: &str) -> i64 {
    let v = field(line, name);
    v.parse()
        .unwrap_or_else(|_| panic!("{name} = {v} is no integer"))
}

/// The `i` values of the `lab:filt` events of a text output.
pub fn printed_i(stdout: &[u8]) -> std::collections::BTreeSet<u64> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| {
            let rest = &l[l.find("{ i = ")? + 6..];
            rest[..rest.find(',')?].parse().ok()
        })
        .collect()
}

/// Real babeltrace2 prints `trace` exactly as `ltt_view` (skipped loudly
/// when it is not installed, unless LTT_REQUIRE_TOOLS=1).
pub fn assert_babeltrace2_prints(trace: &Path, ltt_view: &str) {
    if !require_tool("babeltrace2") {
        return;
    }
    let theirs = Command::new("babeltrace2")
        .arg(trace)
        .env("TZ", "UTC")
        .env("BABELTRACE_TERM_COLOR", "NEVER")
        .output()
        .expect("run babeltrace2");
    assert!(
        theirs.status.success(),
        "babeltrace2 failed on {}: {}",
        trace.display(),
        String::from_utf8_lossy(&theirs.stderr)
    );
    if let Some(d) = first_difference(&String::from_utf8_lossy(&theirs.stdout), ltt_view) {
        panic!(
            "ltt view differs from babeltrace2 on {} (expected = babeltrace2): {d}",
            trace.display()
        );
    }
}
