//! The results: a table for people, one JSON line for programs, and the
//! verdict on the goals.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use super::{Case, Kind, Row, Tool, Trace, GOALS, RSS_GOAL};

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Events/s in a short human form: 1.23M, 456.7k.
fn rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2}M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1}k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

pub fn progress_line(row: &Row) -> String {
    let what = format!(
        "{} {} {}",
        row.kind.name(),
        row.case.name(),
        row.tool.name()
    );
    match &row.result {
        Ok(o) => format!(
            "{what}: {:.3} s, {} events/s, {:.1} MiB",
            secs(o.wall),
            rate(row.events_per_s().unwrap_or(0.0)),
            mib(o.max_rss)
        ),
        Err(why) => format!("{what}: n/a ({why})"),
    }
}

/// ltt's events/s over babeltrace2's for a trace and case, when both ran.
fn ratio(rows: &[Row], kind: Kind, case: Case) -> Option<f64> {
    ratio_by(rows, kind, case, Row::events_per_s)
}

/// The same ratio in events per CPU second.
fn cpu_ratio(rows: &[Row], kind: Kind, case: Case) -> Option<f64> {
    ratio_by(rows, kind, case, Row::events_per_cpu_s)
}

fn ratio_by(rows: &[Row], kind: Kind, case: Case, rate: fn(&Row) -> Option<f64>) -> Option<f64> {
    let find = |tool| {
        rate(
            rows.iter()
                .find(|r| r.kind == kind && r.case == case && r.tool == tool)?,
        )
    };
    Some(find(Tool::Ltt)? / find(Tool::Babeltrace2)?)
}

pub fn table(traces: &[Trace], rows: &[Row]) -> String {
    let mut s = String::new();
    s.push('\n');
    for t in traces {
        let _ = writeln!(
            s,
            "trace {:9} {:>9} events, {:>8.1} MiB, by {}: {}",
            t.kind.name(),
            t.events,
            mib(t.bytes),
            t.generator,
            t.dir.display()
        );
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "{:9} {:5} {:11} {:>9} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "trace",
        "case",
        "tool",
        "seconds",
        "cpu s",
        "events/s",
        "ns/event",
        "RSS MiB",
        "ltt/bt2",
        "(cpu)"
    );
    for r in rows {
        let head = format!(
            "{:9} {:5} {:11}",
            r.kind.name(),
            r.case.name(),
            r.tool.name()
        );
        match &r.result {
            Ok(o) => {
                let show = |x: Option<f64>| match r.tool {
                    Tool::Ltt => x.map_or_else(|| "-".to_string(), |x| format!("{x:.2}x")),
                    Tool::Babeltrace2 => String::new(),
                };
                let ratio = show(ratio(rows, r.kind, r.case));
                let cpu_ratio = show(cpu_ratio(rows, r.kind, r.case));
                let _ = writeln!(
                    s,
                    "{head} {:>9.3} {:>9.3} {:>10} {:>9.1} {:>9.1} {:>9} {:>9}",
                    secs(o.wall),
                    secs(o.cpu),
                    rate(r.events_per_s().unwrap_or(0.0)),
                    secs(o.wall) * 1e9 / r.events as f64,
                    mib(o.max_rss),
                    ratio,
                    cpu_ratio
                );
            }
            Err(why) => {
                let _ = writeln!(s, "{head} n/a: {why}");
            }
        }
    }
    s.push('\n');
    for t in traces {
        for &(case, want) in &GOALS {
            if !rows.iter().any(|r| r.kind == t.kind && r.case == case) {
                continue;
            }
            let verdict = match ratio(rows, t.kind, case) {
                Some(x) if x >= want => format!("{x:.2}x  met"),
                Some(x) => format!("{x:.2}x  NOT met"),
                None => "n/a".to_string(),
            };
            let _ = writeln!(
                s,
                "goal {:9} {:5} ltt >= {want:>2}x babeltrace2 events/s: {verdict}",
                t.kind.name(),
                case.name()
            );
        }
    }
    let peak = ltt_peak_rss(rows);
    let _ = writeln!(
        s,
        "goal ltt peak RSS <= {} MiB: {:.1} MiB  {}",
        RSS_GOAL >> 20,
        mib(peak.unwrap_or(0)),
        match peak {
            Some(p) if p <= RSS_GOAL => "met",
            Some(_) => "NOT met",
            None => "n/a",
        }
    );
    s
}

fn ltt_peak_rss(rows: &[Row]) -> Option<u64> {
    rows.iter()
        .filter(|r| r.tool == Tool::Ltt)
        .filter_map(|r| r.result.as_ref().ok().map(|o| o.max_rss))
        .max()
}

pub fn to_json(traces: &[Trace], rows: &[Row], bt2_version: Option<&str>, ltt: &Path) -> Value {
    let traces_json: Vec<Value> = traces
        .iter()
        .map(|t| {
            json!({
                "kind": t.kind.name(),
                "events": t.events,
                "bytes": t.bytes,
                "generator": t.generator,
                "path": t.dir.display().to_string(),
            })
        })
        .collect();
    let results: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut v = json!({
                "trace": r.kind.name(),
                "case": r.case.name(),
                "tool": r.tool.name(),
                "events": r.events,
            });
            match &r.result {
                Ok(o) => {
                    v["ok"] = json!(true);
                    v["seconds"] = json!(secs(o.wall));
                    v["cpu_seconds"] = json!(secs(o.cpu));
                    v["events_per_s"] = json!(r.events_per_s());
                    v["events_per_cpu_s"] = json!(r.events_per_cpu_s());
                    v["ns_per_event"] = json!(secs(o.wall) * 1e9 / r.events as f64);
                    v["peak_rss_bytes"] = json!(o.max_rss);
                    v["peak_rss_mib"] = json!(mib(o.max_rss));
                }
                Err(why) => {
                    v["ok"] = json!(false);
                    v["error"] = json!(why);
                }
            }
            v
        })
        .collect();
    let mut ratios = Vec::new();
    let mut all_met = true;
    for t in traces {
        for &(case, want) in &GOALS {
            if !rows.iter().any(|r| r.kind == t.kind && r.case == case) {
                continue;
            }
            let x = ratio(rows, t.kind, case);
            let met = x.is_some_and(|x| x >= want);
            all_met &= met;
            ratios.push(json!({
                "trace": t.kind.name(),
                "case": case.name(),
                "ltt_over_babeltrace2": x,
                "ltt_over_babeltrace2_cpu": cpu_ratio(rows, t.kind, case),
                "goal": want,
                "met": met,
            }));
        }
    }
    let peak = ltt_peak_rss(rows);
    let rss_met = peak.is_some_and(|p| p <= RSS_GOAL);
    json!({
        "benchmark": "reader",
        "babeltrace2": bt2_version,
        "ltt": ltt.display().to_string(),
        "traces": traces_json,
        "results": results,
        "ratios": ratios,
        "ltt_peak_rss_mib": peak.map(mib),
        "rss_goal_mib": RSS_GOAL >> 20,
        "rss_goal_met": rss_met,
        "all_goals_met": all_met && rss_met,
    })
}
