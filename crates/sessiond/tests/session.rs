//! A session with this test process as the traced app: registration,
//! event rules, accounting, metadata; and a hostile client that must not
//! disturb the session.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use ltt_ctf::metadata::EnvValue;
use ltt_sessiond::{Session, SessionConfig};

ltt_ust::provider! {
    mod t {
        event a(v: u64) loglevel(Info);
        event b(s: &str, xs: &[u16] as hex);
        event off();
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ltt-sessiond-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(dir: &std::path::Path, globs: &[&str]) -> SessionConfig {
    SessionConfig {
        output: dir.join("trace"),
        event_globs: globs.iter().map(|g| g.to_string()).collect(),
        subbuf_size: 4096,
        num_subbufs: 4,
        runtime_dir: Some(dir.join("run")),
        ..SessionConfig::default()
    }
}

/// The only test of this binary that traces: the tracer is per process.
#[test]
fn this_process_is_traced_and_every_event_accounted() {
    let dir = scratch("traced");
    let session = Session::start(config(&dir, &["t:a", "t:b"])).unwrap();
    std::env::set_var(ltt_ust::SOCKET_ENV, session.socket_path());
    const N: u64 = 3000;
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for i in 0..N {
                    ltt_ust::tracepoint!(t::a(i));
                    ltt_ust::tracepoint!(t::b("x", &[i as u16, 2]));
                    ltt_ust::tracepoint!(t::off());
                }
            });
        }
    });
    assert!(ltt_ust::is_tracing());
    assert!(!t::off::CALLSITE.is_enabled());
    let summary = session.stop().unwrap();
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    let count = |name: &str| {
        summary
            .events
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| *c)
            .unwrap_or_else(|| panic!("{name} not registered: {:?}", summary.events))
    };
    assert_eq!(count("t:off"), 0);
    assert_eq!(count("t:a") + count("t:b"), summary.recorded);
    // 16 KiB per CPU cannot hold 12000 records: some were discarded, and
    // every one is accounted for.
    assert_eq!(summary.recorded + summary.discarded, 4 * N, "{summary:?}");
    assert_eq!(summary.apps.len(), 1);
    assert_eq!(summary.apps[0].pid, std::process::id());

    let md = ltt_ctf::trace::read_metadata(&summary.trace_dir).unwrap();
    // This process's other providers (the tracing layer's) register with
    // the first one hit.
    let names: Vec<&str> = md.events.iter().map(|e| e.name.as_str()).collect();
    let ours: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.starts_with("t:"))
        .collect();
    assert_eq!(ours, ["t:a", "t:b", "t:off"]);
    assert_eq!(md.events[0].loglevel, Some(6));
    assert_eq!(md.events[1].loglevel, Some(13));
    assert_eq!(md.env_str("tracer_name"), Some("lttng-ust"));
    assert_eq!(md.env_str("tracer_buffering_scheme"), Some("uid"));
    assert_eq!(md.env("architecture_bit_width"), Some(&EnvValue::Int(64)));
    // The socket directory is gone with the session.
    assert!(std::fs::read_dir(dir.join("run")).unwrap().next().is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_clients_are_dropped_and_the_session_goes_on() {
    let dir = scratch("hostile");
    let session = Session::start(config(&dir, &["*"])).unwrap();
    // Garbage, a frame announcing more than the maximum, and silence.
    let mut garbage = UnixStream::connect(session.socket_path()).unwrap();
    garbage.write_all(b"\x03\0\0\0abc").unwrap();
    let mut huge = UnixStream::connect(session.socket_path()).unwrap();
    huge.write_all(&u32::MAX.to_le_bytes()).unwrap();
    let _silent = UnixStream::connect(session.socket_path()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let summary = session.stop().unwrap();
    assert_eq!(summary.recorded, 0);
    assert!(summary.apps.is_empty());
    assert!(
        summary.warnings.iter().any(|w| w.contains("bad hello")),
        "{:?}",
        summary.warnings
    );
    // The trace is valid (metadata only) and a second session cannot
    // overwrite it.
    assert!(ltt_ctf::trace::read_metadata(&summary.trace_dir).is_ok());
    assert!(matches!(
        Session::start(config(&dir, &["*"])),
        Err(ltt_sessiond::Error::TraceExists(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
