//! Smoke test of `ltt-bench reader --quick`: records (or reuses) small
//! traces and runs every measurement once. It needs LTTng or ltt's writer,
//! babeltrace2 and a built `ltt`, and takes seconds, so it only runs when
//! asked: `LTT_BENCH_SMOKE=1 cargo test -p ltt-bench`. Set `LTT_BENCH_LTT`
//! to the `ltt` binary when it is not next to `ltt-bench`.

use std::process::Command;

#[test]
fn reader_quick_smoke() {
    if std::env::var("LTT_BENCH_SMOKE").as_deref() != Ok("1") {
        eprintln!("skipped: set LTT_BENCH_SMOKE=1 to run `ltt-bench reader --quick`");
        return;
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ltt-bench"));
    cmd.args(["reader", "--quick"]);
    if let Some(ltt) = std::env::var_os("LTT_BENCH_LTT") {
        cmd.arg("--ltt").arg(ltt);
    }
    let out = cmd.output().expect("cannot run ltt-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "ltt-bench reader --quick failed ({}):\n{stderr}",
        out.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}\nstderr:\n{stderr}"));
    assert_eq!(report["benchmark"], "reader");
    let results = report["results"].as_array().expect("results array");
    // 2 traces x 3 cases x 2 tools.
    assert_eq!(results.len(), 12, "{last}");
    for r in results {
        let ok = r["ok"].as_bool().expect("ok flag");
        assert!(
            ok || r["error"].is_string(),
            "a failed measurement must say why: {r}"
        );
        if ok {
            assert!(r["events_per_s"].as_f64().is_some_and(|x| x > 0.0), "{r}");
            assert!(r["peak_rss_bytes"].as_u64().is_some_and(|x| x > 0), "{r}");
        }
    }
    // ltt reads what babeltrace2 reads: its dummy runs must succeed.
    assert!(
        results
            .iter()
            .filter(|r| r["tool"] == "ltt" && r["case"] == "dummy")
            .all(|r| r["ok"] == true),
        "{last}"
    );
}
