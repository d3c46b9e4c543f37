//! Benchmark traces recorded by real LTTng: the C app in `crates/bench/c`
//! (built with gcc against liblttng-ust), traced by a private session
//! daemon that is started for the recording and stopped afterwards.
//!
//! A private daemon needs a private `LTTNG_HOME`, but root's daemon and
//! root's apps always use the global `/var/run/lttng` (LTTng-UST ignores
//! the per-user socket for uid 0). So when we are root, the daemon, the
//! `lttng` client and the app all run as `nobody`, whose daemon lives in
//! our `LTTNG_HOME`: nothing collides with a session daemon someone else
//! runs on the machine.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::{fnv1a, Kind};

/// The C sources, embedded so the benchmark runs from any directory.
const SOURCES: [(&str, &str); 3] = [
    ("lab_tp.h", include_str!("../../c/lab_tp.h")),
    ("lab_tp.c", include_str!("../../c/lab_tp.c")),
    ("lab_app.c", include_str!("../../c/lab_app.c")),
];

const CC_ARGS: &[&str] = &[
    "-O2",
    "-Wall",
    "-I.",
    "lab_tp.c",
    "lab_app.c",
    "-llttng-ust",
    "-ldl",
    "-lpthread",
    "-o",
    "lab_app",
];

/// Large sub-buffers and blocking mode: the app waits for the consumer
/// rather than discarding, so the trace holds every event.
const CHANNEL_ARGS: &[&str] = &[
    "--subbuf-size=4M",
    "--num-subbuf=8",
    "--blocking-timeout=inf",
];

/// Why real LTTng cannot be used here, or `None` when it can.
pub fn unavailable() -> Option<String> {
    let missing: Vec<&str> = ["lttng", "lttng-sessiond", "gcc"]
        .into_iter()
        .filter(|p| find_in_path(p).is_none())
        .collect();
    if !missing.is_empty() {
        return Some(format!("not found in PATH: {}", missing.join(", ")));
    }
    let header = ["/usr/include", "/usr/local/include"]
        .iter()
        .flat_map(|d| {
            [
                format!("{d}/lttng/tracepoint.h"),
                format!("{d}/x86_64-linux-gnu/lttng/tracepoint.h"),
                format!("{d}/aarch64-linux-gnu/lttng/tracepoint.h"),
            ]
        })
        .any(|p| Path::new(&p).exists());
    (!header).then(|| "lttng/tracepoint.h not found (install liblttng-ust-dev)".to_string())
}

/// The first `name` in `$PATH`.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A stamp of what the recordings depend on: the C sources and build
/// flags, so editing the provider invalidates cached traces.
pub fn sources_hash() -> u64 {
    let mut all = String::new();
    for (name, text) in SOURCES {
        all.push_str(name);
        all.push('\0');
        all.push_str(text);
    }
    all.push_str(&CC_ARGS.join(" "));
    all.push_str(&CHANNEL_ARGS.join(" "));
    fnv1a(all.as_bytes())
}

/// The version line of `lttng --version`, for the report.
pub fn version() -> String {
    Command::new("lttng")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| super::measure::first_line(&o.stdout))
        .unwrap_or_else(|| "lttng (unknown version)".to_string())
}

/// Builds the app into `dir` unless the binary there was built from the
/// current sources; returns its path.
pub fn build_app(dir: &Path) -> Result<PathBuf> {
    build_c(dir, &SOURCES, CC_ARGS, "lab_app", sources_hash())
}

/// Writes `sources` into `dir` and runs `gcc CC_ARGS` there, which must
/// produce `binary`, unless the binary there was built with `stamp`;
/// returns the binary's path.
pub(crate) fn build_c(
    dir: &Path,
    sources: &[(&str, &str)],
    cc_args: &[&str],
    binary: &str,
    stamp: u64,
) -> Result<PathBuf> {
    let app = dir.join(binary);
    let stamp_path = dir.join("stamp");
    let stamp = format!("{stamp:016x}");
    if app.is_file() && fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        return Ok(app);
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in sources {
        let path = dir.join(name);
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!("ltt-bench: building the LTTng-UST app in {}", dir.display());
    let out = Command::new("gcc")
        .args(cc_args)
        .current_dir(dir)
        .output()
        .context("cannot run gcc")?;
    if !out.status.success() {
        bail!(
            "gcc {} failed ({}):\n{}",
            cc_args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    fs::write(&stamp_path, &stamp)
        .with_context(|| format!("cannot write {}", stamp_path.display()))?;
    Ok(app)
}

/// Who the LTTng processes run as: ourselves, or `nobody` when we are root
/// (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunAs(Option<(u32, u32)>);

impl RunAs {
    pub(crate) fn detect() -> RunAs {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return RunAs(None);
        }
        // SAFETY: the name is a NUL-terminated literal; the returned
        // pointer, when not null, points to a static passwd record that we
        // read at once, before any other getpw* call.
        let ids = unsafe {
            let pw = libc::getpwnam(c"nobody".as_ptr());
            if pw.is_null() {
                (65534, 65534)
            } else {
                ((*pw).pw_uid, (*pw).pw_gid)
            }
        };
        RunAs(Some(ids))
    }

    fn apply(self, cmd: &mut Command) {
        if let Some((uid, gid)) = self.0 {
            cmd.uid(uid).gid(gid);
        }
    }

    /// Gives `path` to the user the LTTng processes run as.
    pub(crate) fn own(self, path: &Path) -> Result<()> {
        let Some((uid, gid)) = self.0 else {
            return Ok(());
        };
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .with_context(|| format!("cannot chown {} to uid {uid}", path.display()))
    }
}

/// A session daemon we started; stopped (SIGTERM, then SIGKILL) when
/// dropped, so it goes away on every path, errors included.
pub(crate) struct SessionDaemon {
    child: Child,
    log: PathBuf,
}

impl SessionDaemon {
    pub(crate) fn start(env: &Env, log: PathBuf) -> Result<SessionDaemon> {
        let log_file =
            fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut cmd = Command::new("lttng-sessiond");
        // Kernel tracing needs root and modules; we only trace user space.
        cmd.arg("--no-kernel")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        env.apply(&mut cmd);
        let child = cmd.spawn().context("cannot start lttng-sessiond")?;
        let mut daemon = SessionDaemon { child, log };
        daemon.wait_ready(env)?;
        Ok(daemon)
    }

    /// Polls the client until the daemon answers.
    fn wait_ready(&mut self, env: &Env) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "lttng-sessiond exited at start ({status}); its log {}:\n{}",
                    self.log.display(),
                    log_tail(&self.log)
                );
            }
            let mut cmd = Command::new("lttng");
            cmd.args(["--no-sessiond", "list"])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            env.apply(&mut cmd);
            if cmd.status().is_ok_and(|s| s.success()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "lttng-sessiond did not answer within 20 s; its log {}:\n{}",
                    self.log.display(),
                    log_tail(&self.log)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SessionDaemon {
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: `pid` is our child, not yet reaped (we only reap below or
        // in try_wait, after which kill fails harmlessly with ESRCH).
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        eprintln!("ltt-bench: lttng-sessiond ignored SIGTERM; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// The environment every LTTng process of a recording shares.
pub(crate) struct Env {
    pub(crate) home: PathBuf,
    pub(crate) run_as: RunAs,
}

impl Env {
    pub(crate) fn apply(&self, cmd: &mut Command) {
        cmd.env("LTTNG_HOME", &self.home).env("HOME", &self.home);
        self.run_as.apply(cmd);
    }

    /// Runs `lttng --no-sessiond ARGS`, returning its stdout.
    pub(crate) fn lttng(&self, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new("lttng");
        cmd.arg("--no-sessiond").args(args).stdin(Stdio::null());
        self.apply(&mut cmd);
        let out = cmd
            .output()
            .with_context(|| format!("cannot run lttng {}", args.join(" ")))?;
        if !out.status.success() {
            bail!(
                "lttng {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// A temporary directory removed when dropped.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Records `count` events of `kind` emitted by `threads` threads of `app`
/// into the new directory `out` (which must not exist; its parent must,
/// and receives the daemon's log).
pub fn record(app: &Path, kind: Kind, count: u64, threads: u32, out: &Path) -> Result<()> {
    let run_as = RunAs::detect();
    // Short, in the temporary directory: the daemon's Unix socket paths
    // live below it and must stay under 108 bytes.
    let home = TempDir(std::env::temp_dir().join(format!(
        "ltt-bench-{}-{}",
        std::process::id(),
        kind.name()
    )));
    let _ = fs::remove_dir_all(&home.0);
    fs::create_dir_all(&home.0).with_context(|| format!("cannot create {}", home.0.display()))?;
    run_as.own(&home.0)?;
    // Everything `nobody` touches lives in `home`: the cache directory may
    // be below a directory only root can enter (/root).
    let private_app = home.0.join("lab_app");
    fs::copy(app, &private_app)
        .with_context(|| format!("cannot copy {} to {}", app.display(), private_app.display()))?;
    let trace = home.0.join("trace");
    let env = Env {
        home: home.0.clone(),
        run_as,
    };

    // Opened by us and inherited: the daemon needs no access to its path.
    let parent = out.parent().context("trace output path has no parent")?;
    let log = parent.join(format!("sessiond-{}.log", kind.name()));
    let daemon = SessionDaemon::start(&env, log)?;
    let session = format!("ltt-bench-{}", kind.name());
    let recorded = record_session(&env, &session, &private_app, kind, count, threads, &trace);
    if recorded.is_err() {
        // Leave no session behind in case the daemon outlives us.
        let _ = env.lttng(&["destroy", &session]);
    }
    drop(daemon);
    let discarded = recorded?;
    if discarded != 0 {
        bail!("LTTng discarded {discarded} events despite blocking mode; the trace is incomplete");
    }
    move_dir(&trace, out)
}

/// Moves the directory `from` to `to`: a rename, or a copy when they are
/// on different file systems (the temporary directory often is).
fn move_dir(from: &Path, to: &Path) -> Result<()> {
    if fs::rename(from, to).is_ok() {
        return Ok(());
    }
    copy_dir(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// The session's life: create, channel, event, start, app, stop, read the
/// discarded-event count, destroy. Returns the discarded count.
fn record_session(
    env: &Env,
    session: &str,
    app: &Path,
    kind: Kind,
    count: u64,
    threads: u32,
    out: &Path,
) -> Result<u64> {
    let output = format!("--output={}", out.display());
    env.lttng(&["create", session, &output])?;
    let mut channel = vec!["enable-channel", "--userspace", "--session", session];
    channel.extend_from_slice(CHANNEL_ARGS);
    channel.push("bench");
    env.lttng(&channel)?;
    let event = format!("lab:{}", kind.name());
    env.lttng(&[
        "enable-event",
        "--userspace",
        "--session",
        session,
        "--channel",
        "bench",
        &event,
    ])?;
    env.lttng(&["start", session])?;

    let started = Instant::now();
    let mut cmd = Command::new(app);
    cmd.args([kind.name(), &count.to_string(), &threads.to_string()])
        // Blocking channels only block apps that opt in.
        .env("LTTNG_UST_ALLOW_BLOCKING", "1")
        // Wait for the daemon before main(), or the first events are lost.
        .env("LTTNG_UST_REGISTER_TIMEOUT", "30000")
        .stdin(Stdio::null());
    env.apply(&mut cmd);
    let run = cmd
        .output()
        .with_context(|| format!("cannot run {}", app.display()))?;
    if !run.status.success() {
        bail!(
            "{} failed ({}): {}",
            app.display(),
            run.status,
            String::from_utf8_lossy(&run.stderr).trim()
        );
    }
    eprintln!(
        "ltt-bench: LTTng recorded {count} {} events in {:.2} s",
        kind.name(),
        started.elapsed().as_secs_f64()
    );

    // `stop` waits until the consumer has written everything out.
    env.lttng(&["stop", session])?;
    let listing = env.lttng(&["list", session])?;
    env.lttng(&["destroy", session])?;
    discarded_events(&listing)
        .with_context(|| format!("no `Discarded events` in `lttng list {session}`:\n{listing}"))
}

/// The sum of the channels' `Discarded events:` and `Lost packets:`
/// figures in `lttng list SESSION` output.
pub(crate) fn discarded_events(listing: &str) -> Option<u64> {
    let mut found = None;
    for line in listing.lines() {
        let line = line.trim();
        for key in ["Discarded events:", "Lost packets:"] {
            if let Some(n) = line.strip_prefix(key) {
                let n: u64 = n.trim().parse().ok()?;
                found = Some(found.unwrap_or(0) + n);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discarded_counts_are_summed() {
        let listing = "Channels:\n- a:\n    Statistics:\n      Discarded events: 2\n- b:\n    Statistics:\n      Discarded events: 0\n      Lost packets: 1\n";
        assert_eq!(discarded_events(listing), Some(3));
        assert_eq!(discarded_events("nothing"), None);
    }
}
