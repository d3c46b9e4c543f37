//! The per-user session daemon: named sessions with their channels, event
//! rules and contexts, driven by [`Request`]s, recording through
//! the [`Hub`] that every traced app of the user is connected to.
//!
//! Up to [`MAX_SLOTS`](ltt_ust::proto::MAX_SLOTS) channels (of all
//! sessions together) trace at once, each in its own slot of every app. A
//! session keeps its recording from its first `start` to `destroy`, so
//! `stop` then `start` continue the same trace.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::control::{AppView, ChannelInfo, ChannelSpec, Reply, Request, SessionInfo};
use crate::hub::Hub;
use crate::recording::RecordingConfig;
use crate::registry::parse_filter;
use crate::rules::EventRule;
use crate::target::Target;
use crate::{default_output_dir, lttng_xml, sys, CHANNEL_NAME};
use ltt_ust::Context;

struct Sess {
    info: SessionInfo,
    /// From the first `start` to `destroy`: the enabled channels, by name.
    recording: Option<Vec<(String, Arc<Target>)>>,
}

#[derive(Default)]
struct Sessions {
    list: Vec<Sess>,
    current: Option<String>,
}

/// The daemon's sessions and apps.
pub struct Daemon {
    dir: PathBuf,
    hub: Arc<Hub>,
    sessions: Mutex<Sessions>,
}

type Result<T> = std::result::Result<T, String>;

fn done(message: impl Into<String>) -> Result<Reply> {
    Ok(Reply::Done {
        message: message.into(),
    })
}

fn valid_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 255
        || name.starts_with('.')
        || name.contains(['/', '\0'])
        || name.chars().any(char::is_whitespace)
    {
        return Err(format!(
            "invalid name {name:?}: use letters, digits, '-' or '_', no '/' and no spaces"
        ));
    }
    Ok(())
}

impl Sessions {
    fn find(&mut self, name: Option<&str>) -> Result<&mut Sess> {
        let name = match name {
            Some(n) => n.to_string(),
            None => self.current.clone().ok_or(
                "no session given and no current session: create one with `ltt create NAME`",
            )?,
        };
        self.list
            .iter_mut()
            .find(|s| s.info.name == name)
            .ok_or_else(|| format!("session {name} not found"))
    }
}

impl Sess {
    /// The channel named `name` (default `channel0`, created with LTTng's
    /// defaults if the session has no such channel yet, as LTTng does).
    fn channel(&mut self, name: Option<&str>) -> Result<&mut ChannelInfo> {
        let name = name.unwrap_or(CHANNEL_NAME);
        let i = match self.info.channels.iter().position(|c| c.spec.name == name) {
            Some(i) => i,
            None if self.recording.is_some() => {
                return Err(format!(
                    "session {} has no channel {name}, and channels cannot be added once tracing started",
                    self.info.name
                ))
            }
            None => {
                // With the buffers the session's channels already use.
                let mut spec = ChannelSpec::new(name);
                spec.buffers_pid = self.info.channels.iter().any(|c| c.spec.buffers_pid);
                self.info.channels.push(ChannelInfo {
                    spec,
                    enabled: true,
                    rules: Vec::new(),
                    contexts: Vec::new(),
                    discarded: None,
                });
                self.info.channels.len() - 1
            }
        };
        Ok(&mut self.info.channels[i])
    }

    /// The recording's targets, one per recorded channel.
    fn targets(&self) -> impl Iterator<Item = &Arc<Target>> {
        self.recording.iter().flatten().map(|(_, t)| t)
    }

    /// Rules in force in channel `name`: none if it is disabled.
    fn rules(&self, name: &str) -> Vec<EventRule> {
        self.info
            .channels
            .iter()
            .filter(|c| c.enabled && c.spec.name == name)
            .flat_map(|c| c.rules.clone())
            .collect()
    }

    /// The recording configuration of each enabled channel, and whether
    /// they use per-PID buffers (all channels of a session do or none:
    /// `enable-channel` and saved files see to it).
    fn recording_configs(&self) -> Result<(Vec<RecordingConfig>, bool)> {
        let name = &self.info.name;
        let enabled: Vec<&ChannelInfo> = self.info.channels.iter().filter(|c| c.enabled).collect();
        let Some(first) = enabled.first() else {
            return Err(format!(
                "session {name} has no events: enable some first (ltt enable-event -u NAME)"
            ));
        };
        let per_pid = first.spec.buffers_pid;
        let cfgs = enabled
            .iter()
            .map(|ch| RecordingConfig {
                output: self.info.output.clone(),
                trace_name: name.clone(),
                rules: self.rules(&ch.spec.name),
                contexts: ch
                    .contexts
                    .iter()
                    .filter_map(|c| Context::from_name(c))
                    .collect(),
                subbuf_size: ch.spec.subbuf_size,
                num_subbufs: ch.spec.num_subbuf,
                overwrite: ch.spec.overwrite,
                trace_files: crate::TraceFiles {
                    channel: ch.spec.name.clone(),
                    max_size: ch.spec.tracefile_size,
                    max_count: ch.spec.tracefile_count,
                },
                blocking_us: ch.spec.blocking_timeout_us,
                timers: crate::consumer::Timers {
                    switch: micros(ch.spec.switch_timer_us),
                    read: micros(ch.spec.read_timer_us),
                },
            })
            .collect();
        Ok((cfgs, per_pid))
    }
}

impl Daemon {
    pub fn new(dir: PathBuf, hub: Arc<Hub>) -> Daemon {
        Daemon {
            dir,
            hub,
            sessions: Mutex::new(Sessions::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Carry out one request.
    pub fn handle(&self, req: Request) -> Reply {
        self.try_handle(req)
            .unwrap_or_else(|message| Reply::Error { message })
    }

    fn try_handle(&self, req: Request) -> Result<Reply> {
        match req {
            Request::Create { name, output } => self.create(name, output),
            Request::Destroy { session, all } => self.destroy(session, all),
            Request::SetSession { name } => {
                let mut s = self.lock();
                s.find(Some(&name))?;
                s.current = Some(name.clone());
                done(format!("Session set to {name}"))
            }
            Request::EnableChannel { session, spec } => self.enable_channel(session, spec),
            Request::DisableChannel { session, name } => {
                let mut s = self.lock();
                let sess = s.find(session.as_deref())?;
                if sess.recording.is_some() {
                    return Err("cannot disable a channel once tracing started".into());
                }
                sess.channel(Some(&name))?.enabled = false;
                done(format!("ust channel {name} disabled"))
            }
            Request::EnableEvent {
                session,
                channel,
                rule,
            } => self.enable_event(session, channel, rule),
            Request::DisableEvent {
                session,
                channel,
                pattern,
            } => self.disable_event(session, channel, pattern),
            Request::AddContext {
                session,
                channel,
                types,
            } => self.add_context(session, channel, types),
            Request::Start { session } => self.start(session),
            Request::Stop { session } => self.stop(session),
            Request::ListSessions => Ok(Reply::Sessions {
                sessions: self.lock().list.iter().map(|s| s.info.clone()).collect(),
            }),
            Request::ShowSession { session } => {
                let mut s = self.lock();
                let sess = s.find(session.as_deref())?;
                let mut info = sess.info.clone();
                for (name, target) in sess.recording.iter().flatten() {
                    if let Some(c) = info.channels.iter_mut().find(|c| c.spec.name == *name) {
                        c.discarded = Some(target.discarded());
                    }
                }
                Ok(Reply::Session { session: info })
            }
            Request::ListApps => Ok(Reply::Apps {
                apps: self
                    .hub
                    .apps()
                    .into_iter()
                    .map(|a| AppView {
                        pid: a.app.pid,
                        procname: a.app.procname,
                        events: a.events,
                    })
                    .collect(),
            }),
            Request::Save {
                session,
                all,
                output,
                force,
            } => self.save(session, all, output, force),
            Request::Load { name, input, force } => self.load(name, input, force),
            Request::Track {
                session,
                attr,
                values,
                all,
                track,
            } => {
                let mut s = self.lock();
                let sess = s.find(session.as_deref())?;
                sess.info.trackers.change(attr, &values, all, track)?;
                if sess.info.active {
                    for t in sess.targets() {
                        self.hub.track(t, sess.info.trackers.clone());
                    }
                }
                let verb = if track { "tracking" } else { "untracking" };
                let what = if all {
                    "all".to_string()
                } else {
                    values
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                done(format!(
                    "ust {}s {what}: {verb} in session {}",
                    attr.name(),
                    sess.info.name
                ))
            }
        }
    }

    fn create(&self, name: Option<String>, output: Option<PathBuf>) -> Result<Reply> {
        let name = name.unwrap_or_else(|| format!("auto-{}", sys::LocalTime::now().dir_suffix()));
        valid_name(&name)?;
        let mut s = self.lock();
        if s.list.iter().any(|x| x.info.name == name) {
            return Err(format!("session {name} already exists"));
        }
        let output = output.unwrap_or_else(|| default_output_dir(&name));
        if !output.is_absolute() {
            return Err(format!("{}: the output must be absolute", output.display()));
        }
        let message = format!(
            "Session {name} created.\nTraces will be output to {}",
            output.display()
        );
        s.list.push(Sess {
            info: SessionInfo {
                name: name.clone(),
                output,
                active: false,
                channels: Vec::new(),
                trackers: Default::default(),
            },
            recording: None,
        });
        s.current = Some(name);
        done(message)
    }

    fn destroy(&self, session: Option<String>, all: bool) -> Result<Reply> {
        let names: Vec<String> = {
            let mut s = self.lock();
            if all {
                s.list.iter().map(|x| x.info.name.clone()).collect()
            } else {
                vec![s.find(session.as_deref())?.info.name.clone()]
            }
        };
        let mut lines = Vec::new();
        for name in names {
            let sess = {
                let mut s = self.lock();
                let Some(i) = s.list.iter().position(|x| x.info.name == name) else {
                    continue;
                };
                if s.current.as_deref() == Some(name.as_str()) {
                    s.current = None;
                }
                s.list.remove(i)
            };
            if sess.info.active {
                for t in sess.targets() {
                    self.hub.deactivate(t);
                }
            }
            for t in sess.targets() {
                let summary = t.finish().map_err(|e| format!("session {name}: {e}"))?;
                lines.extend(summary.warnings.iter().map(|w| format!("Warning: {w}")));
            }
            lines.push(format!("Session {name} destroyed"));
        }
        done(lines.join("\n"))
    }

    fn add_context(
        &self,
        session: Option<String>,
        channel: Option<String>,
        types: Vec<String>,
    ) -> Result<Reply> {
        for t in &types {
            if Context::from_name(t).is_none() {
                return Err(format!(
                    "unknown user-space context {t} (one of: {})",
                    Context::names().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        let mut s = self.lock();
        let sess = s.find(session.as_deref())?;
        if sess.recording.is_some() {
            return Err("cannot add a context once tracing started".into());
        }
        let ch = sess.channel(channel.as_deref())?;
        let mut lines = Vec::new();
        for t in types {
            let canonical = Context::from_name(&t).map_or(t.clone(), |c| c.name().to_string());
            if ch.contexts.contains(&canonical) {
                return Err(format!(
                    "context {t} already added to channel {}",
                    ch.spec.name
                ));
            }
            ch.contexts.push(canonical);
            lines.push(format!("ust context {t} added to channel {}", ch.spec.name));
        }
        done(lines.join("\n"))
    }

    fn enable_channel(&self, session: Option<String>, spec: ChannelSpec) -> Result<Reply> {
        valid_name(&spec.name)?;
        check_channel(&spec)?;
        let mut s = self.lock();
        let sess = s.find(session.as_deref())?;
        let session_name = sess.info.name.clone();
        if let Some(ch) = sess
            .info
            .channels
            .iter_mut()
            .find(|c| c.spec.name == spec.name)
        {
            if ch.enabled {
                return Err(format!("channel {} already enabled", spec.name));
            }
            ch.enabled = true;
        } else {
            if sess.recording.is_some() {
                return Err("cannot add a channel once tracing started".into());
            }
            if let Some(other) = sess
                .info
                .channels
                .iter()
                .find(|c| c.spec.buffers_pid != spec.buffers_pid)
            {
                return Err(format!(
                    "channel {} uses {} buffers: a session's channels must all use the same (--buffers-uid or --buffers-pid)",
                    other.spec.name,
                    if other.spec.buffers_pid { "per-process" } else { "per-user" }
                ));
            }
            sess.info.channels.push(ChannelInfo {
                spec: spec.clone(),
                enabled: true,
                rules: Vec::new(),
                contexts: Vec::new(),
                discarded: None,
            });
        }
        done(format!(
            "ust channel {} enabled for session {session_name}",
            spec.name
        ))
    }

    /// Apply a session's new rules to its recording and the apps.
    fn apply_rules(&self, sess: &Sess) -> Result<()> {
        for (name, t) in sess.recording.iter().flatten() {
            t.set_rules(sess.rules(name)).map_err(|e| e.to_string())?;
            if sess.info.active {
                self.hub.refresh(t);
            }
        }
        Ok(())
    }

    fn enable_event(
        &self,
        session: Option<String>,
        channel: Option<String>,
        rule: EventRule,
    ) -> Result<Reply> {
        if let Some(f) = &rule.filter {
            parse_filter(f)?;
        }
        let mut s = self.lock();
        let sess = s.find(session.as_deref())?;
        let ch = sess.channel(channel.as_deref())?;
        let chname = ch.spec.name.clone();
        match ch.rules.iter_mut().find(|r| r.same_rule(&rule)) {
            Some(r) if r.enabled => {
                return Err(format!(
                    "ust event {} already enabled in channel {chname}",
                    rule.pattern
                ))
            }
            Some(r) => r.enabled = true,
            None => ch.rules.push(rule.clone()),
        }
        self.apply_rules(sess)?;
        let mut msg = format!("ust event {} created in channel {chname}", rule.pattern);
        if let Some(f) = &rule.filter {
            msg.push_str(&format!("\nFilter '{f}' successfully set"));
        }
        done(msg)
    }

    fn disable_event(
        &self,
        session: Option<String>,
        channel: Option<String>,
        pattern: Option<String>,
    ) -> Result<Reply> {
        let mut s = self.lock();
        let sess = s.find(session.as_deref())?;
        let ch = sess.channel(channel.as_deref())?;
        let chname = ch.spec.name.clone();
        let mut n = 0;
        for r in ch.rules.iter_mut() {
            if pattern.as_ref().is_none_or(|p| *p == r.pattern) {
                r.enabled = false;
                n += 1;
            }
        }
        let what = pattern.unwrap_or_else(|| "*".into());
        if n == 0 {
            return Err(format!("ust event {what} not found in channel {chname}"));
        }
        self.apply_rules(sess)?;
        done(format!("ust event {what} disabled in channel {chname}"))
    }

    fn start(&self, session: Option<String>) -> Result<Reply> {
        let mut s = self.lock();
        let sess = s.find(session.as_deref())?;
        let name = sess.info.name.clone();
        if sess.info.active {
            return Err(format!("tracing already started for session {name}"));
        }
        if sess.recording.is_none() {
            let (cfgs, per_pid) = sess.recording_configs()?;
            let names: Vec<String> = cfgs.iter().map(|c| c.trace_files.channel.clone()).collect();
            let targets =
                Target::start_all(cfgs, per_pid).map_err(|e| format!("session {name}: {e}"))?;
            sess.recording = Some(
                names
                    .into_iter()
                    .zip(targets.into_iter().map(Arc::new))
                    .collect(),
            );
        }
        let targets: Vec<Arc<Target>> = sess.targets().cloned().collect();
        for (i, t) in targets.iter().enumerate() {
            if let Err(e) = self.hub.activate(t.clone(), sess.info.trackers.clone()) {
                for started in &targets[..i] {
                    self.hub.deactivate(started);
                }
                return Err(format!("session {name} cannot start: {e}"));
            }
        }
        sess.info.active = true;
        done(format!("Tracing started for session {name}"))
    }

    fn stop(&self, session: Option<String>) -> Result<Reply> {
        let mut s = self.lock();
        let sess = s.find(session.as_deref())?;
        let name = sess.info.name.clone();
        if !sess.info.active {
            return Err(format!("tracing already stopped for session {name}"));
        }
        for t in sess.targets() {
            self.hub.deactivate(t);
        }
        for t in sess.targets() {
            t.flush();
        }
        sess.info.active = false;
        done(format!(
            "Waiting for data availability\nTracing stopped for session {name}"
        ))
    }

    fn sessions_dir(&self) -> PathBuf {
        self.dir.join("sessions")
    }

    fn save(
        &self,
        session: Option<String>,
        all: bool,
        output: Option<PathBuf>,
        force: bool,
    ) -> Result<Reply> {
        let dir = output.unwrap_or_else(|| self.sessions_dir());
        let infos: Vec<SessionInfo> = {
            let mut s = self.lock();
            if all {
                s.list.iter().map(|x| x.info.clone()).collect()
            } else {
                vec![s.find(session.as_deref())?.info.clone()]
            }
        };
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut lines = Vec::new();
        for info in infos {
            let path = dir.join(format!("{}.{}", info.name, lttng_xml::EXTENSION));
            if path.exists() && !force {
                return Err(format!(
                    "{} exists: use --force to overwrite it",
                    path.display()
                ));
            }
            let xml = lttng_xml::write(std::slice::from_ref(&info));
            std::fs::write(&path, xml).map_err(|e| format!("{}: {e}", path.display()))?;
            lines.push(format!("Session {} saved to {}", info.name, path.display()));
        }
        done(lines.join("\n"))
    }

    fn load(&self, name: Option<String>, input: Option<PathBuf>, force: bool) -> Result<Reply> {
        let input = input.unwrap_or_else(|| self.sessions_dir());
        let files: Vec<PathBuf> = if input.is_file() {
            vec![input.clone()]
        } else if let Some(n) = &name {
            vec![input.join(format!("{n}.{}", lttng_xml::EXTENSION))]
        } else {
            let rd = std::fs::read_dir(&input).map_err(|e| format!("{}: {e}", input.display()))?;
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == lttng_xml::EXTENSION))
                .collect();
            v.sort();
            v
        };
        let mut lines = Vec::new();
        let mut to_start = Vec::new();
        let saved = files
            .iter()
            .map(|p| read_saved(p))
            .collect::<Result<Vec<_>>>()?;
        for Saved { info, path } in saved.into_iter().flatten() {
            if name.as_ref().is_some_and(|n| *n != info.name) {
                continue;
            }
            let exists = self.lock().list.iter().any(|x| x.info.name == info.name);
            if exists {
                if !force {
                    return Err(format!(
                        "session {} exists: use --force to replace it",
                        info.name
                    ));
                }
                self.destroy(Some(info.name.clone()), false)?;
            }
            let mut s = self.lock();
            s.current = Some(info.name.clone());
            lines.push(format!(
                "Session {} loaded from {}",
                info.name,
                path.display()
            ));
            if info.active {
                to_start.push(info.name.clone());
            }
            s.list.push(Sess {
                info: SessionInfo {
                    active: false,
                    ..info
                },
                recording: None,
            });
        }
        if lines.is_empty() {
            return Err(format!("no saved session found in {}", input.display()));
        }
        // Saved while tracing: tracing again, as `lttng load` does.
        for name in to_start {
            lines.push(match self.start(Some(name)) {
                Ok(Reply::Done { message }) => message,
                Ok(_) => String::new(),
                Err(e) => format!("Warning: {e}"),
            });
        }
        done(lines.join("\n"))
    }

    /// Stop and finish every session (the daemon is going away).
    pub fn shutdown(&self) {
        let _ = self.destroy(None, true);
        self.hub.shutdown();
    }
}

/// The checks `enable-channel` makes on a channel's sizes.
fn check_channel(spec: &ChannelSpec) -> Result<()> {
    if spec.overwrite && spec.blocking_timeout_us != 0 {
        return Err(
            "a channel in overwrite mode cannot block: its writers never wait for room".into(),
        );
    }
    if spec.subbuf_size < 4096 || !spec.subbuf_size.is_power_of_two() {
        return Err(format!(
            "invalid sub-buffer size {}: a power of two of at least 4096 bytes",
            spec.subbuf_size
        ));
    }
    if spec.num_subbuf < 2 || !spec.num_subbuf.is_power_of_two() {
        return Err(format!(
            "invalid number of sub-buffers {}: a power of two of at least 2",
            spec.num_subbuf
        ));
    }
    if spec
        .tracefile_size
        .is_some_and(|t| t < spec.subbuf_size as u64)
    {
        return Err(format!(
            "trace file size {} is smaller than the sub-buffer size {}",
            spec.tracefile_size.unwrap_or(0),
            spec.subbuf_size
        ));
    }
    Ok(())
}

/// A timer period in µs (0: off).
fn micros(us: u64) -> Option<std::time::Duration> {
    (us > 0).then(|| std::time::Duration::from_micros(us))
}

/// A session read from a file.
struct Saved<'a> {
    info: SessionInfo,
    path: &'a Path,
}

/// The sessions of a saved file (LTTng's format), validated as if typed
/// on the command line.
fn read_saved(path: &Path) -> Result<Vec<Saved<'_>>> {
    let at = |e: String| format!("{}: {e}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| at(e.to_string()))?;
    let infos = lttng_xml::read(&text, default_output_dir).map_err(at)?;
    for info in &infos {
        valid_name(&info.name).map_err(at)?;
        for ch in &info.channels {
            valid_name(&ch.spec.name).map_err(at)?;
            check_channel(&ch.spec).map_err(at)?;
        }
        for rule in info.channels.iter().flat_map(|c| &c.rules) {
            if let Some(f) = &rule.filter {
                parse_filter(f).map_err(at)?;
            }
        }
    }
    Ok(infos.into_iter().map(|info| Saved { info, path }).collect())
}

static TERMINATE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_terminate(_: libc::c_int) {
    TERMINATE.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Run the daemon serving `dir` until SIGTERM or SIGINT: then finish every
/// session's trace and leave. Refuses to start if another daemon serves
/// `dir` or if `dir` is not private to this user.
pub fn run(dir: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixListener;
    use std::sync::atomic::Ordering;

    crate::private_dir(dir).map_err(|e| e.to_string())?;
    let lock_path = dir.join("sessiond.lock");
    let mut lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| format!("{}: {e}", lock_path.display()))?;
    // SAFETY: flock on an fd we own.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(format!(
            "another ltt-sessiond already serves {}",
            dir.display()
        ));
    }
    // The lock file names the daemon's pid (for `kill`).
    {
        use std::io::Write;
        let _ = lock.set_len(0);
        let _ = writeln!(lock, "{}", std::process::id());
    }
    let bind = |name: &str| -> Result<UnixListener> {
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        let l = UnixListener::bind(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(l)
    };
    let apps = bind(ltt_ust::APP_SOCKET_NAME)?;
    log_to_file(&dir.join("sessiond.log"))?;
    let clients = bind(crate::control::CLIENT_SOCKET_NAME)?;
    let hub = Arc::new(Hub::default());
    hub.serve(apps).map_err(|e| format!("app listener: {e}"))?;
    let daemon = Arc::new(Daemon::new(dir.to_path_buf(), hub));
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic (async-signal-safe).
        unsafe { libc::signal(sig, on_terminate as *const () as libc::sighandler_t) };
    }
    while !TERMINATE.load(Ordering::Relaxed) {
        if !crate::hub::readable(&clients, std::time::Duration::from_millis(100)) {
            continue;
        }
        let Ok((sock, _)) = clients.accept() else {
            continue;
        };
        let daemon = daemon.clone();
        let _ = std::thread::Builder::new()
            .name("ltt-client".into())
            .spawn(move || serve_client(&daemon, sock));
    }
    daemon.shutdown();
    let _ = std::fs::remove_file(dir.join(crate::control::CLIENT_SOCKET_NAME));
    let _ = std::fs::remove_file(dir.join(ltt_ust::APP_SOCKET_NAME));
    Ok(())
}

/// Unless stderr is a terminal, send it to `path` from now on: whoever
/// started the daemon (`ltt`, waiting on a pipe) must not wait for its end.
fn log_to_file(path: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    // SAFETY: isatty and dup2 on valid descriptors.
    if unsafe { libc::isatty(2) } == 1 {
        return Ok(());
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: see above; fd 2 now refers to the log file.
    if unsafe { libc::dup2(log.as_raw_fd(), 2) } < 0 {
        return Err(format!(
            "{}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Answer one client's requests until it hangs up.
fn serve_client(daemon: &Daemon, sock: std::os::unix::net::UnixStream) {
    use std::io::Write;
    let mut writer = match sock.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reply = |r: &Reply| {
        let mut line = serde_json::to_vec(r).unwrap_or_default();
        line.push(b'\n');
        writer.write_all(&line).is_ok()
    };
    if let Err(message) = crate::hub::same_user(&sock) {
        reply(&Reply::Error { message });
        return;
    }
    let mut reader = std::io::BufReader::new(sock);
    while let Ok(Some(line)) = crate::control::read_line(&mut reader) {
        let r = match serde_json::from_slice::<Request>(&line) {
            Ok(req) => daemon.handle(req),
            Err(e) => Reply::Error {
                message: format!("bad request: {e}"),
            },
        };
        if !reply(&r) {
            break;
        }
    }
}
