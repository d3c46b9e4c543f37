//! The session daemon, as a library: one tracing session that traced apps
//! join through a Unix socket, one per-CPU ring-buffer channel they all
//! write into (LTTng's per-UID buffering), and a consumer thread that turns
//! the buffers into a CTF 1.8 trace with LTTng's layout.
//!
//! The one idea: apps and daemon share memory, not messages. The socket
//! carries only the handshake (who the app is, which events it declares)
//! and the channel's memfd; from then on apps write records straight into
//! the shared buffers and the consumer copies closed sub-buffers to files.
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

mod apps;
mod consumer;
mod glob;
mod registry;
pub mod sys;

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ltt_ctf::metadata::ByteOrder;
use ltt_ctf::write::{packetize_metadata, to_tsdl};
use ltt_ringbuf::{Channel, Config, Mode, Reserve};

pub use apps::AppInfo;
pub use consumer::CHANNEL_NAME;
pub use glob::glob_match;
pub use ltt_ust::SOCKET_ENV;
pub use registry::{Registry, TraceEnv};

/// Defaults of LTTng's per-UID UST channels.
pub const DEFAULT_SUBBUF_SIZE: u32 = 512 * 1024;
pub const DEFAULT_NUM_SUBBUFS: u32 = 4;
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

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
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

/// A running session. [`Session::stop`] finishes the trace; dropping it
/// without stopping abandons the trace (the socket directory is removed
/// either way).
pub struct Session {
    shared: Arc<apps::Shared>,
    env: Arc<TraceEnv>,
    trace_dir: PathBuf,
    socket_dir: PathBuf,
    socket_path: PathBuf,
    listener: Option<JoinHandle<Vec<JoinHandle<()>>>>,
    consumer: Option<JoinHandle<Result<consumer::ConsumerReport, Error>>>,
    consumer_stop: Arc<AtomicBool>,
}

/// Writes the metadata file atomically (readers never see half of it).
fn write_metadata(dir: &Path, env: &TraceEnv, reg: &Registry) -> Result<u64, Error> {
    let bytes = packetize_metadata(
        &to_tsdl(&reg.metadata(env)),
        env.uuid,
        ByteOrder::Little,
        4096,
    );
    let tmp = dir.join(".metadata.tmp");
    let path = dir.join("metadata");
    std::fs::write(&tmp, &bytes).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
    Ok(bytes.len() as u64)
}

fn private_dir(path: &Path) -> Result<(), Error> {
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

/// Round `v` up to a power of two, at least `min`.
fn pow2_at_least(v: u32, min: u32) -> Result<u32, Error> {
    v.max(min)
        .checked_next_power_of_two()
        .ok_or_else(|| Error::Config(format!("{v} is too large")))
}

impl Session {
    /// Create the trace directory, the channel and the socket, and start
    /// accepting apps.
    pub fn start(cfg: SessionConfig) -> Result<Session, Error> {
        let filters = cfg
            .filters
            .iter()
            .map(|f| {
                // Compiled without schema too, for the language's errors
                // (each event's schema only adds "never matches" verdicts).
                ltt_filter::parse(f)
                    .and_then(|ast| ltt_filter::compile(&ast, None).map(|_| ast))
                    .map_err(|e| Error::Config(format!("invalid filter:\n{e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let uid = sys::uid();
        let trace_dir = cfg
            .output
            .join("ust")
            .join("uid")
            .join(uid.to_string())
            .join("64-bit");
        if trace_dir.join("metadata").exists() {
            return Err(Error::TraceExists(trace_dir));
        }
        std::fs::create_dir_all(&trace_dir).map_err(io_err(&trace_dir))?;
        let uuid = sys::random_uuid().map_err(io_err(Path::new("getrandom")))?;
        let env = Arc::new(TraceEnv {
            trace_name: cfg.trace_name.clone(),
            created: sys::LocalTime::now(),
            hostname: sys::hostname(),
            uid,
            uuid,
            clock_offset_ns: sys::monotonic_offset_ns(),
            clock_uuid: sys::boot_id(),
        });
        let subbuf_size = pow2_at_least(cfg.subbuf_size, 4096)?;
        let num_subbufs = pow2_at_least(cfg.num_subbufs, 2)?;
        let channel = Arc::new(Channel::create(&Config {
            subbuf_size,
            num_subbufs,
            // The smallest record (no payload) is 39 bytes.
            max_records: (subbuf_size / 32)
                .next_power_of_two()
                .clamp(16, ltt_ringbuf::MAX_RECORDS_LIMIT),
            mode: Mode::Discard,
            reserve: Reserve::Rseq,
            stream_id: 0,
            uuid,
            ..Config::default()
        })?);
        // Best effort: without it, apps only fault pages in more slowly.
        let _ = sys::preallocate(channel.fd(), channel.size());
        let registry = Arc::new(Mutex::new(Registry::with_filters(
            cfg.event_globs.clone(),
            filters,
        )));
        write_metadata(
            &trace_dir,
            &env,
            &registry.lock().unwrap_or_else(|e| e.into_inner()),
        )?;

        let socket_dir = make_socket_dir(&cfg)?;
        let socket_path = socket_dir.join(SOCKET_NAME);
        let listener = UnixListener::bind(&socket_path).map_err(io_err(&socket_path))?;

        let md_dir = trace_dir.clone();
        let md_env = env.clone();
        let warnings = Arc::new(Mutex::new(Vec::new()));
        let md_warnings = warnings.clone();
        let shared = Arc::new(apps::Shared {
            channel: channel.clone(),
            registry: registry.clone(),
            apps: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            on_new_classes: Box::new(move |reg| {
                if let Err(e) = write_metadata(&md_dir, &md_env, reg) {
                    md_warnings
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(format!("metadata not updated: {e}"));
                }
            }),
            warnings,
        });

        let consumer_stop = Arc::new(AtomicBool::new(false));
        let consumer = {
            let (ch, reg, dir, stop) = (
                channel.clone(),
                registry.clone(),
                trace_dir.clone(),
                consumer_stop.clone(),
            );
            std::thread::Builder::new()
                .name("ltt-consumer".into())
                .spawn(move || consumer::run(ch, reg, dir, stop))
                .map_err(io_err(Path::new("consumer thread")))?
        };
        let listener = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("ltt-listener".into())
                .spawn(move || apps::listen(listener, shared))
                .map_err(io_err(Path::new("listener thread")))?
        };
        Ok(Session {
            shared,
            env,
            trace_dir,
            socket_dir,
            socket_path,
            listener: Some(listener),
            consumer: Some(consumer),
            consumer_stop,
        })
    }

    /// The socket apps connect to: give it to them in [`ltt_ust::SOCKET_ENV`].
    pub fn socket_path(&self) -> &Path {
        &self.socket_path
    }

    /// The CTF trace directory.
    pub fn trace_dir(&self) -> &Path {
        &self.trace_dir
    }

    /// Give up before anything was traced: remove what `start` created (the
    /// metadata and the directories it made, if empty).
    pub fn abandon(self) {
        let _ = std::fs::remove_file(self.trace_dir.join("metadata"));
        let mut dir = Some(self.trace_dir.as_path());
        for _ in 0..4 {
            match dir {
                Some(d) if std::fs::remove_dir(d).is_ok() => dir = d.parent(),
                _ => break,
            }
        }
    }

    /// Stop accepting apps, flush every buffer, write the remaining packets
    /// and the final metadata.
    pub fn stop(mut self) -> Result<Summary, Error> {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(l) = self.listener.take() {
            let handlers = l.join().map_err(|_| Error::ThreadPanicked("listener"))?;
            for h in handlers {
                h.join().map_err(|_| Error::ThreadPanicked("app"))?;
            }
        }
        self.consumer_stop.store(true, Ordering::Release);
        let report = self
            .consumer
            .take()
            .expect("consumer runs until stop")
            .join()
            .map_err(|_| Error::ThreadPanicked("consumer"))??;

        let reg = self
            .shared
            .registry
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let metadata_bytes = write_metadata(&self.trace_dir, &self.env, &reg)?;
        let mut events: Vec<(String, u64)> = Vec::new();
        for id in 0..reg.len() as u32 {
            let name = reg.name(id).unwrap_or_default();
            let n = report.counts.get(id as usize).copied().unwrap_or(0);
            match events.iter_mut().find(|(e, _)| e == name) {
                Some((_, c)) => *c += n,
                None => events.push((name.to_string(), n)),
            }
        }
        drop(reg);
        events.sort();
        let ch = &self.shared.channel;
        let discarded = (0..ch.num_streams())
            .map(|s| ch.stream_stats(s).total())
            .sum();
        let mut warnings = std::mem::take(
            &mut *self
                .shared
                .warnings
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        warnings.extend(report.warnings);
        if report.undecodable_packets > 0 {
            warnings.push(format!(
                "{} packets held records the consumer could not count",
                report.undecodable_packets
            ));
        }
        Ok(Summary {
            trace_dir: self.trace_dir.clone(),
            recorded: events.iter().map(|(_, n)| n).sum(),
            events,
            discarded,
            bytes: report.bytes + metadata_bytes,
            stream_files: report.files,
            apps: self
                .shared
                .apps
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            warnings,
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.consumer_stop.store(true, Ordering::Release);
        let _ = std::fs::remove_dir_all(&self.socket_dir);
    }
}
