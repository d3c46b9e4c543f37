//! The filter fixture through the real tracer: this test process emits the
//! 1000 `lab:filt` events of the unfiltered fixture session (f00) once per
//! fixture expression, each time under a recording whose rule carries that
//! filter, and the events recorded are exactly those LTTng recorded.

mod common;

use std::collections::BTreeSet;
use std::os::unix::net::UnixListener;
use std::sync::Arc;

use common::{fixtures, ltt, printed_i, scratch};
use ltt_sessiond::hub::Hub;
use ltt_sessiond::{EventRule, RecordingConfig, Target};

ltt_ust::provider! {
    mod lab {
        event filt(
            i: u64, arr: [i32; 4], seq: &[i32], a: u32, b: i64, flags: u64 as hex,
            neg: i8, d: f64, name: &str,
        ) loglevel(Warning);
    }
}

/// One `lab:filt` event's values.
struct Filt {
    i: u64,
    arr: [i32; 4],
    seq: Vec<i32>,
    a: u32,
    b: i64,
    flags: u64,
    neg: i8,
    d: f64,
    name: String,
}

/// `key = value` pairs of a printed payload, split at top-level commas.
fn fields(payload: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    let bytes = payload.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => depth -= 1,
            b',' if depth == 0 => {
                out.push(&payload[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&payload[start..]);
    out.into_iter()
        .filter_map(|f| f.trim().split_once(" = "))
        .collect()
}

/// The elements of `[ [0] = 1, [1] = 2 ]`.
fn elements(v: &str) -> Vec<i32> {
    v.split("] = ")
        .skip(1)
        .map(|x| x.split([',', ' ']).next().unwrap().parse().unwrap())
        .collect()
}

fn parse_f00(text: &str) -> Vec<Filt> {
    text.lines()
        .map(|l| {
            let payload = &l[l.find("{ i = ").expect("lab:filt payload") + 2..l.len() - 2];
            let f = fields(payload);
            let get = |k: &str| f.iter().find(|(n, _)| *n == k).unwrap().1;
            let name = get("name");
            assert!(!name.contains('\\'), "escapes in {name}");
            Filt {
                i: get("i").parse().unwrap(),
                arr: elements(get("arr")).try_into().unwrap(),
                seq: elements(get("seq")),
                a: get("a").parse().unwrap(),
                b: get("b").parse().unwrap(),
                flags: u64::from_str_radix(get("flags").trim_start_matches("0x"), 16).unwrap(),
                neg: get("neg").parse().unwrap(),
                d: get("d").parse().unwrap(),
                name: name.trim_matches('"').to_string(),
            }
        })
        .collect()
}

#[test]
fn the_tracer_records_what_lttng_recorded_under_each_filter() {
    let root = fixtures().join("lttng");
    let f00 = std::fs::read_to_string(root.join("filters.f00-unfiltered.txt")).unwrap();
    let events = parse_f00(&f00);
    assert_eq!(events.len(), 1000);
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("filters.results.json")).unwrap())
            .unwrap();

    // Named like LTTng's lab app for the `$ctx.procname` filters (the
    // tracer reads the name when it connects, below).
    std::fs::write("/proc/self/comm", "lab_filter").unwrap();
    let dir = scratch("filter-tracer");
    let socket = dir.join("app.sock");
    let hub = Arc::new(Hub::default());
    hub.serve(UnixListener::bind(&socket).unwrap()).unwrap();
    std::env::set_var(ltt_ust::SOCKET_ENV, &socket);

    let record = |name: &str, rules: Vec<EventRule>| -> BTreeSet<u64> {
        let target = Arc::new(
            Target::start(
                RecordingConfig {
                    output: dir.join(name),
                    trace_name: name.to_string(),
                    rules,
                    contexts: Vec::new(),
                    subbuf_size: 256 * 1024,
                    num_subbufs: 4,
                    overwrite: false,
                    timers: Default::default(),
                    blocking_us: 0,
                    trace_files: Default::default(),
                },
                false,
            )
            .unwrap_or_else(|e| panic!("{name}: {e}")),
        );
        hub.activate(target.clone(), Default::default()).unwrap();
        for e in &events {
            ltt_ust::tracepoint!(lab::filt(
                e.i, e.arr, &e.seq, e.a, e.b, e.flags, e.neg, e.d, &e.name
            ));
        }
        hub.deactivate(&target);
        let summary = target.finish().unwrap();
        assert_eq!(summary.discarded, 0, "{name}");
        let out = ltt(&dir, &["view", dir.join(name).to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        printed_i(&out.stdout)
    };
    let filtered = |expr: &str| EventRule {
        filter: Some(expr.to_string()),
        ..EventRule::new("lab:filt")
    };

    // Two rules on one event: recorded if either filter accepts it.
    let multi = std::fs::read(root.join("filters/multi.txt")).unwrap();
    let got = record("multi", vec![filtered("i < 5"), filtered("i >= 995")]);
    assert_eq!(got, printed_i(&multi), "two rules");
    assert_eq!(got.len(), 10);

    let mut checked = 0;
    let mut failures = Vec::new();
    for r in results.as_array().unwrap() {
        let name = r["name"].as_str().unwrap();
        let expr = r["filter"].as_str().unwrap();
        // Single-expression sessions that LTTng accepted. Left out: `secret`
        // (a field LTTng filters on without writing it: ltt-ust has no such
        // fields) and f05 (LTTng's sequence bound bug, see ltt-filter's
        // tests).
        if !name.starts_with('f')
            || name == "f00"
            || name.len() != 3
            || r["accepted"] == false
            || expr.contains("secret")
            || name == "f05"
            || expr.starts_with('<')
        {
            continue;
        }
        let got = record(name, vec![filtered(expr)]);
        let want: BTreeSet<u64> = match &r["passing_i"] {
            serde_json::Value::String(all) if all == "all" => (0..1000).collect(),
            v => v
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect(),
        };
        checked += 1;
        if got != want {
            failures.push(format!(
                "{name} `{expr}`: recorded {} events, LTTng {}; first difference at i = {:?}",
                got.len(),
                want.len(),
                got.symmetric_difference(&want).next()
            ));
        }
    }
    assert!(checked >= 55, "only {checked} expressions checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{checked} fixture filters checked through the tracer");
}
