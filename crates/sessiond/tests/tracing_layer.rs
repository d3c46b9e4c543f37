//! The `tracing` layer with this test process as the traced app: events of
//! each level land in their own ltt event with the right log level, spans
//! record their entries and exits, and a level the session did not enable
//! costs nothing and records nothing.

use ltt_sessiond::{Session, SessionConfig};
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn tracing_events_and_spans_become_ltt_events() {
    let dir = std::env::temp_dir().join(format!("ltt-tracing-layer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let session = Session::start(SessionConfig {
        output: dir.join("trace"),
        // Everything but TRACE.
        event_globs: vec!["rust_tracing:*".into()],
        filters: vec!["$ctx.procname != \"\"".into()],
        runtime_dir: Some(dir.join("run")),
        ..SessionConfig::default()
    })
    .unwrap();
    std::env::set_var(ltt_ust::SOCKET_ENV, session.socket_path());
    let subscriber = tracing_subscriber::registry().with(ltt_ust::LttLayer);
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..10 {
            let span = tracing::info_span!("work", i);
            let _entered = span.enter();
            tracing::error!(i, "bad {}", i);
            tracing::warn!("careful");
            tracing::info!(answer = 42, name = "x", "hello");
            tracing::debug!(i);
        }
        tracing::trace!("also recorded: every rust_tracing event is enabled");
    });
    let summary = session.stop().unwrap();
    let count = |name: &str| {
        summary
            .events
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, c)| *c)
    };
    assert_eq!(count("rust_tracing:error"), 10, "{:?}", summary.events);
    assert_eq!(count("rust_tracing:warn"), 10);
    assert_eq!(count("rust_tracing:info"), 10);
    assert_eq!(count("rust_tracing:debug"), 10);
    assert_eq!(count("rust_tracing:trace"), 1);
    assert_eq!(count("rust_tracing:span_enter"), 10);
    assert_eq!(count("rust_tracing:span_exit"), 10);
    assert_eq!(summary.discarded, 0);

    let md = ltt_ctf::trace::read_metadata(&summary.trace_dir).unwrap();
    let level = |name: &str| md.events.iter().find(|e| e.name == name).unwrap().loglevel;
    assert_eq!(level("rust_tracing:error"), Some(3));
    assert_eq!(level("rust_tracing:warn"), Some(4));
    assert_eq!(level("rust_tracing:info"), Some(6));
    assert_eq!(level("rust_tracing:trace"), Some(14));
    let _ = std::fs::remove_dir_all(&dir);
}
