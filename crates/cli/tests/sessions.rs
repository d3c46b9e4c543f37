//! The session verbs against a real `ltt-sessiond` (started on demand by
//! `ltt`, one per test through its own `LTT_HOME`) and real instrumented
//! processes: create/enable/start/stop/view/destroy, rules changed while
//! an app runs, a SIGKILLed app, a killed daemon, save/load, and a second
//! Unix user refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_babeltrace2_prints, demo_bin, int_field, require_tool, scratch};

/// A test's private daemon home; the daemon is terminated on drop.
struct Home {
    dir: PathBuf,
    home: PathBuf,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Home {
    fn new(name: &str) -> Home {
        let dir = scratch(name);
        let home = dir.join("home");
        Home { dir, home }
    }

    fn cmd(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.env("LTT_HOME", &self.home)
            .env_remove("LTT_UST_SOCKET")
            .env("TZ", "UTC")
            .current_dir(&self.dir);
        c
    }

    /// `ltt ARGS`, whatever its outcome.
    fn try_ltt(&self, args: &[&str]) -> Output {
        self.cmd(Path::new(env!("CARGO_BIN_EXE_ltt")))
            .args(args)
            .output()
            .expect("run ltt")
    }

    /// `ltt ARGS`, which must succeed; its stdout.
    fn ltt(&self, args: &[&str]) -> String {
        let o = self.try_ltt(args);
        assert!(
            o.status.success(),
            "ltt {args:?} failed: {}{}",
            text(&o.stderr),
            text(&o.stdout)
        );
        text(&o.stdout)
    }

    /// `ltt ARGS`, which must fail with one `ltt: error:` line containing
    /// `what`.
    fn ltt_fails(&self, args: &[&str], what: &str) {
        let o = self.try_ltt(args);
        let err = text(&o.stderr);
        assert!(!o.status.success(), "ltt {args:?} succeeded");
        assert!(
            err.starts_with("ltt: error: ") && err.contains(what),
            "ltt {args:?}: expected an error about {what:?}, got {err:?}"
        );
    }

    fn demo(&self, args: &[&str]) -> Child {
        self.cmd(demo_bin())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ltt-demo")
    }

    fn daemon_pid(&self) -> i32 {
        let s = std::fs::read_to_string(self.home.join("sessiond.lock")).expect("daemon lock");
        s.trim().parse().expect("pid in the lock file")
    }

    /// `create NAME` (traced to `DIR/trace`), `enable-channel -u CHANNEL
    /// channel0`, `enable-event -u demo:one_int`, `start`; the output.
    fn start_one_int_session(&self, name: &str, channel: &[&str]) -> PathBuf {
        let out = self.dir.join("trace");
        self.ltt(&["create", name, "-o", out.to_str().unwrap()]);
        let mut args = vec!["enable-channel", "-u"];
        args.extend_from_slice(channel);
        args.push("channel0");
        self.ltt(&args);
        self.ltt(&["enable-event", "-u", "demo:one_int"]);
        self.ltt(&["start"]);
        out
    }

    /// Wait until `ltt list -u` shows process `pid`.
    fn wait_registered(&self, pid: u32) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.ltt(&["list", "-u"]).contains(&format!("PID: {pid} ")) {
            assert!(Instant::now() < deadline, "app {pid} never registered");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        if let Ok(s) = std::fs::read_to_string(self.home.join("sessiond.lock")) {
            if let Ok(pid) = s.trim().parse::<i32>() {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc_kill(pid, 15) };
            }
        }
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Events of `ltt view` output, as lines.
fn events(view: &str) -> Vec<&str> {
    view.lines().filter(|l| l.contains(" demo:")).collect()
}

fn wait_ok(child: Child) -> String {
    let o = child.wait_with_output().expect("wait for ltt-demo");
    assert!(o.status.success(), "ltt-demo failed: {}", text(&o.stderr));
    text(&o.stdout)
}

#[test]
fn lttng_verbs_record_a_filtered_trace_babeltrace2_reads() {
    let h = Home::new("verbs");
    let out = h.dir.join("trace");
    let created = h.ltt(&["create", "s1", "-o", out.to_str().unwrap()]);
    assert!(created.contains("Session s1 created."), "{created}");
    h.ltt(&[
        "enable-channel",
        "-u",
        "--subbuf-size",
        "16k",
        "--num-subbuf",
        "4",
        "channel0",
    ]);
    h.ltt(&[
        "enable-event",
        "-u",
        "demo:one_int",
        "--filter",
        "v & 1 == 0 && v < 100",
    ]);
    let ctx = [
        "vpid",
        "procname",
        "pthread_id",
        "ip",
        "cpu_id",
        "vuid",
        "vppid",
        "net_ns",
        "perf:thread:page-fault",
        "perf:thread:task-clock",
    ];
    for t in ctx {
        h.ltt(&["add-context", "-u", "-t", t]);
    }
    let listed = h.ltt(&["list", "s1"]);
    assert!(listed.contains("Sub-buffer size:  16384 bytes"), "{listed}");
    assert!(
        listed
            .contains("demo:one_int (type: tracepoint) [enabled] [filter: v & 1 == 0 && v < 100]"),
        "{listed}"
    );
    assert!(h.ltt(&["list"]).contains("1) s1 ("));
    h.ltt(&["start"]);
    assert!(h.ltt(&["status"]).contains("Tracing session s1: [active]"));
    let demo = h.demo(&[
        "--iterations",
        "500",
        "--threads",
        "2",
        "--payload",
        "one-int",
    ]);
    wait_ok(demo);
    // The all-types event was never enabled: not recorded.
    let demo = h.demo(&["--iterations", "10", "--payload", "all-types"]);
    wait_ok(demo);
    h.ltt(&["stop"]);
    let view = h.ltt(&["view"]);
    let evs = events(&view);
    assert_eq!(evs.len(), 2 * 50, "{view}");
    assert!(evs.iter().all(|l| l.contains("demo:one_int")));
    assert!(evs
        .iter()
        .all(|l| int_field(l, "v") % 2 == 0 && int_field(l, "v") < 100));
    assert_eq!(h.ltt(&["view", "s1"]), view);
    assert_babeltrace2_prints(&out, &view);
    let destroyed = h.ltt(&["destroy"]);
    assert!(destroyed.contains("Session s1 destroyed"), "{destroyed}");
    h.ltt_fails(&["start", "s1"], "session s1 not found");
    h.ltt_fails(&["status"], "no current session");
}

#[test]
fn enabling_an_event_takes_effect_in_a_running_app() {
    let h = Home::new("runtime-enable");
    let out = h.dir.join("trace");
    h.ltt(&["create", "live", "-o", out.to_str().unwrap()]);
    h.ltt(&["enable-event", "-u", "demo:empty"]);
    h.ltt(&["start"]);
    // 4000 events over about 4 s; one_int is off when it starts.
    let demo = h.demo(&[
        "--iterations",
        "4000",
        "--interval-us",
        "1000",
        "--payload",
        "one-int",
    ]);
    h.wait_registered(demo.id());
    // Its other provider (the tracing layer's), never hit, is listed too.
    let listed = h.ltt(&["list", "-u"]);
    assert!(
        listed.contains("      rust_tracing:info (loglevel: TRACE_INFO (6))"),
        "{listed}"
    );
    // With their fields, named and typed as `lttng list -u -f` does.
    let fields = h.ltt(&["list", "-u", "-f"]);
    for f in [
        "      demo:one_int (loglevel: TRACE_DEBUG_UNIT (11)) (type: tracepoint)\n        field: v (integer)\n",
        "        field: f64 (float)\n        field: str (string)\n        field: arr (unknown)\n",
        "        field: _seq_length (integer)\n        field: seq (unknown)\n",
        "        field: text8 (string)\n        field: _seqtext_length (integer)\n        field: seqtext (string)\n        field: state (enum)\n",
    ] {
        assert!(fields.contains(f), "{f:?} not in:\n{fields}");
    }
    std::thread::sleep(Duration::from_millis(300));
    h.ltt(&["enable-event", "-u", "demo:one_int"]);
    std::thread::sleep(Duration::from_millis(500));
    h.ltt(&["disable-event", "-u", "demo:one_int"]);
    std::thread::sleep(Duration::from_millis(300));
    h.ltt(&["stop"]);
    let seen_stop = Instant::now();
    let stdout = wait_ok(demo);
    assert!(stdout.contains("RESULT iterations=4000"), "{stdout}");
    let view = h.ltt(&["view"]);
    let values: Vec<i64> = events(&view).iter().map(|l| int_field(l, "v")).collect();
    // Recorded only while enabled: a run of consecutive values that
    // neither starts at the beginning nor reaches the end.
    assert!(
        values.len() > 50,
        "too few events while enabled: {}",
        values.len()
    );
    assert!(values[0] > 0, "events before enable-event were recorded");
    assert!(
        *values.last().unwrap() < 3999,
        "events after disable-event were recorded"
    );
    assert!(
        values.windows(2).all(|w| w[1] == w[0] + 1),
        "a gap while enabled"
    );
    assert!(seen_stop.elapsed() < Duration::from_secs(10));
    h.ltt(&["destroy"]);
}

#[test]
fn a_sigkilled_app_leaves_a_readable_trace_and_a_killed_daemon_leaves_apps_running() {
    let h = Home::new("kills");
    let out = h.dir.join("trace");
    h.ltt(&["create", "k", "-o", out.to_str().unwrap()]);
    h.ltt(&["enable-event", "-u", "-a"]);
    h.ltt(&["start"]);
    let mut victim = h.demo(&[
        "--iterations",
        "100000",
        "--interval-us",
        "100",
        "--payload",
        "all-types",
    ]);
    h.wait_registered(victim.id());
    std::thread::sleep(Duration::from_millis(300));
    victim.kill().unwrap();
    victim.wait().unwrap();
    h.ltt(&["stop"]);
    let view = h.ltt(&["view"]);
    let values: Vec<i64> = events(&view).iter().map(|l| int_field(l, "u16")).collect();
    assert!(!values.is_empty(), "nothing of the killed app was kept");

    // Now kill the daemon under a running app: the app finishes on time.
    h.ltt(&["start"]);
    let survivor = h.demo(&[
        "--iterations",
        "1000",
        "--interval-us",
        "1000",
        "--payload",
        "one-int",
    ]);
    h.wait_registered(survivor.id());
    let started = Instant::now();
    // SAFETY: see Drop for Home.
    assert_eq!(unsafe { libc_kill(h.daemon_pid(), 9) }, 0);
    let stdout = wait_ok(survivor);
    assert!(stdout.contains("RESULT iterations=1000"), "{stdout}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the app was held up"
    );
    // What was flushed before stays readable.
    let view = h.ltt(&["view", out.to_str().unwrap()]);
    assert!(!events(&view).is_empty());
}

#[test]
fn save_load_and_clear_errors() {
    let h = Home::new("save-load");
    let out = h.dir.join("trace");
    h.ltt(&["create", "saved", "-o", out.to_str().unwrap()]);
    h.ltt(&[
        "enable-channel",
        "-u",
        "--overwrite",
        "--subbuf-size",
        "8k",
        "ch",
    ]);
    h.ltt(&[
        "enable-event",
        "-u",
        "-c",
        "ch",
        "demo:*",
        "-x",
        "demo:all_types",
        "--loglevel",
        "TRACE_INFO",
    ]);
    h.ltt_fails(
        &[
            "enable-event",
            "-u",
            "-c",
            "ch",
            "demo:*",
            "-x",
            "demo:all_types",
            "--loglevel",
            "TRACE_INFO",
        ],
        "already enabled",
    );
    h.ltt_fails(
        &["enable-event", "-u", "x", "--filter", "a =="],
        "invalid filter",
    );
    h.ltt_fails(
        &["enable-event", "-u", "x", "--loglevel", "LOUD"],
        "unknown log level",
    );
    h.ltt_fails(
        &["enable-channel", "-u", "--subbuf-size", "5000", "c2"],
        "power of two",
    );
    h.ltt(&["enable-channel", "-u", "c2"]);
    h.ltt_fails(&["enable-channel", "-u", "c2"], "already enabled");
    // A session's channels share one kind of buffers.
    h.ltt_fails(
        &["enable-channel", "-u", "--buffers-pid", "c3"],
        "must all use the same",
    );
    h.ltt_fails(
        &["enable-channel", "-u", "--tracefile-size", "4k", "c2"],
        "smaller than the sub-buffer size",
    );
    h.ltt_fails(
        &[
            "add-context",
            "-u",
            "-t",
            "perf:thread:page-faults",
            "-c",
            "ch",
        ],
        "unknown user-space context",
    );
    h.ltt_fails(&["create", "saved"], "already exists");
    h.ltt_fails(&["create", "a/b"], "invalid name");
    h.ltt_fails(&["enable-event", "-k", "sched_switch"], "kernel domain");
    let before = h.ltt(&["list", "saved"]);
    let saved_dir = h.dir.join("saved");
    h.ltt(&["save", "saved", "-o", saved_dir.to_str().unwrap()]);
    h.ltt_fails(
        &["save", "saved", "-o", saved_dir.to_str().unwrap()],
        "--force",
    );
    h.ltt(&["destroy", "saved"]);
    assert!(h
        .ltt(&["list"])
        .contains("Currently no available tracing session"));
    h.ltt(&["load", "-i", saved_dir.to_str().unwrap()]);
    assert_eq!(h.ltt(&["list", "saved"]), before);
    // A damaged file is refused with its name.
    std::fs::write(saved_dir.join("bad.lttng"), b"<sessions><session><name>3").unwrap();
    h.ltt_fails(
        &["load", "bad", "-i", saved_dir.to_str().unwrap()],
        "bad.lttng",
    );
}

/// Run `ltt ARGS` as another Unix user (created for the test).
#[test]
fn another_user_is_refused() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc_getuid() } != 0 {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "this test needs root in CI (it creates a user)"
        );
        eprintln!("SKIP: another_user_is_refused needs root (it creates a user)");
        return;
    }
    let user = "ltt-test-other";
    let exists = Command::new("id")
        .arg(user)
        .output()
        .is_ok_and(|o| o.status.success());
    if !exists {
        let made = Command::new("useradd")
            .args(["--system", "--no-create-home", user])
            .status()
            .expect("run useradd");
        assert!(made.success(), "useradd {user} failed");
    }
    let h = Home::new("other-user");
    h.ltt(&[
        "create",
        "mine",
        "-o",
        h.dir.join("trace").to_str().unwrap(),
    ]);
    // Let the other user reach the directory (not the daemon's home).
    std::fs::set_permissions(&h.dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let as_other = |program: &Path, args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid", user, "--regid", user, "--clear-groups"])
            .arg(program)
            .args(args)
            .env("LTT_HOME", &h.home)
            .env("HOME", "/nonexistent")
            .current_dir("/")
            .output()
            .expect("run setpriv")
    };
    let ltt = Path::new(env!("CARGO_BIN_EXE_ltt"));
    let o = as_other(ltt, &["list"]);
    assert!(!o.status.success(), "another user listed root's sessions");
    let err = text(&o.stderr);
    assert!(err.starts_with("ltt: error:"), "{err}");
    assert!(!err.contains("mine"));
    // Its apps run untraced, unharmed; the daemon knows nothing of them.
    let o = as_other(demo_bin(), &["--iterations", "100", "--payload", "one-int"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(h.ltt(&["list", "-u"]).matches("PID:").count(), 0);
    // Even with the socket reachable, the daemon checks the peer's uid.
    std::fs::set_permissions(&h.home, std::os::unix::fs::PermissionsExt::from_mode(0o711)).unwrap();
    let sock = h.home.join("client.sock");
    std::fs::set_permissions(&sock, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let o = as_other(ltt, &["list"]);
    let err = text(&o.stderr);
    assert!(
        !o.status.success() && err.contains("serves uid 0 only"),
        "{err}"
    );
    std::fs::set_permissions(&h.home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
}

extern "C" {
    #[link_name = "getuid"]
    fn libc_getuid() -> u32;
}

#[test]
fn per_process_buffers_in_a_session() {
    let h = Home::new("buffers-pid");
    let out = h.dir.join("trace");
    h.ltt(&["create", "pp", "-o", out.to_str().unwrap()]);
    h.ltt(&["enable-channel", "-u", "--buffers-pid", "channel0"]);
    h.ltt(&["enable-event", "-u", "demo:one_int"]);
    // A second channel goes to the same per-process traces.
    h.ltt(&["enable-channel", "-u", "--buffers-pid", "low"]);
    h.ltt(&[
        "enable-event",
        "-u",
        "-c",
        "low",
        "demo:one_int",
        "--filter",
        "v < 5",
    ]);
    assert!(h
        .ltt(&["list", "pp"])
        .contains("Buffering scheme: per-process"));
    h.ltt(&["start"]);
    let a = h.demo(&["--iterations", "50", "--payload", "one-int"]);
    let b = h.demo(&["--iterations", "70", "--payload", "one-int"]);
    wait_ok(a);
    wait_ok(b);
    h.ltt(&["stop"]);
    let traces = std::fs::read_dir(out.join("ust/pid")).unwrap().count();
    assert_eq!(traces, 2);
    let mut counts: Vec<usize> = std::fs::read_dir(out.join("ust/pid"))
        .unwrap()
        .map(|e| events(&h.ltt(&["view", e.unwrap().path().to_str().unwrap()])).len())
        .collect();
    counts.sort();
    assert_eq!(counts, [50 + 5, 70 + 5]);
    h.ltt(&["destroy"]);
}

/// The files of the trace below `dir` whose names start with `prefix`.
fn stream_files(dir: &Path, prefix: &str) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            n += stream_files(&path, prefix);
        } else if e.file_name().to_string_lossy().starts_with(prefix) {
            n += 1;
        }
    }
    n
}

#[test]
fn a_session_records_several_channels_into_one_trace() {
    let h = Home::new("channels");
    let out = h.dir.join("trace");
    h.ltt(&["create", "multi", "-o", out.to_str().unwrap()]);
    h.ltt(&["enable-channel", "-u", "--subbuf-size", "8k", "few"]);
    h.ltt(&["enable-channel", "-u", "many"]);
    // The same event in two channels is recorded in both, each with its
    // channel's filter and contexts.
    h.ltt(&[
        "enable-event",
        "-u",
        "-c",
        "few",
        "demo:one_int",
        "--filter",
        "v < 10",
    ]);
    h.ltt(&["add-context", "-u", "-c", "few", "-t", "vtid"]);
    h.ltt(&[
        "enable-event",
        "-u",
        "-c",
        "many",
        "demo:one_int",
        "demo:empty",
    ]);
    h.ltt(&["add-context", "-u", "-c", "many", "-t", "procname"]);
    h.ltt(&["start"]);
    wait_ok(h.demo(&[
        "--iterations",
        "100",
        "--threads",
        "2",
        "--payload",
        "one-int",
    ]));
    wait_ok(h.demo(&["--iterations", "10", "--payload", "empty"]));
    h.ltt(&["stop"]);
    let listed = h.ltt(&["list", "multi"]);
    assert!(
        listed.contains("- few: [enabled]") && listed.contains("- many: [enabled]"),
        "{listed}"
    );
    let view = h.ltt(&["view"]);
    let evs = events(&view);
    let few: Vec<&&str> = evs.iter().filter(|l| l.contains("vtid = ")).collect();
    let many: Vec<&&str> = evs.iter().filter(|l| l.contains("procname = ")).collect();
    assert_eq!(few.len(), 2 * 10, "{view}");
    assert!(few.iter().all(|l| int_field(l, "v") < 10));
    assert_eq!(many.len(), 2 * 100 + 10, "{view}");
    assert_eq!(evs.len(), few.len() + many.len());
    assert!(stream_files(&out, "few_") > 0 && stream_files(&out, "many_") > 0);
    assert_babeltrace2_prints(&out, &view);
    h.ltt(&["destroy"]);
}

#[test]
fn the_switch_timer_brings_slow_streams_to_the_trace_while_tracing() {
    let h = Home::new("switch-timer");
    h.start_one_int_session("sw", &["--switch-timer", "100000"]);
    // 20 events, then the app exits; nothing fills a sub-buffer.
    wait_ok(h.demo(&["--iterations", "20", "--payload", "one-int"]));
    // Still tracing: the timer, not `stop`, makes them readable.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let o = h.try_ltt(&["view"]);
        if o.status.success() && events(&text(&o.stdout)).len() == 20 {
            break;
        }
        assert!(Instant::now() < deadline, "events never reached the trace");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(h.ltt(&["status"]).contains("[active]"));
    h.ltt(&["destroy"]);
}

#[test]
fn an_app_started_before_the_daemon_is_traced_and_finds_a_new_daemon() {
    let h = Home::new("late-daemon");
    // No daemon yet: the app's first hit finds nobody and runs on.
    let app = h.demo(&[
        "--iterations",
        "8000",
        "--interval-us",
        "1000",
        "--payload",
        "one-int",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    let first = h.dir.join("first");
    h.ltt(&["create", "first", "-o", first.to_str().unwrap()]);
    h.ltt(&["enable-event", "-u", "demo:one_int"]);
    h.ltt(&["start"]);
    h.wait_registered(app.id());
    std::thread::sleep(Duration::from_millis(300));
    h.ltt(&["stop"]);
    assert!(
        !events(&h.ltt(&["view"])).is_empty(),
        "the late app was not traced"
    );
    // The daemon dies; a new one starts: the app registers with it too.
    // SAFETY: see Drop for Home.
    assert_eq!(unsafe { libc_kill(h.daemon_pid(), 9) }, 0);
    std::thread::sleep(Duration::from_millis(100));
    let second = h.dir.join("second");
    h.ltt(&["create", "second", "-o", second.to_str().unwrap()]);
    h.ltt(&["enable-event", "-u", "demo:one_int"]);
    h.ltt(&["start"]);
    h.wait_registered(app.id());
    std::thread::sleep(Duration::from_millis(300));
    h.ltt(&["stop"]);
    let view = h.ltt(&["view"]);
    assert!(!events(&view).is_empty(), "not traced by the new daemon");
    assert!(wait_ok(app).contains("RESULT iterations=8000"));
}

#[test]
fn trace_files_rotate_and_keep_the_newest() {
    let h = Home::new("tracefiles");
    let out = h.start_one_int_session(
        "tf",
        &[
            "--subbuf-size",
            "4k",
            "--num-subbuf",
            "8",
            "--tracefile-size",
            "8k",
            "--tracefile-count",
            "3",
        ],
    );
    // 20000 records of at least 10 bytes: many 4 KiB packets (at most 128
    // records each), more than three 8 KiB files per CPU.
    wait_ok(h.demo(&[
        "--iterations",
        "20000",
        "--interval-us",
        "20",
        "--payload",
        "one-int",
    ]));
    h.ltt(&["stop"]);
    let trace = std::fs::read_dir(out.join("ust/uid"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("64-bit");
    let names: Vec<String> = std::fs::read_dir(&trace)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("channel0_"))
        .collect();
    assert!(!names.is_empty());
    for n in &names {
        let idx: u32 = n.rsplit('_').next().unwrap().parse().unwrap();
        assert!(idx < 3, "{n}: more files than --tracefile-count");
        let len = std::fs::metadata(trace.join(n)).unwrap().len();
        assert!(len <= 8192, "{n}: {len} bytes");
        assert!(trace.join("index").join(format!("{n}.idx")).is_file());
    }
    let view = h.ltt(&["view"]);
    let values: Vec<i64> = events(&view).iter().map(|l| int_field(l, "v")).collect();
    // The oldest files were replaced: the newest events remain, in order
    // (each CPU's stream keeps its own newest files, so gaps appear where
    // the app moved between CPUs).
    assert!(
        !values.is_empty() && values.len() < 20000,
        "{} events",
        values.len()
    );
    assert_eq!(*values.last().unwrap(), 19999);
    assert!(
        values.windows(2).all(|w| w[1] > w[0]),
        "events out of order"
    );
    assert_babeltrace2_prints(&out, &view);
    h.ltt(&["destroy"]);
}

#[test]
fn malformed_control_requests_get_an_error_and_the_daemon_goes_on() {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixStream;
    let h = Home::new("hostile-client");
    h.ltt(&["create", "kept"]);
    let sock = h.home.join("client.sock");
    let ask = |bytes: &[u8]| -> String {
        let mut s = UnixStream::connect(&sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut line = String::new();
        let _ = BufReader::new(&s).read_line(&mut line);
        line
    };
    for bad in [
        &b"not json\n"[..],
        b"{\"cmd\":\"start\",\"session\":12}\n",
        b"{\"cmd\":\"create\",\"name\":\"../../etc\"}\n",
        b"{\"cmd\":\"enable-event\",\"session\":null,\"channel\":null,\"rule\":{\"pattern\":\"x\",\"filter\":\"((((\",\"enabled\":true}}\n",
        b"\xff\xfe\n",
    ] {
        let reply = ask(bad);
        assert!(reply.contains("\"reply\":\"error\""), "{reply}");
    }
    // A line longer than the limit, a half line: the connection ends.
    let mut huge = vec![b'x'; (1 << 20) + 10];
    huge.push(b'\n');
    assert_eq!(ask(&huge), "");
    assert_eq!(ask(b"{\"cmd\":\"list-sess"), "");
    // The daemon still serves, with its session intact.
    assert!(h.ltt(&["list"]).contains("1) kept ("));
}

#[test]
fn every_event_is_recorded_or_counted_as_discarded() {
    let h = Home::new("accounting");
    h.start_one_int_session("acc", &["--subbuf-size", "4k", "--num-subbuf", "2"]);
    wait_ok(h.demo(&[
        "--iterations",
        "20000",
        "--threads",
        "2",
        "--payload",
        "one-int",
    ]));
    h.ltt(&["stop"]);
    let listed = h.ltt(&["list", "acc"]);
    let discarded: usize = listed
        .lines()
        .find_map(|l| l.trim().strip_prefix("Discarded events: "))
        .unwrap_or_else(|| panic!("no discarded count in:\n{listed}"))
        .parse()
        .unwrap();
    let recorded = events(&h.ltt(&["view"])).len();
    assert_eq!(
        recorded + discarded,
        40_000,
        "{recorded} recorded, {discarded} discarded"
    );
    h.ltt(&["destroy"]);
}

#[test]
fn a_blocking_channel_makes_apps_that_allow_it_wait() {
    let h = Home::new("blocking");
    h.start_one_int_session(
        "bl",
        &[
            "--subbuf-size",
            "4k",
            "--num-subbuf",
            "2",
            "--blocking-timeout",
            "inf",
        ],
    );
    h.ltt_fails(
        &[
            "enable-channel",
            "-u",
            "--overwrite",
            "--blocking-timeout",
            "10",
            "c",
        ],
        "cannot block",
    );
    assert!(h
        .ltt(&["list", "bl"])
        .contains("Blocking timeout: infinite"));
    let mut demo = h.cmd(demo_bin());
    demo.env("LTT_UST_ALLOW_BLOCKING", "1").args([
        "--iterations",
        "20000",
        "--threads",
        "2",
        "--payload",
        "one-int",
    ]);
    let o = demo.output().expect("run ltt-demo");
    assert!(o.status.success(), "{}", text(&o.stderr));
    h.ltt(&["stop"]);
    assert_eq!(events(&h.ltt(&["view"])).len(), 40_000);
    assert!(h.ltt(&["list", "bl"]).contains("Discarded events: 0"));
    h.ltt(&["destroy"]);
}

/// How many ring-buffer mappings process `pid` has.
fn ringbuf_mappings(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("memfd:ltt-ringbuf"))
        .count()
}

#[test]
fn apps_let_go_of_the_buffers_of_a_stopped_session() {
    let h = Home::new("detach");
    h.start_one_int_session("dt", &[]);
    let mut demo = h.demo(&[
        "--iterations",
        "5000",
        "--interval-us",
        "1000",
        "--payload",
        "one-int",
    ]);
    let pid = demo.id();
    h.wait_registered(pid);
    let wait_mapped = || {
        let deadline = Instant::now() + Duration::from_secs(5);
        while ringbuf_mappings(pid) == 0 {
            assert!(
                Instant::now() < deadline,
                "the app never mapped the buffers"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_mapped();
    for _ in 0..3 {
        h.ltt(&["stop"]);
        // `stop` returns once the app confirmed: its mapping is gone.
        assert_eq!(ringbuf_mappings(pid), 0);
        h.ltt(&["start"]);
        wait_mapped();
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ringbuf_mappings(pid), 1);
    h.ltt(&["stop"]);
    let _ = demo.kill();
    let _ = demo.wait();
    // Recorded in each period.
    assert!(events(&h.ltt(&["view"])).len() > 200);
    h.ltt(&["destroy"]);
}

#[test]
fn a_read_timer_consumer_polls_instead_of_being_woken() {
    let h = Home::new("read-timer");
    h.start_one_int_session(
        "rt",
        &[
            "--subbuf-size",
            "4k",
            "--num-subbuf",
            "2",
            "--read-timer",
            "2000",
        ],
    );
    assert!(h.ltt(&["list", "rt"]).contains("Read timer:       2000 µs"));
    // About 0.2 s of events, far more than the 8 KiB of buffers hold.
    wait_ok(h.demo(&[
        "--iterations",
        "2000",
        "--interval-us",
        "50",
        "--payload",
        "one-int",
    ]));
    h.ltt(&["stop"]);
    let recorded = events(&h.ltt(&["view"])).len();
    assert_eq!(recorded, 2000, "the polling consumer fell behind");
    h.ltt(&["destroy"]);
}

#[test]
fn several_sessions_trace_the_same_app_at_once() {
    let h = Home::new("concurrent");
    let all = h.dir.join("all");
    let few = h.dir.join("few");
    h.ltt(&["create", "all", "-o", all.to_str().unwrap()]);
    h.ltt(&["enable-event", "-u", "demo:one_int"]);
    h.ltt(&["start"]);
    h.ltt(&["create", "few", "-o", few.to_str().unwrap()]);
    h.ltt(&["enable-event", "-u", "demo:one_int", "--filter", "v < 10"]);
    h.ltt(&["add-context", "-u", "-t", "vtid", "-t", "ip"]);
    h.ltt(&["start"]);
    wait_ok(h.demo(&[
        "--iterations",
        "100",
        "--threads",
        "2",
        "--payload",
        "one-int",
    ]));
    h.ltt(&["stop", "all"]);
    h.ltt(&["stop", "few"]);
    assert_eq!(events(&h.ltt(&["view", "all"])).len(), 200);
    let few_view = h.ltt(&["view", "few"]);
    let few_events = events(&few_view);
    assert_eq!(few_events.len(), 20);
    assert!(few_events
        .iter()
        .all(|l| int_field(l, "v") < 10 && l.contains(" ip = 0x")));
    // At most eight channels at once.
    for n in 0..8 {
        let name = format!("s{n}");
        h.ltt(&["create", &name, "-o", h.dir.join(&name).to_str().unwrap()]);
        h.ltt(&["enable-event", "-u", "demo:empty"]);
        h.ltt(&["start"]);
    }
    h.ltt(&["create", "s8", "-o", h.dir.join("s8").to_str().unwrap()]);
    h.ltt(&["enable-event", "-u", "demo:empty"]);
    h.ltt_fails(&["start"], "are recording already");
    h.ltt(&["destroy", "-a"]);
}

#[test]
fn a_terminated_daemon_finishes_every_trace() {
    let h = Home::new("sigterm");
    let out = h.dir.join("trace");
    h.ltt(&["create", "t", "-o", out.to_str().unwrap()]);
    h.ltt(&["enable-event", "-u", "demo:one_int"]);
    h.ltt(&["start"]);
    wait_ok(h.demo(&["--iterations", "300", "--payload", "one-int"]));
    let pid = h.daemon_pid();
    // SAFETY: see Drop for Home.
    assert_eq!(unsafe { libc_kill(pid, 15) }, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    // Gone once its control socket is.
    while h.home.join("client.sock").exists() {
        assert!(Instant::now() < deadline, "the daemon did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Stopped and flushed on the way out: every event is there.
    assert_eq!(events(&h.ltt(&["view", out.to_str().unwrap()])).len(), 300);
}

#[test]
fn trackers_choose_the_processes_recorded() {
    let h = Home::new("trackers");
    let out = h.dir.join("trace");
    h.ltt(&["create", "tr", "-o", out.to_str().unwrap()]);
    h.ltt(&["enable-event", "-u", "demo:one_int"]);
    h.ltt(&["add-context", "-u", "-t", "vpid"]);
    // Two slow apps; only the second one's pid is tracked at first.
    let args = [
        "--iterations",
        "4000",
        "--interval-us",
        "1000",
        "--payload",
        "one-int",
    ];
    let a = h.demo(&args);
    let b = h.demo(&args);
    let (pid_a, pid_b) = (a.id(), b.id());
    h.wait_registered(pid_a);
    h.wait_registered(pid_b);
    h.ltt(&["track", "-u", "--vpid", &pid_b.to_string()]);
    assert!(h.ltt(&["status"]).contains(&format!("vpid {pid_b};")));
    h.ltt(&["start"]);
    std::thread::sleep(Duration::from_millis(500));
    // Every pid again, while tracing: the first app joins.
    h.ltt(&["track", "-u", "--all", "--vpid"]);
    std::thread::sleep(Duration::from_millis(500));
    // No user at all: both stop, while they still run.
    h.ltt(&["untrack", "-u", "--all", "--vuid"]);
    assert!(h.ltt(&["status"]).contains("vuid none;"));
    std::thread::sleep(Duration::from_millis(300));
    h.ltt(&["stop"]);
    let view = h.ltt(&["view"]);
    let count = |pid: u32| {
        events(&view)
            .iter()
            .filter(|l| int_field(l, "vpid") == pid as i64)
            .count()
    };
    let (from_a, from_b) = (count(pid_a), count(pid_b));
    // b traced for about 1 s, a for about 0.5 s, neither for its whole run.
    assert!(from_a > 0 && from_b > from_a, "a: {from_a}, b: {from_b}");
    assert!(from_b < 3000, "b was recorded after untrack: {from_b}");
    h.ltt_fails(&["untrack", "-u", "--vpid", "1"], "every vpid is tracked");
    h.ltt_fails(&["track", "-u"], "--vpid, --vuid or --vgid");
    // Users and groups by name too.
    h.ltt(&["track", "-u", "--vuid", "root,7"]);
    h.ltt(&["track", "-u", "--vgid", "root"]);
    let status = h.ltt(&["status"]);
    assert!(
        status.contains("vuid 0, 7;") && status.contains("vgid 0\n"),
        "{status}"
    );
    h.ltt_fails(&["track", "-u", "--vuid", "no-such-user-ltt"], "no user");
    h.ltt_fails(&["track", "-u", "--vgid", "no-such-group-ltt"], "no group");
    wait_ok(a);
    wait_ok(b);
    h.ltt(&["destroy"]);
}

#[test]
fn a_session_saved_while_tracing_traces_again_when_loaded() {
    let h = Home::new("load-started");
    h.start_one_int_session("live", &[]);
    let saved = h.dir.join("saved");
    h.ltt(&["save", "live", "-o", saved.to_str().unwrap()]);
    h.ltt(&["destroy", "live"]);
    std::fs::remove_dir_all(h.dir.join("trace")).unwrap();
    let loaded = h.ltt(&["load", "-i", saved.to_str().unwrap()]);
    assert!(
        loaded.contains("Tracing started for session live"),
        "{loaded}"
    );
    assert!(h
        .ltt(&["status"])
        .contains("Tracing session live: [active]"));
    wait_ok(h.demo(&["--iterations", "30", "--payload", "one-int"]));
    h.ltt(&["stop"]);
    assert_eq!(events(&h.ltt(&["view"])).len(), 30);
    h.ltt(&["destroy"]);
}

/// `lttng ARGS` with a private home (root's session daemon is the
/// system's, started on demand); its stdout.
fn lttng(home: &Path, args: &[&str]) -> String {
    let o = Command::new("lttng")
        .env("LTTNG_HOME", home)
        .env("HOME", home)
        .args(args)
        .output()
        .expect("run lttng");
    assert!(
        o.status.success(),
        "lttng {args:?} failed: {}{}",
        text(&o.stderr),
        text(&o.stdout)
    );
    text(&o.stdout)
}

/// A session saved by real LTTng 2.13.9 (`tests/data`) loads with every
/// attribute; ltt's save of it goes through real `lttng load` and `lttng
/// save` and comes back the same.
#[test]
fn saved_sessions_are_lttng_files_both_ways() {
    let h = Home::new("lttng-xml");
    let original = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sessiond/tests/data/lttng-2.13.9-saved.lttng");
    h.ltt(&["load", "-i", original.to_str().unwrap()]);
    let listed = h.ltt(&["list", "xs"]);
    for line in [
        "Tracked processes: vpid 2, 1; vuid all; vgid all",
        "Event-loss mode:  overwrite",
        "Sub-buffer size:  1048576 bytes",
        "Sub-buffer count: 8",
        "Read timer:       2000 µs",
        "Trace file count: 3 per stream",
        "vpid, procname, perf:thread:page-fault",
        "demo:one_int (type: tracepoint) [enabled] [filter: v < 10]",
        "demo:* [exclusions: demo:all_types] (loglevel <= TRACE_INFO)",
        "demo:x (loglevel == TRACE_WARNING)",
    ] {
        assert!(listed.contains(line), "{line:?} not in:\n{listed}");
    }
    let ours = h.dir.join("ours");
    h.ltt(&["save", "xs", "-o", ours.to_str().unwrap()]);
    if !require_tool("lttng") {
        return;
    }
    // Through real LTTng under another name (its daemon may be shared).
    // `lttng list` is not used: LTTng 2.13.9's daemon crashes listing an
    // event rule with exclusions.
    let name = format!("ltt-xml-{}", std::process::id());
    let home = h.dir.join("lttng-home");
    std::fs::create_dir_all(&home).unwrap();
    let file = ours.join("xs.lttng");
    // `lttng load` does not start a daemon: start one unless one runs (the
    // command then fails, which is fine).
    let _ = Command::new("lttng-sessiond")
        .args(["--daemonize", "--no-kernel"])
        .env("LTTNG_HOME", &home)
        .env("HOME", &home)
        .stderr(Stdio::null())
        .status();
    lttng(
        &home,
        &[
            "load",
            "--override-name",
            &name,
            "-i",
            file.to_str().unwrap(),
            "xs",
        ],
    );
    let theirs = h.dir.join("theirs");
    let saved = lttng(&home, &["save", &name, "-o", theirs.to_str().unwrap()]);
    lttng(&home, &["destroy", &name]);
    assert!(saved.contains("saved successfully"), "{saved}");
    h.ltt(&[
        "load",
        "-i",
        theirs.join(format!("{name}.lttng")).to_str().unwrap(),
    ]);
    assert_eq!(
        h.ltt(&["list", &name]),
        listed.replace("session xs:", &format!("session {name}:"))
    );
}
