//! Shared helpers for the CLI's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
