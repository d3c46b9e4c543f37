//! The session daemon, as a library and as the `ltt-sessiond` binary.
//!
//! The one idea: apps and daemon share memory, not messages. The app
//! socket carries the handshake (who the app is, which events it declares),
//! the channel's memfd and the events' states; from then on apps write
//! records straight into the shared per-CPU buffers and a consumer thread
//! copies closed sub-buffers to a CTF 1.8 trace in LTTng's layout.
//!
//! Layers: [`Recording`] (channel, event classes, consumer, metadata),
//! [`hub::Hub`] (connected apps, the active recording), [`Session`] (a
//! one-shot recording with its own app socket, for `ltt record`), and
//! [`daemon`] (named sessions driven by `ltt` commands over a control
//! socket, see [`control`]).
//!
//! ```no_run
//! let session = ltt_sessiond::Session::start(ltt_sessiond::SessionConfig {
//!     output: "/tmp/my-trace".into(),
//!     ..Default::default()
//! })?;
//! let status = std::process::Command::new("ltt-demo")
//!     .env(ltt_ust::SOCKET_ENV, session.socket_path())
//!     .status()?;
//! let summary = session.stop()?;
//! println!("{} events in {}", summary.recorded, summary.trace_dir.display());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Output: `OUTPUT/ust/uid/UID/64-bit/{metadata, channel0_CPU, index/}`.

mod consumer;
pub mod control;
pub mod daemon;
mod glob;
pub mod hub;
pub mod lttng_xml;
mod recording;
mod registry;
pub mod rules;
pub mod sys;
pub mod target;

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

pub use consumer::{TraceFiles, CHANNEL_NAME};
pub use glob::glob_match;
pub use hub::AppInfo;
pub use ltt_ust::SOCKET_ENV;
pub use recording::{Recording, RecordingConfig, DEFAULT_NUM_SUBBUFS, DEFAULT_SUBBUF_SIZE};
pub use registry::{parse_filter, AppEnv, Registry, TraceEnv};
pub use rules::{EventRule, LogLevelRule};
pub use target::Target;

/// Name of the app socket inside the session's private directory.
pub const SOCKET_NAME: &str = "app.sock";

/// Why a session could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("ring buffer: {0}")]
    RingBuffer(#[from] ltt_ringbuf::Error),
    #[error("{} already holds a trace", .0.display())]
    TraceExists(PathBuf),
    #[error("{}: {reason}", path.display())]
    UnsafeRuntimeDir { path: PathBuf, reason: &'static str },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("the {0} thread panicked")]
    ThreadPanicked(&'static str),
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a session records and where.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Session output directory; the trace goes to `ust/uid/UID/64-bit/`
    /// below it.
    pub output: PathBuf,
    /// `trace_name` in the metadata (LTTng: the session name).
    pub trace_name: String,
    /// Enabled events: LTTng globs on `provider:event` names.
    pub event_globs: Vec<String>,
    /// LTTng filter expressions applied in the apps to the enabled events:
    /// an event is recorded if one accepts it (empty: every event is).
    pub filters: Vec<String>,
    /// Bytes per sub-buffer (rounded up to a power of two, at least 4 KiB).
    pub subbuf_size: u32,
    /// Sub-buffers per CPU (rounded up to a power of two, at least 2).
    pub num_subbufs: u32,
    /// One trace per traced process (`ust/pid/...`) instead of one for
    /// all of them (LTTng's `--buffers-pid`).
    pub per_pid: bool,
    /// Context fields of every record (default: vpid, vtid, procname).
    pub contexts: Vec<ltt_ust::Context>,
    /// How long writers wait for room in a full buffer, in µs (0: never;
    /// [`ltt_ust::proto::BLOCK_FOREVER`]), in apps that allow it.
    pub blocking_us: u64,
    /// Where the session's private socket directory is made; `None`:
    /// `$LTT_HOME`, else `$HOME/.ltt`, else the temporary directory.
    pub runtime_dir: Option<PathBuf>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            output: PathBuf::from("ltt-trace"),
            trace_name: "record".into(),
            event_globs: vec!["*".into()],
            filters: Vec::new(),
            subbuf_size: DEFAULT_SUBBUF_SIZE,
            num_subbufs: DEFAULT_NUM_SUBBUFS,
            per_pid: false,
            contexts: ltt_ust::DEFAULT_CONTEXTS.to_vec(),
            blocking_us: 0,
            runtime_dir: None,
        }
    }
}

/// `$HOME/ltt-traces/NAME-YYYYmmdd-HHMMSS` (local time), the default output.
pub fn default_output_dir(name: &str) -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join("ltt-traces")
        .join(format!("{name}-{}", sys::LocalTime::now().dir_suffix()))
}

/// What was recorded.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// The CTF trace directory (holding `metadata`).
    pub trace_dir: PathBuf,
    /// Events recorded per event name, sorted by name (declared but never
    /// hit events included, with 0).
    pub events: Vec<(String, u64)>,
    /// Sum of `events`.
    pub recorded: u64,
    /// Events lost (full buffers, records larger than a sub-buffer,
    /// writers that died mid-record): the trace's `events_discarded`.
    pub discarded: u64,
    /// Bytes of the trace: stream files, indexes excluded, plus metadata.
    pub bytes: u64,
    /// Stream files written.
    pub stream_files: usize,
    /// Apps that registered.
    pub apps: Vec<AppInfo>,
    /// Things that went wrong without stopping the recording.
    pub warnings: Vec<String>,
}

impl Summary {
    /// Add what another recording (another channel, or another app's
    /// trace) recorded.
    pub fn add(&mut self, other: Summary) {
        for (name, n) in other.events {
            match self.events.iter_mut().find(|(e, _)| *e == name) {
                Some((_, c)) => *c += n,
                None => self.events.push((name, n)),
            }
        }
        self.events.sort();
        self.recorded += other.recorded;
        self.discarded += other.discarded;
        self.bytes += other.bytes;
        self.stream_files += other.stream_files;
        for app in other.apps {
            if !self.apps.contains(&app) {
                self.apps.push(app);
            }
        }
        self.warnings.extend(other.warnings);
    }
}

/// A one-shot recording with its own private app socket (`ltt record`).
/// [`Session::stop`] finishes the trace; dropping it without stopping
/// abandons the trace (the socket directory is removed either way).
pub struct Session {
    hub: Arc<hub::Hub>,
    target: Arc<Target>,
    trace_dir: PathBuf,
    socket_dir: PathBuf,
    socket_path: PathBuf,
    listener: Option<JoinHandle<()>>,
}

pub(crate) fn private_dir(path: &Path) -> Result<(), Error> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io_err(path))?;
    let md = std::fs::symlink_metadata(path).map_err(io_err(path))?;
    if !md.is_dir() || md.uid() != sys::uid() {
        return Err(Error::UnsafeRuntimeDir {
            path: path.to_path_buf(),
            reason: "not a directory owned by this user",
        });
    }
    if md.permissions().mode() & 0o077 != 0 {
        return Err(Error::UnsafeRuntimeDir {
            path: path.to_path_buf(),
            reason: "accessible to other users (want mode 0700)",
        });
    }
    Ok(())
}

/// A fresh private directory for the session's socket.
fn make_socket_dir(cfg: &SessionConfig) -> Result<PathBuf, Error> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let base = cfg
        .runtime_dir
        .clone()
        .or_else(|| std::env::var_os("LTT_HOME").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ltt")));
    let name = format!(
        "record-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    // sun_path holds 108 bytes: fall back to the temporary directory when
    // the home path is too long (or missing).
    let fits = |b: &Path| b.join(&name).join(SOCKET_NAME).as_os_str().len() < 100;
    let fallback = || std::env::temp_dir().join(format!("ltt-{}", sys::uid()));
    let base = match base {
        // A home we cannot write (read-only, foreign owner) is no reason to
        // refuse tracing; an explicit runtime_dir is.
        Some(b) if fits(&b) => match private_dir(&b) {
            Ok(()) => b,
            Err(_) if cfg.runtime_dir.is_none() => fallback(),
            Err(e) => return Err(e),
        },
        _ => fallback(),
    };
    private_dir(&base)?;
    let dir = base.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    private_dir(&dir)?;
    Ok(dir)
}

impl SessionConfig {
    /// LTTng's rules for these globs and filters: one rule per glob and
    /// filter (several filters on an event are OR-ed).
    pub fn rules(&self) -> Vec<EventRule> {
        let mut rules = Vec::new();
        for g in &self.event_globs {
            if self.filters.is_empty() {
                rules.push(EventRule::new(g.clone()));
            }
            for f in &self.filters {
                rules.push(EventRule {
                    filter: Some(f.clone()),
                    ..EventRule::new(g.clone())
                });
            }
        }
        rules
    }
}

impl Session {
    /// Create the trace directory, the channel and the socket, and start
    /// accepting apps.
    pub fn start(cfg: SessionConfig) -> Result<Session, Error> {
        let target = Arc::new(Target::start(
            RecordingConfig {
                output: cfg.output.clone(),
                trace_name: cfg.trace_name.clone(),
                rules: cfg.rules(),
                contexts: cfg.contexts.clone(),
                subbuf_size: cfg.subbuf_size,
                num_subbufs: cfg.num_subbufs,
                overwrite: false,
                timers: Default::default(),
                blocking_us: cfg.blocking_us,
                trace_files: TraceFiles::default(),
            },
            cfg.per_pid,
        )?);
        let trace_dir = match &*target {
            Target::PerUid(rec) => rec.trace_dir().to_path_buf(),
            Target::PerPid(_) => cfg.output.join("ust").join("pid"),
        };
        let socket_dir = make_socket_dir(&cfg)?;
        let socket_path = socket_dir.join(SOCKET_NAME);
        let listener = UnixListener::bind(&socket_path).map_err(io_err(&socket_path))?;
        let hub = Arc::new(hub::Hub::default());
        hub.activate(target.clone(), Default::default())
            .map_err(Error::Config)?;
        let listener = hub
            .serve(listener)
            .map_err(io_err(Path::new("listener thread")))?;
        Ok(Session {
            hub,
            target,
            trace_dir,
            socket_dir,
            socket_path,
            listener: Some(listener),
        })
    }

    /// The socket apps connect to: give it to them in [`ltt_ust::SOCKET_ENV`].
    pub fn socket_path(&self) -> &Path {
        &self.socket_path
    }

    /// The CTF trace directory (per-PID: the directory of the apps' traces).
    pub fn trace_dir(&self) -> &Path {
        &self.trace_dir
    }

    /// Give up before anything was traced: remove what `start` created.
    pub fn abandon(self) {
        self.hub.shutdown();
        self.target.abandon();
    }

    /// Stop the apps' tracing, flush every buffer, write the remaining
    /// packets and the final metadata.
    pub fn stop(mut self) -> Result<Summary, Error> {
        self.hub.deactivate(&self.target);
        self.hub.shutdown();
        if let Some(l) = self.listener.take() {
            l.join().map_err(|_| Error::ThreadPanicked("listener"))?;
        }
        let mut summary = self.target.finish()?;
        summary.warnings.extend(self.hub.take_warnings());
        Ok(summary)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.hub.shutdown();
        let _ = std::fs::remove_dir_all(&self.socket_dir);
    }
}
