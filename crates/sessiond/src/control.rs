//! The control protocol between `ltt` and `ltt-sessiond`: one JSON request
//! per line on the daemon's `client.sock`, one JSON reply per line. Only
//! the daemon's own user may connect (checked with `SO_PEERCRED`).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::rules::EventRule;

/// Name of the control socket in the daemon's directory.
pub const CLIENT_SOCKET_NAME: &str = "client.sock";
/// Largest request or reply line accepted.
pub const MAX_LINE: usize = 1 << 20;
/// How long a command may take (`stop` flushes buffers: seconds at most).
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// A channel's configuration (`ltt enable-channel -u`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSpec {
    pub name: String,
    pub subbuf_size: u32,
    pub num_subbuf: u32,
    pub overwrite: bool,
    /// Microseconds; 0: off.
    #[serde(default)]
    pub switch_timer_us: u64,
    #[serde(default)]
    pub read_timer_us: u64,
    #[serde(default)]
    pub monitor_timer_us: u64,
    /// One trace per process (`--buffers-pid`) instead of per user.
    #[serde(default)]
    pub buffers_pid: bool,
    /// Bytes per trace file before a new one starts (`--tracefile-size`).
    #[serde(default)]
    pub tracefile_size: Option<u64>,
    /// Trace files kept per stream (`--tracefile-count`).
    #[serde(default)]
    pub tracefile_count: Option<u32>,
    /// How long writers wait for room in a full buffer, in µs
    /// (`--blocking-timeout`; 0: never, [`ltt_ust::proto::BLOCK_FOREVER`]),
    /// in apps that allow it (`LTT_UST_ALLOW_BLOCKING`).
    #[serde(default)]
    pub blocking_timeout_us: u64,
}

impl ChannelSpec {
    /// LTTng's defaults for a per-UID user-space channel.
    pub fn new(name: impl Into<String>) -> ChannelSpec {
        ChannelSpec {
            name: name.into(),
            subbuf_size: crate::DEFAULT_SUBBUF_SIZE,
            num_subbuf: crate::DEFAULT_NUM_SUBBUFS,
            overwrite: false,
            switch_timer_us: 0,
            read_timer_us: 0,
            monitor_timer_us: 1_000_000,
            buffers_pid: false,
            tracefile_size: None,
            tracefile_count: None,
            blocking_timeout_us: 0,
        }
    }
}

/// A channel with its event rules and contexts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    pub spec: ChannelSpec,
    pub enabled: bool,
    pub rules: Vec<EventRule>,
    pub contexts: Vec<String>,
    /// Events the channel lost so far (`list SESSION` of a started session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discarded: Option<u64>,
}

/// Which processes a session records (`ltt track`/`untrack`): for each
/// attribute, the values tracked, or `None` for all of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trackers {
    #[serde(default)]
    pub vpid: Option<Vec<u32>>,
    #[serde(default)]
    pub vuid: Option<Vec<u32>>,
    #[serde(default)]
    pub vgid: Option<Vec<u32>>,
}

/// A process attribute that trackers select on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessAttr {
    Vpid,
    Vuid,
    Vgid,
}

impl ProcessAttr {
    pub fn name(self) -> &'static str {
        match self {
            ProcessAttr::Vpid => "vpid",
            ProcessAttr::Vuid => "vuid",
            ProcessAttr::Vgid => "vgid",
        }
    }
}

impl Trackers {
    /// Whether a process with these ids is recorded.
    pub fn allows(&self, pid: u32, uid: u32, gid: u32) -> bool {
        let ok = |set: &Option<Vec<u32>>, v| set.as_ref().is_none_or(|s| s.contains(&v));
        ok(&self.vpid, pid) && ok(&self.vuid, uid) && ok(&self.vgid, gid)
    }

    pub fn set_mut(&mut self, attr: ProcessAttr) -> &mut Option<Vec<u32>> {
        match attr {
            ProcessAttr::Vpid => &mut self.vpid,
            ProcessAttr::Vuid => &mut self.vuid,
            ProcessAttr::Vgid => &mut self.vgid,
        }
    }

    /// `track` (add `values`, or all with `all`) or `untrack` (remove
    /// them, or all). Tracking a value in a "track all" set first empties
    /// it, as LTTng does.
    pub fn change(
        &mut self,
        attr: ProcessAttr,
        values: &[u32],
        all: bool,
        track: bool,
    ) -> Result<(), String> {
        let set = self.set_mut(attr);
        match (track, all) {
            (true, true) => *set = None,
            (false, true) => *set = Some(Vec::new()),
            (true, false) => {
                let s = set.get_or_insert_with(Vec::new);
                for v in values {
                    if !s.contains(v) {
                        s.push(*v);
                    }
                }
                s.sort_unstable();
            }
            (false, false) => {
                let Some(s) = set.as_mut() else {
                    return Err(format!(
                        "every {} is tracked: `untrack --all --{}` first",
                        attr.name(),
                        attr.name()
                    ));
                };
                for v in values {
                    let Some(i) = s.iter().position(|x| x == v) else {
                        return Err(format!("{} {v} is not tracked", attr.name()));
                    };
                    s.remove(i);
                }
            }
        }
        Ok(())
    }
}

/// A session as `ltt list NAME` shows it (and as `ltt save` stores it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub name: String,
    pub output: PathBuf,
    pub active: bool,
    pub channels: Vec<ChannelInfo>,
    #[serde(default)]
    pub trackers: Trackers,
}

/// A traced app (`ltt list -u`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppView {
    pub pid: u32,
    pub procname: String,
    pub events: Vec<AppEvent>,
}

/// An event an app declared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppEvent {
    /// `provider:event`.
    pub name: String,
    pub loglevel: u8,
    /// Payload fields as `lttng list -u -f` shows them: name and kind
    /// (integer, float, string, enum; unknown for integer arrays and
    /// sequences, whose length is an integer field `_NAME_length`).
    pub fields: Vec<(String, String)>,
}

impl AppEvent {
    pub fn of(ev: &ltt_ust::proto::WireEvent) -> AppEvent {
        use ltt_ust::proto::WireKind;
        let mut fields = Vec::new();
        for f in &ev.fields {
            let kind = match &f.kind {
                WireKind::Int(_) => "integer",
                WireKind::F32 | WireKind::F64 => "float",
                WireKind::String => "string",
                WireKind::Enum { .. } => "enum",
                WireKind::Array { element, .. } | WireKind::Sequence { element } => {
                    if matches!(f.kind, WireKind::Sequence { .. }) {
                        fields.push((format!("_{}_length", f.name), "integer".into()));
                    }
                    if element.text {
                        "string"
                    } else {
                        "unknown"
                    }
                }
            };
            fields.push((f.name.clone(), kind.into()));
        }
        AppEvent {
            name: ev.name.clone(),
            loglevel: ev.loglevel,
            fields,
        }
    }
}

/// What `ltt` asks. `session: None` means the current session (the last
/// created or set).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case")]
pub enum Request {
    Create {
        name: Option<String>,
        output: Option<PathBuf>,
    },
    Destroy {
        session: Option<String>,
        all: bool,
    },
    SetSession {
        name: String,
    },
    EnableChannel {
        session: Option<String>,
        spec: ChannelSpec,
    },
    DisableChannel {
        session: Option<String>,
        name: String,
    },
    EnableEvent {
        session: Option<String>,
        channel: Option<String>,
        rule: EventRule,
    },
    DisableEvent {
        session: Option<String>,
        channel: Option<String>,
        /// `None`: every rule of the channel (`-a`).
        pattern: Option<String>,
    },
    AddContext {
        session: Option<String>,
        channel: Option<String>,
        types: Vec<String>,
    },
    Start {
        session: Option<String>,
    },
    Stop {
        session: Option<String>,
    },
    ListSessions,
    ShowSession {
        session: Option<String>,
    },
    ListApps,
    /// `track` / `untrack`.
    Track {
        session: Option<String>,
        attr: ProcessAttr,
        values: Vec<u32>,
        all: bool,
        track: bool,
    },
    Save {
        session: Option<String>,
        all: bool,
        output: Option<PathBuf>,
        force: bool,
    },
    Load {
        name: Option<String>,
        input: Option<PathBuf>,
        force: bool,
    },
}

/// The daemon's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "kebab-case")]
pub enum Reply {
    /// Done; lines to print.
    Done {
        message: String,
    },
    Sessions {
        sessions: Vec<SessionInfo>,
    },
    Session {
        session: SessionInfo,
    },
    Apps {
        apps: Vec<AppView>,
    },
    /// Refused; one line saying why.
    Error {
        message: String,
    },
}

/// The daemon's directory (see [`ltt_ust::daemon_dir`]).
pub fn daemon_dir() -> Result<PathBuf, String> {
    ltt_ust::daemon_dir().ok_or_else(|| "neither LTT_HOME nor HOME is set".to_string())
}

/// A connection to the daemon.
pub struct Client {
    sock: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Client {
    /// Connect to the daemon whose directory is `dir`.
    pub fn connect(dir: &Path) -> std::io::Result<Client> {
        let sock = UnixStream::connect(dir.join(CLIENT_SOCKET_NAME))?;
        sock.set_read_timeout(Some(REPLY_TIMEOUT))?;
        sock.set_write_timeout(Some(REPLY_TIMEOUT))?;
        let reader = BufReader::new(sock.try_clone()?);
        Ok(Client { sock, reader })
    }

    /// Connect, starting `ltt-sessiond` (the program `daemon`) first if no
    /// daemon answers.
    pub fn connect_or_spawn(dir: &Path, daemon: &Path) -> Result<Client, String> {
        match Client::connect(dir) {
            Ok(c) => return Ok(c),
            // Somebody else's daemon, or a directory we may not enter.
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(format!("{}: {e}", dir.join(CLIENT_SOCKET_NAME).display()))
            }
            Err(_) => {}
        }
        let mut child = std::process::Command::new(daemon)
            .env(ltt_ust::HOME_ENV, dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            // The daemon's start-up errors; it detaches from the pipe (a log
            // file) before it accepts clients.
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", daemon.display()))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(c) = Client::connect(dir) {
                return Ok(c);
            }
            if let Ok(Some(_)) = child.try_wait() {
                let mut why = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut why);
                }
                return Err(format!(
                    "cannot start the session daemon: {}",
                    why.trim().trim_start_matches("ltt-sessiond: error: ")
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} did not open {} in time",
                    daemon.display(),
                    dir.join(CLIENT_SOCKET_NAME).display()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Send one request and wait for its reply.
    pub fn call(&mut self, req: &Request) -> Result<Reply, String> {
        let mut line = serde_json::to_vec(req).map_err(|e| e.to_string())?;
        line.push(b'\n');
        // A daemon refusing us answers before reading: its reason may be
        // waiting even when the write fails.
        let written = self.sock.write_all(&line);
        let reply = match (read_line(&mut self.reader), written) {
            (Ok(Some(reply)), _) => reply,
            (_, Err(e)) | (Err(e), Ok(())) => return Err(format!("session daemon: {e}")),
            (Ok(None), Ok(())) => return Err("the session daemon closed the connection".into()),
        };
        serde_json::from_slice(&reply)
            .map_err(|e| format!("bad reply from the session daemon: {e}"))
    }
}

/// One line (without its `\n`), at most [`MAX_LINE`] bytes; `None` at end.
pub fn read_line(r: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = r
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "line too long or cut short",
        ));
    }
    line.pop();
    Ok(Some(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trackers_follow_lttng() {
        let mut t = Trackers::default();
        assert!(t.allows(1, 2, 3));
        t.change(ProcessAttr::Vpid, &[5, 4], false, true).unwrap();
        assert_eq!(t.vpid, Some(vec![4, 5]));
        assert!(t.allows(4, 0, 0) && !t.allows(6, 0, 0));
        t.change(ProcessAttr::Vpid, &[4], false, false).unwrap();
        assert!(t.change(ProcessAttr::Vpid, &[9], false, false).is_err());
        t.change(ProcessAttr::Vuid, &[], true, false).unwrap();
        assert!(!t.allows(5, 0, 0));
        assert!(t.change(ProcessAttr::Vgid, &[1], false, false).is_err());
        t.change(ProcessAttr::Vuid, &[], true, true).unwrap();
        assert!(t.allows(5, 0, 0));
    }

    #[test]
    fn requests_round_trip_and_bad_lines_are_refused() {
        let req = Request::EnableEvent {
            session: Some("s".into()),
            channel: None,
            rule: EventRule {
                filter: Some("a[1] & 3".into()),
                ..EventRule::new("demo:*")
            },
        };
        let line = serde_json::to_string(&req).unwrap();
        assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), req);
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"nope"}"#).is_err());
        let mut r = std::io::Cursor::new(b"abc\ndef".to_vec());
        assert_eq!(read_line(&mut r).unwrap(), Some(b"abc".to_vec()));
        assert!(read_line(&mut r).is_err());
        assert_eq!(read_line(&mut r).unwrap(), None);
    }
}
